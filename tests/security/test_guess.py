"""A pull request's plan cannot confirm a guessed sensitive value (issue 23, point 5).

The attacker declares a live user's id with a guess of a masked value (here its phone). Before,
the plan said "1 unchanged" when the guess was right and "1 to update" when wrong. Now a plan
that knows its base revision (the workflow's ``--changed-since HEAD^1 --sensitive-from HEAD^1``)
compares no sensitive value: for one guess, every output (text, Markdown, JSON, the saved plan,
the summary) and the checksum are the same whether the live value is the guess or not: what the
attacker sees depends on what they wrote, never on the secret. Apply on the merged commit, with
the same base, matches that checksum and decides: it sends the value only when it differs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.sandbox.server import RunningEmulator
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed, write_repo
from tests.gitrepo import GitRepo, isolate_git, requires_git
from tests.security.attacker_outputs import plan_outputs, reconciler

pytest_plugins = ("tests.e2e.emulator",)

LIVE_PHONE = "+47 555 12345"
SENSITIVE = "sensitive: [phone]\n"
BASE = ("--changed-since", "HEAD^1", "--sensitive-from", "HEAD^1")


def _pull_request(
    tmp_path: Path, emulator: StartEmulator, guess: str, live_phone: str = LIVE_PHONE
) -> tuple[Path, RunningEmulator]:
    """main declares vip-1's role (and lists phone as sensitive); the live user also has a phone
    nobody declares; the pull request declares the attacker's guess of it."""
    running = emulator()
    live = {"id": "vip-1", "attributes": {"role": "x", "phone": live_phone}}
    seed(running, "usertour", [live])
    repo = write_repo(
        tmp_path / "repo", running, "usertour", [{"id": "vip-1", "attributes": {"role": "x"}}]
    )
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text() + SENSITIVE)
    (repo / ".gitignore").write_text(".reconciler/\n")
    history = GitRepo(repo)
    history.commit({}, "main")
    declared = {"users": [{"id": "vip-1", "attributes": {"role": "x", "phone": guess}}]}
    (repo / "users" / "all.yaml").write_text(json.dumps(declared))
    history.commit({}, "the pull request")
    running.clear_requests()
    return repo, running


def _comparable(outputs: dict[str, str], repo: Path) -> dict[str, str]:
    """What a reader sees, less what differs between the two worlds' repositories only: the
    time of the run, the folder, and (the emulators listen on different ports, which
    reconciler.yaml names) the digest of the files and the commits."""
    noise = re.compile(r'"(created_at|digest|commit)": ?"[^"]*"|http://127\.0\.0\.1:\d+')
    return {
        name: noise.sub("", text).replace(str(repo.parent), "") for name, text in outputs.items()
    }


@requires_git
def test_a_right_and_a_wrong_guess_plan_alike(
    tmp_path: Path, emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(tmp_path, monkeypatch)
    seen = {}
    for live_phone in (LIVE_PHONE, "+47 555 00000"):  # the guess right, then wrong
        folder = tmp_path / live_phone.replace(" ", "")
        repo, _ = _pull_request(folder, emulator, LIVE_PHONE, live_phone)
        without_base = plan_outputs(repo, env=KEYS)["plan text stdout"]
        (repo.parent / f"{repo.name}-summary.md").unlink()
        outputs = plan_outputs(repo, *BASE, env=KEYS)
        assert "~ attributes.phone: sensitive, compared at apply" in outputs["plan text stdout"]
        assert "0 to create, 1 to update, 0 unchanged" in outputs["plan text stdout"]
        seen[live_phone] = (without_base, _comparable(outputs, repo))
    (right_before, right), (wrong_before, wrong) = seen.values()
    assert "1 unchanged" in right_before and "1 to update" in wrong_before  # the attack, before
    assert right == wrong  # every output, checksum and fingerprints included


@requires_git
@pytest.mark.parametrize(("guess", "sent"), [(LIVE_PHONE, False), ("+47 555 99999", True)])
def test_apply_on_the_merge_matches_the_reviewed_checksum_and_sends_only_what_differs(
    tmp_path: Path,
    emulator: StartEmulator,
    monkeypatch: pytest.MonkeyPatch,
    guess: str,
    sent: bool,
) -> None:
    isolate_git(tmp_path, monkeypatch)
    repo, running = _pull_request(tmp_path, emulator, guess)
    planned = reconciler("plan", *BASE, cwd=repo, env=KEYS)
    assert planned.code == 0, planned.both
    [checksum] = re.findall(r"Plan checksum: ([0-9a-f]{64})", planned.stdout)
    applied = reconciler("apply", *BASE, "--checksum", checksum, "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.both
    writes = [r for r in running.requests if r.method in {"POST", "PATCH", "PUT"}]
    assert bool(writes) == sent, writes
    if sent:
        [write] = writes
        assert "+47 555 99999" in write.body.decode()
        assert "role" not in write.body.decode()  # equal values are not sent
    assert "Apply complete: 1 applied, 0 failed." in applied.stdout
    assert LIVE_PHONE not in applied.both and "+47 555 99999" not in applied.both
    full = reconciler("plan", "--detailed-exitcode", cwd=repo, env=KEYS)  # drift check: no base
    assert full.code == 0, full.both  # the live phone is now the declared one
