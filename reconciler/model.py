"""The plain values that flow through reconciler: declared users, live users, and what a
target is sent. The Plan and what applying it did (outcomes, the apply report) are planned.py's.

Everything here is a small frozen dataclass with no behaviour that touches disk or network, so
the planner and the renderers can be tested with literals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

#: An attribute value as declared: str, int, float, bool, list of scalars, or None (= remove).
AttributeValue = Any
Attributes = Mapping[str, AttributeValue]
#: A JSON path inside a YAML document, e.g. ("users", 3, "attributes", "plan").
JsonPath = tuple["str | int", ...]
#: A field of a user, name by name: ("email",), ("attributes", "plan"),
#: ("companies", "acme", "size"), ("memberships", "acme", "company", "name"). A tuple, not a
#: dotted string, so that masking can look at every name and a dot inside a name is data.
FieldPath = tuple[str, ...]

_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def path_segment(name: str) -> str:
    """``.plan``; a name that is not plain is quoted, so a dot in it is data: ``["a.b"]``."""
    if _PLAIN_NAME.match(name):
        return f".{name}"
    return f"[{json.dumps(name, ensure_ascii=False)}]"


def format_path(path: FieldPath) -> str:
    """A field path as people read it: ``attributes.plan``, ``companies.acme["a.b"]``."""
    return path[0] + "".join(path_segment(name) for name in path[1:])


def is_sensitive(path: FieldPath, sensitive: Collection[str]) -> bool:
    """Whether the value at ``path`` is masked: any name on the path is listed (``phone`` masks
    ``companies.acme.phone``), or the path as written, or a prefix of it (``companies.acme``)."""
    if any(name in sensitive for name in path):
        return True
    return any(format_path(path[:end]) in sensitive for end in range(2, len(path) + 1))


class Masked(str):
    """A value the mask step replaced (mask.py): printed as ``(sensitive)`` without quotes, and
    written as the string ``"(sensitive)"`` in JSON. A declared string that happens to read
    "(sensitive)" is a plain ``str`` and still prints quoted, so the two never look alike."""

    __slots__ = ()


MASK = Masked("(sensitive)")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a declaration lives: its file and JSON path (line/column are resolved lazily)."""

    file: str
    path: JsonPath = ()


@dataclass(frozen=True, slots=True)
class Event:
    """One historical event occurrence (Sprig): name and Unix time in milliseconds."""

    name: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Company:
    """A company (Usertour) and the attributes declared for it."""

    id: str
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's membership of a company, with attributes of the relationship itself."""

    company: Company
    attributes: Attributes = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UserSpec:
    """One declared user, after per-file defaults were merged in."""

    id: str
    email: str | None = None
    attributes: Attributes = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    companies: tuple[Company, ...] = ()
    memberships: tuple[Membership, ...] = ()
    #: Target names this user goes to; None means every target.
    targets: tuple[str, ...] | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class EventStats:
    """What a target records per event name: a count, the first and the latest timestamp (ms)."""

    count: int
    first: int
    latest: int


@dataclass(frozen=True, slots=True)
class LiveUser:
    """A user as a target shows it, already translated out of the vendor's wire format."""

    id: str
    email: str | None = None
    attributes: Attributes = field(default_factory=dict)
    events: Mapping[str, EventStats] = field(default_factory=dict)
    #: company id -> company attributes
    companies: Mapping[str, Attributes] = field(default_factory=dict)
    #: company id -> membership (with the company's attributes inside)
    memberships: Mapping[str, Membership] = field(default_factory=dict)
    #: False when the answer did not show companies and memberships at all (Usertour's upsert
    #: answer has ``companies: null``): empty then means "not shown", not "none".
    shows_companies: bool = True


@dataclass(frozen=True, slots=True)
class ListedPage:
    """One page of a target's listing of its users (one request)."""

    users: tuple[LiveUser, ...]
    #: No page follows (Usertour: ``next`` is null), so the next one costs no request.
    last: bool
    #: On the last page of a listing asked to be complete: why it could not be proved so
    #: (a listing may skip users: providers/usertour.py); None: proved, or not asked.
    unproven: str | None = None


@dataclass(frozen=True, slots=True)
class Upsert:
    """Exactly what apply sends for one user, vendor-neutral; a provider maps it to its body.

    ``attributes`` may hold None values: remove that attribute (targets that support removal).
    """

    user_id: str
    attributes: Attributes = field(default_factory=dict)
    email: str | None = None
    events: tuple[Event, ...] = ()
    companies: tuple[Company, ...] = ()
    memberships: tuple[Membership, ...] = ()


def upsert_to_json(upsert: Upsert) -> dict[str, Any]:
    """The vendor-neutral request, as plain JSON (round-trips through
    ``upsert_from_json``): what saved plans hold and the sandbox target is sent."""
    return {
        "user_id": upsert.user_id,
        "attributes": dict(upsert.attributes),
        "email": upsert.email,
        "events": [{"event": e.name, "timestamp": e.timestamp} for e in upsert.events],
        "companies": [{"id": c.id, "attributes": dict(c.attributes)} for c in upsert.companies],
        "memberships": [
            {
                "company": {"id": m.company.id, "attributes": dict(m.company.attributes)},
                "attributes": dict(m.attributes),
            }
            for m in upsert.memberships
        ],
    }
