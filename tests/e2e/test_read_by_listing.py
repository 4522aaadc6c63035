"""Issue 15: a Usertour target is read by the page when that is cheaper than a GET per user.

The emulator's store is seeded directly (thousands of users in one transaction, not one HTTP
request each); requests are counted in the emulator's own log, ``GET /_sandbox/requests``.
"""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from reconciler.errors import ListingBroken
from reconciler.load.workspace import load_workspace
from reconciler.model import Company, Membership, Upsert
from reconciler.plan.engine import make_plan, open_providers
from reconciler.plan.liveread import read_live
from reconciler.plan.planfile import plan_checksum
from reconciler.progress import Quiet, Step
from reconciler.providers import open_provider
from reconciler.providers.base import Provider
from reconciler.sandbox.server import RunningEmulator
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.usertour_api import NAMESPACE
from reconciler.settings import TargetConfig
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, write_repo

LIST_PATH = "/v1/users"


def _ids(count: int, prefix: str = "u") -> list[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


def _environment(emulator: StartEmulator, tmp_path: Path, ids: list[str]) -> RunningEmulator:
    """An emulated Usertour environment holding ``ids`` (with ``n`` = their index)."""
    db = tmp_path / "environment.db"
    with UserStore(db) as store:
        store.upsert_many(NAMESPACE, (Upsert(i, {"n": n}) for n, i in enumerate(ids)))
    return emulator(db_path=db)


def _declare(
    tmp_path: Path, running: RunningEmulator, ids: list[str], n: dict[str, int] | None = None
) -> Path:
    """A repository declaring ``ids`` as they are live (``n`` = the id's number), but for
    the values of ``n`` given."""
    given = n or {}
    users = [{"id": i, "attributes": {"n": given.get(i, int(i[-5:]))}} for i in ids]
    repo = write_repo(tmp_path / "repo", running, "usertour", users)
    config = yaml.safe_load((repo / "reconciler.yaml").read_text())
    config["safety"] = {"max_deletes": 10_000, "max_changes": 10_000}
    (repo / "reconciler.yaml").write_text(yaml.safe_dump(config))
    return repo


def _log(running: RunningEmulator) -> list[dict[str, Any]]:
    """The emulator's request log, as another process would read it."""
    answer = httpx.get(f"{running.url}/_sandbox/requests")
    answer.raise_for_status()
    return [entry for entry in answer.json() if entry["vendor"] == "usertour"]


def _kinds(running: RunningEmulator) -> tuple[int, int]:
    """(list pages, GETs of one user) in the request log."""
    log = _log(running)
    assert all(entry["method"] == "GET" for entry in log)
    pages = sum(1 for entry in log if entry["path"].split("?")[0] == LIST_PATH)
    return pages, len(log) - pages


def test_a_full_plan_of_1000_users_in_1000_reads_10_pages(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(1000)
    running = _environment(emulator, tmp_path, ids)
    repo = _declare(tmp_path, running, ids)
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
    assert "1000 unchanged" in planned.stdout.replace(",", "")
    pages, gets = _kinds(running)
    assert pages + gets <= 12
    assert (pages, gets) == (10, 0)


def test_5_declared_users_in_1000_are_5_gets(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(1000)
    running = _environment(emulator, tmp_path, ids)
    repo = _declare(tmp_path, running, ids)
    wanted = ["u00001", "u00400", "u00999", "u00500", "u00002"]
    args = [arg for user_id in wanted for arg in ("--user", user_id)]
    planned = run("plan", "--detailed-exitcode", *args, cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
    log = _log(running)
    assert sorted(entry["path"].split("?")[0] for entry in log) == sorted(
        f"{LIST_PATH}/{user_id}" for user_id in wanted
    )


def test_prune_reads_the_declared_users_from_its_listing(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    # Issue 15 measured 162 requests here: every page, and again a GET per declared user.
    ids = _ids(200)
    running = _environment(emulator, tmp_path, ids)
    repo = _declare(tmp_path, running, ids[:160])
    planned = run("plan", "--prune", "--format", "json", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
    assert _kinds(running) == (2, 0)
    target = json.loads(planned.stdout)["targets"][0]
    assert [d["user_id"] for d in target["prune"]["deletions"]] == ids[160:]
    assert target["summary"]["unchanged"] == 160


def test_a_shard_lists_only_when_its_share_pays(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(1000)
    running = _environment(emulator, tmp_path, ids)
    repo = _declare(tmp_path, running, ids)
    half = run("plan", "--shard", "1/2", "--format", "json", cwd=repo, env=KEYS)
    assert half.code == 0, half.stderr
    # ~500 users of the shard are spread over all 10 pages: the whole listing is cheapest.
    assert _kinds(running) == (10, 0)
    httpx.post(f"{running.url}/_sandbox/requests/clear").raise_for_status()
    twentieth = run("plan", "--shard", "3/20", "--format", "json", cwd=repo, env=KEYS)
    assert twentieth.code == 0, twentieth.stderr
    planned = json.loads(twentieth.stdout)["targets"][0]["summary"]["unchanged"]
    assert planned < 100  # fewer than a page's worth: one GET each
    assert _kinds(running) == (0, planned)


def test_saved_plans_and_checksums_work_across_both_reads(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(300)
    running = _environment(emulator, tmp_path, ids)
    changed = {user_id: -1 for user_id in ids[::2]}  # 150 users to update
    repo = _declare(tmp_path, running, ids, n=changed)
    saved = run("plan", "--out", "plan.json", cwd=repo, env=KEYS)
    assert saved.code == 0, saved.stderr
    checksum = re.search(r"Plan checksum: ([0-9a-f]{64})", saved.stdout)
    assert checksum is not None
    assert _kinds(running) == (3, 0)
    httpx.post(f"{running.url}/_sandbox/requests/clear").raise_for_status()
    # Applying the saved plan re-derives it (by page: 3 pages), then sends its 150 POSTs.
    applied = run("apply", "plan.json", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    log = _log(running)
    assert [e["method"] for e in log].count("POST") == 150
    assert sum(1 for e in log if e["method"] == "GET") == 3
    reviewed = run("plan", cwd=repo, env=KEYS)
    assert "Plan checksum: " in reviewed.stdout and "no changes" in reviewed.stdout.lower()


def test_apply_checksum_replans_by_page_to_the_reviewed_checksum(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(300)
    running = _environment(emulator, tmp_path, ids)
    repo = _declare(tmp_path, running, ids, n={user_id: -1 for user_id in ids[1::3]})
    reviewed = run("plan", cwd=repo, env=KEYS)
    checksum = re.search(r"Plan checksum: ([0-9a-f]{64})", reviewed.stdout)
    assert checksum is not None, reviewed.stdout
    httpx.post(f"{running.url}/_sandbox/requests/clear").raise_for_status()
    applied = run("apply", "--checksum", checksum.group(1), "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    log = _log(running)
    assert [e["method"] for e in log].count("POST") == 100
    assert [e["path"].split("?")[0] for e in log if e["method"] == "GET"] == [LIST_PATH] * 3


def test_listing_and_gets_read_the_same_plan(emulator: StartEmulator, tmp_path: Path) -> None:
    """Same users, same plan, same checksum, whichever way they were read."""
    ids = _ids(250)
    db = tmp_path / "environment.db"
    acme = Company("acme", {"tier": "gold"})
    with UserStore(db) as store:
        store.upsert_many(
            NAMESPACE,
            (
                Upsert(i, {"n": n}, f"{i}@example.com", memberships=(Membership(acme, {"r": n}),))
                for n, i in enumerate(ids)
            ),
        )
    running = emulator(db_path=db)
    drift = {user_id: -1 for user_id in ids[::7]}
    repo = _declare(tmp_path, running, [*ids[:240], "new-u00000"], n=drift)
    env = {**KEYS}
    workspace = load_workspace(repo / "reconciler.yaml", env)
    with ExitStack() as stack:
        providers = open_providers(workspace, env, stack)
        by_listing = make_plan(workspace, providers)
        pages, gets = _kinds(running)
        httpx.post(f"{running.url}/_sandbox/requests/clear").raise_for_status()
        by_gets = make_plan(workspace, providers, min_to_list=None)
    assert (pages, gets) == (3, 1)  # the new user, not listed, is confirmed absent by a GET
    assert _kinds(running) == (0, 241)
    assert by_listing == by_gets
    assert plan_checksum(by_listing) == plan_checksum(by_gets)
    assert by_listing.has_changes


def test_verbose_logs_each_page(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    ids = _ids(250)
    running = _environment(emulator, tmp_path, ids)
    repo = _declare(tmp_path, running, ids)
    planned = run("plan", "-v", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stderr
    pages = re.findall(r"prod: list page (\d+): (\d+) users", planned.stderr)
    assert pages == [("1", "100"), ("2", "100"), ("3", "50")]
    assert "prod: read 250 of 250 users with 3 list pages and 0 GETs" in planned.stderr


def test_import_of_many_ids_reads_by_page(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(200)
    running = _environment(emulator, tmp_path, ids)
    repo = _declare(tmp_path, running, [])
    (repo / "ids.txt").write_text("\n".join(ids[:150]) + "\n", encoding="utf-8")
    args = ("import", "--target", "prod", "--ids-from", "ids.txt", "-v")
    imported = run(*args, cwd=repo, env=KEYS)
    assert imported.code == 0, imported.stderr
    assert imported.stdout.count("- id: ") == 150
    assert _kinds(running) == (2, 0)
    assert "prod: list page 2: 100 users; 0 of the users to read not seen yet" in imported.stderr


class _DeletesAfterFirstPage(Quiet):
    """A progress step that deletes ``victim`` once the first page is in: someone else's
    deletion, at the one moment that breaks the listing's cursor (the page's last user)."""

    def __init__(self, provider: Provider, victim: str) -> None:
        super().__init__("listing", 0)
        self._provider, self._victim = provider, victim

    def page(self, count: int) -> None:
        if self._victim:
            assert self._provider.delete_user(self._victim)
            self._victim = ""


def test_a_deletion_while_listing_falls_back_to_gets(
    emulator: StartEmulator, tmp_path: Path
) -> None:
    ids = _ids(1000)
    running = _environment(emulator, tmp_path, ids)
    target = TargetConfig(
        "prod", "usertour", base_url=running.url, api_key_env="USERTOUR_API_KEY", parallelism=4
    )
    with open_provider(target, KEYS) as provider:
        deleting = _DeletesAfterFirstPage(provider, ids[99])

        def steps(label: str, total: int) -> Step:
            return deleting if label.endswith("listing users") else Quiet(label, total)

        read = read_live(provider, ids, steps)
        assert read.broken is not None and "E1007" in str(read.broken)
        assert (read.pages, read.gets) == (1, 900)  # the 900 users page 1 did not show
        assert list(read.live) == ids  # u00099 as page 1 showed it, before its deletion
        # Pruning never judges part of a listing; page 1 now ends with u00100.
        breaking = _DeletesAfterFirstPage(provider, ids[100])
        with pytest.raises(ListingBroken, match="run again"):
            read_live(provider, ids, lambda label, total: breaking, whole=True)
