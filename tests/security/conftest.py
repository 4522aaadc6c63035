"""The ``attacker`` fixture: a pull request's repository next to a private folder that must
not change. What it builds on (Attacker, snapshot, SECRETS...) is the plain module
tests/security/attacker.py, which tests import; a conftest is never imported as a module."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.attacker import OUTSIDE_TEXT, Attacker, snapshot


@pytest.fixture
def attacker(tmp_path: Path) -> Iterator[Attacker]:
    """The attacker's repository; the test fails if anything outside it changed."""
    root, outside, home = tmp_path / "repo", tmp_path / "outside", tmp_path / "home"
    for folder in (root, outside, home):
        folder.mkdir()
    cache = tmp_path / "cache"
    (outside / "token.yaml").write_text(f"{OUTSIDE_TEXT}\n")  # a scalar YAML root
    (outside / "token.txt").write_text(f"{OUTSIDE_TEXT}\n")
    (outside / "list.yaml").write_text(f"- {OUTSIDE_TEXT}\n")
    (outside / "users.yaml").write_text(f'users:\n  - id: "{OUTSIDE_TEXT}"\n    bad: 1\n')
    (outside / "id_rsa").write_text(f"-----BEGIN KEY-----\n{OUTSIDE_TEXT}\n")
    (home / ".netrc").write_text(f"machine x login y password {OUTSIDE_TEXT}\n")
    (outside / "empty.db").write_bytes(b"")
    with sqlite3.connect(outside / "other-app.db") as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES (?)", (OUTSIDE_TEXT,))
    db.close()
    before = {folder: snapshot(folder) for folder in (outside, home)}
    yield Attacker(root, outside, home, cache)
    for folder, entries in before.items():
        assert snapshot(folder) == entries, f"{folder} changed"
    left = {entry.name for entry in tmp_path.iterdir()}
    assert left <= {"repo", "outside", "home", "cache"}, left
