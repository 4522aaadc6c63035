"""Row-level SQL of the sandbox store: reading users with their relations, merging upserts.

Functions run inside a transaction that store.UserStore opens; they never commit. Split from
store.py so that the store's public API (one class) reads apart from the statements.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import Company, Event, EventStats, Membership, Upsert

# Ids are passed as one JSON array parameter: one query per table whatever the number of ids,
# without SQLite's limit on bound variables and without a temporary table.
IDS_IN = "IN (SELECT value FROM json_each(?))"
MEMBER_OF = "id IN (SELECT user_id FROM memberships WHERE namespace = ? AND company_id = ?)"


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


def dumps(value: Any) -> str:
    # Compact and sorted: a new row's bytes depend only on its content. NaN is not JSON.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def loads(text: str) -> Any:
    # Most memberships and many companies have no attributes: skip the decoder for them.
    return {} if text == "{}" else json.loads(text)


def list_where(
    namespace: str, email: str | None, company_id: str | None
) -> tuple[list[str], list[Any]]:
    """The WHERE terms and parameters of a filtered listing."""
    where, params = ["namespace = ?"], [namespace]
    if email is not None:
        where.append("email = ?")
        params.append(email)
    if company_id is not None:
        where.append(MEMBER_OF)
        params += [namespace, company_id]
    return where, params


def parse_cursor(after: str | None) -> int:
    if after is None:
        return 0
    try:
        return int(after)
    except ValueError:
        raise ValueError(f"invalid cursor {after!r}") from None


def fetch(conn: sqlite3.Connection, namespace: str, ids: list[str]) -> dict[str, StoredUser]:
    """Read users with their events and memberships: one query per table for any number of ids."""
    params = (namespace, json.dumps(ids))
    users = conn.execute(
        f"SELECT id, created_at, email, attributes FROM users WHERE namespace = ? AND id {IDS_IN}",
        params,
    ).fetchall()
    events: dict[str, dict[str, EventStats]] = {}
    for user_id, name, count, first_at, latest_at in conn.execute(
        "SELECT user_id, name, count, first_at, latest_at FROM events"
        f" WHERE namespace = ? AND user_id {IDS_IN}",
        params,
    ):
        events.setdefault(user_id, {})[name] = EventStats(count, first_at, latest_at)
    memberships = fetch_memberships(conn, params)
    return {
        user_id: StoredUser(
            id=user_id,
            created_at=created_at,
            email=email,
            attributes=loads(attributes),
            events=events.get(user_id, {}),
            memberships=memberships.get(user_id, {}),
        )
        for user_id, created_at, email, attributes in users
    }


def fetch_memberships(
    conn: sqlite3.Connection, params: tuple[str, str]
) -> dict[str, dict[str, Membership]]:
    """user id -> company id -> membership; each company is parsed once and shared (read-only)."""
    companies: dict[str, Company] = {}
    memberships: dict[str, dict[str, Membership]] = {}
    for user_id, company_id, attributes, company_attributes in conn.execute(
        "SELECT m.user_id, m.company_id, m.attributes, c.attributes FROM memberships AS m"
        " JOIN companies AS c ON c.namespace = m.namespace AND c.id = m.company_id"
        f" WHERE m.namespace = ? AND m.user_id {IDS_IN}",
        params,
    ):
        company = companies.get(company_id)
        if company is None:
            company = companies[company_id] = Company(company_id, loads(company_attributes))
        membership = Membership(company, loads(attributes))
        memberships.setdefault(user_id, {})[company_id] = membership
    return memberships


def write(conn: sqlite3.Connection, namespace: str, upsert: Upsert, now: int) -> None:
    """Apply one upsert inside the caller's transaction."""
    write_user(conn, namespace, upsert, now)
    add_events(conn, namespace, upsert.user_id, upsert.events)
    # A listed company makes the user a member without membership attributes, as in Usertour.
    memberships = [Membership(company) for company in upsert.companies]
    for membership in (*memberships, *upsert.memberships):
        merge_company(conn, namespace, membership.company, now)
        merge_membership(conn, namespace, upsert.user_id, membership, now)


def merge_patch(changes: Mapping[str, Any]) -> tuple[str, str]:
    """(attributes of a new row, JSON merge patch for an existing row) for ``changes``.

    SQLite's ``json_patch`` (RFC 7396) is exactly the vendors' merge: keys set, null removes,
    others untouched; it keeps number literals as written, so 12.0 stays a float. It would
    merge into an object value, which the vendors replace: objects are left out of the patch
    and written by ``replace_objects``.
    """
    kept = {name: value for name, value in changes.items() if value is not None}
    patch = {name: value for name, value in changes.items() if not isinstance(value, dict)}
    return dumps(kept), dumps(patch)


def replace_objects(
    conn: sqlite3.Connection, table: str, key: dict[str, str], changes: Mapping[str, Any]
) -> None:
    """Set the object values of ``changes`` whole (Usertour keeps an object as sent, nested
    nulls included); ``key`` names the row. Rare, so read, merge and write in Python."""
    objects = {name: value for name, value in changes.items() if isinstance(value, dict)}
    if not objects:
        return
    where = " AND ".join(f"{column} = ?" for column in key)
    row = conn.execute(f"SELECT attributes FROM {table} WHERE {where}", tuple(key.values()))
    attributes = {**loads(row.fetchone()[0]), **objects}
    conn.execute(
        f"UPDATE {table} SET attributes = ? WHERE {where}", (dumps(attributes), *key.values())
    )


def write_user(conn: sqlite3.Connection, namespace: str, upsert: Upsert, now: int) -> None:
    # ON CONFLICT keeps seq and created_at: the user keeps its place in creation order.
    conn.execute(
        "INSERT INTO users (namespace, id, created_at, email, attributes) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (namespace, id) DO UPDATE"
        " SET email = coalesce(excluded.email, email), attributes = json_patch(attributes, ?)",
        (namespace, upsert.user_id, now, upsert.email, *merge_patch(upsert.attributes)),
    )
    key = {"namespace": namespace, "id": upsert.user_id}
    replace_objects(conn, "users", key, upsert.attributes)


def add_events(
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


def merge_company(conn: sqlite3.Connection, namespace: str, company: Company, now: int) -> None:
    """Company attributes are shared by every member, so an upsert merges into them."""
    conn.execute(
        "INSERT INTO companies (namespace, id, created_at, attributes) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (namespace, id) DO UPDATE SET attributes = json_patch(attributes, ?)",
        (namespace, company.id, now, *merge_patch(company.attributes)),
    )
    replace_objects(
        conn, "companies", {"namespace": namespace, "id": company.id}, company.attributes
    )


def merge_membership(
    conn: sqlite3.Connection, namespace: str, user_id: str, membership: Membership, now: int
) -> None:
    kept, patch = merge_patch(membership.attributes)
    conn.execute(
        "INSERT INTO memberships (namespace, user_id, company_id, attributes, created_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, user_id, company_id) DO UPDATE"
        " SET attributes = json_patch(attributes, ?)",
        (namespace, user_id, membership.company.id, kept, now, patch),
    )
    key = {"namespace": namespace, "user_id": user_id, "company_id": membership.company.id}
    replace_objects(conn, "memberships", key, membership.attributes)
