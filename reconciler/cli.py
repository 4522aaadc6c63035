"""The command line: flags in, one library call, output and exit code out.

This is the only module that prints or exits. Library code raises typed errors (errors.py);
``main`` turns them into one-line messages and the exit codes of SPEC section 4. Usage errors
exit 1, never 2: with ``--detailed-exitcode`` a 2 tells CI "changes pending".
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click

from reconciler import __version__
from reconciler.applier import ApplyReport, check_safety
from reconciler.cli_options import (
    common_options,
    format_option,
    parallelism_option,
    shard_option,
    user_option,
)
from reconciler.cli_sandbox import sandbox
from reconciler.engine import (
    Workspace,
    apply_plan,
    digest,
    load_workspace,
    make_plan,
    open_providers,
    stale_users,
)
from reconciler.errors import ConfigError, ReconcilerError, RefusedError, ValidationError
from reconciler.model import Plan
from reconciler.output import PlanView, report_json, report_lines, styled
from reconciler.planfile import plan_checksum, read_saved_plan
from reconciler.progress import Progress
from reconciler.providers.base import Provider

#: Shortest checksum prefix apply --checksum accepts (48 bits: no accidental match).
MIN_CHECKSUM = 12
EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: Seconds apply polls Sprig until it shows what was sent (it answers 202 and applies later).
DEFAULT_WAIT = 60.0

log = logging.getLogger("reconciler")


def _use_colour() -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _echo_lines(lines: Iterable[tuple[str, str]]) -> None:
    colour = _use_colour()
    click.echo(styled(lines, colour), nl=False, color=colour)


def _error(message: str) -> None:
    click.echo(f"Error: {message}", err=True)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(message)s")
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
    3 refused (safety guard, no confirmation).
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
def validate(
    config_path: Path, target_names: tuple[str, ...], verbose: int, output_format: str
) -> None:
    """Check reconciler.yaml and every declaration file, offline.

    Reports every problem at once as file:line:col: field: message. Sends no request and needs
    no API key.

    \b
    Examples:
      reconciler validate
      reconciler validate --config infra/users/reconciler.yaml
      reconciler validate --format github   # in GitHub Actions: annotations on the diff
    """
    from reconciler.render.problems import render_github, render_validation_json

    _setup_logging(verbose)
    try:
        workspace = load_workspace(config_path, os.environ, target_names)
    except ValidationError as invalid:
        if output_format == "text":
            raise
        if output_format == "github":
            click.echo("\n".join(render_github(invalid.problems)))
        else:
            click.echo(render_validation_json(invalid.problems))
        raise click.exceptions.Exit(EXIT_ERROR) from None
    files = len(workspace.declarations.files)
    if output_format == "json":
        click.echo(render_validation_json([], users=len(workspace.users), files=files))
        return
    click.echo(
        f"Valid: {len(workspace.users)} users in {files} file{'s' if files != 1 else ''}, "
        f"{len(workspace.targets)} target{'s' if len(workspace.targets) != 1 else ''}."
    )


@cli.command()
@common_options
@user_option
@shard_option
@format_option
@parallelism_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when there are none (1 stays an error).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the plan (with its values: keep it private) for `reconciler apply FILE`.",
)
def plan(
    config_path: Path,
    target_names: tuple[str, ...],
    verbose: int,
    user_ids: tuple[str, ...],
    shard: tuple[int, int] | None,
    output_format: str,
    parallelism: int | None,
    detailed_exitcode: bool,
    out_path: Path | None,
) -> None:
    """Read the live users and show what apply would change. Sends only GET requests.

    \b
    Examples:
      reconciler plan
      reconciler plan --target production --user 12347
      reconciler plan --detailed-exitcode   # CI drift check: 0 clean, 2 drift, 1 error
      reconciler plan --format markdown --out plan.json
      reconciler plan --shard 2/4           # one job of a 4-job CI matrix
    """
    _setup_logging(verbose)
    workspace = load_workspace(config_path, os.environ, target_names, user_ids, shard)
    with ExitStack() as stack:
        providers = open_providers(workspace, os.environ, stack, parallelism)
        the_plan = make_plan(workspace, providers, Progress)
    shown = PlanView(the_plan, workspace, _selection(target_names, user_ids, shard))
    click.echo(shown.render(output_format, colour=_use_colour()), nl=False, color=_use_colour())
    if out_path is not None:
        _write_private(out_path, shown.document(masked=False))
        click.echo(
            f"Saved the plan to {out_path} (it holds real values: keep it private).", err=True
        )
    _step_summary(lambda: shown.render("markdown", colour=False))
    if detailed_exitcode and the_plan.has_changes:
        raise click.exceptions.Exit(EXIT_CHANGES)


@cli.command()
@common_options
@user_option
@shard_option
@format_option
@parallelism_option
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--checksum",
    metavar="SHA",
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
def apply(
    config_path: Path,
    target_names: tuple[str, ...],
    verbose: int,
    user_ids: tuple[str, ...],
    shard: tuple[int, int] | None,
    output_format: str,
    parallelism: int | None,
    planfile: Path | None,
    assume_yes: bool,
    checksum: str | None,
    max_changes: int | None,
    max_change_ratio: float | None,
    wait: float,
    no_wait: bool,
) -> None:
    """Show the plan, ask, then send only the needed upserts and verify what stuck.

    With PLANFILE (from `plan --out`), apply exactly that plan, or refuse (exit 3) if the
    declarations or a planned user's live state changed since. Without a terminal to ask on,
    apply refuses (exit 3) unless --yes is given.

    \b
    Examples:
      reconciler apply
      reconciler apply --yes --target local
      reconciler apply plan.json --yes
      reconciler apply --yes --checksum 3f1c9a0b7d2e   # what the pull request showed
      reconciler apply --yes --max-changes 500         # a reviewed bulk change
    """
    _setup_logging(verbose)
    if planfile is not None and (user_ids or shard or checksum or target_names):
        raise click.UsageError("PLANFILE is applied whole: drop --user/--shard/--target/--checksum")
    selection = _selection(target_names, user_ids, shard)
    with ExitStack() as stack:
        if planfile is not None:
            workspace, providers, the_plan = _saved_plan(config_path, planfile, stack, parallelism)
        else:
            workspace = load_workspace(config_path, os.environ, target_names, user_ids, shard)
            providers = open_providers(workspace, os.environ, stack, parallelism)
            the_plan = make_plan(workspace, providers, Progress)
            _check_checksum(the_plan, checksum)
        shown = PlanView(the_plan, workspace, selection)
        if output_format != "json":
            click.echo(
                shown.render(output_format, colour=_use_colour()), nl=False, color=_use_colour()
            )
        if not the_plan.has_changes:
            _finish_json(output_format, shown, None)
            return
        config = workspace.config
        check_safety(
            the_plan,
            max_changes if max_changes is not None else config.max_changes,
            max_change_ratio if max_change_ratio is not None else config.max_change_ratio,
        )
        _confirm(the_plan, assume_yes)
        stop = threading.Event()
        with _interruptible(stop):
            report = apply_plan(
                the_plan, workspace, providers, None if no_wait else wait, stop, Progress
            )
    if output_format == "json":
        _finish_json(output_format, shown, report)
    else:
        _echo_lines(report_lines(report, workspace.config.sensitive))
    _step_summary(lambda: _apply_markdown(report, workspace))
    if stop.is_set():
        raise click.exceptions.Exit(EXIT_INTERRUPTED)
    if report.problems:
        raise click.exceptions.Exit(EXIT_ERROR)


@contextmanager
def _interruptible(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM (a cancelled CI job) during apply: send nothing new, let requests in
    flight finish, then report what was and was not applied (exit 130)."""

    def interrupted(signum: int, frame: object) -> None:
        if not stop.is_set():
            click.echo(
                "Interrupted: finishing the requests in flight, sending nothing new.", err=True
            )
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _selection(
    target_names: Sequence[str], user_ids: Sequence[str], shard: tuple[int, int] | None
) -> dict[str, Any]:
    return {
        "targets": sorted(target_names),
        "users": sorted(user_ids),
        "shard": f"{shard[0]}/{shard[1]}" if shard else None,
    }


