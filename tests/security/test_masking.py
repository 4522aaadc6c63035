"""Masking (issue 12, Medium 4 and 5): what the organisation's key reads from a target (live
emails, phones, nested company values) never reaches an output the pull request's author can
see, whatever the repository's ``sensitive:`` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.security.attacker_outputs import (
    leaks,
    plan_outputs,
    reconciler,
    write_files,
)

LIVE_EMAIL, LIVE_PHONE = "alice.live@corp.example", "+1 555 0100"
NEW_EMAIL, NEW_PHONE = "alice.new@corp.example", "+1 555 0199"


def _live_repo(tmp_path: Path) -> Path:
    """The base branch's repository, applied: the sandbox holds alice's email and phone."""
    config = 'targets:\n  local:\n    provider: sandbox\nusers: ["users/"]\nsensitive: [phone]\n'
    alice = {"id": "alice", "email": LIVE_EMAIL, "attributes": {"phone": LIVE_PHONE, "plan": "x"}}
    repo = write_files(
        tmp_path / "repo", {"reconciler.yaml": config, "users/a.yaml": {"users": [alice]}}
    )
    applied = reconciler("apply", "--yes", cwd=repo)
    assert applied.code == 0, applied.both
    return repo


@pytest.mark.parametrize("sensitive", ["[nothing]", "[]", "[phone]", "[attributes.plan]"])
def test_a_pull_request_cannot_unmask_the_email(tmp_path: Path, sensitive: str) -> None:
    repo = _live_repo(tmp_path)
    config = (repo / "reconciler.yaml").read_text().replace("[phone]", sensitive)
    alice = {"id": "alice", "email": NEW_EMAIL, "attributes": {"phone": NEW_PHONE, "plan": "y"}}
    write_files(repo, {"reconciler.yaml": config, "users/a.yaml": {"users": [alice]}})
    outputs = plan_outputs(repo)
    assert "~ email: (sensitive) -> (sensitive)" in outputs["plan text stdout"]
    assert leaks(outputs, [LIVE_EMAIL, NEW_EMAIL, "alice.live", "alice.new"]) == []
    if "phone" in sensitive:
        assert leaks(outputs, [LIVE_PHONE, NEW_PHONE, "555"]) == []
