"""The view of ``reconciler plan``: the plan on stdout in its ``--format`` (text, Markdown or
JSON), and in every form the same other outputs: the pull-request comment (``--markdown-out``),
the job's step summary and the saved plan (``--out``).

The forms differ in what stdout holds, and so in where they say the full plan is when Markdown
written elsewhere leaves detail out: the text and JSON forms point at this run's output (in CI,
the job log), the Markdown form at another run. Pure: strings of a
:class:`~reconciler.render.view.PlanView`; the CLI writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, Protocol

from reconciler.render.comment import DEFAULT_WHERE, plan_view_markdown
from reconciler.render.documents import plan_json, saved_plan_json
from reconciler.render.markdown import COMMENT_LIMIT, STEP_SUMMARY_LIMIT, code_span
from reconciler.render.text import plan_view_text
from reconciler.render.view import PlanView
from reconciler.render.views import JSON, MARKDOWN, TEXT, chosen


class PlanForm(Protocol):
    """What ``plan`` prints, in one form."""

    def plan(self, shown: PlanView, where: str = DEFAULT_WHERE) -> Iterable[str]:
        """stdout, in pieces; ``where``: where the full plan is, said by Markdown that leaves
        detail out."""

    def elsewhere(self, saved_as: str | None) -> str:
        """Where the full plan is, for Markdown that is not stdout (``saved_as``: the file
        name ``--out`` saved the plan under)."""

    def comment(self, shown: PlanView, where: str) -> str:
        """The pull-request comment (``--markdown-out``), within the view's Markdown limit."""

    def summary(self, shown: PlanView, where: str) -> str:
        """The job's step summary (GitHub keeps up to 1 MiB of it)."""

    def saved(self, shown: PlanView) -> str:
        """The saved plan ``apply PLANFILE`` reads back (keys sorted)."""


def rerun_pointer(saved_as: str | None) -> str:
    """Where the full plan is when it takes another run to see it (stdout is the Markdown)."""
    where = "The full plan: `reconciler plan` (text) or `reconciler plan --format json`"
    return _with_saved(where, saved_as)


def _with_saved(where: str, saved_as: str | None) -> str:
    """``where``, then the saved plan, named by its file name only: its folder is the runner's,
    not the reader's."""
    if saved_as is not None:
        where += f"; as JSON in {code_span(saved_as)}, the file `--out` saved"
    return where + "."


@dataclass(frozen=True, slots=True)
class _Outputs:
    """What every form of ``plan`` writes besides stdout."""

    #: --markdown-limit: the comment's size.
    markdown_limit: int = COMMENT_LIMIT
    #: Colour the text (the CLI says so on a terminal, without NO_COLOR).
    colour: bool = False
    #: The form's name, as ``--format`` spells it.
    name: ClassVar[str]

    def elsewhere(self, saved_as: str | None) -> str:
        where = f"The full plan is in this run's {self.name} output (in CI: the job log)"
        return _with_saved(where, saved_as)

    def comment(self, shown: PlanView, where: str) -> str:
        return plan_view_markdown(shown, self.markdown_limit, where)

    def summary(self, shown: PlanView, where: str) -> str:
        return plan_view_markdown(shown, STEP_SUMMARY_LIMIT, where)

    def saved(self, shown: PlanView) -> str:
        return saved_plan_json(shown)


@dataclass(frozen=True, slots=True)
class PlanText(_Outputs):
    """The diff, for people and the job log."""

    name: ClassVar[str] = TEXT

    def plan(self, shown: PlanView, where: str = DEFAULT_WHERE) -> Iterable[str]:
        return plan_view_text(shown, self.colour)


@dataclass(frozen=True, slots=True)
class PlanMarkdown(_Outputs):
    """The pull-request comment itself on stdout."""

    name: ClassVar[str] = MARKDOWN

    def plan(self, shown: PlanView, where: str = DEFAULT_WHERE) -> Iterable[str]:
        return (plan_view_markdown(shown, self.markdown_limit, where),)

    def elsewhere(self, saved_as: str | None) -> str:
        return rerun_pointer(saved_as)  # stdout is the Markdown: the full plan takes a run


@dataclass(frozen=True, slots=True)
class PlanJson(_Outputs):
    """The plan document (schemas/plan.schema.json), for programs."""

    name: ClassVar[str] = JSON

    def plan(self, shown: PlanView, where: str = DEFAULT_WHERE) -> Iterable[str]:
        return (plan_json(shown),)


FORMS: dict[str, type[PlanText | PlanMarkdown | PlanJson]] = {
    TEXT: PlanText,
    MARKDOWN: PlanMarkdown,
    JSON: PlanJson,
}


def plan_view(form: str, markdown_limit: int = COMMENT_LIMIT, colour: bool = False) -> PlanForm:
    """The view of ``plan --format form``."""
    return chosen(FORMS, form)(markdown_limit, colour)
