"""Where the CLI's output goes: rendered plans and reports on stdout (coloured only on a
terminal), notes and log lines on stderr, and the last line of a failed run (``Error: ...``).
Every line is escaped (by its renderer, or here): it may quote the repository or a vendor."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from reconciler.escape import printable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from reconciler.render.views import Printed
    from reconciler.usecases.runtime import Runtime

#: Characters written to stdout at once while a view's output is streamed.
BATCH = 1 << 16


def from_process() -> Runtime:
    """The runtime of this process: its environment (the one place reconciler reads
    ``os.environ``), the network, the system clock, progress lines and notes on stderr.
    Imported here, when a command runs: ``--help`` and a usage error need none of it."""
    from reconciler.progress import Progress
    from reconciler.usecases.runtime import Runtime

    return Runtime(environ=os.environ, steps=Progress, note=note)


def runtime() -> Runtime:
    """What the use cases get: the runtime ``main(argv, runtime=...)`` was given (a test's,
    with the emulator's transport), else the process's."""
    context = click.get_current_context(silent=True)
    given = context.find_root().obj if context is not None else None
    from reconciler.usecases.runtime import Runtime

    return given if isinstance(given, Runtime) else from_process()


def use_colour() -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    return sys.stdout.isatty() and "NO_COLOR" not in runtime().environ


def echo(text: str) -> None:
    """Rendered output (already escaped by its renderer), coloured only where ``use_colour``."""
    click.echo(text, nl=False, color=use_colour())


def echo_chunks(chunks: Iterable[str]) -> None:
    """A view's output written as it is rendered, in batches (``apply --format json``: the text
    of a large plan is never held whole), coloured only where ``use_colour``."""
    batch: list[str] = []
    size = 0
    for chunk in chunks:
        batch.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            echo("".join(batch))
            batch, size = [], 0
    echo("".join(batch))


def emit(printed: Printed) -> None:
    """What a view printed, each piece on its stream, in order."""
    for output in printed:
        if output.text:
            click.echo(output.text, nl=False, err=output.stderr)


def note(line: str) -> None:
    """A line on stderr; names, ids and paths in it come from the repository: escaped."""
    click.echo(printable(line), err=True)


def error_line(message: str) -> None:
    """``Error: message``, the last line of every failed run."""
    click.echo(f"Error: {printable(message)}", err=True)


def setup_logging(verbose: int) -> None:
    """-v: info, -vv: debug, on stderr; the one logging setup of every command that logs
    (cli/logsetup.py, imported here: validate logs nothing and does not import logging)."""
    from reconciler.cli.logsetup import setup_logging as configure

    configure(verbose)
