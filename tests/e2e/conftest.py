"""End-to-end fixtures: run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.emulator import emulator  # noqa: F401  (the fixture, for every e2e test)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str


Run = Callable[..., Result]

#: Backoff small enough that retry tests take milliseconds (the policy itself is unit-tested).
FAST_RETRIES = {"RECONCILER_RETRY_BASE": "0.01", "RECONCILER_RETRY_CAP": "0.05"}


@pytest.fixture
def run() -> Run:
    """Run ``reconciler ARGS`` in ``cwd`` with a clean environment (no API keys, no colour)."""

    def _run(*args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> Result:
        environ = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        environ.pop("GITHUB_STEP_SUMMARY", None)
        # Quick retries: the emulator's failures are drawn per request, not timed.
        environ.update(FAST_RETRIES)
        environ.update(env or {})
        completed = subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=cwd,
            env=environ,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr)

    return _run


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A private copy of examples/ (without any sandbox database a previous run left)."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES, repo, ignore=shutil.ignore_patterns(".reconciler"))
    return repo
