"""End-to-end fixtures: run the real CLI as a user would (in the test process unless a test
asks for a process, see tests/cli_process.py), against the emulator on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_process import FAST_RETRIES, Result, run_reconciler
from tests.e2e.emulator import emulator  # noqa: F401  (the fixture, for every e2e test)

__all__ = ["EXAMPLES", "FAST_RETRIES", "Result", "Run"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    """Run ``reconciler ARGS`` in ``cwd`` with a clean environment (no API keys, no colour);
    ``in_subprocess=True`` for a real process."""
    return run_reconciler


@pytest.fixture
def example_repo(tmp_path: Path) -> Path:
    """A private copy of examples/ (without any sandbox database a previous run left)."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES, repo, ignore=shutil.ignore_patterns(".reconciler"))
    return repo
