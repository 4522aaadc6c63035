"""A plan or apply's report rendered by a format's name, as the commands print them: through
the command's view, chosen by the one lookup (reconciler/render/views/)."""

from __future__ import annotations

from reconciler.planned import ApplyReport
from reconciler.render.comment import DEFAULT_WHERE
from reconciler.render.markdown import COMMENT_LIMIT
from reconciler.render.text import report_text
from reconciler.render.view import PlanView
from reconciler.render.views.plan import plan_view


def render_plan(
    view: PlanView,
    output_format: str,
    colour: bool,
    markdown_limit: int = COMMENT_LIMIT,
    where: str = DEFAULT_WHERE,
) -> str:
    """What ``plan --format output_format`` prints, whole."""
    return "".join(plan_view(output_format, markdown_limit, colour).plan(view, where))


def render_report(report: ApplyReport, colour: bool) -> str:
    """apply's (masked) outcome as text: the users that did not apply cleanly, then counts."""
    return report_text(report, colour)
