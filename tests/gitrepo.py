"""Small git repositories for tests, isolated from the machine's and the developer's git config."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

#: The tests that run git (``--changed-since``, the workflows' history) need it installed; a
#: machine without it skips them and says why, instead of failing with FileNotFoundError.
requires_git = pytest.mark.skipif(
    shutil.which("git") is None, reason="git is not installed: --changed-since needs it"
)


def isolate_git(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the machine's nor the developer's git config may change what a test sees."""
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("HOME", str(home))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)


class GitRepo:
    """A work tree with helpers to write files and commit them."""

    def __init__(self, top: Path) -> None:
        self.top = top
        top.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")

    def git(self, *args: str) -> str:
        command = ["git", "-c", "init.defaultBranch=main", "-c", "user.name=t"]
        command += ["-c", "user.email=t@example.com", *args]
        done = subprocess.run(command, cwd=self.top, check=True, capture_output=True, text=True)
        return done.stdout

    def write(self, files: Mapping[str, str | None]) -> None:
        """Write (dedented) or, for None, delete files below the top."""
        for name, text in files.items():
            path = self.top / name
            if text is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")

    def commit(self, files: Mapping[str, str | None], message: str = "change") -> None:
        self.write(files)
        self.git("add", "--all")
        self.git("commit", "-q", "--allow-empty", "-m", message)
