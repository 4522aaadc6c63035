"""Usertour's first-write race: apply's resend survives it (issue 13, point 7).

On the real server (tests/contract/usertour_race.json), concurrent upserts that create the
same new attribute name collide on a unique key: some answer 500 E0000 and write nothing, and
a resend succeeds. The emulator reproduces it with ``first_write_race_ms``.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.sandbox.store import UserStore
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, write_repo

#: Enough attempts of the tiny test backoff to outlast the race window.
#: 15 attempts, and pauses growing to 0.2 s: the losers of a 200 ms race must outlast it even
#: on a loaded machine (with pauses of at most 0.05 s, 15 attempts could all fall inside it).
PATIENT = {**KEYS, "RECONCILER_RETRY_ATTEMPTS": "15", "RECONCILER_RETRY_CAP": "0.2"}


def test_apply_resends_the_upserts_that_lost_the_first_write_race(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator(first_write_race_ms=200)
    users = [{"id": f"u{n:02d}", "attributes": {"plan": "pro", "seats": n}} for n in range(12)]
    repo = write_repo(tmp_path, running, "usertour", users)
    applied = run("apply", "--yes", cwd=repo, env=PATIENT)
    assert applied.code == 0, applied.stdout + applied.stderr
    lost = [r for r in running.requests if r.method == "POST" and r.status == 500]
    assert lost, "no upsert lost the race: the path under test was not taken"
    assert "resending it" in applied.stderr
    store = UserStore(running.db_path)
    try:
        stored = store.get_users("usertour", [u["id"] for u in users])
    finally:
        store.close()
    for user in users:
        attributes = dict(stored[user["id"]].attributes)
        assert {k: attributes[k] for k in ("plan", "seats")} == user["attributes"]
    again = run("plan", cwd=repo, env=KEYS)
    assert again.code == 0, again.stdout + again.stderr


def test_apply_resends_the_upserts_that_lost_the_race_to_create_one_company(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 22.7: on the real server, 8 concurrent first creations of one company gave two
    500 E0000 (a unique key on environment and external id); 262 in a 5,000-user create."""
    running = emulator(first_write_race_ms=200)
    # Users (and a company) first, so that no attribute name is new: only the company races.
    seed_users = [
        {"id": f"u{n:02d}", "attributes": {"seats": n}, "companies": [{"id": "first"}]}
        for n in range(8)
    ]
    repo = write_repo(tmp_path, running, "usertour", seed_users)
    assert run("apply", "--yes", cwd=repo, env=PATIENT).code == 0
    running.clear_requests()
    users = [{**user, "companies": [{"id": "first"}, {"id": "acme"}]} for user in seed_users]
    repo = write_repo(tmp_path / "again", running, "usertour", users)
    applied = run("apply", "--yes", cwd=repo, env=PATIENT)
    assert applied.code == 0, applied.stdout + applied.stderr
    lost = [r for r in running.requests if r.method == "POST" and r.status == 500]
    assert lost, "no upsert lost the race: the path under test was not taken"
    again = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert again.code == 0, again.stdout + again.stderr
