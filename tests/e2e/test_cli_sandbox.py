"""The newcomer path and the CLI contract, end to end on the built-in sandbox."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.e2e.conftest import Run


def test_examples_validate_plan_apply_then_clean(run: Run, example_repo: Path) -> None:
    validated = run("validate", cwd=example_repo)
    assert validated.code == 0, validated.stderr
    assert "Valid: 5 users in 2 files" in validated.stdout

    planned = run("plan", cwd=example_repo)
    assert planned.code == 0, planned.stderr
    assert "Plan: 5 to create, 0 to update, 0 unchanged." in planned.stdout
    assert "+ user 12347" in planned.stdout
    assert '+ attributes.country = "NO"' in planned.stdout
    assert "+ events: login x2" in planned.stdout
    # Emails and other sensitive values never print.
    assert "ada@example.com" not in planned.stdout
    assert "+ email = (sensitive)" in planned.stdout
    assert "555" not in planned.stdout

    applied = run("apply", "--yes", cwd=example_repo)
    assert applied.code == 0, applied.stderr
    assert "Apply complete: 5 applied, 0 failed." in applied.stdout

    again = run("plan", "--detailed-exitcode", cwd=example_repo)
    assert again.code == 0, again.stdout + again.stderr
    assert "Plan: 0 to create, 0 to update, 5 unchanged." in again.stdout


def test_detailed_exitcode_reports_pending_changes_with_2(run: Run, example_repo: Path) -> None:
    assert run("plan", "--detailed-exitcode", cwd=example_repo).code == 2
    assert run("plan", cwd=example_repo).code == 0


def test_an_edit_becomes_one_update_and_apply_sends_only_it(run: Run, example_repo: Path) -> None:
    assert run("apply", "--yes", cwd=example_repo).code == 0
    customers = example_repo / "users" / "customers.yaml"
    customers.write_text(customers.read_text().replace("seats: 12", "seats: 14"))
    planned = run("plan", cwd=example_repo)
    assert "~ user 12347" in planned.stdout
    assert "~ attributes.seats: 12 -> 14" in planned.stdout
    assert "Plan: 0 to create, 1 to update, 4 unchanged." in planned.stdout
    assert run("apply", "--yes", cwd=example_repo).code == 0
    db = example_repo / ".reconciler" / "sandbox.db"
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT count(*) FROM users").fetchone()
    assert rows == (5,)


def test_null_removes_a_live_attribute(run: Run, example_repo: Path) -> None:
    staff = example_repo / "users" / "staff.yaml"
    assert run("apply", "--yes", cwd=example_repo).code == 0
    staff.write_text(staff.read_text().replace("team: growth", "team: null"))
    planned = run("plan", "--user", "staff-barbara", cwd=example_repo)
    assert '- attributes.team (was "growth")' in planned.stdout
    assert run("apply", "--yes", cwd=example_repo).code == 0
    assert run("plan", "--detailed-exitcode", cwd=example_repo).code == 0


def test_apply_without_terminal_and_without_yes_refuses(run: Run, example_repo: Path) -> None:
    refused = run("apply", cwd=example_repo)
    assert refused.code == 3
    assert "--yes" in refused.stderr
    assert not (example_repo / ".reconciler" / "sandbox.db").exists() or (
        run("plan", "--detailed-exitcode", cwd=example_repo).code == 2
    )


def test_safety_guard_refuses_before_sending(run: Run, example_repo: Path) -> None:
    refused = run("apply", "--yes", "--max-changes", "2", cwd=example_repo)
    assert refused.code == 3
    assert "--max-changes 5" in refused.stderr
    assert run("plan", "--detailed-exitcode", cwd=example_repo).code == 2
    assert run("apply", "--yes", "--max-changes", "5", cwd=example_repo).code == 0


def test_user_and_target_selection(run: Run, example_repo: Path) -> None:
    planned = run("plan", "--user", "12349", "--target", "local", cwd=example_repo)
    assert planned.code == 0
    assert "Plan: 1 to create, 0 to update, 0 unchanged." in planned.stdout
    unknown_user = run("plan", "--user", "nobody", cwd=example_repo)
    assert unknown_user.code == 1 and "nobody" in unknown_user.stderr
    unknown_target = run("plan", "--target", "nowhere", cwd=example_repo)
    assert unknown_target.code == 1 and "nowhere" in unknown_target.stderr


def test_usage_errors_exit_1_never_2(run: Run, example_repo: Path) -> None:
    assert run("plan", "--no-such-flag", "--detailed-exitcode", cwd=example_repo).code == 1
    assert run("apply", "--max-changes", "many", cwd=example_repo).code == 1
    assert run("no-such-command", cwd=example_repo).code == 1
    helped = run("plan", "--help", cwd=example_repo)
    assert helped.code == 0 and "Examples:" in helped.stdout


def test_invalid_declarations_exit_1_with_location_and_touch_nothing(
    run: Run, example_repo: Path
) -> None:
    broken = example_repo / "users" / "broken.yaml"
    broken.write_text('users:\n  - id: "x1"\n    atributes: {plan: pro}\n')
    for command in (["validate"], ["plan"], ["apply", "--yes"]):
        result = run(*command, cwd=example_repo)
        assert result.code == 1
        assert "users/broken.yaml:3:5" in result.stderr, result.stderr
        assert "atributes" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (example_repo / ".reconciler" / "sandbox.db").exists()


def test_missing_config_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    result = run("plan", cwd=tmp_path)
    assert result.code == 1
    assert "reconciler.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_formats_for_ci(run: Run, example_repo: Path) -> None:
    (example_repo / "users" / "bad.yaml").write_text("users:\n  - id: 1\n")
    github = run("validate", "--format", "github", cwd=example_repo)
    assert github.code == 1
    assert github.stdout.startswith("::error file=users/bad.yaml,line=2,col=5,")
    as_json = run("validate", "--format", "json", cwd=example_repo)
    assert as_json.code == 1
    document = json.loads(as_json.stdout)
    assert document["valid"] is False and document["problems"][0]["line"] == 2


def test_colour_never_when_piped_or_no_color(run: Run, example_repo: Path) -> None:
    planned = run("plan", cwd=example_repo, env={"NO_COLOR": "1"})
    assert "\x1b[" not in planned.stdout
    assert "Plan checksum: " in planned.stdout
