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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.model import Company, Event, EventStats, Membership, Upsert

#: Bumped with every schema change; ``_migrate`` brings older files up to it.
SCHEMA_VERSION = 1

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
    PRIMARY KEY (namespace, user_id, company_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_by_company ON memberships (namespace, company_id);
-- Per-namespace facts for the emulator (e.g. the type an attribute name is locked to).
CREATE TABLE IF NOT EXISTS meta (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
"""

# Ids are passed as one JSON array parameter: one query per table whatever the number of ids,
# without SQLite's limit on bound variables and without a temporary table.
_IDS_IN = "IN (SELECT value FROM json_each(?))"
_MEMBER_OF = "id IN (SELECT user_id FROM memberships WHERE namespace = ? AND company_id = ?)"


class StoreError(ReconcilerError):
    """The SQLite file cannot be opened, is from a newer reconciler, or a statement failed."""


@dataclass(frozen=True, slots=True)
class StoredUser:
    """A user as the store holds it; ``created_at`` is what the emulator answers as createdAt."""

    id: str
    created_at: int
    email: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: Mapping[str, EventStats] = field(default_factory=dict)
    #: company id -> membership; the user's companies are exactly the ones it is a member of.
    memberships: Mapping[str, Membership] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of users in creation order; pass ``next_cursor`` as ``after`` for the next."""

    users: tuple[StoredUser, ...]
    next_cursor: str | None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _dumps(value: Any) -> str:
    # Compact and sorted: a new row's bytes depend only on its content. NaN is not JSON.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _loads(text: str) -> Any:
    # Most memberships and many companies have no attributes: skip the decoder for them.
    return {} if text == "{}" else json.loads(text)


class UserStore:
    """Users per namespace in one SQLite file, safe to share between threads.

    One connection guarded by a lock: the emulator is a threaded HTTP server and SQLite writes
    are serialised anyway. WAL with ``synchronous=NORMAL`` makes each commit cheap (no fsync),
    so thousands of single-user upserts per second are possible.
    """

    def __init__(self, path: Path | str, *, clock: Callable[[], int] = _now_ms) -> None:
        self.path = str(path)
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = _connect(self.path)

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
                raise StoreError(f"sandbox store {self.path}: {exc}") from exc

    def get_users(self, namespace: str, user_ids: Iterable[str]) -> dict[str, StoredUser]:
        """Return the known users among ``user_ids``, in three queries however many ids."""
        ids = list(user_ids)
        if not ids:
            return {}
        with self._transaction(write=False) as conn:
            return _fetch(conn, namespace, ids)

    def get_user(self, namespace: str, user_id: str) -> StoredUser | None:
        """Return one user, or None when unknown."""
        return self.get_users(namespace, [user_id]).get(user_id)

    def upsert(self, namespace: str, upsert: Upsert) -> StoredUser:
        """Merge one user's changes in one transaction and return the user as now stored."""
        with self._transaction() as conn:
            _write(conn, namespace, upsert, self._clock())
            return _fetch(conn, namespace, [upsert.user_id])[upsert.user_id]

    def upsert_many(self, namespace: str, upserts: Iterable[Upsert]) -> int:
        """Merge many users in one transaction (seeding, benchmarks); return how many."""
        count = 0
        with self._transaction() as conn:
            now = self._clock()
            for upsert in upserts:
                _write(conn, namespace, upsert, now)
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
    ) -> UserPage:
        """A page of users in creation order, optionally filtered (Usertour's paginated list).

        The cursor is the creation sequence of the last user returned, so users created or
        deleted between pages never make another user appear twice or be skipped.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        where = ["namespace = ?", "seq > ?"]
        params: list[Any] = [namespace, _parse_cursor(after)]
        if email is not None:
            where.append("email = ?")
            params.append(email)
        if company_id is not None:
            where.append(_MEMBER_OF)
            params += [namespace, company_id]
        sql = f"SELECT seq, id FROM users WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?"
        with self._transaction(write=False) as conn:
            rows = conn.execute(sql, (*params, limit + 1)).fetchall()
            page = rows[:limit]
            users = _fetch(conn, namespace, [user_id for _, user_id in page])
        next_cursor = str(page[-1][0]) if len(rows) > limit else None
        return UserPage(tuple(users[user_id] for _, user_id in page), next_cursor)

    def setdefault_meta(self, namespace: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Store each value whose key is new to the namespace; return what is stored per key.

        Why: per-environment facts that must outlive one request and be claimed atomically,
        such as Usertour's rule that the first type seen for an attribute name is kept for good.
        """
        if not values:
            return {}
        rows = [(namespace, key, _dumps(value)) for key, value in values.items()]
        with self._transaction() as conn:
            conn.executemany("INSERT INTO meta VALUES (?, ?, ?) ON CONFLICT DO NOTHING", rows)
            stored = conn.execute(
                f"SELECT key, value FROM meta WHERE namespace = ? AND key {_IDS_IN}",
                (namespace, json.dumps(list(values))),
            )
            return {key: json.loads(value) for key, value in stored}


def _connect(path: str) -> sqlite3.Connection:
    """Open (creating folders and schema as needed) with WAL, which lets readers in other
    processes, e.g. ``reconciler plan`` next to ``sandbox serve``, read while one writes."""
    try:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (see UserStore._transaction).
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"sandbox store {path}: cannot open: {exc}") from exc
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise StoreError(f"sandbox store {path}: {exc}") from exc
    except StoreError:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    """Create the schema on a new file; refuse a file written by a newer schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"sandbox store {path}: schema version {version} is newer than this reconciler "
            f"knows ({SCHEMA_VERSION}); upgrade reconciler"
        )
    if version < SCHEMA_VERSION:
        conn.executescript(
            f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
        )


def _parse_cursor(after: str | None) -> int:
    if after is None:
        return 0
    try:
        return int(after)
    except ValueError:
        raise ValueError(f"invalid cursor {after!r}") from None


def _fetch(conn: sqlite3.Connection, namespace: str, ids: list[str]) -> dict[str, StoredUser]:
    """Read users with their events and memberships: one query per table for any number of ids."""
    params = (namespace, json.dumps(ids))
    users = conn.execute(
        f"SELECT id, created_at, email, attributes FROM users WHERE namespace = ? AND id {_IDS_IN}",
        params,
    ).fetchall()
    events: dict[str, dict[str, EventStats]] = {}
    for user_id, name, count, first_at, latest_at in conn.execute(
        "SELECT user_id, name, count, first_at, latest_at FROM events"
        f" WHERE namespace = ? AND user_id {_IDS_IN}",
        params,
    ):
        events.setdefault(user_id, {})[name] = EventStats(count, first_at, latest_at)
    memberships = _fetch_memberships(conn, params)
    return {
        user_id: StoredUser(
            id=user_id,
            created_at=created_at,
            email=email,
            attributes=_loads(attributes),
            events=events.get(user_id, {}),
            memberships=memberships.get(user_id, {}),
        )
        for user_id, created_at, email, attributes in users
    }


def _fetch_memberships(
    conn: sqlite3.Connection, params: tuple[str, str]
) -> dict[str, dict[str, Membership]]:
    """user id -> company id -> membership; each company is parsed once and shared (read-only)."""
    companies: dict[str, Company] = {}
    memberships: dict[str, dict[str, Membership]] = {}
    for user_id, company_id, attributes, company_attributes in conn.execute(
        "SELECT m.user_id, m.company_id, m.attributes, c.attributes FROM memberships AS m"
        " JOIN companies AS c ON c.namespace = m.namespace AND c.id = m.company_id"
        f" WHERE m.namespace = ? AND m.user_id {_IDS_IN}",
        params,
    ):
        company = companies.get(company_id)
        if company is None:
            company = companies[company_id] = Company(company_id, _loads(company_attributes))
        membership = Membership(company, _loads(attributes))
        memberships.setdefault(user_id, {})[company_id] = membership
    return memberships


def _write(conn: sqlite3.Connection, namespace: str, upsert: Upsert, now: int) -> None:
    """Apply one upsert inside the caller's transaction."""
    _write_user(conn, namespace, upsert, now)
    _add_events(conn, namespace, upsert.user_id, upsert.events)
    # A listed company makes the user a member without membership attributes, as in Usertour.
    memberships = [Membership(company) for company in upsert.companies]
    for membership in (*memberships, *upsert.memberships):
        _merge_company(conn, namespace, membership.company, now)
        _merge_membership(conn, namespace, upsert.user_id, membership)


