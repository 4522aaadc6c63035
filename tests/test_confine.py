"""The fence: paths resolve (symlinks followed) inside a folder, or are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.load import confine


def test_inside_follows_symlinks(tmp_path: Path) -> None:
    root, outside = tmp_path / "repo", tmp_path / "outside"
    (root / "users").mkdir(parents=True)
    outside.mkdir()
    (root / "users" / "in.yaml").symlink_to(root / "users")
    (root / "users" / "out.yaml").symlink_to(outside / "x.yaml")
    assert confine.is_inside(root / "users" / "in.yaml", root)
    assert confine.is_inside(root / "users" / ".." / "users", root)
    assert not confine.is_inside(root / "users" / "out.yaml", root)
    assert not confine.is_inside(root / ".." / "outside", root)
    assert confine.is_inside_lexically(root / "users" / "out.yaml", root)  # git: no symlinks
    assert not confine.is_inside_lexically(root / "users" / ".." / ".." / "x", root)


@pytest.mark.parametrize("written", ["/etc/passwd", "~/.netrc", "~", "C:/x.yaml", "a\0b"])
def test_written_paths_that_name_the_machine_are_refused(written: str) -> None:
    assert confine.written_path_refusal(written) is not None


@pytest.mark.parametrize("written", ["users/", "../repo/users", "a~b.yaml", "*.yaml"])
def test_relative_paths_are_left_to_the_resolution_check(written: str) -> None:
    assert confine.written_path_refusal(written) is None


def test_reads_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_bytes(b"x" * 11)
    assert confine.read_bounded(path, 11) == b"x" * 11
    with pytest.raises(confine.TooLarge, match="larger than 10 bytes") as error:
        confine.read_bounded(path, 10)
    assert error.value.strerror is not None and "split it" in error.value.strerror
