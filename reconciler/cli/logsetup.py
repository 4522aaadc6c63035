"""The one logging setup of every command that logs: a module of its own so that a command
that logs nothing (validate) never imports :mod:`logging` (~3 ms of every start)."""

from __future__ import annotations

import logging
import sys

from reconciler.escape import printable


class PrintableFormatter(logging.Formatter):
    """Log lines quote vendor messages, URLs and ids: escaped like every other printed line."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def setup_logging(verbose: int) -> None:
    """-v: info, -vv: debug, on stderr, every line escaped."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(PrintableFormatter("%(levelname)s %(message)s"))
    # httpx logs every request too, with the full URL; ours (target, method, path, status,
    # duration) is the one users read, so httpx speaks only from -vv on.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