def _saved_plan(
    config_path: Path, planfile: Path, stack: ExitStack, parallelism: int | None
) -> tuple[Workspace, dict[str, Provider], Plan]:
    """Load a saved plan; refuse it when its inputs or its users' live state changed."""
    saved = read_saved_plan(planfile)
    names = [t.target for t in saved.plan.targets]
    workspace = load_workspace(config_path, os.environ, names)
    if digest(workspace) != saved.digest:
        raise RefusedError(
            f"stale plan: reconciler.yaml or the declarations changed since {planfile} was made; "
            "run plan again. Nothing was sent."
        )
    providers = open_providers(workspace, os.environ, stack, parallelism)
    stale = stale_users(saved.plan, workspace, providers)
    if stale:
        lines = "; ".join(f"user {user} changed on target {target}" for target, user in stale)
        raise RefusedError(f"stale plan: {lines} since the plan; run plan again. Nothing was sent.")
    return workspace, providers, saved.plan


def _check_checksum(the_plan: Plan, expected: str | None) -> None:
    if expected is None:
        return
    wanted = expected.strip().lower()
    actual = plan_checksum(the_plan)
    if len(wanted) < MIN_CHECKSUM or not actual.startswith(wanted):
        raise RefusedError(
            f"the plan checksum is now {actual}, not {expected}: the declarations or the live "
            "users changed since that plan was reviewed. Run plan again. Nothing was sent."
        )


def _write_private(path: Path, document: dict[str, Any]) -> None:
    """A saved plan holds emails: create it readable by its owner only."""
    text = json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise ConfigError(f"cannot write the plan to {path}: {error.strerror}") from error


def _step_summary(markdown: Callable[[], str]) -> None:
    """On GitHub Actions, append to the job's summary page too (rendered only there)."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as file:
            file.write(markdown().rstrip("\n") + "\n\n")


def _apply_markdown(report: ApplyReport, workspace: Workspace) -> str:
    from reconciler.render.markdown import render_apply_markdown

    return render_apply_markdown(report, workspace.config.sensitive)


def _finish_json(output_format: str, shown: PlanView, report: ApplyReport | None) -> None:
    if output_format == "json":
        document = {"plan": shown.document(masked=True), "apply": report_json(report)}
        click.echo(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True))


cli.add_command(sandbox)


def _confirm(the_plan: Plan, assume_yes: bool) -> None:
    """Ask like Terraform does: only the exact answer "yes" applies."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise RefusedError("apply needs a confirmation and there is no terminal: pass --yes")
    count = sum(len(t.changes) for t in the_plan.targets)
    answer = click.prompt(
        f"Apply these changes to {count} user{'s' if count != 1 else ''}? Only 'yes' applies",
        default="",
        show_default=False,
        err=True,
    )
    if answer.strip() != "yes":
        raise RefusedError("apply cancelled: nothing was sent")


def _report_error(error: ReconcilerError) -> None:
    if isinstance(error, ValidationError):
        for problem in error.problems:
            click.echo(str(problem), err=True)
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
