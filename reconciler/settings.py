"""One target's settings, as reconciler.yaml gives them: the value every stage passes around.

On the floor because load builds it and the providers, the emulator and apply's records read
it: none of them imports another to learn what a target is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from reconciler.mapping import NO_MAPPING, TargetMapping
from reconciler.model import Source

DEFAULT_PARALLELISM = 8
DEFAULT_SANDBOX_PATH = ".reconciler/sandbox.db"


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """One entry of ``targets:``. Holds the *name* of the key variable, never the key."""

    name: str
    provider: str
    base_url: str | None = None
    api_key_env: str | None = None
    parallelism: int = DEFAULT_PARALLELISM
    rate_limit: float | None = None
    #: Sandbox only: SQLite file, already resolved against the config file's folder.
    path: Path | None = None
    source: Source | None = None
    #: (field, text as written) of the fields that held ``${VAR}``: what messages quote.
    written: tuple[tuple[str, str], ...] = ()
    #: How declared attributes are sent here (``mapping:``); empty: as declared.
    mapping: TargetMapping = NO_MAPPING

    def shown(self, field_name: str) -> str:
        """A field for messages: as written when it held ``${VAR}``, else its value."""
        for name, text in self.written:
            if name == field_name:
                return text
        value = getattr(self, field_name)
        if field_name == "path" and value is not None:
            return display_path(value)
        return "" if value is None else str(value)


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the current folder when it is below it."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:  # elsewhere: the full path is clearer than ../../..
        return absolute.as_posix()
