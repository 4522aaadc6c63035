"""`reconciler plan`: read the live users and show what apply would change (GET requests only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler.cli import console
from reconciler.cli.arguments import PlanArgs, plan_request
from reconciler.cli.exits import EXIT_CHANGES, exit_with
from reconciler.cli.options import plan_options
from reconciler.cli.support import step_summary
from reconciler.render.views.plan import plan_view, rerun_pointer
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
    """Plan (usecases), print it in the view --format chose, save it with --out, add it to
    the job summary; --detailed-exitcode: exit 2 when it changes something."""
    console.setup_logging(args.verbose)
    planned = plan_changes(args.request, console.runtime())
    shown = planned.plan_view
    view = plan_view(args.view.output_format, args.view.markdown_limit, console.use_colour())
    saved_as = None if args.out_path is None else args.out_path.name
    console.echo_chunks(view.plan(shown, rerun_pointer(saved_as)))
    elsewhere = view.elsewhere(saved_as)
    if args.markdown_out is not None:
        write_atomically(args.markdown_out, view.comment(shown, elsewhere))
    if args.out_path is not None:
        write_private(args.out_path, view.saved(shown))
        console.note(f"Saved the plan to {args.out_path} (sensitive values masked).")
    step_summary(lambda: view.summary(shown, elsewhere))
    if args.detailed_exitcode and planned.plan.has_changes:
        exit_with(EXIT_CHANGES)
