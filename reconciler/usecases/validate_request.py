"""What validate is asked to do: apart from requests.py (which re-exports it) so that the
validate command creates none of the other use cases' requests at start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class ValidateRequest:
    """Check reconciler.yaml and the declaration files, offline."""

    config_path: Path
    #: Check what these targets can hold (empty: every target).
    target_names: tuple[str, ...] = ()
    #: Only these declaration files (what pre-commit passes); empty: every one of the config.
    files: tuple[Path, ...] = ()
