"""Per-target mapping end to end: a list reaches Sprig as one string, plan shows what is sent,
apply sends it, verification compares it, and import reads it back as the list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from reconciler.sandbox.server import RunningEmulator
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator, sprig_client
from tests.e2e.http_repo import KEYS

USERS = [
    {
        "id": "u1",
        "email": "ada@example.com",
        "attributes": {"plan": "pro", "tags": ["beta", "research-panel"], "notes": "internal"},
    },
    {"id": "u2", "attributes": {"plan": "free", "tags": []}},
]

MAPPING = {
    "tags": {"join": ", "},
    "plan": {"rename": "plan_name"},
    "notes": "drop",
}


def _repo(root: Path, running: RunningEmulator, mapping: dict[str, Any] | None) -> Path:
    research: dict[str, Any] = {
        "provider": "sprig",
        "base_url": running.url,
        "api_key_env": "SPRIG_API_KEY",
    }
    if mapping is not None:
        research["mapping"] = mapping
    config = {
        "targets": {
            "research": research,
            "onboarding": {
                "provider": "usertour",
                "base_url": running.url,
                "api_key_env": "USERTOUR_API_KEY",
            },
        },
    }
    (root / "users").mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (root / "users" / "all.yaml").write_text(json.dumps({"users": USERS}, indent=1))
    return root


def test_without_a_mapping_sprig_refuses_the_list(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    repo = _repo(tmp_path, emulator(), None)
    validated = run("validate", cwd=repo)
    assert validated.code == 1
    assert "target research (sprig) cannot hold a list" in validated.stdout + validated.stderr


def test_a_list_reaches_sprig_as_one_string(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = _repo(tmp_path, running, MAPPING)
    validated = run("validate", cwd=repo)
    assert validated.code == 0, validated.stdout + validated.stderr

    planned = run("plan", "--target", "research", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stderr
    # What will be sent: the mapped names and values, nothing of the dropped attribute.
    assert '+ attributes.tags = "beta, research-panel"' in planned.stdout
    assert '+ attributes.plan_name = "pro"' in planned.stdout
    assert '+ attributes.tags = ""' in planned.stdout
    assert "notes" not in planned.stdout
    assert "attributes.plan =" not in planned.stdout

    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    with sprig_client(running) as client:
        held = client.get("/v2/users/u1").json()
    attributes = held["attributes"]
    assert attributes["tags"] == "beta, research-panel"
    assert attributes["plan_name"] == "pro"
    assert "plan" not in attributes and "notes" not in attributes

    # Usertour has no mapping: it holds the list and the declared names.
    again = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert again.code == 0, again.stdout
    assert "Plan: 0 to create, 0 to update, 4 unchanged." in again.stdout


def test_verification_compares_the_mapped_values(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """A later edit of the list is one change of the joined string, verified as such."""
    running = emulator()
    repo = _repo(tmp_path, running, MAPPING)
    assert run("apply", "--yes", "--target", "research", cwd=repo, env=KEYS).code == 0
    users = json.loads((repo / "users" / "all.yaml").read_text())
    users["users"][0]["attributes"]["tags"] = ["beta"]
    (repo / "users" / "all.yaml").write_text(json.dumps(users))
    planned = run("plan", "--target", "research", cwd=repo, env=KEYS)
    assert '~ attributes.tags: "beta, research-panel" -> "beta"' in planned.stdout
    applied = run("apply", "--yes", "--target", "research", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert "Apply complete: 1 applied, 0 failed." in applied.stdout


def test_import_reads_the_mapping_back(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    running = emulator()
    repo = _repo(tmp_path, running, MAPPING)
    assert run("apply", "--yes", "--target", "research", cwd=repo, env=KEYS).code == 0
    with sprig_client(running) as client:  # what the mapping does not manage there
        client.post("/v2/users", json={"userId": "u1", "attributes": {"notes": "theirs"}})
    running.flush()
    imported = run(
        "import", "--target", "research", "--user", "u1", "--user", "u2", cwd=repo, env=KEYS
    )
    assert imported.code == 0, imported.stderr
    declared = yaml.safe_load(imported.stdout)["users"]
    assert declared[0]["attributes"] == {"plan": "pro", "tags": ["beta", "research-panel"]}
    assert declared[1]["attributes"] == {"plan": "free", "tags": []}
    assert (
        "Not imported: attributes.notes of 1 user (u1): the target's mapping drops this "
        "attribute: not managed there" in imported.stderr
    )
    assert (
        "Note: target research's mapping drops notes: the target never holds it, so import "
        "cannot declare it (import another target)." in imported.stderr
    )
