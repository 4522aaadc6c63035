"""A partial plan locates its masked values with the positions its load kept (no third parse
of the changed file), and at the same lines as reading the file again would."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.load.declared import declared_at
from reconciler.load.workspace import load_workspace
from tests.gitrepo import GitRepo, isolate_git, requires_git

pytestmark = requires_git

CONFIG = "targets:\n  prod: {provider: sandbox, path: .reconciler/prod.db}\nusers: [users/]\n"


def test_the_changed_file_is_located_from_the_kept_nodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(tmp_path, monkeypatch)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = GitRepo(tmp_path / "repo")
    people = "users:\n  - id: a\n    email: a@example.com\n  - id: b\n    email: b@example.com\n"
    repo.commit(
        {
            "reconciler.yaml": CONFIG,
            "users/p.yaml": people,
            "users/q.yaml": people.replace("id: ", "id: q"),
        }
    )
    repo.write({"users/p.yaml": people.replace("b@example.com", "b@example.org")})
    monkeypatch.chdir(repo.top)  # file names are shown relative to the current folder
    workspace = load_workspace(repo.top / "reconciler.yaml", {}, changed_since="HEAD")
    assert workspace.changed_users is not None and workspace.changed_users.changed["prod"] == {"b"}
    wanted = [("b", ("email",))]
    assert declared_at(workspace.declarations, wanted) == {("b", ("email",)): "users/p.yaml:5"}
    # Gone from the disk since it was loaded: the positions it was checked with still hold.
    (repo.top / "users/p.yaml").unlink()
    assert declared_at(workspace.declarations, wanted) == {("b", ("email",)): "users/p.yaml:5"}
