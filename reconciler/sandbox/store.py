"""A SQLite store of users, shared by the sandbox provider and the HTTP emulator.

It is vendor-neutral: it stores what it is told. Sprig's ``!email``, Usertour's type locking and
visibility delays belong to the emulator on top of it. Every table is keyed by ``namespace`` so one
file can hold many environments: the sandbox provider uses ``"sandbox"``, the emulator one
namespace per vendor environment (``"sprig"``, ``"usertour"``; keys never reach the file).

Like Sprig, the store never keeps individual events, only per name a count, the first and the
latest timestamp. Attribute values are kept as JSON text so that 12, 12.0, True and ["a"] come back
with exactly the type they were written with.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import StoreError
from reconciler.model import Upsert
from reconciler.sandbox.store_rows import (
    IDS_IN,
    StoredUser,
    dumps,
    fetch,
    list_where,
    parse_cursor,
    write,
)
from reconciler.sandbox.storefile import connect

__all__ = ["SCHEMA_VERSION", "StoreError", "StoredUser", "UserPage", "UserStore"]

#: Bumped with every schema change; ``_migrate`` brings older files up to it.
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- creation order, never reused: list cursors
    namespace TEXT NOT NULL, id TEXT NOT NULL,
    created_at INTEGER NOT NULL,            -- Unix ms
    email TEXT,
    attributes TEXT NOT NULL,               -- JSON object
    UNIQUE (namespace, id)
);
CREATE INDEX IF NOT EXISTS users_by_seq ON users (namespace, seq);
CREATE INDEX IF NOT EXISTS users_by_email ON users (namespace, email);
CREATE TABLE IF NOT EXISTS events (
    namespace TEXT NOT NULL, user_id TEXT NOT NULL, name TEXT NOT NULL,
    count INTEGER NOT NULL, first_at INTEGER NOT NULL, latest_at INTEGER NOT NULL,
    PRIMARY KEY (namespace, user_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS companies (
    namespace TEXT NOT NULL, id TEXT NOT NULL, created_at INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS memberships (
    namespace TEXT NOT NULL, user_id TEXT NOT NULL, company_id TEXT NOT NULL,
    attributes TEXT NOT NULL,
    created_at INTEGER NOT NULL DEFAULT 0,  -- Unix ms (0: written before schema 2)
    PRIMARY KEY (namespace, user_id, company_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_by_company ON memberships (namespace, company_id);
-- Per-namespace facts for the emulator (e.g. the type an attribute name is locked to).
CREATE TABLE IF NOT EXISTS meta (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
"""

