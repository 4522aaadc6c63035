"""What plan and apply print in each --format, as strings: the one entry the CLI renders by.

Text is for people, markdown for pull-request comments and step summaries, json for programs
(the plan document of schemas/plan.schema.json, built in documents.py). Every function is pure,
of a :class:`~reconciler.render.view.PlanView` and apply's masked report: the CLI decides where
the string goes and whether colour is wanted.
"""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.model import ApplyReport
from reconciler.render.comment import DEFAULT_WHERE, render_markdown
from reconciler.render.documents import apply_json, apply_json_chunks, plan_json, saved_plan_json
from reconciler.render.markdown import COMMENT_LIMIT, render_apply_markdown
from reconciler.render.text import report_lines, styled, styled_chunks, text_lines
from reconciler.render.view import PlanView

__all__ = [
    "PlanView",
    "apply_json",
    "apply_json_chunks",
    "plan_json",
    "plan_text",
    "render_apply_markdown",
    "render_plan",
    "render_report",
    "report_lines",
    "saved_plan_json",
    "styled",
]


def render_plan(
    view: PlanView,
    output_format: str,
    colour: bool,
    markdown_limit: int = COMMENT_LIMIT,
    where: str = DEFAULT_WHERE,
) -> str:
    """The plan in one format; markdown stays under ``markdown_limit`` characters and says
    ``where`` the full plan is if it leaves detail out. Every format says what apply would
    refuse, and the checksum ``apply --checksum`` takes."""
    if output_format == "json":
        return plan_json(view)
    if output_format == "markdown":
        markdown = render_markdown(
            view.masked,
            checksum=view.checksum,
            refusals=[r.message for r in view.refusals],
            limit=markdown_limit - 1,
            declared_at=view.declared_at,
            where=where,
        )
        return markdown + "\n"  # the newline is within the limit too
    return "".join(plan_text(view, colour))


def plan_text(view: PlanView, colour: bool) -> Iterator[str]:
    """The text plan in pieces, in order (the CLI writes them as they come: joined, a
    100k-user plan would be held twice, as lines and as one string)."""
    return styled_chunks(_plan_lines(view), colour)


def _plan_lines(view: PlanView) -> Iterator[tuple[str, str]]:
    yield from text_lines(view.masked)
    yield from (("-", f"Apply would refuse: {r.message}") for r in view.refusals)
    yield "", f"Plan checksum: {view.checksum}"


def render_report(report: ApplyReport, colour: bool) -> str:
    """apply's (masked) outcome as text: the users that did not apply cleanly, then counts."""
    return styled(report_lines(report), colour)
