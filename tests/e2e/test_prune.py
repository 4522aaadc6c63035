"""Issue 6: `--prune` deletes the live users no file declares, on targets that can list them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.load.schemas import load_schema
from reconciler.sandbox.server import RunningEmulator
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, methods, seed, write_repo


def _users(ids: range) -> list[dict[str, Any]]:
    return [{"id": f"u{n}", "attributes": {"n": n}} for n in ids]


def _allow(repo: Path, **safety: int) -> None:
    """Set reconciler.yaml's safety: section (pruning is off unless max_deletes allows it)."""
    config = yaml.safe_load((repo / "reconciler.yaml").read_text())
    config["safety"] = safety
    (repo / "reconciler.yaml").write_text(yaml.safe_dump(config))


def _usertour(emulator: StartEmulator, tmp_path: Path, live: int, declared: int) -> RunningEmulator:
    running = emulator()
    seed(running, "usertour", _users(range(live)))
    write_repo(tmp_path, running, "usertour", _users(range(declared)))
    return running


def _deleted(running: RunningEmulator) -> list[str]:
    return sorted(r.path for r in running.requests if r.method == "DELETE")


def _lists(running: RunningEmulator) -> int:
    return sum(1 for r in running.requests if r.method == "GET" and r.path.startswith("/v1/users?"))


def _live_ids(run: Run, repo: Path) -> list[str]:
    """Every live user id, through reconciler itself (every user is declared for this)."""
    shown = run("plan", "--prune", "--format", "json", cwd=repo, env=KEYS)
    document = json.loads(shown.stdout)
    return sorted(d["user_id"] for d in document["targets"][0]["prune"]["deletions"])


