"""`reconciler apply [PLANFILE]`: show the plan, ask, send only the needed upserts, verify."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from reconciler.apply.applier import apply_plan
from reconciler.apply.evidence import Guard
from reconciler.apply.lock import target_locks
from reconciler.apply.records import Records, open_guards
from reconciler.cli import console
from reconciler.cli.exits import apply_exit_code, exit_with
from reconciler.cli.options import plan_options, prune_guard_options
from reconciler.cli.planning import Planned, Prepare, fresh_plan, saved_plan
from reconciler.cli.present import present_plan
from reconciler.cli.requests import ApplyRequest, apply_request
from reconciler.cli.support import (
    Interrupts,
    apply_markdown,
    check_checksum,
    checksum_option,
    confirm,
    finish_json,
    interruptible,
    step_summary,
)
from reconciler.load.workspace import Workspace
from reconciler.model import ApplyReport
from reconciler.plan.guards import check as guards_check
from reconciler.plan.mask import mask_report
from reconciler.progress import Progress
from reconciler.render.output import PlanView

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


def run_apply(request: ApplyRequest) -> None:
    """Lock the targets, plan (or re-derive PLANFILE's plan), show it, pass the guards and the
    question, apply, report; the exit code says how it ended."""
    console.setup_logging(request.verbose)
    guards: dict[str, Guard] = {}
    with ExitStack() as stack, interruptible(Interrupts()) as interrupts:

        def prepare(workspace: Workspace) -> Records:
            """Under the targets' locks (held until the end), open their records."""
            root = workspace.config.root
            names = [target.name for target in workspace.targets]
            stack.enter_context(target_locks(root, names, request.lock_timeout))
            opened, inflight = open_guards(
                root, workspace.targets, os.environ, request.assume_settled, stack
            )
            guards.update(opened)
            return inflight

        workspace, providers, the_plan = _planned(request, stack, prepare)
        limits = request.overrides.limits(workspace.config)
        shown = present_plan(
            the_plan,
            workspace.config,
            workspace.digest,
            request.scope.selection(),
            limits,
            declarations=workspace.declarations,
        )
        output_format = request.view.output_format
        if output_format != "json":
            console.echo_plan(shown, output_format, request.view.markdown_limit)
        pending = any(target.pending for target in the_plan.targets)
        if not the_plan.has_changes and not pending:
            finish_json(output_format, shown, None)
            return
        checked = guards_check(the_plan, limits)
        if the_plan.has_changes:
            confirm(the_plan, request.assume_yes)
        interrupts.providers.extend(providers.values())
        interrupts.sending = True
        mappings = {target.name: target.mapping for target in workspace.targets}
        report = apply_plan(
            checked,
            workspace.users,
            providers,
            request.wait,
            interrupts.stop,
            Progress,
            guards,
            mappings,
        )
        # What every format prints of the outcome: values and vendor messages masked.
        shown_report = mask_report(report, the_plan, workspace.config.sensitive)
        _show_report(output_format, shown, shown_report)
    exit_with(apply_exit_code(report, interrupts.stop.is_set()))


def _planned(request: ApplyRequest, stack: ExitStack, prepare: Prepare) -> Planned:
    """PLANFILE's plan, re-derived and compared; or a new plan, checked against --checksum."""
    if request.planfile is not None:
        return saved_plan(request.config_path, request.planfile, request.overrides, stack, prepare)
    workspace, providers, the_plan = fresh_plan(
        request.config_path, request.scope, request.overrides, stack, prepare
    )
    check_checksum(the_plan, request.checksum)
    return workspace, providers, the_plan


def _show_report(output_format: str, shown: PlanView, report: ApplyReport) -> None:
    """The (masked) outcome in the asked format and in the job summary."""
    if output_format == "json":
        finish_json(output_format, shown, report)
    else:
        console.echo_report(report)
    step_summary(lambda: apply_markdown(report))
