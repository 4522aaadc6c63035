"""In-process CLI runs (tests/cli_process.py) are as separate as processes: each sees only its
own environment and folder, logs to its own stderr, and leaves the test process as it was."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, write_repo


def test_a_run_sees_its_environment_and_folder_only(
    run: Run, emulator: StartEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = write_repo(tmp_path / "repo", emulator(), "sprig", [{"id": "u1"}])
    monkeypatch.setenv("SPRIG_API_KEY", KEYS["SPRIG_API_KEY"])  # the test's, not the run's
    monkeypatch.chdir(tmp_path)
    before = (dict(os.environ), sys.stdout, sys.stderr, logging.getLogger().handlers[:])
    refused = run("plan", cwd=repo)
    assert refused.code == 1
    assert "SPRIG_API_KEY is not set" in refused.stderr
    planned = run("plan", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stderr
    assert Path.cwd() == tmp_path
    assert (dict(os.environ), sys.stdout, sys.stderr, logging.getLogger().handlers) == before


def test_each_run_logs_to_its_own_stderr(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "repo", emulator(), "usertour", [{"id": "u1"}])
    first = run("plan", "-v", cwd=repo, env=KEYS)
    quiet = run("plan", cwd=repo, env=KEYS)
    second = run("plan", "-v", cwd=repo, env=KEYS)
    assert first.stderr.count("INFO prod: GET") == 1, first.stderr
    assert second.stderr.count("INFO prod: GET") == 1, second.stderr
    assert quiet.stderr == ""
