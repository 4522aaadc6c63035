"""The plain values that flow through reconciler: declared users, live users, the Plan, and
what applying it did (outcomes and the apply report).

Everything here is a small frozen dataclass with no behaviour that touches disk or network, so
the planner and the renderers can be tested with literals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

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


ChangeSymbol = Literal["+", "~", "-"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One line of a user's diff, about one leaf value: ``attributes.plan``, ``email``,
    ``companies.acme.size``; a new company is one change per attribute, never a dict, so that
    every value is masked on its own path."""

    path: FieldPath
    symbol: ChangeSymbol
    old: AttributeValue = None
    new: AttributeValue = None
    #: For fields that are not one value (``events``: "login x2", a company with no attributes).
    summary: str | None = None

    @property
    def field(self) -> str:
        """The path as people read it (``attributes.plan``)."""
        return format_path(self.path)


@dataclass(frozen=True, slots=True)
class UserChange:
    """A user that needs a request on one target."""

    user_id: str
    action: Literal["create", "update"]
    fields: tuple[FieldChange, ...]
    upsert: Upsert
    #: Digest of the live state (its managed part) this change was computed from; a saved
    #: plan is stale when the user's live state no longer has this fingerprint.
    fingerprint: str = ""
    #: Sensitive values of ``upsert`` compared at apply only (plan/blind.py) that the target
    #: already holds: in the reviewed request, left out of what is sent. Never shown.
    unsent: tuple[FieldPath, ...] = ()


@dataclass(frozen=True, slots=True)
class UserDeletion:
    """A live user that no file declares for this target, to delete (``--prune`` only)."""

    user_id: str
    #: Digest of the whole live user: deleting destroys all of it, so a saved plan is stale
    #: when anything about the user changed since (see ``planner.live_fingerprint``).
    fingerprint: str
    #: The live email, shown (masked when sensitive) so reviewers recognise the user; never
    #: written into a saved plan, which holds no undeclared live value.
    email: str | None = None
    #: Why a user some file declares is still deleted here (its ``targets:`` leave this one out).
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PlanWarning:
    """Something the user should know that is not a change (e.g. event history disagreement).

    A warning that quotes a declared value keeps it apart, with its path: the mask step masks it
    by that path like any field change (plan/mask.py), so no one searches the text for it, and
    the renderers show it between ``text`` and ``rest`` only when it is not masked
    (``render.text.warning_message``).
    """

    user_id: str
    text: str
    #: The declared field whose value the warning quotes (None: it quotes none).
    path: FieldPath | None = None
    #: That value as declared, or MASK once masked.
    value: AttributeValue = None
    #: What follows the value.
    rest: str = ""


@dataclass(frozen=True, slots=True)
class Withheld:
    """Declared values a target cannot hold, so the plan never sends them there (said once)."""

    #: What is left out: ``events``, ``companies and memberships``.
    what: str
    #: How many of the target's declared users declare it.
    users: int
    #: Why, in the target's terms.
    reason: str


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """The changes for one target, sorted by user id."""

    target: str
    provider: str
    changes: tuple[UserChange, ...]
    unchanged: int
    warnings: tuple[PlanWarning, ...] = ()
    #: Live users to delete, sorted by id; only a pruned plan has any.
    deletions: tuple[UserDeletion, ...] = ()
    #: How many live users the target listed for pruning (in the plan's shard); None when the
    #: plan was made without ``--prune``. The deletion ratio guard divides by it.
    listed: int | None = None
    #: What the declared users hold that this target cannot (a user of Sprig and Usertour
    #: loses its companies on Sprig and its events on Usertour): said, never silently dropped.
    withheld: tuple[Withheld, ...] = ()
    #: Users with writes in flight (an earlier apply sent events the read does not show yet,
    #: load/journal.py): their events are held back, never sent twice. Sorted.
    pending: tuple[str, ...] = ()
    #: (user, events) of writes in flight that the read now shows: apply clears their record.
    seen: tuple[tuple[str, tuple[Event, ...]], ...] = ()

    @property
    def pruned(self) -> bool:
        return self.listed is not None

    @property
    def creates(self) -> int:
        return sum(1 for c in self.changes if c.action == "create")

    @property
    def updates(self) -> int:
        return sum(1 for c in self.changes if c.action == "update")


@dataclass(frozen=True, slots=True)
class ChangedSince:
    """What a plan restricted to the changes since a git revision left out (--changed-since).

    Carried by the plan so that every format says the same: how many of the declared users were
    planned, which users were left alone because no file declares them for a target any more,
    and which targets were planned in full and why.
    """

    rev: str
    commit: str
    planned: int
    declared: int
    #: (target, user id), sorted: declared for the target at ``rev``, not now.
    left_alone: tuple[tuple[str, str], ...] = ()
    #: (target, reason), sorted: targets planned in full, e.g. ("prod", "provider changed").
    full_targets: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """Every target's changes, sorted by target name. The value that is rendered and applied."""

    targets: tuple[TargetPlan, ...]
    #: Set when only the users changed since a revision were planned.
    changed_since: ChangedSince | None = None

    @property
    def creates(self) -> int:
        return sum(t.creates for t in self.targets)

    @property
    def updates(self) -> int:
        return sum(t.updates for t in self.targets)

    @property
    def unchanged(self) -> int:
        return sum(t.unchanged for t in self.targets)

    @property
    def deletes(self) -> int:
        return sum(len(t.deletions) for t in self.targets)

    @property
    def pruned(self) -> bool:
        return any(t.pruned for t in self.targets)

    @property
    def has_changes(self) -> bool:
        return any(t.changes or t.deletions for t in self.targets)


#: What became of one planned user: "deleted": a pruned user is gone (it answered 200, or was
#: gone already). "not_visible": sent and accepted, but an eventually consistent target (Sprig)
#: did not show it within --wait; not a refusal ("not_stuck" is a value the target did not
#: keep). "skipped": not sent, after Ctrl-C. "held": events held back, because nothing proves
#: that an earlier write of the user is not still on its way (apply/evidence.py).
Status = Literal[
    "applied", "deleted", "failed", "not_stuck", "unconfirmed", "not_visible", "skipped", "held"
]
#: The statuses that are what the plan wanted; every other one is reported.
DONE: frozenset[Status] = frozenset({"applied", "deleted"})
#: The statuses that count as failed (exit 1); "not_visible" (exit 4) and "skipped" are
#: counted apart.
FAILED: frozenset[Status] = frozenset({"failed", "not_stuck", "unconfirmed"})


@dataclass(frozen=True, slots=True)
class UserOutcome:
    """What happened to one planned user (an upsert or a deletion) on one target."""

    target: str
    user_id: str
    status: Status
    #: Why it failed (the target's own words), for ``failed`` and ``unconfirmed``.
    message: str | None = None
    #: The fields the target did not keep, for ``not_stuck``.
    not_stuck: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """Every outcome of an apply, in plan order (target, then its upserts, then its deletions)."""

    outcomes: tuple[UserOutcome, ...]
    #: Seconds spent per target (sending and verifying).
    durations: Mapping[str, float] = field(default_factory=dict)

    @property
    def applied(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "applied")

    @property
    def deleted(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "deleted")

    @property
    def problems(self) -> tuple[UserOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status not in DONE)

    @property
    def failed(self) -> int:
        return sum(1 for o in self.outcomes if o.status in FAILED)

    @property
    def not_visible(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "not_visible")

    @property
    def not_sent(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "skipped")

    @property
    def held(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "held")


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
