"""`plan --changed-since` with the files a change did not touch known by their cached summary
(load/filecache.py): the same bytes as without the cache, the same refusals, and nothing a
cache entry says is believed unless this user's reconciler wrote it for those very bytes.

The repository: users/a.yaml and users/b.yaml stay as committed; users/c.yaml is edited (not
committed), so ``--changed-since HEAD`` plans its one edited user.
"""

from __future__ import annotations

import json
import marshal
import os
from pathlib import Path

import pytest

from reconciler.load import schemacache
from tests.e2e.conftest import Run
from tests.gitrepo import GitRepo, isolate_git, requires_git

pytestmark = requires_git

CONFIG = """\
targets:
  prod:
    provider: sandbox
    path: .reconciler/prod.db
    mapping:
      plan: {rename: tier}
users: [users/]
"""


def _users(prefix: str, count: int, **extra: object) -> str:
    users = [
        {"id": f"{prefix}{n}", "email": f"{prefix}{n}@example.com", **extra} for n in range(count)
    ]
    return json.dumps({"users": users}, indent=1)


A = _users(
    "a", 30, attributes={"plan": "pro"}, companies=[{"id": "acme", "attributes": {"size": 10}}]
)
B = _users("b", 20, attributes={"seats": 3})
C = _users("c", 5, attributes={"seats": 1})


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    isolate_git(tmp_path, monkeypatch)
    repo = GitRepo(tmp_path / "repo")
    repo.commit(
        {
            ".gitignore": ".reconciler/\n",
            "reconciler.yaml": CONFIG,
            "users/a.yaml": A,
            "users/b.yaml": B,
            "users/c.yaml": C,
        },
        "the users",
    )
    repo.write({"users/c.yaml": C.replace("c2@example.com", "c2@example.org")})
    return repo


def _cache(tmp_path: Path, name: str = "cache") -> dict[str, str]:
    return {"XDG_CACHE_HOME": str(tmp_path / name)}


def _plan(run: Run, repo: GitRepo, env: dict[str, str], *more: str) -> tuple[int, str, str]:
    done = run("plan", "--changed-since", "HEAD", *more, cwd=repo.top, env=env)
    # The one line that differs between two runs of the same plan: when it was made.
    said = "".join(line for line in done.stdout.splitlines(True) if '"created_at"' not in line)
    return done.code, said, done.stderr


def _entries(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "cache" / "reconciler").glob("summary-*.marshal"))


@pytest.mark.parametrize("form", ["text", "json"])
def test_a_warm_plan_is_the_cold_plan_byte_for_byte(
    run: Run, repo: GitRepo, tmp_path: Path, form: str
) -> None:
    env = _cache(tmp_path)
    uncached = _plan(run, repo, {**env, "RECONCILER_NO_CACHE": "1"}, "--format", form)
    assert _entries(tmp_path) == []  # RECONCILER_NO_CACHE: nothing written
    cold = _plan(run, repo, env, "--format", form)
    assert len(_entries(tmp_path)) == 2  # a.yaml and b.yaml; c.yaml changed
    warm = _plan(run, repo, env, "--format", form)
    assert cold == warm == uncached
    assert cold[0] == 0, cold
    if form == "text":
        assert "Planned 1 of 55 users (changed since HEAD)" in warm[1]
    else:
        assert json.loads(warm[1])["scope"]["declared_users"] == 55


def test_a_clash_with_a_cached_file_is_still_refused(
    run: Run, repo: GitRepo, tmp_path: Path
) -> None:
    """A duplicate id, another value for a company, a mapping naming what only a cached file
    declares: found from the summaries as from the files."""
    env = _cache(tmp_path)
    assert _plan(run, repo, env)[0] == 0  # the cache is warm
    assert len(_entries(tmp_path)) == 2
    clashes = {
        "duplicate id 'a7'": {"id": "a7"},  # a7 is declared in a.yaml
        "company 'acme' gets another value for 'size'": {
            "id": "c9",
            "companies": [{"id": "acme", "attributes": {"size": 11}}],
        },
    }
    for said, added in clashes.items():
        repo.write({"users/c.yaml": _edited(added)})
        refused = _plan(run, repo, env)
        assert refused == _plan(run, repo, {**env, "RECONCILER_NO_CACHE": "1"})
        assert refused[0] == 1, refused
        assert said in refused[1] + refused[2]
    # plan: only a.yaml (cached) declares it: no "no user declares the attribute 'plan'".
    repo.write({"users/c.yaml": _edited()})
    assert _plan(run, repo, env)[0] == 0


def _edited(*added: object) -> str:
    """users/c.yaml with c2's email edited, and ``added`` users."""
    document = json.loads(C.replace("c2@example.com", "c2@example.org"))
    document["users"].extend(added)
    return json.dumps(document, indent=1)


