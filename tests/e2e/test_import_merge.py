"""Adopting two targets: import one, import the other into the same repository, and the
declarations end with one entry per user, validate, and plan to no change; no hand edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reconciler.load import yamlload
from reconciler.sandbox.server import RunningEmulator
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed


def _config(running: RunningEmulator, research_mapping: dict[str, Any]) -> str:
    config = {
        "targets": {
            "onboarding": {
                "provider": "usertour",
                "base_url": running.url,
                "api_key_env": "USERTOUR_API_KEY",
            },
            "research": {
                "provider": "sprig",
                "base_url": running.url,
                "api_key_env": "SPRIG_API_KEY",
            },
        }
    }
    if research_mapping:
        config["targets"]["research"]["mapping"] = research_mapping
    return yaml.safe_dump(config, sort_keys=False)


def _repo(tmp_path: Path, running: RunningEmulator, tags: bool = True) -> Path:
    (tmp_path / "users").mkdir()
    mapping = {"tags": {"join": ", "}} if tags else {}
    (tmp_path / "reconciler.yaml").write_text(_config(running, mapping))
    return tmp_path


def _seed(running: RunningEmulator, b_plan: str = "free") -> None:
    """a on Sprig only, b and c on both, d on Usertour only; Sprig holds tags joined."""
    seed(
        running,
        "sprig",
        [
            {
                "userId": "a",
                "emailAddress": "a@example.com",
                "attributes": {"plan": "pro", "tags": "beta, panel"},
            },
            {
                "userId": "b",
                "emailAddress": "b@example.com",
                "attributes": {"plan": "free", "tags": "x"},
            },
            {"userId": "c", "attributes": {"plan": "pro", "seats": 3}},
        ],
    )
    seed(
        running,
        "usertour",
        [
            {"id": "b", "attributes": {"email": "b@example.com", "plan": b_plan, "tags": ["x"]}},
            {"id": "c", "attributes": {"plan": "pro", "seats": 3, "step": "done"}},
            {
                "id": "d",
                "attributes": {"plan": "free", "tags": ["beta"]},
                "companies": [{"id": "acme", "attributes": {"name": "Acme Inc"}}],
            },
        ],
    )


def _declared(repo: Path) -> list[dict[str, Any]]:
    document = yamlload.parse_mapping((repo / "users" / "people.yaml").read_bytes(), "people")
    assert document.problems == []
    assert document.value is not None
    return list(document.value["users"])


def _import(run: Run, repo: Path, *args: str) -> Any:
    return run("import", *args, "--out", "users/people.yaml", cwd=repo, env=KEYS)


def test_two_targets_adopted_into_one_file_plan_clean(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    _seed(running)
    repo = _repo(tmp_path, running)
    first = _import(run, repo, "--target", "research", "--user", "a", "--user", "b", "--user", "c")
    assert first.code == 0, first.stderr
    # A person's comment, which the second import must keep where it is.
    people = repo / "users" / "people.yaml"
    people.write_text(people.read_text().replace("  - id: b\n", "  - id: b  # VIP\n"))

    second = _import(run, repo, "--target", "onboarding", "--all")
    assert second.code == 0, second.stderr
    assert "Merged 2 users from target onboarding into users/people.yaml." in second.stderr
    assert "Added 1 user to users/people.yaml." in second.stderr
    assert (
        "Left undeclared: attributes.step of 1 user (c): held by onboarding only: declaring it "
        "would send it to research too; declare it and add {step: drop} to the mapping: of "
        "research"
    ) in second.stderr

    text = people.read_text()
    assert "  - id: b  # VIP\n" in text
    assert text.startswith("# yaml-language-server: $schema=")
    users = {user["id"]: user for user in _declared(repo)}
    assert sorted(users) == ["a", "b", "c", "d"]  # one entry per user
    assert "targets" not in users["a"]  # the file's defaults: research
    assert users["b"]["targets"] == ["onboarding", "research"]
    assert users["b"]["attributes"] == {"plan": "free", "tags": ["x"]}
    assert users["d"]["targets"] == ["onboarding"]
    assert users["d"]["companies"] == [{"id": "acme", "attributes": {"name": "Acme Inc"}}]

    validated = run("validate", cwd=repo)
    assert validated.code == 0, validated.stdout + validated.stderr
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
    assert "Plan: 0 to create, 0 to update, 6 unchanged." in planned.stdout

    again = _import(run, repo, "--target", "onboarding", "--all")  # idempotent
    assert again.code == 0, again.stderr
    assert people.read_text() == text


def test_a_value_that_differs_is_listed_to_decide(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    _seed(running, b_plan="enterprise")
    repo = _repo(tmp_path, running)
    assert _import(run, repo, "--target", "research", "--user", "a", "--user", "b").code == 0
    second = _import(run, repo, "--target", "onboarding", "--user", "b")
    assert second.code == 1
    line = next(
        number
        for number, text in enumerate((repo / "users" / "people.yaml").read_text().split("\n"), 1)
        if text.startswith("  - id: b")
    )
    assert (
        f"To decide: users/people.yaml:{line}: user b: attributes.plan: target onboarding holds "
        "another value than the declaration"
    ) in second.stderr
    assert "enterprise" not in second.stderr  # values are never printed
    assert "Error: 1 difference between the targets to decide" in second.stderr
    users = {user["id"]: user for user in _declared(repo)}
    assert users["b"]["attributes"]["plan"] == "free"
    planned = run("plan", "--target", "onboarding", cwd=repo, env=KEYS)
    assert '~ attributes.plan: "enterprise" -> "free"' in planned.stdout


def test_an_attribute_one_target_lacks_is_expressed_with_a_drop(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Declared for Sprig, absent on Usertour: to decide, and the drop it suggests ends it."""
    running = emulator()
    seed(running, "sprig", [{"userId": "e", "attributes": {"plan": "pro", "nps": 9}}])
    seed(running, "usertour", [{"id": "e", "attributes": {"plan": "pro"}}])
    repo = _repo(tmp_path, running, tags=False)
    assert _import(run, repo, "--target", "research", "--user", "e").code == 0
    second = _import(run, repo, "--target", "onboarding", "--all")
    assert second.code == 1
    assert "(targets.onboarding.mapping: {nps: drop})" in second.stderr
    config = yaml.safe_load((repo / "reconciler.yaml").read_text())
    config["targets"]["onboarding"]["mapping"] = {"nps": "drop"}
    (repo / "reconciler.yaml").write_text(yaml.safe_dump(config))
    third = _import(run, repo, "--target", "onboarding", "--all")
    assert third.code == 0, third.stderr
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_users_all_on_both_targets_change_the_defaults_once(run: Run, tmp_path: Path) -> None:
    """The file the first import wrote pins its users with defaults: when every one of them
    is on the second target too, the defaults say so once, not each entry."""
    config = (
        "targets:\n  a: {provider: sandbox, path: a.db}\n  b: {provider: sandbox, path: b.db}\n"
    )
    (tmp_path / "reconciler.yaml").write_text(config)
    (tmp_path / "users").mkdir()
    users = [{"id": f"u{n}", "attributes": {"n": n}} for n in range(3)]
    (tmp_path / "users" / "seed.yaml").write_text(yaml.safe_dump({"users": users}))
    assert run("apply", "--yes", cwd=tmp_path).code == 0
    (tmp_path / "users" / "seed.yaml").unlink()
    assert (
        run("import", "--target", "a", "--all", "--out", "users/people.yaml", cwd=tmp_path).code
        == 0
    )
    merged = run("import", "--target", "b", "--all", "--out", "users/people.yaml", cwd=tmp_path)
    assert merged.code == 0, merged.stderr
    text = (tmp_path / "users" / "people.yaml").read_text()
    assert "defaults:\n  targets: [a, b]\n" in text
    assert text.count("targets") == 1
    assert run("plan", "--detailed-exitcode", cwd=tmp_path).code == 0
