"""Issue 4's loop: saved plans, checksums, formats, safety guards, shards, step summaries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema

from reconciler.load.schemas import load_schema
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed, upserts, write_repo

T0 = 1_626_448_859_836


def _users(count: int, plan: str = "pro") -> list[dict[str, object]]:
    return [
        {
            "id": f"u{i:03d}",
            "email": f"person{i}@example.com",
            "attributes": {"plan": plan, "n": i},
            "events": [{"event": "login", "timestamp": T0 + i}],
        }
        for i in range(count)
    ]


def _checksum(output: str) -> str:
    match = re.search(r"Plan checksum: ([0-9a-f]{64})", output)
    assert match, output
    return match.group(1)


def test_saved_plan_applies_exactly_and_refuses_when_stale(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", _users(4))
    (repo / "plan.json").write_text("an older plan, world-readable")
    (repo / "plan.json").chmod(0o644)
    planned = run("plan", "--out", "plan.json", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stderr
    saved = json.loads((repo / "plan.json").read_text())
    jsonschema.validate(saved, load_schema("plan"))
    assert saved["targets"][0]["changes"][0]["request"]["path"] == "/v2/users"
    assert (repo / "plan.json").stat().st_mode & 0o077 == 0  # replaced, and private
    # Someone changes a planned user on the target after the plan: the plan is stale.
    seed(running, "sprig", [{"userId": "u001", "attributes": {"plan": "free"}}])
    stale = run("apply", "plan.json", "--yes", cwd=repo, env=KEYS)
    assert stale.code == 3, stale.stdout + stale.stderr
    assert "stale plan: user u001 changed on target prod" in stale.stderr
    assert upserts(running) == []
    # A fresh plan applies, exactly what it showed.
    assert run("plan", "--out", "plan.json", cwd=repo, env=KEYS).code == 0
    fresh = json.loads((repo / "plan.json").read_text())
    running.clear_requests()
    applied = run("apply", "plan.json", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    sent = [r.json() for r in running.requests if r.method == "POST"]
    planned_bodies = [c["request"]["body"] for c in fresh["targets"][0]["changes"]]
    # Sent concurrently: the same requests, in any order; the file shows them with the email
    # masked (apply sent the re-derived request, which has it).
    assert "example.com" not in (repo / "plan.json").read_text()
    shown = [{**body, "emailAddress": "(sensitive)"} for body in sent]
    assert sorted(shown, key=lambda b: b["userId"]) == planned_bodies
    assert all(body["emailAddress"].endswith("@example.com") for body in sent)
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_saved_plan_refused_when_declarations_changed(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", _users(2))
    assert run("plan", "--out", "plan.json", cwd=repo, env=KEYS).code == 0
    declarations = repo / "users" / "all.yaml"
    declarations.write_text(declarations.read_text().replace('"pro"', '"team"'))
    refused = run("apply", "plan.json", "--yes", cwd=repo, env=KEYS)
    assert refused.code == 3
    assert "declarations changed" in refused.stderr
    assert upserts(running) == []


def test_json_output_is_the_saved_plan_and_applies(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Both are the same masked document: apply re-derives the requests, it never reads them."""
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", _users(2))
    printed = run("plan", "--format", "json", "--out", "saved.json", cwd=repo, env=KEYS)
    assert printed.code == 0
    document = json.loads(printed.stdout)
    jsonschema.validate(document, load_schema("plan"))
    assert "example.com" not in printed.stdout  # emails are masked on stdout
    saved = json.loads((repo / "saved.json").read_text())
    assert {**saved, "created_at": ""} == {**document, "created_at": ""}
    (repo / "printed.json").write_text(printed.stdout)
    applied = run("apply", "printed.json", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    sent = sorted(r.json()["emailAddress"] for r in upserts(running))
    assert sent == ["person0@example.com", "person1@example.com"]


def test_checksum_apply(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", _users(3))
    checksum = _checksum(run("plan", cwd=repo, env=KEYS).stdout)
    seed(running, "sprig", [{"userId": "u000", "attributes": {"plan": "free"}}])
    refused = run("apply", "--yes", "--checksum", checksum, cwd=repo, env=KEYS)
    assert refused.code == 3 and "checksum" in refused.stderr
    assert upserts(running) == []
    checksum = _checksum(run("plan", cwd=repo, env=KEYS).stdout)
    applied = run("apply", "--yes", "--checksum", checksum[:16], cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr


def test_max_changes_guard(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", _users(30))
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text() + "safety:\n  max_changes: 5\n")
    refused = run("apply", "--yes", cwd=repo, env=KEYS)
    assert refused.code == 3
    assert "--max-changes 30" in refused.stderr
    assert upserts(running) == []
    assert run("apply", "--yes", "--max-changes", "100", cwd=repo, env=KEYS).code == 0
    assert len(upserts(running)) == 30


def test_max_change_ratio_guard(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    running = emulator()
    seed(
        running,
        "sprig",
        [{"userId": f"u{i:03d}", "attributes": {"plan": "pro", "n": i}} for i in range(20)],
    )
    repo = write_repo(
        tmp_path,
        running,
        "sprig",
        [{"id": f"u{i:03d}", "attributes": {"plan": "team", "n": i}} for i in range(20)],
    )
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text() + "safety:\n  max_change_ratio: 0.5\n")
    refused = run("apply", "--yes", cwd=repo, env=KEYS)
    assert refused.code == 3 and "--max-change-ratio" in refused.stderr
    assert upserts(running) == []
    assert run("apply", "--yes", "--max-change-ratio", "1", cwd=repo, env=KEYS).code == 0


def test_shards_are_disjoint_and_cover_everyone(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", _users(40))
    seen: list[set[str]] = []
    for shard in ("1/2", "2/2"):
        printed = run("plan", "--shard", shard, "--format", "json", cwd=repo, env=KEYS)
        assert printed.code == 0, printed.stderr
        changes = json.loads(printed.stdout)["targets"][0]["changes"]
        seen.append({c["user_id"] for c in changes})
    assert seen[0] and seen[1] and not seen[0] & seen[1]
    assert seen[0] | seen[1] == {f"u{i:03d}" for i in range(40)}
    assert run("plan", "--shard", "3/2", cwd=repo, env=KEYS).code == 1


def test_markdown_and_step_summary_never_show_emails(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", _users(3))
    summary = tmp_path / "summary.md"
    env = {**KEYS, "GITHUB_STEP_SUMMARY": str(summary)}
    printed = run("plan", "--format", "markdown", cwd=repo, env=env)
    assert printed.code == 0, printed.stderr
    assert "<details>" in printed.stdout
    assert "**<code>prod</code>** (sprig): 3 to create, 0 to update" in printed.stdout
    text = run("plan", cwd=repo, env=env)
    applied = run("apply", "--yes", cwd=repo, env=env)
    assert applied.code == 0
    written = summary.read_text()
    assert "<details>" in written and "3" in written
    for output in (printed.stdout, text.stdout, applied.stdout, written):
        assert "example.com" not in output
