"""The repository's fence: every file reconciler reads or writes lies inside one folder.

CI plans pull requests whose author controls every file of the repository, symlinks included,
but nothing outside it (SECURITY.md). So a path the repository names (a ``users:`` source, a
file found below one, a symlinked reconciler.yaml, a sandbox ``path:``) is accepted only when
it resolves, symlinks followed, inside the folder that holds reconciler.yaml. Refusals are
phrased for messages and never quote what lies behind the path; the caller names the path as
it was written.

Reads are bounded too (``read_bounded``): a 50 MB "declaration file" would take seconds and a
gigabyte of memory to parse, so the limit is checked before parsing, on the bytes actually read.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

#: Bytes of one declaration file; the largest benchmark file (10,000 users) is about 2 MB.
MAX_FILE_BYTES = 8 * 1024 * 1024
#: Bytes of reconciler.yaml, which holds a handful of targets.
MAX_CONFIG_BYTES = 1024 * 1024
YAML_SUFFIXES = (".yaml", ".yml")


class TooLarge(OSError):
    """A file holds more than the limit of bytes; the message says the limit, not the content."""


def resolved(path: Path) -> Path:
    """``path`` absolute with every symlink followed (missing parts kept as written)."""
    return Path(os.path.realpath(path))


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` resolves (symlinks followed) at or below ``root`` (resolved too)."""
    return resolved(path).is_relative_to(resolved(root))


def is_inside_lexically(path: Path, root: Path) -> bool:
    """``is_inside`` for paths that are not on the disk (the files of a git revision, where a
    symlink is never a declaration): ``..`` is folded, nothing is resolved."""
    folded = Path(os.path.normpath(path.absolute()))
    return folded.is_relative_to(Path(os.path.normpath(root.absolute())))


def written_path_refusal(written: str) -> str | None:
    """Why a path written in reconciler.yaml cannot be used, before looking at the disk.

    Only relative paths: an absolute one (or ``~``) names the machine that runs reconciler,
    which a pull request must not reach. ``..`` is allowed while the result stays inside; the
    caller checks that with :func:`is_inside` once the path is joined to the folder.
    """
    if written.startswith("~") or Path(written).is_absolute() or _has_drive(written):
        return "is an absolute path: write it relative to the folder of reconciler.yaml"
    if "\0" in written:
        return "holds a NUL character"
    return None


def _has_drive(written: str) -> bool:
    return len(written) > 1 and written[1] == ":" and written[0].isalpha()


def outside_refusal() -> str:
    """The one phrasing of "this leads out of the repository" (where it leads is never said)."""
    return (
        "resolves outside the folder that holds reconciler.yaml (a symlink or ..): reconciler "
        "reads and writes only files inside it"
    )


def read_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, or TooLarge when it holds more than ``limit`` (read at most limit + 1)."""
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
    return data


def too_large(limit: int) -> TooLarge:
    """The one refusal of a file beyond ``limit`` bytes, on the disk or in git."""
    return TooLarge(
        errno.EFBIG, f"the file is larger than {limit:,} bytes: split it into smaller files"
    )
