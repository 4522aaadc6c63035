"""Sorting the files pre-commit names into declaration files to read and files to skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ValidationError
from reconciler.load.changed_files import load_named, sort_named_files
from tests.conftest import WriteRepo


def test_named_files_are_matched_resolved_and_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    declared = [tmp_path / "users" / "a.yaml", tmp_path / "users" / "b.yaml"]
    named = [Path("users/a.yaml"), Path("./users/x/../a.yaml"), Path("ci.yml")]
    sorted_files = sort_named_files(tmp_path / "reconciler.yaml", declared, named)
    assert sorted_files.declarations == (declared[0],)
    assert sorted_files.skipped == (Path("ci.yml"),)
    assert not sorted_files.everything


def test_the_config_among_them_means_everything_and_is_not_skipped(tmp_path: Path) -> None:
    config = tmp_path / "reconciler.yaml"
    sorted_files = sort_named_files(config, [], [config, tmp_path / "ci.yml"])
    assert sorted_files.everything
    assert sorted_files.skipped == (tmp_path / "ci.yml",)


def test_skipped_files_are_told_even_when_the_files_read_are_invalid(repo: WriteRepo) -> None:
    config = repo({"users/a.yaml": "users:\n  - id: 1\n", "ci.yml": "on: push\n"})
    told: list[tuple[Path, str]] = []
    named = [Path("ci.yml"), Path("users/a.yaml")]
    with pytest.raises(ValidationError) as invalid:
        load_named(config, {}, [], named, lambda *skip: told.append(skip))
    assert [problem.file for problem in invalid.value.problems] == ["users/a.yaml"]
    reason = "not a declaration file of reconciler.yaml (its users: users/)"
    assert told == [(Path("ci.yml"), reason)]


def test_the_workspace_holds_only_the_files_read(repo: WriteRepo) -> None:
    config = repo(
        {"users/a.yaml": 'users:\n  - id: "1"\n', "users/b.yaml": 'users:\n  - id: "2"\n'}
    )
    workspace, named = load_named(config, {}, [], [Path("users/b.yaml")])
    assert [user.id for user in workspace.users] == ["2"]
    assert [path.name for path in workspace.declarations.files] == ["b.yaml"]
    assert [target.name for target in workspace.targets] == ["local"]
    assert named.skipped == ()
