"""What a reviewer checks at a glance, computed from a (masked) plan: per target, each field
change and the users it touches; per user, every target's change together.

Pure data, no Markdown: render/markdown.py lays it out. A pull request that edits a file's
``defaults`` changes one field of many users alike; shown user by user, the one change is
repeated N times per target and the users of two targets are far apart. Grouped here, it is
one line per target (``! attributes.csm: "bob" -> "alice" — 20 users: u003\u2013u025``), and
users whose changes are identical on every target share one collapsed block of detail.

Ids are listed compactly (:func:`compact_ids`): a run of consecutive ids (``u003``, ``u004``,
``u005``) is written ``u003\u2013u005``, so a 20,000-user create of ``u00001`` to ``u20000``
keeps every id in a few characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reconciler.model import FieldPath, Masked
from reconciler.planned import FieldChange, TargetPlan, UserChange
from reconciler.render.text import describe_field

#: Past this many different values of one field on one target, the rollup names the field and
#: how many values there are (each user's value stays in the detail).
MAX_VALUES = 5
#: A run of consecutive ids this long or longer is written as a range.
MIN_RUN = 3
_NUMBERED = re.compile(r"(.*?)(\d+)\Z", re.DOTALL)
#: Between the ends of a range of ids: every id from one to the other is in it.
RANGE = "\u2013"  # an en dash
#: (user id, field path) -> ``file:line`` where a masked value is declared.
DeclaredAt = Mapping[tuple[str, FieldPath], str]


@dataclass(frozen=True, slots=True)
class RollupLine:
    """One line of a target's rollup: a diff line (``symbol`` and ``text``) and its users."""

    symbol: str
    text: str
    users: tuple[str, ...]
    #: Whether the line lists its users' ids (else it says how many: another line lists them).
    listed: bool = True


def compact_ids(ids: Iterable[str], ranges: bool = True) -> list[str]:
    """Sorted ids, each run of ``MIN_RUN`` or more consecutive numbered ids (same prefix, same
    width) written ``first\u2013last``: ``["u003\u2013u005", "u009"]``. Nothing is left out."""
    return [text for text, _ in id_runs(ids, ranges)]


def id_runs(ids: Iterable[str], ranges: bool = True) -> list[tuple[str, int]]:
    """:func:`compact_ids` with how many ids each piece stands for; without ``ranges``, every
    id as it is (count 1)."""
    if not ranges:
        return [(user_id, 1) for user_id in sorted(set(ids))]
    tokens: list[tuple[str, int]] = []
    run: list[str] = []
    previous: tuple[str, int, int] | None = None
    for user_id in sorted(set(ids)):
        match = _NUMBERED.match(user_id)
        key = (match[1], len(match[2]), int(match[2])) if match else None
        follows = key is not None and previous is not None and key[:2] == previous[:2]
        if not (follows and key is not None and previous is not None and key[2] == previous[2] + 1):
            tokens.extend(_run_tokens(run))
            run = []
        run.append(user_id)
        previous = key
    tokens.extend(_run_tokens(run))
    return tokens


def _run_tokens(run: Sequence[str]) -> list[tuple[str, int]]:
    if len(run) >= MIN_RUN:
        return [(f"{run[0]}{RANGE}{run[-1]}", len(run))]
    return [(user_id, 1) for user_id in run]


def is_masked(change: FieldChange) -> bool:
    """A change whose value the mask step replaced (on either side)."""
    return isinstance(change.old, Masked) or isinstance(change.new, Masked)


def masked_line(change: FieldChange, where: str | None = None) -> str:
    """What a reviewer can check of a masked change without its value: that it is set, changes
    or is removed, and where it is declared: ``~ email: changes (sensitive, value hidden),
    declared at users/vip.yaml:7``."""
    verb = {"+": "set", "~": "changes", "-": "removed"}[change.symbol]
    line = f"{change.symbol} {change.field}: {verb} (sensitive, value hidden)"
    return f"{line}, declared at {where}" if where and change.symbol != "-" else line


def field_line(change: FieldChange, user_id: str, declared_at: DeclaredAt) -> str:
    """A user's diff line: the value, or for a masked one what can be said without it."""
    if is_masked(change) and change.summary is None:
        return masked_line(change, declared_at.get((user_id, change.path)))
    return describe_field(change)


