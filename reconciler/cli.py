"""The command line: flags in, one library call, output and exit code out.

This is the only module that prints or exits. Library code raises typed errors (errors.py);
``main`` turns them into one-line messages and the exit codes of SPEC section 4. Usage errors
exit 1, never 2: with ``--detailed-exitcode`` a 2 tells CI "changes pending".
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Collection, Iterable
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler import __version__
from reconciler.applier import ApplyReport, check_safety
from reconciler.engine import Workspace, apply_plan, load_workspace, make_plan, open_providers
from reconciler.errors import ReconcilerError, RefusedError, ValidationError
from reconciler.model import Plan
from reconciler.render.text import colour_for, describe_field, render_text

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: Seconds apply polls Sprig until it shows what was sent (it answers 202 and applies later).
DEFAULT_WAIT = 60.0

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("reconciler")


def _use_colour() -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _echo_lines(lines: Iterable[tuple[str, str]]) -> None:
    colour = _use_colour()
    for symbol, line in lines:
        style = colour_for(symbol) if colour else None
        click.echo(click.style(line, fg=style) if style else line, color=colour)


def _error(message: str) -> None:
    click.echo(f"Error: {message}", err=True)


def common_options(command: F) -> F:
    """--config, --target and -v, shared by every command that reads a config repository."""
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=Path("reconciler.yaml"),
            show_default=True,
            help="Path of reconciler.yaml.",
        ),
        click.option(
            "--target",
            "target_names",
            multiple=True,
            metavar="NAME",
            help="Only this target (repeatable). Default: all targets.",
        ),
        click.option("-v", "--verbose", count=True, help="Log more on stderr (-vv: debug)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def user_option(command: F) -> F:
    return click.option(
        "--user",
        "user_ids",
        multiple=True,
        metavar="ID",
        help="Only this user (repeatable). Default: every declared user.",
    )(command)


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
def validate(config_path: Path, target_names: tuple[str, ...], verbose: int) -> None:
    """Check reconciler.yaml and every declaration file, offline.

    Reports every problem at once as file:line:col: field: message. Sends no request and needs
    no API key.

    \b
    Examples:
      reconciler validate
      reconciler validate --config infra/users/reconciler.yaml
    """
    _setup_logging(verbose)
    workspace = load_workspace(config_path, os.environ, target_names)
    files = len(workspace.declarations.files)
    click.echo(
        f"Valid: {len(workspace.users)} users in {files} file{'s' if files != 1 else ''}, "
        f"{len(workspace.targets)} target{'s' if len(workspace.targets) != 1 else ''}."
    )


@cli.command()
@common_options
@user_option
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when there are none (1 stays an error).",
)
def plan(
    config_path: Path,
    target_names: tuple[str, ...],
    verbose: int,
    user_ids: tuple[str, ...],
    detailed_exitcode: bool,
) -> None:
    """Read the live users and show what apply would change. Sends only GET requests.

    \b
    Examples:
      reconciler plan
      reconciler plan --target production --user 12347
      reconciler plan --detailed-exitcode   # CI drift check: 0 clean, 2 drift, 1 error
    """
    _setup_logging(verbose)
    workspace = load_workspace(config_path, os.environ, target_names, user_ids)
    with ExitStack() as stack:
        providers = open_providers(workspace, os.environ, stack)
        the_plan = make_plan(workspace, providers)
    _echo_lines(render_text(the_plan, workspace.config.sensitive))
    if detailed_exitcode and the_plan.has_changes:
        raise click.exceptions.Exit(EXIT_CHANGES)


@cli.command()
@common_options
@user_option
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Apply without asking.")
@click.option(
    "--max-changes",
    type=click.IntRange(min=0),
    metavar="N",
    help="Override safety.max_changes for this run.",
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
    assume_yes: bool,
    max_changes: int | None,
    wait: float,
    no_wait: bool,
) -> None:
    """Show the plan, ask, then send only the needed upserts and verify what stuck.

    Without a terminal to ask on, apply refuses (exit 3) unless --yes is given.

    \b
    Examples:
      reconciler apply
      reconciler apply --yes --target local
      reconciler apply --yes --max-changes 500   # a reviewed bulk change
    """
    _setup_logging(verbose)
    workspace = load_workspace(config_path, os.environ, target_names, user_ids)
    with ExitStack() as stack:
        providers = open_providers(workspace, os.environ, stack)
        the_plan = make_plan(workspace, providers)
        _echo_lines(render_text(the_plan, workspace.config.sensitive))
        if not the_plan.has_changes:
            return
        limit = max_changes if max_changes is not None else workspace.config.max_changes
        check_safety(the_plan, limit)
        _confirm(the_plan, assume_yes)
        report = apply_plan(the_plan, workspace, providers, None if no_wait else wait)
    _print_report(report, workspace)
    if report.problems:
        raise click.exceptions.Exit(EXIT_ERROR)


@cli.group()
def sandbox() -> None:
    """The local sandbox: an HTTP emulator of the Sprig and Usertour APIs."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8011, show_default=True)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path(".reconciler/emulator.db"),
    show_default=True,
    help="SQLite store of the emulated users.",
)
@click.option(
    "--sprig-key", metavar="KEY", help="Accepted Sprig key (or $RECONCILER_SANDBOX_SPRIG_KEY)."
)
@click.option(
    "--usertour-key",
    metavar="KEY",
    help="Accepted Usertour key (or $RECONCILER_SANDBOX_USERTOUR_KEY).",
)
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0.0, help="Fraction of failures.")
@click.option(
    "--fail-mode",
    type=click.Choice(["before", "after"]),
    default="before",
    show_default=True,
    help="after: commit the write, then answer an error (a lost response).",
)
@click.option(
    "--rate-limit", type=click.FloatRange(min=0, min_open=True), help="Requests/s per key."
)
@click.option("--latency-ms", type=click.IntRange(min=0), default=0, help="Delay every answer.")
@click.option(
    "--visibility-delay-ms",
    type=click.IntRange(min=0),
    default=0,
    help="Sprig: an upsert shows on GET only this long after its 202.",
)
@click.option("--seed", type=int, default=0, help="Seed of the injected failures.")
@click.option("-v", "--verbose", is_flag=True, help="Log each request on stderr.")
def sandbox_serve(host: str, port: int, db_path: Path, **options: Any) -> None:
    """Serve the Sprig v2 and Usertour v1 APIs on 127.0.0.1 over a local SQLite store.

    Point a target's base_url at it to try the real HTTP path without an account.

    \b
    Examples:
      reconciler sandbox serve --port 8011
      SPRIG_API_KEY=sprig-sandbox-key reconciler plan   # with base_url http://127.0.0.1:8011
      reconciler sandbox serve --fail-rate 0.3 --latency-ms 50 --visibility-delay-ms 2000
    """
    from reconciler.sandbox.server import EmulatorOptions, serve_forever

    serve_forever(
        db_path,
        EmulatorOptions(**options),
        host=host,
        port=port,
        announce=lambda message: click.echo(message),
    )


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
    )
    if answer.strip() != "yes":
        raise RefusedError("apply cancelled: nothing was sent")


def _print_report(report: ApplyReport, workspace: Workspace) -> None:
    sensitive: Collection[str] = workspace.config.sensitive
    lines: list[tuple[str, str]] = [("", "")]
    for outcome in report.problems:
        where = f"user {outcome.user_id} on {outcome.target}"
        if outcome.status in ("failed", "unconfirmed"):
            verb = "failed" if outcome.status == "failed" else "not confirmed"
            lines.append(("-", f"  ! {where} {verb}: {outcome.message}"))
            continue
        lines.append(("-", f"  ! {where}: the target did not keep these values:"))
        for change in outcome.not_stuck:
            lines.append(("-", f"      {describe_field(change, sensitive)}"))
    failed = len(report.problems)
    lines.append(("", f"Apply complete: {report.applied} applied, {failed} failed."))
    _echo_lines(lines)


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
