"""The values a plan is made of (field changes, user changes and deletions, warnings, what a
target cannot hold, the Plan) and what applying it did (outcomes, the apply report).

Apart from model.py, which it builds on: ``validate`` never builds a plan, and each frozen
dataclass costs ~0.5 ms of every start to create (its methods are generated and compiled at
import).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from reconciler.model import AttributeValue, Event, FieldPath, Upsert, format_path

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
