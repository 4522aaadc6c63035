"""The sandbox store: plan creates and changes no file; apply never takes over another file.

A pull request chooses the sandbox ``path:`` (or commits the default path as a symlink), and
plan runs on it with the CI's permissions.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reconciler.sandbox.storefile import APPLICATION_ID
from tests.security.attacker import OUTSIDE_TEXT, Attacker, assert_nothing_leaked, snapshot

USERS = {"users/a.yaml": 'users:\n  - id: "1"\n    attributes: {plan: pro}\n'}


def _with_path(path: str) -> str:
    return f"targets:\n  local:\n    provider: sandbox\n    path: '{path}'\n"


def test_plan_on_a_missing_store_creates_nothing(attacker: Attacker) -> None:
    attacker.write(USERS)
    before = snapshot(attacker.root)
    outcomes = attacker.run_all_formats("validate") + attacker.run_all_formats("plan")
    assert_nothing_leaked(outcomes)
    assert [outcome.code for outcome in outcomes] == [0] * 6
    assert "+ user 1" in outcomes[3].stdout
    assert snapshot(attacker.root) == before  # no .reconciler/, no sandbox.db, no -wal


def test_plan_reads_an_existing_store_without_touching_it(attacker: Attacker) -> None:
    attacker.write(USERS)
    assert attacker.run("apply", "--yes").code == 0
    before = snapshot(attacker.root)
    outcomes = attacker.run_all_formats("plan")
    assert [outcome.code for outcome in outcomes] == [0] * 3
    assert "0 to create, 0 to update, 1 unchanged" in outcomes[0].stdout
    assert snapshot(attacker.root) == before


def _a_wal_holding_a_commit(store: Path) -> bytes:
    """The ``-wal`` file of a commit not yet checkpointed (a writer killed mid-run leaves one)."""
    checkpointed = store.read_bytes()
    db = sqlite3.connect(store)
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("UPDATE users SET attributes = '{}'")
    db.commit()
    wal = Path(f"{store}-wal").read_bytes()
    db.close()  # checkpoints into the file: put the file back as it was before
    store.write_bytes(checkpointed)
    return wal


def test_plan_leaves_the_checkout_unchanged_with_a_wal_file_committed(attacker: Attacker) -> None:
    """Review finding: a committed ``sandbox.db-wal`` made plan open the store without
    ``immutable=1``, and SQLite created ``sandbox.db-shm`` (and could rewrite the -wal) in the
    checkout. Its commit is still read (through a private copy): the user has no attributes."""
    attacker.write(USERS)
    assert attacker.run("apply", "--yes").code == 0
    store = attacker.root / ".reconciler" / "sandbox.db"
    Path(f"{store}-wal").write_bytes(_a_wal_holding_a_commit(store))
    before = snapshot(attacker.root)
    outcomes = attacker.run_all_formats("plan")
    assert_nothing_leaked(outcomes)
    assert [outcome.code for outcome in outcomes] == [0] * 3, outcomes
    assert "1 to update" in outcomes[0].stdout  # the -wal's commit is seen
    assert snapshot(attacker.root) == before  # no sandbox.db-shm, the -wal as committed


def test_a_wal_committed_as_a_symlink_out_is_never_read(attacker: Attacker) -> None:
    """SQLite follows a symlinked ``-wal``: another program's log would be replayed into the
    store and printed by plan. It is ignored; the store reads as its file holds it."""
    attacker.write(USERS)
    assert attacker.run("apply", "--yes").code == 0
    store = attacker.root / ".reconciler" / "sandbox.db"
    attacker.cache.mkdir(exist_ok=True)  # outside the repository, not a snapshotted folder
    outside_wal = attacker.cache / "app.db-wal"
    outside_wal.write_bytes(_a_wal_holding_a_commit(store))
    attacker.symlink(".reconciler/sandbox.db-wal", outside_wal)
    before = snapshot(attacker.root)
    outcomes = attacker.run_all_formats("plan")
    assert_nothing_leaked(outcomes)
    assert "0 to create, 0 to update, 1 unchanged" in outcomes[0].stdout, outcomes
    assert snapshot(attacker.root) == before


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("{outside}/other-app.db", "is an absolute path"),
        ("../outside/other-app.db", "resolves outside the folder"),
        ("${HOME}/state.db", "${HOME} is not expanded: paths and globs"),  # issue 23.4
        ("state/\\u001b[2J.db", "holds a control or invisible character"),
    ],
)
def test_a_store_path_outside_the_repository_is_refused(
    attacker: Attacker, path: str, said: str
) -> None:
    config = _with_path(path.replace("{outside}", str(attacker.outside)))
    if "\\u" in path:
        config = config.replace("'", '"')
    attacker.write(USERS, config=config)
    outcomes = (
        attacker.run_all_formats("validate")
        + attacker.run_all_formats("plan")
        + [attacker.run("apply", "--yes")]
    )
    assert_nothing_leaked(outcomes)
    assert all(outcome.code == 1 for outcome in outcomes)
    assert said in outcomes[0].stderr
    assert "targets.local.path" in outcomes[0].stderr


def test_the_default_store_path_committed_as_a_symlink_is_refused(attacker: Attacker) -> None:
    attacker.write(USERS)
    attacker.symlink(".reconciler", attacker.outside)
    outcomes = [*attacker.run_all_formats("plan"), attacker.run("apply", "--yes")]
    assert_nothing_leaked(outcomes)
    assert all(outcome.code == 1 for outcome in outcomes)
    assert "'.reconciler/sandbox.db' resolves outside the folder" in outcomes[0].stderr


def _other_app(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
        db.execute("INSERT INTO notes VALUES (?)", (OUTSIDE_TEXT,))
    db.close()


@pytest.mark.parametrize("kind", ["sqlite", "text"])
def test_a_file_that_is_not_a_store_is_never_changed(attacker: Attacker, kind: str) -> None:
    attacker.write(USERS, config=_with_path("data/app.db"))
    target = attacker.root / "data" / "app.db"
    target.parent.mkdir()
    if kind == "sqlite":
        _other_app(target)
    else:
        target.write_text(f"{OUTSIDE_TEXT}\n" * 200)
    before = snapshot(attacker.root)
    outcomes = [*attacker.run_all_formats("plan"), attacker.run("apply", "--yes")]
    assert_nothing_leaked(outcomes)
    assert all(outcome.code == 1 for outcome in outcomes), outcomes
    assert "is not a reconciler sandbox store" in outcomes[0].stderr
    # apply took the target's lock (.reconciler/locks/) before reading: that is all it wrote.
    after = {k: v for k, v in snapshot(attacker.root).items() if not k.startswith(".reconciler")}
    assert after == before


def test_an_empty_file_reads_as_empty_and_apply_makes_it_a_store(attacker: Attacker) -> None:
    attacker.write(USERS, config=_with_path("state.db"))
    (attacker.root / "state.db").write_bytes(b"")
    before = snapshot(attacker.root)
    assert attacker.run("plan").code == 0
    assert snapshot(attacker.root) == before
    assert attacker.run("apply", "--yes").code == 0
    with sqlite3.connect(attacker.root / "state.db") as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


def test_a_store_from_before_the_mark_is_read_and_marked_on_apply(attacker: Attacker) -> None:
    """Stores written by older versions have user_version 1 and the tables, but no mark."""
    attacker.write(USERS)
    assert attacker.run("apply", "--yes").code == 0
    store = attacker.root / ".reconciler" / "sandbox.db"
    with sqlite3.connect(store) as db:
        db.execute("PRAGMA application_id = 0")
    db.close()
    (attacker.root / "users" / "a.yaml").write_text(
        'users:\n  - id: "1"\n    attributes: {plan: x}\n'
    )
    plan = attacker.run("plan")
    assert (plan.code, "1 to update" in plan.stdout) == (0, True), plan
    assert attacker.run("apply", "--yes").code == 0
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


def test_a_version_1_store_is_read_through_a_copy_and_upgraded_by_apply(
    attacker: Attacker,
) -> None:
    """Version 1 had no memberships.created_at: plan reads it as is, apply migrates it."""
    attacker.write(USERS)
    assert attacker.run("apply", "--yes").code == 0
    store = attacker.root / ".reconciler" / "sandbox.db"
    with sqlite3.connect(store) as db:
        db.execute("ALTER TABLE memberships DROP COLUMN created_at")
        db.execute("PRAGMA user_version = 1")
        db.execute("PRAGMA application_id = 0")
    db.close()
    before = snapshot(attacker.root)
    plan = attacker.run("plan")
    assert (plan.code, "1 unchanged" in plan.stdout) == (0, True), plan
    assert snapshot(attacker.root) == before
    (attacker.root / "users" / "a.yaml").write_text('users:\n  - id: "1"\n    attributes: {p: 2}\n')
    assert attacker.run("apply", "--yes").code == 0
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()
