"""Plan forecasts what apply will do (issue 14): the refusals of the safety guards in every
format, with the flag or setting that allows each; and a default max_changes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS


def _sandbox_repo(root: Path, count: int, safety: dict[str, object] | None = None) -> Path:
    config: dict[str, object] = {"targets": {"local": {"provider": "sandbox"}}, "users": ["users/"]}
    if safety is not None:
        config["safety"] = safety
    (root / "users").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(yaml.safe_dump(config))
    users = [{"id": f"u{n:04d}", "attributes": {"n": n}} for n in range(count)]
    (root / "users" / "all.yaml").write_text(json.dumps({"users": users}))
    return root


def test_plan_says_in_every_format_when_apply_would_refuse_and_what_allows_it(
    run: Run, tmp_path: Path
) -> None:
    repo = _sandbox_repo(tmp_path, 12, {"max_changes": 5})
    expected = (
        "refusing to change 12 users: safety.max_changes is 5. Review the plan, then run apply "
        "with --max-changes 12 to allow it."
    )
    text = run("plan", cwd=repo)
    assert text.code == 0, text.stderr
    assert f"Apply would refuse: {expected}" in text.stdout
    markdown = run("plan", "--format", "markdown", cwd=repo)
    escaped = expected.replace("max_changes", "max\\_changes")
    assert f"- **Apply would refuse:** {escaped}" in markdown.stdout
    document = json.loads(run("plan", "--format", "json", cwd=repo).stdout)
    assert document["apply_would_refuse"] == [
        {"guard": "max_changes", "message": expected, "allow": "--max-changes 12"}
    ]
    refused = run("apply", "--yes", cwd=repo)
    assert refused.code == 3 and expected in refused.stderr
    allowed = run("apply", "--yes", "--max-changes", "12", cwd=repo)
    assert allowed.code == 0, allowed.stdout + allowed.stderr
    assert "Apply would refuse" not in allowed.stdout


def test_the_ratio_guard_is_forecast_too(run: Run, tmp_path: Path) -> None:
    repo = _sandbox_repo(tmp_path, 20, {"max_change_ratio": 0.25})
    assert run("apply", "--yes", cwd=repo).code == 0  # a first apply: the target was empty
    users = [{"id": f"u{n:04d}", "attributes": {"n": n + 1 if n < 6 else n}} for n in range(20)]
    (repo / "users" / "all.yaml").write_text(json.dumps({"users": users}))
    text = run("plan", cwd=repo).stdout
    assert (
        "Apply would refuse: refusing to change 6 of 20 users (30%) on target local: "
        "safety.max_change_ratio is 0.25. Review the plan, then run apply with "
        "--max-change-ratio 0.30 to allow it." in text
    )


def test_max_changes_defaults_to_500(run: Run, tmp_path: Path) -> None:
    repo = _sandbox_repo(tmp_path, 501)
    text = run("plan", cwd=repo).stdout
    assert "Apply would refuse: refusing to change 501 users: safety.max_changes is 500." in text
    refused = run("apply", "--yes", cwd=repo)
    assert refused.code == 3, refused.stdout + refused.stderr
    assert "--max-changes 501" in refused.stderr


def test_plan_says_once_per_target_what_it_will_not_send_there(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """A user of Sprig and Usertour: companies are not sent to Sprig, events not to Usertour."""
    running = emulator()
    targets = {
        "research": {"provider": "sprig", "base_url": running.url, "api_key_env": "SPRIG_API_KEY"},
        "onboarding": {
            "provider": "usertour",
            "base_url": running.url,
            "api_key_env": "USERTOUR_API_KEY",
        },
    }
    (tmp_path / "reconciler.yaml").write_text(yaml.safe_dump({"targets": targets}))
    users = [
        {
            "id": f"u{n}",
            "events": [{"event": "login", "timestamp": 1_700_000_000_000}],
            "companies": [{"id": "acme"}] if n < 2 else [],
        }
        for n in range(3)
    ]
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "all.yaml").write_text(json.dumps({"users": users}))
    sprig_line = (
        "Not sent to research: the companies and memberships of 2 users (sprig has no companies)."
    )
    usertour_line = (
        "Not sent to onboarding: the events of 3 users (usertour keeps no event history)."
    )
    text = run("plan", cwd=tmp_path, env=KEYS)
    assert text.code == 0, text.stderr
    assert text.stdout.count(f"  {sprig_line}\n") == 1
    assert text.stdout.count(f"  {usertour_line}\n") == 1
    markdown = run("plan", "--format", "markdown", cwd=tmp_path, env=KEYS).stdout
    assert markdown.count("Not sent to research: the companies and memberships of 2 users") == 1
    document = json.loads(run("plan", "--format", "json", cwd=tmp_path, env=KEYS).stdout)
    not_sent = {t["target"]: t.get("not_sent") for t in document["targets"]}
    assert not_sent == {
        "onboarding": [{"what": "events", "users": 3, "reason": "usertour keeps no event history"}],
        "research": [
            {"what": "companies and memberships", "users": 2, "reason": "sprig has no companies"}
        ],
    }
