"""The view of ``reconciler schema``: one form (it has no ``--format``).

The listing (name, what it describes, where it is installed), a schema's text byte for byte
(an editor reads it), where it is installed, and, when ``--out`` wrote a copy, how an editor
uses it. Pure: strings of names and paths (the CLI reads the file); the CLI writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from reconciler.render.views import Output, Printed

if TYPE_CHECKING:
    from pathlib import Path


class SchemaText:
    """The schemas, for people and for editors."""

    def listed(self, described: Mapping[str, str], installed: Mapping[str, Path]) -> Printed:
        """One line per schema: its name, what it describes, where it is installed."""
        width = max(len(name) for name in described)
        lines = (
            f"{name:<{width}}  {what}: {installed[name]}\n" for name, what in described.items()
        )
        return (Output("".join(lines)),)

    def shown(self, text: str) -> Printed:
        """The schema as shipped, byte for byte."""
        return (Output(text),)

    def located(self, installed: Path) -> Printed:
        """Where the schema file is installed."""
        return (Output(f"{installed}\n"),)

    def written(self, name: str, out_path: Path) -> Printed:
        """What ``--out`` did; for a file people write, how to point it at the schema."""
        hint = (
            f" Point a YAML file at it with a first line '# yaml-language-server: "
            f"$schema=<path of {out_path.name} relative to that file>'."
            if name != "plan"  # saved plans are JSON that reconciler writes, not edited by hand
            else ""
        )
        return (Output(f"Wrote the {name} schema to {out_path}.{hint}\n", stderr=True),)
