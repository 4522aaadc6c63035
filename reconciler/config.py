"""reconciler.yaml -> Config: targets, where declarations live, safety and sensitive fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from reconciler.model import Source

DEFAULT_PARALLELISM = 8
DEFAULT_SENSITIVE = ("email",)


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


@dataclass(frozen=True, slots=True)
class Config:
    """The whole of reconciler.yaml, with ${VAR} expanded and paths resolved."""

    path: Path
    #: Folder of reconciler.yaml; relative paths in it are relative to this folder.
    root: Path
    #: Sorted by name.
    targets: dict[str, TargetConfig]
    #: Declaration sources as written: files, folders or globs, relative to ``root``.
    users: tuple[str, ...] = ("users/",)
    max_changes: int | None = None
    sensitive: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_SENSITIVE))
