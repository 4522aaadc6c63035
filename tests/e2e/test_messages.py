"""Messages that say what, not that (issue 14 point 7), each as a user meets it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed, write_repo


def _checksum(stdout: str) -> str:
    return stdout.rsplit("Plan checksum: ", 1)[1].split()[0]


def test_a_checksum_refusal_names_what_the_plan_now_changes(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    users = [{"id": f"u{n}", "attributes": {"plan": "pro"}} for n in range(3)]
    repo = write_repo(tmp_path, running, "sprig", users)
    seed(running, "sprig", [{"userId": f"u{n}", "attributes": {"plan": "pro"}} for n in (1, 2)])
    reviewed = _checksum(run("plan", cwd=repo, env=KEYS).stdout)  # u0 to create
    seed(running, "sprig", [{"userId": "u2", "attributes": {"plan": "free"}}])
    refused = run("apply", "--yes", "--checksum", reviewed, cwd=repo, env=KEYS)
    assert refused.code == 3
    assert "The plan now changes on target prod: u0, u2. Run plan again" in refused.stderr


def test_a_checksum_that_is_no_checksum_gets_its_own_message(run: Run, tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("targets:\n  local:\n    provider: sandbox\n")
    for given, what in (("abc", "too short"), ("zz1c9a0b7d2e00", "not hexadecimal")):
        result = run("apply", "--yes", "--checksum", given, cwd=tmp_path)
        assert result.code == 1, result.stderr
        assert f"'{given}' is {what}: give the 64 hex digits of the plan's" in result.stderr
        assert "checksum is now" not in result.stderr


def test_a_file_that_is_no_plan_gets_a_plain_error(run: Run, tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text("targets:\n  local:\n    provider: sandbox\n")
    (tmp_path / "other.json").write_text(json.dumps({"a": 1}))
    for name in ("reconciler.yaml", "other.json"):
        result = run("apply", name, "--yes", cwd=tmp_path)
        assert result.code == 1
        assert result.stderr == (
            f"Error: {name} is not a reconciler plan file; "
            "save one with `reconciler plan --out FILE`\n"
        )


def test_every_missing_key_variable_is_named_at_once(run: Run, tmp_path: Path) -> None:
    targets = {
        "research": {"provider": "sprig", "api_key_env": "SPRIG_API_KEY"},
        "onboarding": {"provider": "usertour", "api_key_env": "USERTOUR_API_KEY"},
    }
    (tmp_path / "reconciler.yaml").write_text(yaml.safe_dump({"targets": targets}))
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "u.yaml").write_text('users:\n  - id: "u1"\n')
    result = run("plan", cwd=tmp_path)
    assert result.code == 1
    assert result.stderr == (
        "Error: the environment variables USERTOUR_API_KEY (target onboarding), SPRIG_API_KEY "
        "(target research) are not set or empty; export USERTOUR_API_KEY=<API key> "
        "SPRIG_API_KEY=<API key> (keys never live in reconciler.yaml)\n"
    )