def _patch(changes: Mapping[str, Any]) -> tuple[str, str]:
    """(attributes of a new row, JSON merge patch for an existing row) for ``changes``.

    SQLite's ``json_patch`` (RFC 7396) is exactly the vendors' merge: keys set, null removes,
    others untouched; it keeps number literals as written, so 12.0 stays a float. Values are
    scalars or lists; an object value would be merged into, not replaced.
    """
    kept = {name: value for name, value in changes.items() if value is not None}
    return _dumps(kept), _dumps(dict(changes))


def _write_user(conn: sqlite3.Connection, namespace: str, upsert: Upsert, now: int) -> None:
    # ON CONFLICT keeps seq and created_at: the user keeps its place in creation order.
    conn.execute(
        "INSERT INTO users (namespace, id, created_at, email, attributes) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (namespace, id) DO UPDATE"
        " SET email = coalesce(excluded.email, email), attributes = json_patch(attributes, ?)",
        (namespace, upsert.user_id, now, upsert.email, *_patch(upsert.attributes)),
    )


def _add_events(
    conn: sqlite3.Connection, namespace: str, user_id: str, events: Iterable[Event]
) -> None:
    """Fold events into per-name aggregates: count += n, first = min, latest = max."""
    totals: dict[str, tuple[int, int, int]] = {}
    for event in events:
        count, first, latest = totals.get(event.name, (0, event.timestamp, event.timestamp))
        totals[event.name] = (count + 1, min(first, event.timestamp), max(latest, event.timestamp))
    conn.executemany(
        "INSERT INTO events (namespace, user_id, name, count, first_at, latest_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (namespace, user_id, name) DO UPDATE"
        " SET count = count + excluded.count, first_at = min(first_at, excluded.first_at),"
        " latest_at = max(latest_at, excluded.latest_at)",
        [(namespace, user_id, name, *total) for name, total in totals.items()],
    )


def _merge_company(conn: sqlite3.Connection, namespace: str, company: Company, now: int) -> None:
    """Company attributes are shared by every member, so an upsert merges into them."""
    conn.execute(
        "INSERT INTO companies (namespace, id, created_at, attributes) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (namespace, id) DO UPDATE SET attributes = json_patch(attributes, ?)",
        (namespace, company.id, now, *_patch(company.attributes)),
    )


def _merge_membership(
    conn: sqlite3.Connection, namespace: str, user_id: str, membership: Membership
) -> None:
    conn.execute(
        "INSERT INTO memberships (namespace, user_id, company_id, attributes) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (namespace, user_id, company_id) DO UPDATE"
        " SET attributes = json_patch(attributes, ?)",
        (namespace, user_id, membership.company.id, *_patch(membership.attributes)),
    )
