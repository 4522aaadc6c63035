"""Exactly once across runs (issue 20): re-runs, interruptions and overlapping applies against a
Sprig that shows writes late never record an event more often than declared.

The emulator applies each accepted Sprig write ``visibility_delay_ms`` after it arrived, in
arrival order (sandbox/visibility.py), as Sprig does. These tests use the real settle time
(no ``RECONCILER_SETTLE_SECONDS``): a fresh repository has no write-ahead record, so the first
run either proves its users with a barrier, or is told the record covers (``--assume-settled``).
Counts are asserted, never durations.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from reconciler.sandbox.server import RunningEmulator
from reconciler.sandbox.store import UserStore
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, upserts, write_repo

T0 = 1_700_000_000_000
#: The keys, with the real settle time (KEYS sets 0 for single-run tests).
REAL = {k: v for k, v in KEYS.items() if k != "RECONCILER_SETTLE_SECONDS"}
DELAY_MS = 1500
#: For runs that check an outcome rather than play the scenario: reads 16 at a time.
FAST_READS = ("--parallelism", "16")


def _users(count: int, logins: int = 2) -> list[dict[str, Any]]:
    events = [{"event": "login", "timestamp": T0 + n} for n in range(logins)]
    return [
        {
            "id": f"u{i:04d}",
            "email": f"u{i}@example.com",
            "attributes": {"plan": "pro"},
            "events": [*events, {"event": "signup", "timestamp": T0}],
        }
        for i in range(count)
    ]


def _counts(running: RunningEmulator, users: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Event counts per user as the store holds them (once every delayed write is applied)."""
    store = UserStore(running.db_path)
    try:
        stored = store.get_users("sprig", [u["id"] for u in users])
    finally:
        store.close()
    return {uid: {name: s.count for name, s in user.events.items()} for uid, user in stored.items()}


