"""apply/lock.py: one apply per target, its holder named; a dead holder blocks nobody."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.apply.lock import lock_path, target_locks
from reconciler.errors import RefusedError
from tests.fakeclock import FakeClock

HOLD = """
import sys, time
from pathlib import Path
from reconciler.apply.lock import target_locks
with target_locks(Path(sys.argv[1]), ["prod"]):
    print("held", flush=True)
    time.sleep(60)
"""


def _holder(root: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline() == "held\n"
    return child


def test_a_second_apply_is_refused_at_once_naming_the_holder(tmp_path: Path) -> None:
    child = _holder(tmp_path)
    try:
        with pytest.raises(RefusedError) as refused, target_locks(tmp_path, ["prod"]):
            pass
        message = str(refused.value)
        assert f"another apply holds it (process {child.pid} on host " in message
        assert "Nothing was sent" in message and "--lock-timeout" in message
    finally:
        child.kill()
        child.wait()


def test_a_holder_that_died_does_not_block(tmp_path: Path) -> None:
    child = _holder(tmp_path)
    child.kill()  # no clean-up of its own: the kernel releases the lock
    child.wait()
    with target_locks(tmp_path, ["prod"]):
        assert lock_path(tmp_path, "prod").exists()


def test_lock_timeout_waits_for_the_holder_to_end(tmp_path: Path) -> None:
    child = _holder(tmp_path)
    killer = subprocess.Popen(
        [sys.executable, "-c", f"import os,time,signal; time.sleep(0.5); os.kill({child.pid}, 9)"]
    )
    try:
        with target_locks(tmp_path, ["prod"], timeout=30):
            assert child.wait(5) is not None
    finally:
        killer.wait()
        child.kill()
        child.wait()


def test_locks_of_different_targets_do_not_conflict(tmp_path: Path) -> None:
    child = _holder(tmp_path)
    try:
        with target_locks(tmp_path, ["staging"]):
            pass
    finally:
        child.kill()
        child.wait()


def test_a_symlinked_lock_is_refused(tmp_path: Path) -> None:
    path = lock_path(tmp_path, "prod")
    path.parent.mkdir(parents=True)
    (tmp_path / "victim").write_text("x")
    path.symlink_to(tmp_path / "victim")
    with (
        pytest.raises(RefusedError, match="must not be a symlink"),
        target_locks(tmp_path, ["prod"]),
    ):
        pass
    assert (tmp_path / "victim").read_text() == "x"


def test_a_symlinked_state_folder_is_refused_before_anything_is_made_there(tmp_path: Path) -> None:
    """The attacker commits .reconciler -> a folder outside the repository."""
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".reconciler").symlink_to(outside)
    with pytest.raises(RefusedError, match="must not be a symlink"), target_locks(repo, ["prod"]):
        pass
    assert list(outside.iterdir()) == []


def test_a_lock_wait_is_timed_by_the_run_s_clock(tmp_path: Path) -> None:
    """--lock-timeout 30 on a clock that moves only when slept on: refused after 30 s of that
    clock's time, at once in the test's."""
    child = _holder(tmp_path)
    clock = FakeClock()
    try:
        with (
            pytest.raises(RefusedError, match="after waiting 30s"),
            target_locks(tmp_path, ["prod"], timeout=30, clock=clock),
        ):
            pass
    finally:
        child.kill()
        child.wait()
    assert 29.99 < sum(clock.slept) < 30.5
