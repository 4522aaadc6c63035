"""Issue 22.1: the real Usertour listing skips users; a plan never takes that as absence.

The real ``GET /v1/users`` pages by a cursor ordered by ``createdAt`` alone: users created in
the same millisecond that straddle a page boundary are repeated or skipped (seen: 2 of 3,000
never listed). The emulator's ``listing_ties`` mode does the same, deterministically
(sandbox/usertour_ties.py), so these tests would see the skipped users planned as new, or left
out of an import, if reconciler believed a listing that ends.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from reconciler.plan.liveread import read_live
from reconciler.providers import open_provider
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.usertour_api import NAMESPACE
from reconciler.settings import TargetConfig
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS
from tests.e2e.test_read_by_listing import _declare, _environment, _ids, _kinds, _log

#: Every 3 users share a millisecond: several page boundaries of 100 cut a tie.
TIES = 3
USERS = 600


def _skipped_by_one_walk(running_db: Path) -> set[str]:
    """The users a plain walk of the emulated listing never shows (the test's premise)."""
    from reconciler.sandbox.usertour_ties import tied_page

    with UserStore(running_db) as store:
        rows = store.list_rows(NAMESPACE)
    seen: set[str] = set()
    cursor = None
    while True:
        page = tied_page(rows, cursor, 100, TIES)
        seen.update(page.ids)
        if page.next_cursor is None:
            return {user_id for _, user_id, _ in rows} - seen
        cursor = int(page.next_cursor)


def test_a_plan_confirms_the_users_the_listing_skipped_and_creates_none(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(USERS)
    running = _environment(emulator, tmp_path, ids)
    skipped = _skipped_by_one_walk(tmp_path / "environment.db")
    assert skipped, "the mode must skip someone at a page boundary"
    running.stop()
    running = emulator(db_path=tmp_path / "environment.db", listing_ties=TIES)
    repo = _declare(tmp_path, running, ids)
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
    assert "0 to create, 0 to update, 600 unchanged" in planned.stdout
    pages, gets = _kinds(running)
    assert pages == USERS // 100 and gets == len(skipped)
    got = {entry["path"].split("?")[0].rsplit("/", 1)[1] for entry in _log(running)[pages:]}
    assert got == skipped


def test_import_all_walks_again_until_no_user_can_be_missing(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(USERS)
    _environment(emulator, tmp_path, ids).stop()
    running = emulator(db_path=tmp_path / "environment.db", listing_ties=TIES)
    repo = _declare(tmp_path, running, [])
    imported = run("import", "--target", "prod", "--all", cwd=repo, env=KEYS)
    assert imported.code == 0, imported.stderr
    written = [user["id"] for user in yaml.safe_load(imported.stdout)["users"]]
    assert written == ids
    assert "not proved complete" not in imported.stderr
    pages, gets = _kinds(running)
    assert gets == 0 and pages == USERS // 100 + 7  # a second walk, of 93 a page


def test_a_listing_that_cannot_be_proved_complete_says_so(
    emulator: StartEmulator, tmp_path: Path
) -> None:
    """Ties larger than the moves between walks: every walk has a boundary in them."""
    ids = _ids(400)
    _environment(emulator, tmp_path, ids).stop()
    running = emulator(db_path=tmp_path / "environment.db", listing_ties=50)
    target = TargetConfig("prod", "usertour", base_url=running.url, api_key_env="USERTOUR_API_KEY")
    with open_provider(target, KEYS) as provider:
        read = read_live(provider, [], whole=True, complete=True)
    assert read.unproven is not None and "may have been skipped" in read.unproven