#: Schema 2 added memberships.created_at (Usertour answers a membership's createdAt).
_UPGRADE_FROM_1 = "ALTER TABLE memberships ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;"


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of users in creation order; pass ``next_cursor`` as ``after`` for the next."""

    users: tuple[StoredUser, ...]
    next_cursor: str | None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class UserStore:
    """Users per namespace in one SQLite file, safe to share between threads.

    One connection guarded by a lock: the emulator is a threaded HTTP server and SQLite writes
    are serialised anyway. WAL with ``synchronous=NORMAL`` makes each commit cheap (no fsync),
    so thousands of single-user upserts per second are possible.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        clock: Callable[[], int] = _now_ms,
        read_only: bool = False,
        label: str | None = None,
    ) -> None:
        """Open the store at ``path`` (see ``storefile.connect``): ``read_only`` creates and
        changes nothing (a missing file reads as empty); ``label`` names it in messages."""
        self.path = str(path)
        self.label = label if label is not None else self.path
        self.read_only = read_only
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = connect(
            self.path,
            self.label,
            read_only=read_only,
            version=SCHEMA_VERSION,
            create=_migrate,
        )

    def close(self) -> None:
        """Close the connection. Safe to call twice."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> UserStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock; ``BEGIN IMMEDIATE`` takes the write lock up front,
        so another process on the same file waits instead of failing halfway."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"sandbox store {self.label}: {exc}") from exc

    def get_users(self, namespace: str, user_ids: Iterable[str]) -> dict[str, StoredUser]:
        """Return the known users among ``user_ids``, in three queries however many ids."""
        ids = list(user_ids)
        if not ids:
            return {}
        with self._transaction(write=False) as conn:
            return fetch(conn, namespace, ids)

    def get_user(self, namespace: str, user_id: str) -> StoredUser | None:
        """Return one user, or None when unknown."""
        return self.get_users(namespace, [user_id]).get(user_id)

    def upsert(self, namespace: str, upsert: Upsert) -> StoredUser:
        """Merge one user's changes in one transaction and return the user as now stored."""
        with self._transaction() as conn:
            write(conn, namespace, upsert, self._clock())
            return fetch(conn, namespace, [upsert.user_id])[upsert.user_id]

    def upsert_many(self, namespace: str, upserts: Iterable[Upsert]) -> int:
        """Merge many users in one transaction (seeding, benchmarks); return how many."""
        count = 0
        with self._transaction() as conn:
            now = self._clock()
            for upsert in upserts:
                write(conn, namespace, upsert, now)
                count += 1
        return count

    def delete_user(self, namespace: str, user_id: str) -> bool:
        """Delete a user with its events and memberships; companies stay. False if unknown."""
        key = (namespace, user_id)
        with self._transaction() as conn:
            deleted = conn.execute("DELETE FROM users WHERE namespace = ? AND id = ?", key)
            conn.execute("DELETE FROM events WHERE namespace = ? AND user_id = ?", key)
            conn.execute("DELETE FROM memberships WHERE namespace = ? AND user_id = ?", key)
            return deleted.rowcount > 0

    def delete_membership(self, namespace: str, user_id: str, company_id: str) -> bool:
        """Remove one membership (Usertour's DELETE /v1/company-memberships). False if none."""
        with self._transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM memberships WHERE namespace = ? AND user_id = ? AND company_id = ?",
                (namespace, user_id, company_id),
            )
            return deleted.rowcount > 0

    def count_users(self, namespace: str) -> int:
        """How many users the namespace holds."""
        with self._transaction(write=False) as conn:
            row = conn.execute("SELECT count(*) FROM users WHERE namespace = ?", (namespace,))
            return int(row.fetchone()[0])

    def list_user_ids(self, namespace: str) -> list[str]:
        """Every user id of the namespace, sorted (import and prune work from this list)."""
        with self._transaction(write=False) as conn:
            rows = conn.execute("SELECT id FROM users WHERE namespace = ?", (namespace,))
            return sorted(row[0] for row in rows)

    def list_users(
        self,
        namespace: str,
        *,
        limit: int = 100,
        after: str | None = None,
        email: str | None = None,
        company_id: str | None = None,
        newest_first: bool = False,
    ) -> UserPage:
        """A page of users in creation order (or the reverse), optionally filtered (Usertour's
        paginated list).

        The cursor is the creation sequence of the last user returned, so users created or
        deleted between pages never make another user appear twice or be skipped.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        where, params = list_where(namespace, email, company_id)
        if after is not None or not newest_first:
            where.append("seq < ?" if newest_first else "seq > ?")
            params.append(parse_cursor(after))
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT seq, id FROM users WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"
        with self._transaction(write=False) as conn:
            rows = conn.execute(sql, (*params, limit + 1)).fetchall()
            page = rows[:limit]
            users = fetch(conn, namespace, [user_id for _, user_id in page])
        next_cursor = str(page[-1][0]) if len(rows) > limit else None
        return UserPage(tuple(users[user_id] for _, user_id in page), next_cursor)

    def cursors_before(
        self,
        namespace: str,
        before: str | None,
        *,
        limit: int,
        email: str | None = None,
        company_id: str | None = None,
        newest_first: bool = False,
    ) -> list[str]:
        """The cursors of the last ``limit`` users listed before ``before`` (all users when
        None), in listing order: where a "previous page" link points."""
        where, params = list_where(namespace, email, company_id)
        if before is not None:
            where.append("seq > ?" if newest_first else "seq < ?")
            params.append(parse_cursor(before))
        order = "ASC" if newest_first else "DESC"  # nearest first, then reversed
        sql = f"SELECT seq FROM users WHERE {' AND '.join(where)} ORDER BY seq {order} LIMIT ?"
        with self._transaction(write=False) as conn:
            rows = conn.execute(sql, (*params, limit)).fetchall()
        return [str(seq) for (seq,) in reversed(rows)]

    def first_cursor(
        self,
        namespace: str,
        *,
        email: str | None = None,
        company_id: str | None = None,
        newest_first: bool = False,
    ) -> str | None:
        """The cursor of the first user listed (None when the list is empty)."""
        where, params = list_where(namespace, email, company_id)
        first = "max" if newest_first else "min"
        sql = f"SELECT {first}(seq) FROM users WHERE {' AND '.join(where)}"
        with self._transaction(write=False) as conn:
            (seq,) = conn.execute(sql, params).fetchone()
        return None if seq is None else str(seq)

    def user_cursor(self, namespace: str, user_id: str) -> str | None:
        """The cursor that lists the users after ``user_id`` (None when unknown)."""
        sql = "SELECT seq FROM users WHERE namespace = ? AND id = ?"
        with self._transaction(write=False) as conn:
            row = conn.execute(sql, (namespace, user_id)).fetchone()
        return None if row is None else str(row[0])

    def has_cursor(self, namespace: str, cursor: str) -> bool:
        """Whether ``cursor`` names a user that still exists (a deleted user's cursor does
        not: Usertour then refuses the page)."""
        try:
            seq = parse_cursor(cursor)
        except ValueError:
            return False
        sql = "SELECT 1 FROM users WHERE namespace = ? AND seq = ?"
        with self._transaction(write=False) as conn:
            return conn.execute(sql, (namespace, seq)).fetchone() is not None

    def known_companies(self, namespace: str, company_ids: Iterable[str]) -> set[str]:
        """The ids among ``company_ids`` of companies the namespace already holds."""
        sql = f"SELECT id FROM companies WHERE namespace = ? AND id {IDS_IN}"
        with self._transaction(write=False) as conn:
            rows = conn.execute(sql, (namespace, json.dumps(list(company_ids))))
            return {company_id for (company_id,) in rows}

    def relation_times(
        self, namespace: str, user_ids: Iterable[str]
    ) -> dict[tuple[str, str], tuple[int, int]]:
        """(user id, company id) -> (membership created, company created), Unix ms."""
        sql = (
            "SELECT m.user_id, m.company_id, m.created_at, c.created_at FROM memberships AS m"
            " JOIN companies AS c ON c.namespace = m.namespace AND c.id = m.company_id"
            f" WHERE m.namespace = ? AND m.user_id {IDS_IN}"
        )
        with self._transaction(write=False) as conn:
            rows = conn.execute(sql, (namespace, json.dumps(list(user_ids))))
            return {(user, company): (joined, created) for user, company, joined, created in rows}

    def meta_items(self, namespace: str, prefix: str) -> list[tuple[str, Any]]:
        """Every per-namespace fact whose key starts with ``prefix``, sorted by key."""
        sql = "SELECT key, value FROM meta WHERE namespace = ? AND substr(key, 1, ?) = ?"
        with self._transaction(write=False) as conn:
            rows = conn.execute(sql, (namespace, len(prefix), prefix)).fetchall()
        return sorted((key, json.loads(value)) for key, value in rows)

    def list_rows(
        self, namespace: str, *, email: str | None = None, company_id: str | None = None
    ) -> list[tuple[int, str, int]]:
        """(seq, id, created_at) of every user listed, in creation order (the emulator's
        model of the real cursor's ties works on all of them at once)."""
        where, params = list_where(namespace, email, company_id)
        sql = f"SELECT seq, id, created_at FROM users WHERE {' AND '.join(where)} ORDER BY seq"
        with self._transaction(write=False) as conn:
            return [(int(seq), str(i), int(t)) for seq, i, t in conn.execute(sql, params)]

    def setdefault_meta(self, namespace: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Store each value whose key is new to the namespace; return what is stored per key.

        Why: per-environment facts that must outlive one request and be claimed atomically,
        such as Usertour's rule that the first type seen for an attribute name is kept for good.
        """
        if not values:
            return {}
        rows = [(namespace, key, dumps(value)) for key, value in values.items()]
        with self._transaction() as conn:
            conn.executemany("INSERT INTO meta VALUES (?, ?, ?) ON CONFLICT DO NOTHING", rows)
            stored = conn.execute(
                f"SELECT key, value FROM meta WHERE namespace = ? AND key {IDS_IN}",
                (namespace, json.dumps(list(values))),
            )
            return {key: json.loads(value) for key, value in stored}


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the schema of a new store, or bring an older one up to this version (storefile
    has already refused a newer one, and any file that is not a store)."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == 1:
        conn.executescript(f"BEGIN IMMEDIATE; {_UPGRADE_FROM_1} PRAGMA user_version = 2; COMMIT;")
    elif version < SCHEMA_VERSION:
        conn.executescript(
            f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )
