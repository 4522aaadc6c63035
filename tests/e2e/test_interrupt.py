"""SIGTERM during apply (a cancelled CI job): nothing new is sent, a summary, exit 130."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli_process import run_reconciler
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, write_repo


def test_sigterm_stops_sending_and_a_rerun_completes(
    emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator(latency_ms=100)
    users = [{"id": f"u{i:03d}", "attributes": {"n": i}} for i in range(40)]
    repo = write_repo(tmp_path, running, "usertour", users)
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text().replace("parallelism: 4", "parallelism: 1"))
    env = {**os.environ, **KEYS}
    child = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--yes"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until apply is sending (the plan's 40 GETs come first), then cancel it.
    deadline = time.monotonic() + 60
    while not any(r.method == "POST" for r in running.requests):
        assert time.monotonic() < deadline and child.poll() is None
        time.sleep(0.02)
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=60)
    assert child.returncode == 130, stdout + stderr
    assert "Interrupted" in stderr
    assert re.search(r"! \d+ users? not sent: apply was interrupted; run apply again\n", stdout)
    assert re.search(r"Apply complete: \d+ applied, 0 failed, \d+ not sent\.", stdout), stdout
    assert "skipped" not in stdout
    posted = [r.json()["id"] for r in running.requests if r.method == "POST"]
    assert 0 < len(posted) < 40
    assert len(posted) == len(set(posted))
    running.clear_requests()
    # The signal needed a process; the re-run does not (in the test process, as every CLI
    # test), and reads and sends 4 at a time: one at a time only kept the first run sending
    # long enough to be interrupted.
    rerun = run_reconciler("apply", "--yes", "--parallelism", "4", cwd=repo, env=KEYS)
    assert rerun.code == 0, rerun.both
    again = [r.json()["id"] for r in running.requests if r.method == "POST"]
    assert set(again) == {u["id"] for u in users} - set(posted)
