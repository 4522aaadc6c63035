"""``reconciler ARGS`` in a real process, as a user or CI runs it: the one runner the end-to-end
and security tests share (each adds its own environment: CI's secrets, a private HOME)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Backoff small enough that retry tests take milliseconds (the policy itself is unit-tested).
FAST_RETRIES = {"RECONCILER_RETRY_BASE": "0.01", "RECONCILER_RETRY_CAP": "0.05"}


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def both(self) -> str:
        return self.stdout + self.stderr


def run_reconciler(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, stdin: str = ""
) -> Result:
    """Run the CLI in ``cwd``: the caller's environment without what would change the CLI's
    behaviour on one machine (keys, a GitHub runner's or a developer's settings), quick retries
    (the emulator's failures are drawn per request, not timed), then ``env``."""
    environ = {k: v for k, v in os.environ.items() if not _machine_specific(k)}
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


def _machine_specific(name: str) -> bool:
    """API keys, a GitHub runner's variables (``GITHUB_ACTIONS`` changes hints, a job summary
    would be written) and ``RECONCILER_*`` settings: a test sets the ones it means."""
    return name.endswith("_API_KEY") or name.startswith(("GITHUB_", "RUNNER_", "RECONCILER_"))
