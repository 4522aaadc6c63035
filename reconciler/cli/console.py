"""Where the CLI's output goes: rendered plans and reports on stdout (coloured only on a
terminal), notes and log lines on stderr, and the last line of a failed run (``Error: ...``).
Every line is escaped (by its renderer, or here): it may quote the repository or a vendor."""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING

import click

from reconciler.escape import printable
from reconciler.progress import Progress
from reconciler.usecases.runtime import Runtime

# The renderers are imported where they are used: every command loads this module (exits.py
# does), and ``validate`` or ``--help`` should not pay for the plan's renderers.
if TYPE_CHECKING:
    from reconciler.model import ApplyReport
    from reconciler.render.view import PlanView


def runtime() -> Runtime:
    """What the use cases get from this process: its environment, progress lines and notes on
    stderr."""
    return Runtime(environ=os.environ, steps=Progress, note=note)


def use_colour() -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def echo(text: str) -> None:
    """Rendered output (already escaped by its renderer), coloured only where ``use_colour``."""
    click.echo(text, nl=False, color=use_colour())


def echo_plan(
    shown: PlanView, output_format: str, markdown_limit: int, where: str | None = None
) -> None:
    """The plan in ``output_format`` (markdown within ``markdown_limit`` characters, saying
    ``where`` the full plan is if it leaves detail out: by default, the comment's own words)."""
    from reconciler.render.comment import DEFAULT_WHERE
    from reconciler.render.output import plan_text, render_plan

    if output_format == "text":  # written as it is rendered: never held whole
        colour = use_colour()
        for piece in plan_text(shown, colour):
            click.echo(piece, nl=False, color=colour)
        return
    shown_where = DEFAULT_WHERE if where is None else where
    echo(render_plan(shown, output_format, use_colour(), markdown_limit, shown_where))


def echo_report(report: ApplyReport) -> None:
    """apply's (masked) report, coloured only where ``use_colour``."""
    from reconciler.render.output import render_report

    colour = use_colour()
    click.echo(render_report(report, colour), nl=False, color=colour)


def note(line: str) -> None:
    """A line on stderr; names, ids and paths in it come from the repository: escaped."""
    click.echo(printable(line), err=True)


def error_line(message: str) -> None:
    """``Error: message``, the last line of every failed run."""
    click.echo(f"Error: {printable(message)}", err=True)


class PrintableFormatter(logging.Formatter):
    """Log lines quote vendor messages, URLs and ids: escaped like every other printed line."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def setup_logging(verbose: int) -> None:
    """-v: info, -vv: debug, on stderr; the one logging setup of every command."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(PrintableFormatter("%(levelname)s %(message)s"))
    # httpx logs every request too, with the full URL; ours (target, method, path, status,
    # duration) is the one users read, so httpx speaks only from -vv on.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
