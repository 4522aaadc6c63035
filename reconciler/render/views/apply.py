"""The view of ``reconciler apply``: the plan before the question and the outcome after it, in
its ``--format`` (text, Markdown or JSON), and in every form the job's step summary.

The JSON form says nothing before the question and prints the plan with the outcome at the end,
as one document written as it is encoded (:meth:`ApplyJson.outcome` yields its pieces: the text
of a large plan is never held whole). The Markdown form shows the plan as the pull-request
comment and the outcome as text. Pure: strings of a :class:`~reconciler.render.view.PlanView`
and apply's masked report; the CLI writes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from reconciler.planned import ApplyReport
from reconciler.render.comment import plan_view_markdown
from reconciler.render.documents import apply_json_chunks
from reconciler.render.markdown import COMMENT_LIMIT, render_apply_markdown
from reconciler.render.text import plan_view_text, report_text
from reconciler.render.view import PlanView
from reconciler.render.views import JSON, MARKDOWN, TEXT, chosen


class ApplyForm(Protocol):
    """What ``apply`` prints, in one form."""

    def plan(self, shown: PlanView) -> Iterable[str]:
        """Before the question: the plan about to be applied, in pieces (none when the form
        says it after)."""

    def outcome(self, shown: PlanView, report: ApplyReport | None) -> Iterator[str]:
        """After: what was applied (``report`` None: nothing was to do), in pieces."""

    def summary(self, report: ApplyReport) -> str:
        """The job's step summary: counts per target and every user not applied as planned."""


@dataclass(frozen=True, slots=True)
class _Summary:
    #: --markdown-limit: the size of the Markdown plan.
    markdown_limit: int = COMMENT_LIMIT
    #: Colour the text (the CLI says so on a terminal, without NO_COLOR).
    colour: bool = False

    def summary(self, report: ApplyReport) -> str:
        return render_apply_markdown(report)


@dataclass(frozen=True, slots=True)
class ApplyText(_Summary):
    """The plan's diff, then the users that did not apply cleanly and the counts."""

    def plan(self, shown: PlanView) -> Iterable[str]:
        return plan_view_text(shown, self.colour)

    def outcome(self, shown: PlanView, report: ApplyReport | None) -> Iterator[str]:
        if report is not None:
            yield report_text(report, self.colour)


@dataclass(frozen=True, slots=True)
class ApplyMarkdown(ApplyText):
    """The plan as the pull-request comment, the outcome as text."""

    def plan(self, shown: PlanView) -> Iterable[str]:
        return (plan_view_markdown(shown, self.markdown_limit),)


@dataclass(frozen=True, slots=True)
class ApplyJson(_Summary):
    """One document at the end: ``{"plan": ..., "apply": ...}`` (``apply`` null: nothing done)."""

    def plan(self, shown: PlanView) -> Iterable[str]:
        return ()

    def outcome(self, shown: PlanView, report: ApplyReport | None) -> Iterator[str]:
        yield from apply_json_chunks(shown, report)
        yield "\n"


FORMS: dict[str, type[ApplyText | ApplyMarkdown | ApplyJson]] = {
    TEXT: ApplyText,
    MARKDOWN: ApplyMarkdown,
    JSON: ApplyJson,
}


def apply_view(form: str, markdown_limit: int = COMMENT_LIMIT, colour: bool = False) -> ApplyForm:
    """The view of ``apply --format form``."""
    return chosen(FORMS, form)(markdown_limit, colour)