def test_an_entry_not_signed_for_its_key_is_ignored(
    run: Run, repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attacker edits an entry to claim other ids (so that "Planned 1 of N" changes and
    a duplicate of the changed user would pass), truncates one, or copies one file's entry
    under another file's name: each is ignored, and the plan is the uncached plan."""
    env = _cache(tmp_path)
    expected = _plan(run, repo, {**env, "RECONCILER_NO_CACHE": "1"})
    _plan(run, repo, env)
    first, second = _entries(tmp_path)
    signed = {path: path.read_bytes() for path in (first, second)}
    signature, body = signed[first][:32], signed[first][32:]
    claimed = marshal.loads(body)
    claimed["users"] = claimed["users"][:1]  # a file of one user
    forged = marshal.dumps(claimed)
    for tampered in [
        {first: signature + forged},
        {first: signed[first][: len(signed[first]) // 2]},
        {first: signed[second], second: signed[first]},
        {first: b"garbage"},
    ]:
        for path, data in tampered.items():
            path.write_bytes(data)
        assert _plan(run, repo, env) == expected
        for path, data in signed.items():  # rewritten by that plan: put back the originals
            path.write_bytes(data)
    # The guard is the signature: the same forgery, signed with this user's key, is believed.
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    key = first.name.removeprefix("summary-").removesuffix(".marshal")
    schemacache.store_signed(first.name, key, forged)
    believed = _plan(run, repo, env)
    assert believed != expected
    assert "Planned 1 of" in believed[1] and "Planned 1 of 55" not in believed[1]


def test_the_base_revisions_result_is_remembered_and_a_forged_one_ignored(
    run: Run, repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """users/c.yaml at HEAD (the base) is parsed once, then taken from its remembered result.
    A forged one that says c2 already had the new email (so that nothing would be planned)
    is ignored unless signed with this user's key."""
    env = _cache(tmp_path)
    _plan(run, repo, env)
    repo.write({"users/c.yaml": _edited().replace("c3@example.com", "c3@example.org")})
    expected = _plan(run, repo, {**env, "RECONCILER_NO_CACHE": "1"})
    assert "Planned 2 of 55" in expected[1]
    folder = tmp_path / "cache" / "reconciler"
    [base] = [
        path
        for path in folder.glob("checked-*.marshal")
        if b"c2@example.com" in path.read_bytes()  # the base's c2 (the working tree's: .org)
    ]
    signed = base.read_bytes()
    data = marshal.loads(signed[32:])
    for _, fields in data["users"]:
        if fields["id"] in ("c2", "c3"):
            fields["email"] = fields["email"].replace("example.com", "example.org")
    forged = marshal.dumps(data)
    base.write_bytes(signed[:32] + forged)
    assert _plan(run, repo, env) == expected
    assert base.read_bytes() == signed  # ignored, then remembered again from git's bytes
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    key = base.name.removeprefix("checked-").removesuffix(".marshal")
    schemacache.store_signed(base.name, key, forged)
    assert "Planned 0 of 55" in _plan(run, repo, env)[1]  # signed: believed (so it is used)


def test_a_folder_others_may_write_is_not_read(run: Run, repo: GitRepo, tmp_path: Path) -> None:
    env = _cache(tmp_path)
    expected = _plan(run, repo, {**env, "RECONCILER_NO_CACHE": "1"})
    _plan(run, repo, env)
    folder = tmp_path / "cache" / "reconciler"
    folder.chmod(0o777)
    for entry in _entries(tmp_path):
        entry.write_bytes(b"{}")
    try:
        assert _plan(run, repo, env) == expected
    finally:
        folder.chmod(0o700)


def test_validate_and_plan_work_with_a_cache_folder_that_cannot_be_made(
    run: Run, repo: GitRepo, tmp_path: Path
) -> None:
    """XDG_CACHE_HOME names a file (even root cannot make a folder there): slower, not wrong."""
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    env = {"XDG_CACHE_HOME": str(blocked)}
    expected = _plan(run, repo, {**_cache(tmp_path), "RECONCILER_NO_CACHE": "1"})
    assert _plan(run, repo, env) == expected
    assert _plan(run, repo, env) == expected
    validated = run("validate", cwd=repo.top, env=env)
    assert validated.code == 0, validated.stdout + validated.stderr
    assert os.path.isfile(blocked)


def test_a_partial_plan_leaves_the_garbage_collector_as_it_found_it(
    run: Run, repo: GitRepo, tmp_path: Path
) -> None:
    """The loaded users are frozen out of the collector while the plan runs, and given back
    after: a program that plans again and again must not keep every plan's leftovers."""
    import gc

    before = gc.get_freeze_count()
    assert _plan(run, repo, _cache(tmp_path))[0] == 0
    assert gc.get_freeze_count() == before
