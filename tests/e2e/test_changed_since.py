"""`plan --changed-since REV` reads only the users a commit changed, and says what it left out.

A git repository of 2,000 users against the emulator: the last commit edits 2 users, removes 1,
and changes the ``defaults`` of a file whose 5 users inherit it (3 more override it). The plan
must read exactly those 7 users (GETs counted on the emulator), list the removed one as left
alone, and show the same changes as a full plan restricted to them.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.sandbox.server import RunningEmulator
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed_store
from tests.gitrepo import GitRepo, isolate_git, requires_git

pytestmark = requires_git

USERS = 1992  # + 8 users of users/team.yaml = 2,000
EDITED = ("u00010", "u01500")
REMOVED = "u00700"
INHERITING = ("t1", "t2", "t3", "t4", "t5")
OVERRIDING = ("t6", "t7", "t8")


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


def _config(url: str) -> str:
    return yaml.safe_dump(
        {
            "targets": {
                "prod": {
                    "provider": "usertour",
                    "base_url": url,
                    "api_key_env": "USERTOUR_API_KEY",
                    "parallelism": 8,
                }
            },
            "users": ["users/"],
        }
    )


def _big(users: list[dict[str, Any]]) -> str:
    return json.dumps({"users": users}, indent=1)


def _team(plan: str) -> str:
    team = [{"id": t} for t in INHERITING] + [
        {"id": t, "attributes": {"plan": "enterprise"}} for t in OVERRIDING
    ]
    return json.dumps({"defaults": {"attributes": {"plan": plan}}, "users": team}, indent=1)


@pytest.fixture
def history(tmp_path: Path, emulator: StartEmulator) -> tuple[GitRepo, RunningEmulator]:
    """Commit 1 is live on the emulator; commit 2 is the change under review."""
    big: list[dict[str, Any]] = [
        {"id": f"u{i:05d}", "attributes": {"seats": i}} for i in range(USERS)
    ]
    live = [(u["id"], u["attributes"]) for u in big]
    live += [(t, {"plan": "free"}) for t in INHERITING]
    live += [(t, {"plan": "enterprise"}) for t in OVERRIDING]
    seed_store(tmp_path / "live.db", "usertour", live)
    running = emulator(db_path=tmp_path / "live.db")
    repo = GitRepo(tmp_path / "repo")
    files = {
        "reconciler.yaml": _config(running.url),
        "users/big.yaml": _big(big),
        "users/team.yaml": _team("free"),
    }
    repo.commit(files, "users as they are live")
    edited = [u for u in big if u["id"] != REMOVED]
    for user in edited:
        if user["id"] in EDITED:
            user["attributes"] = {"seats": user["attributes"]["seats"] + 1000}
    repo.commit({"users/big.yaml": _big(edited), "users/team.yaml": _team("pro")}, "review me")
    return repo, running


def _gets(running: RunningEmulator) -> list[str]:
    return sorted(r.path.split("?")[0].rsplit("/", 1)[1] for r in running.requests)


def _changes(document: dict[str, Any], ids: set[str] | None = None) -> list[Any]:
    return [
        change
        for target in document["targets"]
        for change in target["changes"]
        if ids is None or change["user_id"] in ids
    ]


def test_reads_exactly_the_changed_users_and_matches_a_full_plan(
    run: Run, history: tuple[GitRepo, RunningEmulator]
) -> None:
    repo, running = history
    partial = run("plan", "--changed-since", "HEAD~1", "--format", "json", cwd=repo.top, env=KEYS)
    assert partial.code == 0, partial.stderr
    changed = {*EDITED, *INHERITING}
    assert _gets(running) == sorted(changed)
    assert {r.method for r in running.requests} == {"GET"}
    document = json.loads(partial.stdout)
    assert document["scope"]["planned_users"] == 7
    assert document["scope"]["declared_users"] == USERS - 1 + 8
    assert document["scope"]["left_alone"] == [{"target": "prod", "user_id": REMOVED}]
    assert document["selection"]["changed_since"] == "HEAD~1"

    running.clear_requests()
    full = run("plan", "--format", "json", cwd=repo.top, env=KEYS)
    # The full plan of 1,999 users reads the 2,000 live ones by listing: 20 pages, no GETs.
    assert len(running.requests) == 20
    assert {r.path.split("?")[0] for r in running.requests} == {"/v1/users"}
    assert _changes(document) == _changes(json.loads(full.stdout), changed)
    assert len(_changes(document)) == 7


def test_text_says_what_was_skipped(run: Run, history: tuple[GitRepo, RunningEmulator]) -> None:
    repo, _ = history
    text = run("plan", "--changed-since", "HEAD~1", cwd=repo.top, env=KEYS)
    assert text.code == 0, text.stderr
    assert f"User {REMOVED} is no longer declared for target prod — left alone." in text.stdout
    assert (
        "Planned 7 of 1,999 users (changed since HEAD~1). Run a full plan to detect drift."
        in text.stdout
    )
    markdown = run(
        "plan", "--changed-since", "HEAD~1", "--format", "markdown", cwd=repo.top, env=KEYS
    )
    shown = markdown.stdout.replace("\\", "")  # Markdown escapes, as GitHub renders them
    assert "Planned 7 of 1,999 users (changed since HEAD~1)" in shown
    assert f"User {REMOVED} is no longer declared for target prod" in shown


def test_a_saved_partial_plan_applies_only_its_users(
    run: Run, history: tuple[GitRepo, RunningEmulator]
) -> None:
    repo, running = history
    saved = run("plan", "--changed-since", "HEAD~1", "--out", "plan.json", cwd=repo.top, env=KEYS)
    assert saved.code == 0, saved.stderr
    running.clear_requests()
    applied = run("apply", "plan.json", "--yes", cwd=repo.top, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    posted = sorted(r.json()["id"] for r in running.requests if r.method == "POST")
    assert posted == sorted({*EDITED, *INHERITING})
    again = run("plan", "--detailed-exitcode", cwd=repo.top, env=KEYS)
    assert again.code == 0, again.stdout


def test_a_config_change_of_a_target_plans_it_in_full(
    run: Run, history: tuple[GitRepo, RunningEmulator]
) -> None:
    repo, running = history
    config = repo.top / "reconciler.yaml"
    config.write_text(config.read_text().replace("127.0.0.1", "localhost"))
    planned = run("plan", "--changed-since", "HEAD", cwd=repo.top, env=KEYS)
    assert planned.code == 0, planned.stderr
    assert "Target prod planned in full: base_url changed." in planned.stdout
    assert len(running.requests) == 20  # the whole listing: every declared user was read


def test_prune_deletes_only_the_users_removed_since_rev(
    run: Run, history: tuple[GitRepo, RunningEmulator]
) -> None:
    """No listing of the whole target: the removed user is read, then deleted (guarded)."""
    repo, running = history
    refused = run("apply", "--changed-since", "HEAD~1", "--prune", "--yes", cwd=repo.top, env=KEYS)
    assert refused.code == 3, refused.stdout + refused.stderr
    assert "safety.max_deletes" in refused.stderr
    assert {r.method for r in running.requests} == {"GET"}

    running.clear_requests()
    planned = run("plan", "--changed-since", "HEAD~1", "--prune", cwd=repo.top, env=KEYS)
    assert planned.code == 0, planned.stderr
    assert _gets(running) == sorted({*EDITED, *INHERITING, REMOVED})  # no list request
    assert f"- user {REMOVED} will be deleted" in planned.stdout
    assert "left alone" not in planned.stdout

    config = repo.top / "reconciler.yaml"
    config.write_text(config.read_text() + "safety:\n  max_deletes: 1\n")
    running.clear_requests()
    applied = run("apply", "--changed-since", "HEAD~1", "--prune", "--yes", cwd=repo.top, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    deleted = [r.path for r in running.requests if r.method == "DELETE"]
    assert deleted == [f"/v1/users/{REMOVED}"]
    assert sum(r.method == "POST" for r in running.requests) == 7


def test_errors_name_the_problem(run: Run, tmp_path: Path, emulator: StartEmulator) -> None:
    running = emulator()
    plain = tmp_path / "plain"
    (plain / "users").mkdir(parents=True)
    (plain / "reconciler.yaml").write_text(_config(running.url))
    (plain / "users" / "a.yaml").write_text(_big([{"id": "a"}]))
    outside = run("plan", "--changed-since", "HEAD~1", cwd=plain, env=KEYS)
    assert outside.code == 1
    assert "not a git repository" in outside.stderr

    repo = GitRepo(tmp_path / "repo")
    repo.commit({"reconciler.yaml": _config(running.url), "users/a.yaml": _big([{"id": "a"}])})
    unknown = run("plan", "--changed-since", "origin/main", cwd=repo.top, env=KEYS)
    assert unknown.code == 1
    assert "unknown revision 'origin/main'" in unknown.stderr
    assert "fetch-depth" not in unknown.stderr
    in_actions = run(
        "plan",
        "--changed-since",
        "origin/main",
        cwd=repo.top,
        env={**KEYS, "GITHUB_ACTIONS": "true"},
    )
    assert "fetch-depth: 0" in in_actions.stderr

    repo.commit({"users/a.yaml": _big([{"id": "a"}, {"id": "b"}])})
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.top}", str(shallow)], check=True
    )
    missing = run("plan", "--changed-since", "HEAD~1", cwd=shallow, env=KEYS)
    assert missing.code == 1
    assert "shallow clone" in missing.stderr
    assert "Traceback" not in outside.stderr + unknown.stderr + missing.stderr
    assert running.requests == []
