"""The command line: flags in, one library call, output and exit code out.

This is the only module that prints or exits. Library code raises typed errors (errors.py);
``main`` turns them into one-line messages and the exit codes of SPEC section 4. Usage errors
exit 1, never 2: with ``--detailed-exitcode`` a 2 tells CI "changes pending".
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

import click

from reconciler import __version__
from reconciler.apply.applier import apply_plan
from reconciler.apply.engine import (
    load_workspace,
    make_plan,
    open_providers,
)
from reconciler.apply.progress import Progress
from reconciler.cli.import_cmd import import_command
from reconciler.cli.options import (
    common_options,
    plan_options,
    prune_guard_options,
)
from reconciler.cli.sandbox import sandbox
from reconciler.cli.schema import schema
from reconciler.cli.support import (
    apply_markdown,
    check_checksum,
    check_prune,
    checksum_option,
    confirm,
    finish_json,
    interruptible,
    saved_plan,
    selection_of,
    step_summary,
    write_private,
)
from reconciler.errors import ReconcilerError, ValidationError
from reconciler.escape import printable
from reconciler.model import ApplyReport
from reconciler.plan import guards
from reconciler.plan.guards import limits_of
from reconciler.plan.mask import mask_report
from reconciler.plan.present import present_plan
from reconciler.render.output import render_plan, render_report, saved_plan_json

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: apply: everything was accepted, but Sprig did not show all of it within --wait (run plan
#: later); kept apart from 1, which says a change failed or a value was not kept.
EXIT_NOT_VISIBLE = 4
#: Seconds apply polls Sprig until it shows what was sent (it answers 202 and applies later).
DEFAULT_WAIT = 60.0

log = logging.getLogger("reconciler")


def _use_colour() -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _echo_report(report: ApplyReport) -> None:
    colour = _use_colour()
    click.echo(render_report(report, colour), nl=False, color=colour)


def _error(message: str) -> None:
    click.echo(f"Error: {printable(message)}", err=True)


class PrintableFormatter(logging.Formatter):
    """Log lines quote vendor messages, URLs and ids: escaped like every other printed line."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(PrintableFormatter("%(levelname)s %(message)s"))
    # httpx logs every request too, with the full URL; ours (target, method, path, status,
    # duration) is the one users read, so httpx speaks only from -vv on.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Keep end-user profiles in Sprig and Usertour equal to what YAML files declare.

    \b
    Typical loop:
      reconciler validate            # offline checks, no network
      reconciler plan                # read live users, show what would change
      reconciler apply               # show the plan, ask, send only the needed upserts

    Exit codes: 0 ok, 1 error or invalid, 2 changes pending (plan --detailed-exitcode),
    3 refused (safety guard, no confirmation), 4 applied but not visible yet within apply's
    --wait (Sprig; run plan later), 130 interrupted.
    """


@cli.command()
@common_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="github: ::error annotations on the pull request's lines; json: for programs.",
)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(
    config_path: Path,
    target_names: tuple[str, ...],
    verbose: int,
    output_format: str,
    files: tuple[Path, ...],
) -> None:
    """Check reconciler.yaml and every declaration file, offline.

    Reports every problem at once as file:line:col: field: message. Sends no request and needs
    no API key. With --target T, what a target can hold is checked for T alone.

    With FILES (what pre-commit passes: the changed *.yaml files, relative to the current
    folder), checks reconciler.yaml and only those FILES that are declaration files of it
    (covered by its users:); any other file is skipped with a line on stderr. Naming
    reconciler.yaml checks everything. A duplicate id is then seen only among the files read:
    run validate without FILES in CI to catch the rest.

    \b
    Examples:
      reconciler validate
      reconciler validate --config infra/users/reconciler.yaml
      reconciler validate --format github   # in GitHub Actions: annotations on the diff
      reconciler validate users/customers.yaml users/staff.yaml
      reconciler validate --config infra/reconciler.yaml infra/users/new.yaml
    """
    from reconciler.load.changed_files import load_named
    from reconciler.render.problems import (
        github_annotation,
        render_github,
        render_validation_json,
    )

    _setup_logging(verbose)
    try:
        if files:
            workspace, _ = load_named(
                config_path,
                os.environ,
                target_names,
                files,
                lambda path, reason: click.echo(printable(f"Skipped {path}: {reason}"), err=True),
            )
        else:
            workspace = load_workspace(
                config_path, os.environ, target_names, check_selected_only=True
            )
    except ValidationError as invalid:
        if output_format == "text":
            raise
        if output_format == "github":
            click.echo("\n".join(render_github(invalid.problems)))
        else:
            click.echo(render_validation_json(invalid.problems))
        raise click.exceptions.Exit(EXIT_ERROR) from None
    read = len(workspace.declarations.files)
    for warning in workspace.declarations.warnings:
        if output_format == "github":
            click.echo(github_annotation(warning, "warning"))
        elif output_format == "text":
            click.echo(printable(str(warning)), err=True)
    if output_format == "json":
        click.echo(render_validation_json([], users=len(workspace.users), files=read))
        return
    click.echo(
        f"Valid: {len(workspace.users)} users in {read} file{'s' if read != 1 else ''}, "
        f"{len(workspace.targets)} target{'s' if len(workspace.targets) != 1 else ''}."
    )


@cli.command()
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
def plan(
    config_path: Path,
    target_names: tuple[str, ...],
    verbose: int,
    user_ids: tuple[str, ...],
    shard: tuple[int, int] | None,
    output_format: str,
    markdown_limit: int,
    parallelism: int | None,
    detailed_exitcode: bool,
    out_path: Path | None,
    prune: bool,
    changed_since: str | None,
) -> None:
    """Read the live users and show what apply would change. Sends only GET requests.

    \b
    Examples:
      reconciler plan
      reconciler plan --target production --user 12347
      reconciler plan --detailed-exitcode   # CI drift check: 0 clean, 2 drift, 1 error
      reconciler plan --format markdown --out plan.json
      reconciler plan --shard 2/4           # one job of a 4-job CI matrix
      reconciler plan --shard 2/4 --format markdown --markdown-limit 15000   # 1/4 of a comment
      reconciler plan --prune --target onboarding   # also: live users no file declares
      reconciler plan --changed-since origin/main   # a pull request: only what it changed
    """
    _setup_logging(verbose)
    workspace = load_workspace(
        config_path, os.environ, target_names, user_ids, shard, changed_since
    )
    check_prune(prune, user_ids, workspace)
    with ExitStack() as stack:
        providers = open_providers(workspace, os.environ, stack, parallelism)
        the_plan = make_plan(workspace, providers, Progress, prune)
    selection = selection_of(target_names, user_ids, shard, prune, changed_since)
    shown = present_plan(the_plan, workspace.config, workspace.digest, selection)
    rendered = render_plan(shown, output_format, _use_colour(), markdown_limit)
    click.echo(rendered, nl=False, color=_use_colour())
    if out_path is not None:
        write_private(out_path, saved_plan_json(shown))
        click.echo(printable(f"Saved the plan to {out_path} (sensitive values masked)."), err=True)
    step_summary(lambda: render_plan(shown, "markdown", colour=False))
    if detailed_exitcode and the_plan.has_changes:
        raise click.exceptions.Exit(EXIT_CHANGES)


@cli.command()
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
@prune_guard_options
def apply(
    config_path: Path,
    target_names: tuple[str, ...],
    verbose: int,
    user_ids: tuple[str, ...],
    shard: tuple[int, int] | None,
    output_format: str,
    markdown_limit: int,
    parallelism: int | None,
    planfile: Path | None,
    assume_yes: bool,
    checksum: str | None,
    max_changes: int | None,
    max_change_ratio: float | None,
    wait: float,
    no_wait: bool,
    prune: bool,
    max_deletes: int | None,
    force: bool,
    changed_since: str | None,
) -> None:
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
    _setup_logging(verbose)
    selected = user_ids or shard or checksum or target_names or prune or changed_since
    if planfile is not None and selected:
        raise click.UsageError(
            "PLANFILE is applied whole (with its deletions, if it was pruned): "
            "drop --user/--shard/--target/--checksum/--prune/--changed-since"
        )
    selection = selection_of(target_names, user_ids, shard, prune, changed_since)
    with ExitStack() as stack:
        if planfile is not None:
            workspace, providers, the_plan = saved_plan(config_path, planfile, stack, parallelism)
        else:
            workspace = load_workspace(
                config_path, os.environ, target_names, user_ids, shard, changed_since
            )
            check_prune(prune, user_ids, workspace)
            providers = open_providers(workspace, os.environ, stack, parallelism)
            the_plan = make_plan(workspace, providers, Progress, prune)
            check_checksum(the_plan, checksum)
        limits = limits_of(workspace.config, max_changes, max_change_ratio, max_deletes, force)
        shown = present_plan(the_plan, workspace.config, workspace.digest, selection, limits)
        if output_format != "json":
            rendered = render_plan(shown, output_format, _use_colour(), markdown_limit)
            click.echo(rendered, nl=False, color=_use_colour())
        if not the_plan.has_changes:
            finish_json(output_format, shown, None)
            return
        checked = guards.check(the_plan, limits)
        confirm(the_plan, assume_yes)
        stop = threading.Event()
        with interruptible(stop):
            report = apply_plan(
                checked, workspace.users, providers, None if no_wait else wait, stop, Progress
            )
    # What every format prints of the outcome: values and vendor messages masked.
    shown_report = mask_report(report, the_plan, workspace.config.sensitive)
    if output_format == "json":
        finish_json(output_format, shown, shown_report)
    else:
        _echo_report(shown_report)
    step_summary(lambda: apply_markdown(shown_report))
    if stop.is_set():
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if report.failed:
        raise click.exceptions.Exit(EXIT_ERROR)
    if report.not_visible:
        raise click.exceptions.Exit(EXIT_NOT_VISIBLE)


cli.add_command(import_command)
cli.add_command(sandbox)
cli.add_command(schema)


def _report_error(error: ReconcilerError) -> None:
    if isinstance(error, ValidationError):
        from reconciler.render.problems import more_line, shown_problems

        shown, left_out = shown_problems(error.problems)
        for problem in shown:
            click.echo(printable(str(problem)), err=True)
        if left_out:
            click.echo(more_line(left_out), err=True)
    _error(str(error))


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the CLI and owns every exit code."""
    try:
        # Without standalone mode click returns Exit's code instead of exiting (e.g. --help).
        code = cli.main(args=argv, prog_name="reconciler", standalone_mode=False)
    except click.ClickException as usage:
        # Usage errors exit 1, not click's default 2 (which means "changes" to CI).
        usage.show()
        sys.exit(EXIT_ERROR)
    except ReconcilerError as error:
        _report_error(error)
        sys.exit(error.exit_code)
    except (KeyboardInterrupt, click.Abort):
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