def test_apply_prune_deletes_exactly_the_undeclared_users(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = _usertour(emulator, tmp_path, live=10, declared=7)
    _allow(tmp_path, max_deletes=5, max_changes=1)
    # Without --prune nothing lists the target, and undeclared users are left alone.
    plain = run("plan", "--detailed-exitcode", cwd=tmp_path, env=KEYS)
    assert plain.code == 0, plain.stdout + plain.stderr
    assert _lists(running) == 0 and "u7" not in plain.stdout
    planned = run("plan", "--prune", "--detailed-exitcode", cwd=tmp_path, env=KEYS)
    assert planned.code == 2, planned.stderr
    assert "Target prod (usertour): 0 to create, 0 to update, 3 to delete, 7 unchanged" in (
        planned.stdout
    )
    assert "  - user u8 will be deleted" in planned.stdout
    assert _lists(running) == 1 and set(methods(running)) == {"GET"}
    running.clear_requests()
    applied = run("apply", "--prune", "--yes", cwd=tmp_path, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert _deleted(running) == ["/v1/users/u7", "/v1/users/u8", "/v1/users/u9"]
    assert "POST" not in methods(running)
    assert "Apply complete: 0 applied, 3 deleted, 0 failed." in applied.stdout
    again = run("plan", "--prune", "--detailed-exitcode", cwd=tmp_path, env=KEYS)
    assert again.code == 0, again.stdout + again.stderr
    assert "0 to delete, 7 unchanged" in again.stdout


def test_upserts_then_deletions_and_max_changes_counts_only_upserts(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = _usertour(emulator, tmp_path, live=10, declared=7)
    users = _users(range(7))
    users[0]["attributes"]["n"] = 100
    (tmp_path / "users" / "all.yaml").write_text(json.dumps({"users": users}))
    _allow(tmp_path, max_deletes=3, max_changes=1)
    applied = run("apply", "--prune", "--yes", cwd=tmp_path, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    writes = [r.method for r in running.requests if r.method != "GET"]
    assert writes == ["POST", "DELETE", "DELETE", "DELETE"]
    assert "Apply complete: 1 applied, 3 deleted, 0 failed." in applied.stdout


@pytest.mark.parametrize("safety", [{}, {"max_deletes": 0}])
def test_pruning_not_allowed_in_the_config_refuses_and_sends_nothing(
    run: Run, emulator: StartEmulator, tmp_path: Path, safety: dict[str, int]
) -> None:
    running = _usertour(emulator, tmp_path, live=10, declared=7)
    _allow(tmp_path, **safety)
    refused = run("apply", "--prune", "--yes", "--max-deletes", "10", cwd=tmp_path, env=KEYS)
    assert refused.code == 3, refused.stdout + refused.stderr
    assert "Error: pruning is not allowed: the plan deletes 3 users" in refused.stderr
    assert "Set safety.max_deletes in reconciler.yaml" in refused.stderr
    assert set(methods(running)) == {"GET"}


def test_more_deletions_than_max_deletes_refuses_and_names_the_override(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = _usertour(emulator, tmp_path, live=10, declared=7)
    _allow(tmp_path, max_deletes=2)
    refused = run("apply", "--prune", "--yes", cwd=tmp_path, env=KEYS)
    assert refused.code == 3
    assert "refusing to delete 3 users: safety.max_deletes is 2" in refused.stderr
    assert "--max-deletes 3" in refused.stderr
    assert set(methods(running)) == {"GET"}
    allowed = run("apply", "--prune", "--yes", "--max-deletes", "3", cwd=tmp_path, env=KEYS)
    assert allowed.code == 0, allowed.stdout + allowed.stderr
    assert len(_deleted(running)) == 3


def test_deleting_over_30_percent_needs_force(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = _usertour(emulator, tmp_path, live=10, declared=6)
    _allow(tmp_path, max_deletes=5)
    refused = run("apply", "--prune", "--yes", cwd=tmp_path, env=KEYS)
    assert refused.code == 3, refused.stdout + refused.stderr
    assert "refusing to delete 4 of the 10 live users (40%) of target prod" in refused.stderr
    assert "--force" in refused.stderr
    assert set(methods(running)) == {"GET"}
    forced = run("apply", "--prune", "--yes", "--force", cwd=tmp_path, env=KEYS)
    assert forced.code == 0, forced.stdout + forced.stderr
    assert _deleted(running) == [f"/v1/users/u{n}" for n in range(6, 10)]


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"]])
def test_sprig_cannot_be_pruned(
    run: Run, emulator: StartEmulator, tmp_path: Path, command: list[str]
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", _users(range(2)))
    _allow(repo, max_deletes=5)
    refused = run(*command, "--prune", cwd=repo, env=KEYS)
    assert refused.code == 1, refused.stdout + refused.stderr
    assert "--prune: target prod (sprig): Sprig has no list endpoint and no delete" in (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    assert running.requests == []


def test_prune_with_user_is_a_usage_error(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = _usertour(emulator, tmp_path, live=3, declared=2)
    refused = run("plan", "--prune", "--user", "u1", cwd=tmp_path, env=KEYS)
    assert refused.code == 1
    assert "--prune cannot be combined with --user" in refused.stderr
    assert running.requests == []


def test_saved_pruned_plan_applies_its_deletions_and_refuses_when_stale(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = _usertour(emulator, tmp_path, live=10, declared=8)
    _allow(tmp_path, max_deletes=5)
    assert run("plan", "--prune", "--out", "plan.json", cwd=tmp_path, env=KEYS).code == 0
    saved = json.loads((tmp_path / "plan.json").read_text())
    jsonschema.validate(saved, load_schema("plan"))
    assert saved["selection"]["prune"] is True
    assert saved["targets"][0]["prune"]["listed"] == 10
    assert [d["user_id"] for d in saved["targets"][0]["prune"]["deletions"]] == ["u8", "u9"]
    # A user to delete changed meanwhile (in any way, declared or not): look again first.
    seed(running, "usertour", [{"id": "u9", "attributes": {"plan": "pro"}}])
    stale = run("apply", "plan.json", "--yes", cwd=tmp_path, env=KEYS)
    assert stale.code == 3, stale.stdout + stale.stderr
    assert "stale plan: user u9 changed on target prod" in stale.stderr
    assert _deleted(running) == []
    assert run("apply", "plan.json", "--prune", cwd=tmp_path, env=KEYS).code == 1
    assert run("plan", "--prune", "--out", "plan.json", cwd=tmp_path, env=KEYS).code == 0
    applied = run("apply", "plan.json", "--yes", cwd=tmp_path, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert _deleted(running) == ["/v1/users/u8", "/v1/users/u9"]


def test_a_user_declared_since_the_plan_makes_it_stale(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = _usertour(emulator, tmp_path, live=3, declared=2)
    _allow(tmp_path, max_deletes=5)
    planned = run("plan", "--prune", "--out", "plan.json", cwd=tmp_path, env=KEYS)
    assert "- user u2 will be deleted" in planned.stdout
    (tmp_path / "users" / "all.yaml").write_text(json.dumps({"users": _users(range(3))}))
    stale = run("apply", "plan.json", "--yes", cwd=tmp_path, env=KEYS)
    assert stale.code == 3
    assert "the declarations changed" in stale.stderr
    assert _deleted(running) == []


def test_checksum_of_a_reviewed_pruned_plan(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = _usertour(emulator, tmp_path, live=4, declared=3)
    _allow(tmp_path, max_deletes=1)
    reviewed = run("plan", "--prune", cwd=tmp_path, env=KEYS)
    match = re.search(r"Plan checksum: ([0-9a-f]{64})", reviewed.stdout)
    assert match, reviewed.stdout
    unpruned = run("apply", "--yes", "--checksum", match.group(1), cwd=tmp_path, env=KEYS)
    assert unpruned.code == 3  # the review showed a deletion this apply would not do
    applied = run("apply", "--prune", "--yes", "--checksum", match.group(1), cwd=tmp_path, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert _deleted(running) == ["/v1/users/u3"]


def test_json_and_markdown_show_the_deletions(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    seed(running, "usertour", [{"id": "u1"}, {"id": "gone", "attributes": {"email": "g@x.io"}}])
    write_repo(tmp_path, running, "usertour", [{"id": "u1"}])
    shown = run("plan", "--prune", "--format", "json", cwd=tmp_path, env=KEYS)
    document = json.loads(shown.stdout)
    jsonschema.validate(document, load_schema("plan"))
    assert document["summary"]["delete"] == 1
    assert document["targets"][0]["prune"]["deletions"][0]["user_id"] == "gone"
    assert "g@x.io" not in shown.stdout
    markdown = run("plan", "--prune", "--format", "markdown", cwd=tmp_path, env=KEYS)
    assert "- user <code>gone</code> will be deleted (email: (sensitive))" in markdown.stdout
    assert "- user deleted — 1 user: gone" in markdown.stdout
    assert "1 to delete" in markdown.stdout and "g@x.io" not in markdown.stdout


def test_sandbox_target_is_pruned_and_shards_split_the_work(run: Run, tmp_path: Path) -> None:
    (tmp_path / "users").mkdir()
    config = {"targets": {"local": {"provider": "sandbox"}}, "safety": {"max_deletes": 20}}
    (tmp_path / "reconciler.yaml").write_text(yaml.safe_dump(config))
    users_file = tmp_path / "users" / "all.yaml"
    users_file.write_text(json.dumps({"users": _users(range(40))}))
    assert run("apply", "--yes", cwd=tmp_path).code == 0
    users_file.write_text(json.dumps({"users": _users(range(30))}))
    deleted: list[str] = []
    for shard in ("1/2", "2/2"):
        applied = run("apply", "--prune", "--yes", "--shard", shard, cwd=tmp_path)
        assert applied.code == 0, applied.stdout + applied.stderr
        deleted += re.findall(r"- user (u\d+) will be deleted", applied.stdout)
    assert sorted(deleted) == sorted(f"u{n}" for n in range(30, 40))
    again = run("plan", "--prune", "--detailed-exitcode", cwd=tmp_path)
    assert again.code == 0, again.stdout
    assert "0 to delete, 30 unchanged" in again.stdout
