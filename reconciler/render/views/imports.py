"""The view of ``reconciler import``: one form (it has no ``--format``).

The declaration file goes to stdout, and only there (without ``--out``: it holds real emails);
what happened goes to stderr, each line escaped (it names ids, fields and files of the
repository and the vendor). Pure: strings; the CLI writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.escape import printable
from reconciler.render.views import Output, Printed


@dataclass(frozen=True, slots=True)
class ImportText:
    """The file, then the report."""

    def imported(self, text: str | None, report: Sequence[str]) -> Printed:
        """``text``: the declaration file (None: ``--out`` wrote it); ``report``: its lines."""
        notes = "".join(f"{printable(line)}\n" for line in report)
        return Output(text or ""), Output(notes, stderr=True)
