"""`reconciler plan`: read the live users and show what apply would change (GET requests only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler.cli import console
from reconciler.cli.arguments import PlanArgs, plan_request
from reconciler.cli.exits import EXIT_CHANGES, exit_with
from reconciler.cli.options import plan_options
from reconciler.cli.support import full_plan_pointer, step_summary
from reconciler.render.markdown import STEP_SUMMARY_LIMIT
from reconciler.render.output import render_plan, saved_plan_json
from reconciler.usecases.files import write_atomically, write_private
from reconciler.usecases.planning import plan_changes


@click.command()
@plan_options
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when there are none (1 stays an error).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (sensitive values masked) for `reconciler apply FILE`.",
)
@click.option(
    "--markdown-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the plan as Markdown (a pull-request comment, within --markdown-limit) "
    "to this file; stdout keeps --format, so a CI log holds the whole text plan.",
)
def plan(**flags: Any) -> None:
    """Read the live users and show what apply would change. Sends only GET requests.

    \b
    Examples:
      reconciler plan
      reconciler plan --target production --user 12347
      reconciler plan --detailed-exitcode   # CI drift check: 0 clean, 2 drift, 1 error
      reconciler plan --format markdown --out plan.json
      reconciler plan --markdown-out comment.md --out plan.json   # CI: text in the log
      reconciler plan --shard 2/4           # one job of a 4-job CI matrix
      reconciler plan --shard 2/4 --format markdown --markdown-limit 15000   # 1/4 of a comment
      reconciler plan --prune --target onboarding   # also: live users no file declares
      reconciler plan --changed-since origin/main   # a pull request: only what it changed
    """
    run_plan(plan_request(flags))


def run_plan(args: PlanArgs) -> None:
    """Plan (usecases), print it in the asked format, save it with --out, add it to the job
    summary; --detailed-exitcode: exit 2 when it changes something."""
    console.setup_logging(args.verbose)
    planned = plan_changes(args.request, console.runtime())
    shown = planned.shown
    view = args.view
    elsewhere = full_plan_pointer(view.output_format, args.out_path)
    echoed = full_plan_pointer("markdown", args.out_path)
    console.echo_plan(shown, view.output_format, view.markdown_limit, echoed)
    if args.markdown_out is not None:
        markdown = render_plan(shown, "markdown", False, view.markdown_limit, elsewhere)
        write_atomically(args.markdown_out, markdown)
    if args.out_path is not None:
        write_private(args.out_path, saved_plan_json(shown))
        console.note(f"Saved the plan to {args.out_path} (sensitive values masked).")
    step_summary(lambda: render_plan(shown, "markdown", False, STEP_SUMMARY_LIMIT, elsewhere))
    if args.detailed_exitcode and planned.plan.has_changes:
        exit_with(EXIT_CHANGES)
