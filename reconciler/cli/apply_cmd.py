"""`reconciler apply [PLANFILE]`: show the plan, ask, send only the needed upserts, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler.cli import console
from reconciler.cli.arguments import ApplyArgs, apply_request
from reconciler.cli.exits import apply_exit_code, exit_with
from reconciler.cli.interrupts import Interrupts, interruptible
from reconciler.cli.options import plan_options, prune_guard_options
from reconciler.cli.support import checksum_option, confirm, step_summary
from reconciler.render.view import PlanView
from reconciler.render.views.apply import apply_view
from reconciler.usecases.applying import apply_changes

#: Seconds apply polls Sprig until it shows what was sent (it answers 202 and applies later).
DEFAULT_WAIT = 60.0


@click.command()
@plan_options
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--checksum",
    metavar="SHA",
    callback=checksum_option,
    help="Re-plan and apply only if the plan checksum matches (a reviewed plan).",
)
@click.option(
    "--max-changes",
    type=click.IntRange(min=0),
    metavar="N",
    help="Override safety.max_changes for this run.",
)
@click.option(
    "--max-change-ratio",
    type=click.FloatRange(0, 1),
    metavar="R",
    help="Override safety.max_change_ratio for this run.",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_WAIT,
    show_default=True,
    metavar="SECONDS",
    help="Poll targets that apply later (Sprig) until they show the applied state.",
)
@click.option("--no-wait", is_flag=True, help="Do not wait for Sprig to show the applied state.")
@click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0),
    default=0,
    metavar="SECONDS",
    help="Wait this long for another apply of the same target to end (default: refuse at once).",
)
@click.option(
    "--assume-settled",
    is_flag=True,
    help="State that no earlier apply's writes can still be on their way (none ran in the last "
    "hour): a target with no write-ahead record is then sent its events without a barrier.",
)
@prune_guard_options
def apply(**flags: Any) -> None:
    """Show the plan, ask, then send only the needed upserts and verify what stuck.

    With PLANFILE (from `plan --out`), plan again with the file's selection and apply only if
    that plan equals the file (same targets, users, requests, live state); otherwise refuse
    (exit 3) and send nothing. The file is compared with, never sent. Without a terminal to ask on,
    apply refuses (exit 3) unless --yes is given.

    \b
    Examples:
      reconciler apply
      reconciler apply --yes --target local
      reconciler apply plan.json --yes
      reconciler apply --yes --checksum 3f1c9a0b7d2e   # what the pull request showed
      reconciler apply --yes --max-changes 500         # a reviewed bulk change
      reconciler apply --yes --prune --target onboarding   # delete undeclared users too
      reconciler apply --yes --changed-since HEAD~1    # on merge: only what the merge changed
    """
    run_apply(apply_request(flags))


def run_apply(args: ApplyArgs) -> None:
    """Apply (usecases: locks, plan or PLANFILE's plan, guards, the question, send, verify)
    with the plan printed before the question and the outcome after, in the view --format
    chose; the exit code says how it ended."""
    console.setup_logging(args.verbose)
    view = apply_view(args.view.output_format, args.view.markdown_limit, console.use_colour())

    def show(shown: PlanView) -> None:
        console.echo_chunks(view.plan(shown))

    with interruptible(Interrupts()) as interrupts:
        applied = apply_changes(
            args.request,
            console.runtime(),
            confirm=confirm,
            show=show,
            stopping=interrupts.stopping,
        )
        console.echo_chunks(view.outcome(applied.plan_view, applied.report))
        if applied.report is None:
            return
        report = applied.report
        step_summary(lambda: view.summary(report))
    interrupted = applied.interrupted or interrupts.stopping.stopped  # even while reporting
    exit_with(apply_exit_code(applied.report, interrupted))