def target_rollup(
    target: TargetPlan, compact: bool = False, declared_at: DeclaredAt | None = None
) -> list[RollupLine]:
    """The target's changes by field: one line per (field, value) shared by its users, or per
    field when it has more than ``MAX_VALUES`` values. Created, deleted and field-less updated
    users have a line of their own, so every changed id is here.

    ``compact``: one line per field, without values unless all its users share one, and the
    ids only on the first lines, of created, updated and deleted users (a field line says how
    many): the form that fits a big plan, and whose first lines are the ones to keep."""
    lines: list[RollupLine] = []
    creates = tuple(c.user_id for c in target.changes if c.action == "create")
    if creates:
        lines.append(RollupLine("+", "new user", creates))
    updates = [c for c in target.changes if c.action == "update" and (compact or not c.fields)]
    if updates:
        text = "updated user" if compact else "user (no field changes)"
        lines.append(RollupLine("~", text, tuple(c.user_id for c in updates)))
    deletions = RollupLine("-", "user deleted", tuple(d.user_id for d in target.deletions))
    if compact and deletions.users:
        lines.append(deletions)
    for (symbol, field), by_value in _by_field(target.changes, declared_at or {}).items():
        if len(by_value) == 1 or (not compact and len(by_value) <= MAX_VALUES):
            lines += [
                RollupLine(symbol, text, tuple(ids), listed=not compact)
                for text, ids in by_value.items()
            ]
            continue
        users = tuple(sorted({u for ids in by_value.values() for u in ids}))
        many = f" ({len(by_value):,} different values)" if len(by_value) > 1 else ""
        lines.append(RollupLine(symbol, f"{field}{many}", users, listed=not compact))
    if not compact and deletions.users:
        lines.append(deletions)
    return lines


#: The order of a rollup's lines: as a user's diff shows its fields, then by name.
_KINDS = {"attributes": 0, "email": 1, "events": 2, "companies": 3, "memberships": 4}


def _by_field(
    changes: Sequence[UserChange], declared_at: DeclaredAt
) -> dict[tuple[str, str], dict[str, list[str]]]:
    """(symbol, field) -> diff text (without symbol) -> users; fields in diff order, then by
    name, and values by how many users share them (most first), then by text. A masked value's
    text says where it is declared when all its users declare it in one place (a defaults
    line, or one user)."""
    grouped: dict[tuple[str, str], dict[str, list[str]]] = {}
    kinds: dict[tuple[str, str], int] = {}
    masked: dict[tuple[str, str], FieldChange] = {}
    for change in changes:
        for field in change.fields:
            key: tuple[str, str] = (field.symbol, field.field)
            text = masked_line(field) if is_masked(field) else describe_field(field)
            if is_masked(field) and field.summary is None:
                masked[key] = field
            kinds[key] = _KINDS.get(field.path[0], len(_KINDS))
            grouped.setdefault(key, {}).setdefault(text[2:], []).append(change.user_id)
    for key, field in masked.items():
        if len(grouped[key]) != 1:
            continue
        [users] = grouped[key].values()
        places = {declared_at.get((user_id, field.path)) for user_id in users}
        if len(places) == 1 and None not in places:
            grouped[key] = {masked_line(field, places.pop())[2:]: users}
    order = sorted(grouped, key=lambda key: (kinds[key], key[1], "+~-".index(key[0])))
    return {
        key: dict(sorted(grouped[key].items(), key=lambda item: (-len(item[1]), item[0])))
        for key in order
    }


@dataclass(frozen=True, slots=True)
class TargetChange:
    """One user's change on one target, as its detail shows it."""

    target: str
    action: str
    lines: tuple[str, ...]
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UserGroup:
    """Users whose changes are the same on every target (a ``defaults`` edit): one block."""

    users: tuple[str, ...]
    changes: tuple[TargetChange, ...]

    @property
    def fields(self) -> list[str]:
        """The fields it changes, each once, in the order of the diff."""
        return list(dict.fromkeys(field for change in self.changes for field in change.fields))


def user_groups(targets: Sequence[TargetPlan], declared_at: DeclaredAt) -> list[UserGroup]:
    """Each changed user once, all its targets together; users with identical changes on the
    same targets share a group. Groups come in the order of their first user id."""
    per_user: dict[str, list[TargetChange]] = {}
    for target in targets:
        for change in target.changes:
            lines = tuple(field_line(f, change.user_id, declared_at) for f in change.fields)
            fields = tuple(f.field for f in change.fields)
            per_user.setdefault(change.user_id, []).append(
                TargetChange(target.target, change.action, lines, fields)
            )
    groups: dict[tuple[TargetChange, ...], list[str]] = {}
    for user_id in sorted(per_user):
        groups.setdefault(tuple(per_user[user_id]), []).append(user_id)
    return [UserGroup(tuple(users), changes) for changes, users in groups.items()]
