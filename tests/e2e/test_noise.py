"""Noise (issue 14 point 8): say what is news, once, and nothing about what was not asked."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml

from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, write_repo

T0 = 1_700_000_000_000


def _two_sandboxes(root: Path) -> Path:
    targets = {
        "local": {"provider": "sandbox", "path": ".reconciler/local.db"},
        "other": {"provider": "sandbox", "path": ".reconciler/other.db"},
    }
    (root / "reconciler.yaml").write_text(yaml.safe_dump({"targets": targets}))
    users = [
        {"id": "u1", "targets": ["local"], "attributes": {"plan": "pro"}},
        {"id": "u2", "targets": ["other"], "attributes": {"plan": "pro"}},
    ]
    (root / "users").mkdir()
    (root / "users" / "all.yaml").write_text(json.dumps({"users": users}))
    return root


def test_history_the_target_holds_more_of_is_no_warning_after_import(
    run: Run, tmp_path: Path
) -> None:
    """import --with-events declares the latest event per name; plan then has nothing to say."""
    _two_sandboxes(tmp_path)
    logins = [{"event": "login", "timestamp": T0 + n} for n in range(3)]
    users = [{"id": "u1", "targets": ["local"], "events": logins}]
    (tmp_path / "users" / "all.yaml").write_text(json.dumps({"users": users}))
    assert run("apply", "--yes", cwd=tmp_path).code == 0
    imported = run(
        "import",
        "--target",
        "local",
        "--all",
        "--with-events",
        "--out",
        "users/all.yaml",
        cwd=tmp_path,
    )
    assert imported.code == 0, imported.stderr
    plan = run("plan", "--detailed-exitcode", cwd=tmp_path)
    assert plan.code == 0, plan.stdout + plan.stderr
    assert "declared at or before" not in plan.stdout + plan.stderr


def test_user_selection_shows_only_its_targets(run: Run, tmp_path: Path) -> None:
    _two_sandboxes(tmp_path)
    plan = run("plan", "--user", "u1", cwd=tmp_path)
    assert plan.code == 0, plan.stderr
    assert "Target local (sandbox): 1 to create" in plan.stdout
    assert "other" not in plan.stdout
    applied = run("apply", "--yes", "--user", "u1", cwd=tmp_path)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert "Target other" not in applied.stdout


def test_a_target_with_nothing_to_do_gets_no_report_line(run: Run, tmp_path: Path) -> None:
    _two_sandboxes(tmp_path)
    assert run("apply", "--yes", "--user", "u2", cwd=tmp_path).code == 0
    applied = run("apply", "--yes", cwd=tmp_path)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert "Target local: 1 applied, 0 not" in applied.stdout
    assert "Target other:" not in applied.stdout  # was "Target other: 0 applied, 0 not"


def test_one_request_in_flight_is_singular(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator(rate_limit=3)
    # 4 users, 8 requests at 3 a second: 2 in flight meet the limit and halve to 1.
    users = [{"id": f"u{n}", "attributes": {"n": n}} for n in range(4)]
    repo = write_repo(tmp_path, running, "usertour", users)
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text().replace("parallelism: 4", "parallelism: 2"))
    applied = run("apply", "--yes", cwd=repo, env={**KEYS, "RECONCILER_RETRY_ATTEMPTS": "15"})
    assert applied.code == 0, applied.stdout + applied.stderr
    assert "answered 429: at most 1 request in flight now" in applied.stderr, applied.stderr
    assert "1 requests" not in applied.stderr
    posted = Counter(
        r.json()["id"] for r in running.requests if r.method == "POST" and r.status < 300
    )
    assert posted == Counter(u["id"] for u in users)
