"""The in-process runner tells what a real process would: same exit codes, same stdout, same
stderr, for the paths that differ most between the two (help width, located problems, logging,
warnings of the interpreter, the emulator reached without a socket, a refusal without a terminal).

Every other CLI test runs in the test process (tests/cli_process.py); this one runs each
scenario both ways, on fresh copies, and compares.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.cli_process import Result, run_reconciler
from tests.e2e.conftest import EXAMPLES
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed, write_repo

#: What differs between two runs of the same command whatever runs it: durations, the port.
_TIMES = re.compile(r"\b\d+(\.\d+)?m?s\b")
_PORT = re.compile(r"(?<=127\.0\.0\.1:)\d+")


def _scenario(root: Path, emulator: StartEmulator, in_subprocess: bool) -> list[Result]:
    examples = root / "examples"
    shutil.copytree(EXAMPLES, examples, ignore=shutil.ignore_patterns(".reconciler"))
    shutil.copy(examples / "typo" / "typo.yaml", examples / "users" / "typo.yaml")
    running = emulator(db_path=root / "emulator.db")
    seed(running, "sprig", [{"userId": "u1", "attributes": {"plan": "free"}}])
    users: list[dict[str, Any]] = [{"id": "u1", "attributes": {"plan": "pro"}}, {"id": "u2"}]
    http = write_repo(root / "http", running, "sprig", users)

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
        return run_reconciler(*args, cwd=cwd, env=env, in_subprocess=in_subprocess)

    return [
        run("--help", cwd=root),
        run("plan", "--help", cwd=root),
        run("validate", cwd=examples),
        run("frobnicate", cwd=root),
        run("plan", "--detailed-exitcode", cwd=http, env=KEYS),
        run("plan", "--format", "json", cwd=http, env={}),
        run("apply", cwd=http, env=KEYS),
        run("apply", "-v", "--yes", "--wait", "5", cwd=http, env=KEYS),
        run("plan", "--format", "markdown", cwd=http, env=KEYS),
    ]


def _comparable(result: Result, root: Path) -> tuple[int, str, list[str]]:
    """Exit code, stdout, and stderr's lines in any order (reads run in parallel: their log
    lines come in the order the answers do)."""

    def clean(text: str) -> str:
        return _TIMES.sub("T", _PORT.sub("PORT", text.replace(str(root), "ROOT")))

    return result.code, clean(result.stdout), sorted(clean(result.stderr).splitlines())


@pytest.mark.subprocess
def test_in_process_and_subprocess_runs_agree(emulator: StartEmulator, tmp_path: Path) -> None:
    inside = _scenario(tmp_path / "a", emulator, in_subprocess=False)
    outside = _scenario(tmp_path / "b", emulator, in_subprocess=True)
    assert [r.code for r in outside] == [0, 0, 1, 1, 2, 1, 3, 0, 0]
    for one, other in zip(inside, outside, strict=True):
        assert _comparable(one, tmp_path / "a") == _comparable(other, tmp_path / "b")
    # The verbose apply logged each request: logging reached the captured stderr.
    assert "INFO prod: POST /v2/users" in inside[7].stderr
