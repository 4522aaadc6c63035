"""A plan or apply's report rendered by a format's name, for callers that hold the name rather
than a command's view (the library's users, tests): each goes through the plan command's view,
chosen by the one lookup (render/views/), so a name means the same bytes here as on the CLI.

Text is for people, markdown for pull-request comments and step summaries, json for programs
(the plan document of schemas/plan.schema.json, built in documents.py). Pure, of a
:class:`~reconciler.render.view.PlanView` and apply's masked report.
"""

from __future__ import annotations

from reconciler.planned import ApplyReport
from reconciler.render.comment import DEFAULT_WHERE
from reconciler.render.documents import apply_json, apply_json_chunks, plan_json, saved_plan_json
from reconciler.render.markdown import COMMENT_LIMIT, render_apply_markdown
from reconciler.render.text import report_lines, report_text, styled
from reconciler.render.view import PlanView
from reconciler.render.views.plan import plan_view

__all__ = [
    "PlanView",
    "apply_json",
    "apply_json_chunks",
    "plan_json",
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
    """The plan as ``plan --format output_format`` prints it; markdown stays under
    ``markdown_limit`` characters and says ``where`` the full plan is if it leaves detail out.
    Every format says what apply would refuse, and the checksum ``apply --checksum`` takes."""
    return "".join(plan_view(output_format, markdown_limit, colour).plan(view, where))


def render_report(report: ApplyReport, colour: bool) -> str:
    """apply's (masked) outcome as text: the users that did not apply cleanly, then counts."""
    return report_text(report, colour)
