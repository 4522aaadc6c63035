"""Writing the files a run produces (a saved plan, an import, a Markdown comment) so that no
reader ever sees half of one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.errors import ConfigError
from reconciler.settings import display_path


def write_private(path: Path, text: str) -> None:
    """A saved plan: readable by its owner only, even where a file was before (its values are
    masked, but it still names users and shows the values a plan prints)."""
    write_atomically(path, text, private=True)


def write_atomically(path: Path, text: str, *, private: bool = False) -> None:
    """Write a temporary file next to ``path``, then rename it over: a reader (or an editor, or
    an interrupted run) sees the old file or the new one, never half of it. A replaced file
    keeps its permissions and a new one gets the usual ones (the umask), unless ``private``:
    then it is readable by its owner only, whatever was there before."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else None
        if private:
            mode = 0o600
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode or 0o666)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            if mode is not None:
                os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConfigError(f"cannot write {display_path(path)}: {error.strerror}") from error