def _declared(users: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for user in users:
        per = counts.setdefault(user["id"], {})
        for event in user["events"]:
            per[event["event"]] = per.get(event["event"], 0) + 1
    return counts


def _caught_up(run: Run, repo: Path, users: list[dict[str, Any]], running: RunningEmulator) -> None:
    """Once every write shows: each event recorded exactly as declared, and a plan is clean.

    Sprig catching up is the emulator applying, in arrival order, every write it accepted:
    ``flush`` does that at once instead of a wait for the delay to pass (the store ends the
    same; a write sent twice is counted twice either way). The plan reads at --parallelism 16:
    it checks the outcome, it is not the scenario."""
    running.flush()
    assert _counts(running, users) == _declared(users), _over(running, users)
    clean = run("plan", "--detailed-exitcode", *FAST_READS, cwd=repo, env=REAL)
    assert clean.code == 0, clean.stdout + clean.stderr
    assert "pending" not in clean.stdout


def _over(running: RunningEmulator, users: list[dict[str, Any]]) -> dict[str, Any]:
    """The users whose counts differ from the declarations (for the failure message)."""
    counts, declared = _counts(running, users), _declared(users)
    return {uid: counts.get(uid) for uid in declared if counts.get(uid) != declared[uid]}


def _never_more(running: RunningEmulator, users: list[dict[str, Any]]) -> None:
    declared = _declared(users)
    for uid, per in _counts(running, users).items():
        for name, count in per.items():
            assert count <= declared[uid][name], (uid, name, count)


def test_rerun_after_not_visible_yet_sends_no_event_again(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator(visibility_delay_ms=DELAY_MS)
    users = _users(40)
    repo = write_repo(tmp_path, running, "sprig", users)
    first = run("apply", "--yes", "--assume-settled", "--wait", "0.2", cwd=repo, env=REAL)
    # 4: "not visible yet" (on a machine slow enough for every write to show, 0).
    assert first.code in (0, 4), first.stdout + first.stderr
    running.clear_requests()

    again = run("apply", "--yes", "--wait", "0.2", cwd=repo, env=REAL)
    assert again.code in (0, 4), again.stdout + again.stderr
    sent = [r.json() for r in upserts(running)]
    assert not any(body.get("events") for body in sent), "events were sent again"
    if first.code == 4:
        assert "not sent again until they show" in again.stdout
    _caught_up(run, repo, users, running)


def test_rerun_after_outcome_unknown_with_no_wait_sends_no_event_again(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator(visibility_delay_ms=DELAY_MS)
    users = _users(40)
    repo = write_repo(tmp_path, running, "sprig", users)
    first = run("apply", "--yes", "--assume-settled", "--no-wait", cwd=repo, env=REAL)
    assert first.code == 0, first.stdout + first.stderr
    again = run("apply", "--yes", "--no-wait", cwd=repo, env=REAL)
    assert again.code == 0, again.stdout + again.stderr
    _never_more(running, users)
    _caught_up(run, repo, users, running)


def test_a_fresh_machine_proves_its_users_with_a_barrier_before_sending_events(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """No record at all (a lost CI cache) right after a run whose writes do not show yet: the
    new run sends each user a barrier first, sees the earlier write with it, sends no event."""
    running = emulator(visibility_delay_ms=DELAY_MS)
    users = _users(20)
    repo = write_repo(tmp_path, running, "sprig", users)
    first = run("apply", "--yes", "--assume-settled", "--wait", "0", cwd=repo, env=REAL)
    assert first.code in (0, 4), first.stdout + first.stderr
    (repo / ".reconciler" / "inflight" / "prod.jsonl").unlink()  # the cache was lost
    running.clear_requests()

    second = run("apply", "--yes", "--wait", "20", cwd=repo, env=REAL)
    assert second.code == 0, second.stdout + second.stderr
    sent = [r.json() for r in upserts(running)]
    assert not any(body.get("events") for body in sent), "events were sent again"
    # At most one barrier each: the bare id, for users whose earlier write did not show yet.
    assert len(sent) <= len(users)
    assert all(set(body) == {"userId"} for body in sent), sent
    _caught_up(run, repo, users, running)


def test_a_fresh_repository_converges_in_one_run_through_barriers(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator(visibility_delay_ms=300)
    users = _users(20)
    repo = write_repo(tmp_path, running, "sprig", users)
    applied = run("apply", "--yes", "--wait", "20", cwd=repo, env=REAL)
    assert applied.code == 0, applied.stdout + applied.stderr
    posts = [r.json() for r in upserts(running)]
    assert len(posts) == 2 * len(users)  # the barrier (the create), then the rest
    _caught_up(run, repo, users, running)


def test_without_a_record_or_a_barrier_events_are_held_with_their_own_exit(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    users = _users(3, logins=0)
    repo = write_repo(tmp_path, running, "sprig", users)
    assert run("apply", "--yes", "--assume-settled", cwd=repo, env=REAL).code == 0
    for user in users:  # a new event for users who show every declared field already
        user["events"].append({"event": "upgrade", "timestamp": T0 + 5})
    repo = write_repo(tmp_path, running, "sprig", users)
    (repo / ".reconciler" / "inflight" / "prod.jsonl").unlink()
    running.clear_requests()

    held = run("apply", "--yes", cwd=repo, env=REAL)
    assert held.code == 5, held.stdout + held.stderr
    assert "events held back: no write-ahead record covers" in held.stdout
    assert "--assume-settled" in held.stdout
    assert "3 held back" in held.stdout
    assert not upserts(running)
    settled = run("apply", "--yes", "--assume-settled", cwd=repo, env=REAL)
    assert settled.code == 0, settled.stdout + settled.stderr
    _caught_up(run, repo, users, running)


def _start(repo: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--yes", *args],
        cwd=repo,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lagging(
    emulator: StartEmulator, tmp_path: Path, count: int, latency_ms: int = 20
) -> tuple[RunningEmulator, list[dict[str, Any]], Path, dict[str, str]]:
    """A Sprig DELAY_MS behind, ``count`` new users declared for it, and a CLI process's
    environment (the real settle time)."""
    running = emulator(visibility_delay_ms=DELAY_MS, latency_ms=latency_ms)
    users = _users(count)
    repo = write_repo(tmp_path, running, "sprig", users)
    return running, users, repo, {**REAL, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}


def _posted(running: RunningEmulator, child: subprocess.Popen[str], count: int) -> None:
    """Wait until ``count`` POSTs reached the emulator, the child still running."""
    while sum(r.method == "POST" for r in running.requests) < count:
        assert child.poll() is None
        time.sleep(0.02)


def test_two_applies_at_once_one_applies_the_other_refuses_naming_the_holder(
    emulator: StartEmulator, tmp_path: Path, run: Run
) -> None:
    running, users, repo, env = _lagging(emulator, tmp_path, 200)
    children = [_start(repo, "--assume-settled", env=env) for _ in range(2)]
    results = [(child.wait(120), *child.communicate()) for child in children]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] in (0, 4) and codes[1] == 3, results
    refused = next(err for code, _, err in results if code == 3)
    assert "another apply holds it (process " in refused
    assert "Nothing was sent" in refused
    _never_more(running, users)
    _caught_up(run, repo, users, running)


def test_a_second_apply_waits_for_the_lock_then_sends_no_event_again(
    emulator: StartEmulator, tmp_path: Path, run: Run
) -> None:
    running, users, repo, env = _lagging(emulator, tmp_path, 60)
    first = _start(repo, "--assume-settled", "--wait", "0", env=env)
    _posted(running, first, 1)
    second = _start(repo, "--lock-timeout", "120", "--wait", "0", env=env)
    assert first.wait(120) in (0, 4)
    assert second.wait(120) in (0, 4), second.communicate()
    _never_more(running, users)
    _caught_up(run, repo, users, running)


def test_sigterm_while_settling_exits_in_time_sends_nothing_after_and_reruns_safely(
    emulator: StartEmulator, tmp_path: Path, run: Run
) -> None:
    """SIGTERM while a slow apply sends (Sprig 1.5 s behind): no POST starts after the signal,
    the report is printed, writes sent are not called applied, and a re-run at once records
    no event twice."""
    running, users, repo, env = _lagging(emulator, tmp_path, 200, latency_ms=50)
    child = _start(repo, "--assume-settled", env=env)
    _posted(running, child, 20)
    child.send_signal(signal.SIGTERM)
    signalled = len(running.requests)
    stdout, stderr = child.communicate(timeout=30)
    assert child.returncode == 130, stdout + stderr
    assert "Interrupted: sending nothing new" in stderr
    assert "Apply complete:" in stdout
    # At most the requests already in flight (parallelism 4) arrive after the signal.
    late = [r for r in running.requests[signalled:] if r.method == "POST"]
    assert len(late) <= 4, late
    assert "sent, not verified: apply was interrupted" in stdout or "not sent" in stdout

    # The re-run reads and sends 16 at a time: more overlap, not less, for what it checks.
    again = run("apply", "--yes", "--wait", "20", *FAST_READS, cwd=repo, env=REAL)
    assert again.code in (0, 4), again.stdout + again.stderr
    _never_more(running, users)
    _caught_up(run, repo, users, running)


def test_kill_9_mid_apply_leaves_a_record_that_the_rerun_honours(
    emulator: StartEmulator, tmp_path: Path, run: Run
) -> None:
    running, users, repo, env = _lagging(emulator, tmp_path, 200)
    child = _start(repo, "--assume-settled", env=env)
    _posted(running, child, 30)
    child.kill()
    child.communicate(timeout=30)
    # A write recorded but never sent does not show: the re-run waits out its --wait for it
    # (exit 4, allowed), so the wait is a few times Sprig's delay, not 20 s.
    again = run("apply", "--yes", "--wait", "5", *FAST_READS, cwd=repo, env=REAL)
    assert again.code in (0, 4), again.stdout + again.stderr
    _never_more(running, users)
    # A write recorded in the instant before the kill may never have left: its user stays
    # pending (never sent twice) until the settle time; every other user is complete once
    # Sprig caught up (``flush``: every accepted write applied, as the delay would).
    running.flush()
    plan = run("plan", *FAST_READS, cwd=repo, env=REAL)
    counts, declared = _counts(running, users), _declared(users)
    for uid in declared:
        assert counts.get(uid) == declared[uid] or f"{uid}" in plan.stdout, uid


def test_a_fresh_tree_with_a_short_wait_proves_sends_and_its_rerun_sends_nothing_again(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 20 point 1 from a fresh working tree (no record): `apply --wait 0.2` against a
    Sprig 1.5 s behind waits for its barriers (a minute at most, whatever --wait says), sends
    the events, and ends "not visible yet"; the re-run at once sends no event again; once
    Sprig catches up every event is recorded once and the plan is clean."""
    running = emulator(visibility_delay_ms=DELAY_MS)
    users = _users(40)
    repo = write_repo(tmp_path, running, "sprig", users)
    first = run("apply", "--yes", "--wait", "0.2", cwd=repo, env=REAL)
    assert first.code in (0, 4), first.stdout + first.stderr
    assert sum(bool(r.json().get("events")) for r in upserts(running)) == len(users)
    running.clear_requests()
    again = run("apply", "--yes", "--wait", "0.2", cwd=repo, env=REAL)
    assert again.code in (0, 4), again.stdout + again.stderr
    assert not any(r.json().get("events") for r in upserts(running)), "events were sent again"
    _caught_up(run, repo, users, running)
