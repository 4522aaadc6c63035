"""Usertour's list cursor as the real server runs it, for ``--listing-ties N`` (opt-in).

The real ``GET /v1/users`` orders by ``createdAt`` alone and pages with a Prisma cursor (the
last user's database id, ``skip: 1``). Users created in the same millisecond have no order of
their own: the query after a cursor keeps the cursor's millisecond only for the users whose
database id is not below the cursor's, in whatever order the database gives them, then skips
the first row. So ties that straddle a page boundary are repeated or skipped (seen on the real
server at f9f8065f1: 1,000 users from 16 threads, 967 distinct ``createdAt``; walked 7 to a
page, 3 were listed twice and 1 never; walked 100 to a page, 2 of 3,000 were never listed).

The emulator's users are created one at a time, so the mode makes ties on purpose: every ``N``
users in creation order share one millisecond (``createdAt`` answered alike), their
"database id" order is a hash of the id, and the listing order among them is creation order,
exactly the disagreement the real server shows. Pure: the rows come from the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

#: (seq, id, created_at ms) of a listed user, in creation order.
Row = tuple[int, str, int]


@dataclass(frozen=True, slots=True)
class TiedPage:
    """One page: the users' ids, the ``createdAt`` each is answered with, the next cursor."""

    ids: tuple[str, ...]
    created_at: dict[str, int]
    next_cursor: str | None


def _database_id(user_id: str) -> str:
    """The order the cursor condition compares ties by (the real server's cuid)."""
    return hashlib.sha256(user_id.encode("utf-8", "surrogatepass")).hexdigest()


def tied_page(rows: Sequence[Row], cursor: int | None, limit: int, ties: int) -> TiedPage:
    """The page after ``cursor`` (a seq; None: the first page), ``ties`` users to a
    millisecond. ``cursor`` must be the seq of a listed row (the caller checks)."""
    group = {seq: index // ties for index, (seq, _, _) in enumerate(rows)}
    millisecond: dict[int, int] = {}  # each group's own millisecond, rising with the groups
    for seq, _, created in rows:
        if group[seq] not in millisecond:
            millisecond[group[seq]] = max(created, millisecond.get(group[seq] - 1, created - 1) + 1)
    # By createdAt, then the database's own order among ties (here: creation order).
    ordered = sorted(rows, key=lambda row: (group[row[0]], row[0]))
    if cursor is not None:
        at = next(row for row in rows if row[0] == cursor)
        key = (group[cursor], _database_id(at[1]))
        kept = [row for row in ordered if (group[row[0]], _database_id(row[1])) >= key]
        ordered = kept[1:]  # Prisma's ``skip: 1`` drops the first row, meant to be the cursor
    page = ordered[:limit]
    next_cursor = str(page[-1][0]) if len(ordered) > limit else None
    times = {user_id: millisecond[group[seq]] for seq, user_id, _ in page}
    return TiedPage(tuple(user_id for _, user_id, _ in page), times, next_cursor)
