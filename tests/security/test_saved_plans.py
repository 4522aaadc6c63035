"""Forged saved plans (issue 12, High 3): whoever can edit a plan file (a CI artifact) edits its
requests, adds users, moves it to another target, and recomputes its unkeyed checksum. apply
re-derives the plan and sends nothing unless it equals the file; the file holds no email."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.server import RunningEmulator
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed, upserts
from tests.security.attacker_outputs import leaks, reconciler, write_files

pytest_plugins = ("tests.e2e.emulator",)

LIVE_EMAIL = "carol.live@corp.example"
Document = dict[str, Any]


def _config(targets: dict[str, RunningEmulator]) -> str:
    lines = ["targets:"]
    for name, running in targets.items():
        lines += [
            f"  {name}:",
            "    provider: sprig",
            f"    base_url: {running.url}",
            "    api_key_env: SPRIG_API_KEY",
        ]
    return "\n".join([*lines, 'users: ["users/"]', "sensitive: [phone]", ""])


def _repo(tmp_path: Path, targets: dict[str, RunningEmulator]) -> Path:
    """alice and bob declared; carol lives on every target with her email, undeclared."""
    users = [
        {"id": "alice", "email": "alice@corp.example", "attributes": {"plan": "pro", "n": 1}},
        {"id": "bob", "attributes": {"plan": "free", "phone": "+1 555 0142"}},
    ]
    for running in targets.values():
        seed(running, "sprig", [{"userId": "carol", "emailAddress": LIVE_EMAIL}])
    return write_files(
        tmp_path / "repo",
        {"reconciler.yaml": _config(targets), "users/all.yaml": {"users": users}},
    )


def _forged_checksum(document: Document) -> str:
    """What plan_checksum computes, from the file alone: anyone can recompute it."""
    content = [
        [
            target["target"],
            target["provider"],
            [[c["user_id"], c["action"], c["upsert"], c["fingerprint"]] for c in target["changes"]],
        ]
        for target in document["targets"]
    ]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _plan_then_forge(repo: Path, forge: Callable[[Document], None]) -> Path:
    planned = reconciler("plan", "--out", "plan.json", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.both
    path = repo / "plan.json"
    document = json.loads(path.read_text())
    forge(document)
    document["checksum"] = _forged_checksum(document)
    path.write_text(json.dumps(document))
    return path


def _change(document: Document, user_id: str, target: int = 0) -> Document:
    changes = document["targets"][target]["changes"]
    change: Document = next(c for c in changes if c["user_id"] == user_id)
    return change


def _edit_body(document: Document) -> None:
    alice = _change(document, "alice")
    alice["upsert"]["attributes"]["plan"] = "enterprise-free-forever"
    alice["request"]["body"]["attributes"]["plan"] = "enterprise-free-forever"


def _unmask_email(document: Document) -> None:
    alice = _change(document, "alice")
    alice["upsert"]["email"] = "attacker@evil.example"
    alice["request"]["body"]["emailAddress"] = "attacker@evil.example"


def _add_undeclared_user(document: Document) -> None:
    intruder = json.loads(json.dumps(_change(document, "alice")))
    intruder["user_id"] = intruder["upsert"]["user_id"] = "intruder"
    intruder["request"]["body"]["userId"] = "intruder"
    # What an undeclared user's live state fingerprints to when nothing is compared.
    intruder["fingerprint"] = ""
    document["targets"][0]["changes"].append(intruder)
    document["targets"][0]["summary"]["create"] += 1


def _overwrite_live_user(document: Document) -> None:
    """carol lives undeclared: the file claims an update of her email."""
    carol = json.loads(json.dumps(_change(document, "alice")))
    carol.update(user_id="carol", action="update", fingerprint="")
    carol["upsert"] = {**carol["upsert"], "user_id": "carol", "email": "attacker@evil.example"}
    document["targets"][0]["changes"].append(carol)


def _drop_a_user(document: Document) -> None:
    document["targets"][0]["changes"] = [_change(document, "alice")]


FORGERIES = {
    "an edited request body": (_edit_body, ["target prod", "alice"]),
    "an email written over the mask": (_unmask_email, ["target prod", "alice"]),
    "an extra undeclared user": (_add_undeclared_user, ["target prod", "intruder"]),
    "an undeclared live user overwritten": (_overwrite_live_user, ["target prod", "carol"]),
    "a user left out": (_drop_a_user, ["target prod", "bob"]),
    "only the checksum": (lambda document: None, ["checksum"]),
}


@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_a_forged_plan_is_refused_and_nothing_is_sent(
    emulator: StartEmulator, tmp_path: Path, forgery: str
) -> None:
    running = emulator()
    repo = _repo(tmp_path, {"prod": running})
    forge, named = FORGERIES[forgery]
    if forgery == "only the checksum":
        path = _plan_then_forge(repo, lambda document: None)
        document = json.loads(path.read_text())
        document["checksum"] = "0" * 64
        path.write_text(json.dumps(document))
    else:
        path = _plan_then_forge(repo, forge)
    running.clear_requests()
    applied = reconciler("apply", str(path), "--yes", cwd=repo, env=KEYS)
    assert applied.code == 3, applied.both
    assert "Traceback" not in applied.both
    assert "Nothing was sent." in applied.stderr
    for word in named:
        assert word in applied.stderr
    # Reads only, and the empty POST a Sprig plan that found nobody sends to confirm the
    # route (refused unwritten by Sprig): no user is sent.
    assert upserts(running) == []
    assert {r.method for r in running.requests} <= {"GET", "POST"}


def test_a_plan_moved_to_another_target_is_refused(emulator: StartEmulator, tmp_path: Path) -> None:
    staging, prod = emulator(), emulator()
    repo = _repo(tmp_path, {"prod": prod, "staging": staging})
    # prod already holds alice, differently: her plan for staging is not prod's.
    seed(prod, "sprig", [{"userId": "alice", "attributes": {"plan": "legacy"}}])

    def move(document: Document) -> None:
        document["targets"] = [t for t in document["targets"] if t["target"] == "staging"]
        document["targets"][0]["target"] = "prod"

    planned = reconciler("plan", "--target", "staging", "--out", "plan.json", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.both
    path = repo / "plan.json"
    document = json.loads(path.read_text())
    move(document)
    document["selection"]["targets"] = ["prod"]
    document["checksum"] = _forged_checksum(document)
    path.write_text(json.dumps(document))
    for running in (staging, prod):
        running.clear_requests()
    applied = reconciler("apply", "plan.json", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 3, applied.both
    assert "target prod" in applied.stderr and "alice" in applied.stderr
    assert [r for running in (staging, prod) for r in upserts(running)] == []
    # The same file with only the target renamed (its selection still says staging).
    document["selection"]["targets"] = ["staging"]
    path.write_text(json.dumps(document))
    renamed = reconciler("apply", "plan.json", "--yes", cwd=repo, env=KEYS)
    assert renamed.code == 3
    assert "targets: the file plans prod, apply would plan staging" in renamed.stderr


def test_an_honest_plan_applies_the_rederived_requests_and_holds_no_email(
    emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = _repo(tmp_path, {"prod": running})
    planned = reconciler("plan", "--out", "plan.json", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.both
    saved = (repo / "plan.json").read_text()
    assert leaks({"plan.json": saved}, ["alice@corp.example", LIVE_EMAIL, "555 01"]) == []
    assert '"email": "(sensitive)"' in saved
    running.clear_requests()
    applied = reconciler("apply", "plan.json", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.both
    bodies = {r.json()["userId"]: r.json() for r in upserts(running)}
    assert sorted(bodies) == ["alice", "bob"]
    assert bodies["alice"]["emailAddress"] == "alice@corp.example"
    assert bodies["bob"]["attributes"]["phone"] == "+1 555 0142"
    assert leaks({"apply": applied.both}, ["alice@corp.example", LIVE_EMAIL, "555 01"]) == []
