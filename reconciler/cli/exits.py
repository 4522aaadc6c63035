"""Exit codes (SPEC section 4): the one table from errors and outcomes to the code a run ends with.

The library raises typed errors (errors.py) and returns reports; which number a CI job sees is
decided here alone. Usage errors exit 1, never click's 2: with ``--detailed-exitcode`` a 2 tells
CI "changes pending".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from reconciler.cli.console import error_line
from reconciler.errors import ReconcilerError, RefusedError, ValidationError
from reconciler.escape import printable

if TYPE_CHECKING:  # only the type
    from reconciler.planned import ApplyReport

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: apply: everything was accepted, but Sprig did not show all of it within --wait (run plan
#: later); kept apart from 1, which says a change failed or a value was not kept.
EXIT_NOT_VISIBLE = 4
#: apply: some users' events were held back, because nothing proved that an earlier write of
#: them is not still on its way (no write-ahead record covers them: README, "Exactly once").
EXIT_HELD = 5

#: The exit code of each kind of error a run can end with, most specific first.
ERROR_EXITS: tuple[tuple[type[BaseException], int], ...] = (
    (RefusedError, EXIT_REFUSED),
    (ReconcilerError, EXIT_ERROR),
    # A usage error (click's UsageError, BadParameter...): 1, not click's default 2.
    (click.ClickException, EXIT_ERROR),
    # Ctrl-C outside apply's own handling, or at a prompt (click.Abort).
    (KeyboardInterrupt, EXIT_INTERRUPTED),
    (click.Abort, EXIT_INTERRUPTED),
)
#: What ``main`` reports and exits on; anything else is a bug, shown with its traceback.
HANDLED = tuple(kind for kind, _ in ERROR_EXITS)


def exit_code_of(error: BaseException) -> int:
    """The code a run that raised ``error`` exits with."""
    for kind, code in ERROR_EXITS:
        if isinstance(error, kind):
            return code
    return EXIT_ERROR


def report(error: BaseException) -> None:
    """What a run that raised ``error`` says last, on stderr."""
    if isinstance(error, click.ClickException):
        error.show()
    elif isinstance(error, ReconcilerError):
        report_error(error)
    else:
        click.echo("Interrupted.", err=True)


def apply_exit_code(report: ApplyReport, interrupted: bool) -> int:
    """How an apply that ran ends: interrupted, a change failed, events held back, not visible
    yet, or ok."""
    if interrupted:
        return EXIT_INTERRUPTED
    if report.failed:
        return EXIT_ERROR
    if report.held:
        return EXIT_HELD
    if report.not_visible:
        return EXIT_NOT_VISIBLE
    return EXIT_OK


def exit_with(code: int) -> None:
    """End the command with ``code`` (main turns it into the process's exit status)."""
    if code != EXIT_OK:
        raise click.exceptions.Exit(code)


def report_error(error: ReconcilerError) -> None:
    """On stderr: every located problem of a ValidationError (up to a limit), then ``Error:``."""
    if isinstance(error, ValidationError):
        from reconciler.render.problems import more_line, shown_problems

        shown, left_out = shown_problems(error.problems)
        for problem in shown:
            click.echo(printable(str(problem)), err=True)
        if left_out:
            click.echo(more_line(left_out), err=True)
    error_line(str(error))
