"""Desired users x live users -> Plan. Pure: no disk, no network, same inputs give the same plan.

Rules (SPEC section 3): only declared fields are managed; attributes compare by value *and* type
after the target's normalisation; events are append-only history, so only declared events newer
than the latest recorded one per name are sent; companies and memberships compare by company id
with their declared attributes. A user with nothing to change produces no request.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from reconciler.kinds.kind import Capabilities
from reconciler.kinds.values import normalise, same_value
from reconciler.load.declarations import targets_users
from reconciler.model import (
    Attributes,
    AttributeValue,
    Company,
    Event,
    FieldPath,
    LiveUser,
    Membership,
    Upsert,
    UserSpec,
    is_sensitive,
)
from reconciler.plan import typelock
from reconciler.plan.blind import COMPARED_AT_APPLY, UNKNOWN, Unknown, changed_since_base
from reconciler.plan.fingerprint import fingerprint
from reconciler.planned import (
    FieldChange,
    PlanWarning,
    TargetPlan,
    UserChange,
    UserDeletion,
    Withheld,
)


@dataclass(slots=True)
class _UserDiff:
    """Accumulates one user's field changes and the request that carries them."""

    fields: list[FieldChange] = field(default_factory=list)
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    email: str | None = None
    events: list[Event] = field(default_factory=list)
    companies: list[Company] = field(default_factory=list)
    memberships: list[Membership] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Sensitive names compared at apply only, for a user that exists (plan/blind.py).
    blind: Collection[str] = ()
    #: The user as declared now, and at the base revision (None: not declared there; UNKNOWN:
    #: the base's declarations are not known, so every sensitive value is compared at apply).
    spec: UserSpec | None = None
    base: UserSpec | Unknown | None = UNKNOWN
    #: Blinded values the target already holds: reviewed, never sent.
    unsent: list[FieldPath] = field(default_factory=list)

    def blinded(self, path: FieldPath) -> bool:
        """A sensitive value the pull request declares differently from its base."""
        if not self.blind or not is_sensitive(path, self.blind):
            return False
        return changed_since_base(self.spec, self.base, path)

    def compare_at_apply(self, path: FieldPath, want: AttributeValue, same: bool) -> None:
        """The line a blinded value shows, equal or not; an equal one is not sent."""
        self.fields.append(FieldChange(path, "~", new=want, summary=COMPARED_AT_APPLY))
        if same:
            self.unsent.append(path)


@functools.lru_cache(maxsize=4096)
def field_path(prefix: FieldPath, name: str) -> FieldPath:
    """``(*prefix, name)``, one shared tuple per path: 100,000 users with the same six
    attributes make 600,000 field changes but only six paths."""
    return (*prefix, name)


def _diff_attributes(
    prefix: FieldPath,
    declared: Attributes,
    live: Attributes | None,
    capabilities: Capabilities,
    diff: _UserDiff,
) -> dict[str, AttributeValue]:
    """Field changes for declared attributes only; returns the attributes to send."""
    to_send: dict[str, AttributeValue] = {}
    fields = diff.fields
    for name in sorted(declared):
        want = normalise(declared[name], capabilities)
        path = field_path(prefix, name)
        present = live is not None and name in live
        if diff.blinded(path):
            have = live[name] if live is not None and present else None
            same = (want is None and not present) or (
                present and same_value(want, normalise(have, capabilities))
            )
            diff.compare_at_apply(path, want, same)
            to_send[name] = want
            continue
        if want is None:
            # null removes; nothing to do when it is already absent (or cannot be removed,
            # which validation refuses before we get here).
            if present and capabilities.remove_attributes:
                assert live is not None
                fields.append(FieldChange(path, "-", old=live[name]))
                to_send[name] = None
            continue
        if not present:
            fields.append(FieldChange(path, "+", new=want))
        else:
            assert live is not None
            have = live[name]
            # The live side too: a JSON API may answer 12.0 where JavaScript would say 12.
            if same_value(want, normalise(have, capabilities)):
                continue
            fields.append(FieldChange(path, "~", old=have, new=want))
        to_send[name] = want
    return to_send


def _format_ms(timestamp: int) -> str:
    moment = datetime.fromtimestamp(timestamp / 1000, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _diff_events(spec: UserSpec, live: LiveUser | None, diff: _UserDiff) -> None:
    """Append-only: send declared events newer than the latest recorded for their name."""
    by_name: dict[str, list[Event]] = {}
    for event in spec.events:
        by_name.setdefault(event.name, []).append(event)
    for name in sorted(by_name):
        declared = sorted(by_name[name], key=lambda e: e.timestamp)
        stats = live.events.get(name) if live is not None else None
        if stats is None:
            new = declared
        else:
            new = [e for e in declared if e.timestamp > stats.latest]
            recorded = len(declared) - len(new)
            # Only news: declared events the target lacks and that will never be sent. A target
            # holding more than declared is the usual case (the SDK records events too; import
            # declares the latest one per name), and saying so on every plan is noise.
            if recorded > stats.count:
                diff.warnings.append(
                    f"events.{name}: {recorded} declared at or before the latest recorded "
                    f"({_format_ms(stats.latest)}) but the target records {stats.count}; "
                    "events are append-only, so older ones are never sent again"
                )
        if new:
            diff.events.extend(new)
            diff.fields.append(FieldChange(("events",), "+", summary=f"{name} x{len(new)}"))


def _diff_companies(
    spec: UserSpec, live: LiveUser | None, caps: Capabilities, diff: _UserDiff
) -> None:
    """Companies compare by id with their declared attributes; undeclared live ones stay.

    A new company compares with no attributes: one ``+`` per attribute (a leaf each, so that
    each is masked on its own path), nulls left out."""
    for company in sorted(spec.companies, key=lambda c: c.id):
        prefix = ("companies", company.id)
        live_attributes = live.companies.get(company.id) if live is not None else None
        known = len(diff.fields)
        changed = _diff_attributes(prefix, company.attributes, live_attributes or {}, caps, diff)
        if live_attributes is None:
            if len(diff.fields) == known:
                diff.fields.append(FieldChange(prefix, "+", summary="new company"))
            diff.companies.append(Company(company.id, changed))
        elif changed:
            diff.companies.append(Company(company.id, changed))


def _diff_memberships(
    spec: UserSpec, live: LiveUser | None, caps: Capabilities, diff: _UserDiff
) -> None:
    """Memberships compare by company id: the company's attributes and the membership's own
    (a new membership: one ``+`` per attribute of either, like a new company)."""
    for membership in sorted(spec.memberships, key=lambda m: m.company.id):
        company_id = membership.company.id
        prefix = ("memberships", company_id)
        current = live.memberships.get(company_id) if live is not None else None
        known = len(diff.fields)
        company_changes = _diff_attributes(
            (*prefix, "company"),
            membership.company.attributes,
            current.company.attributes if current is not None else {},
            caps,
            diff,
        )
        own_changes = _diff_attributes(
            prefix, membership.attributes, current.attributes if current else {}, caps, diff
        )
        if current is None and len(diff.fields) == known:
            diff.fields.append(FieldChange(prefix, "+", summary="new membership"))
        if current is None or company_changes or own_changes:
            diff.memberships.append(Membership(Company(company_id, company_changes), own_changes))


def diff_user(
    spec: UserSpec,
    live: LiveUser | None,
    capabilities: Capabilities,
    blind: Collection[str] = (),
    base: UserSpec | Unknown | None = UNKNOWN,
) -> tuple[UserChange | None, list[str]]:
    """One user's change on one target (None when nothing to do), and warnings about it.

    ``blind``: the sensitive names whose values a user that exists compares at apply only
    when ``base`` (the user at the base revision) declared them otherwise (plan/blind.py): a
    pull request's plan must not tell whether the values it declares equal the live ones."""
    diff = _UserDiff(blind=blind if live is not None else (), spec=spec, base=base)
    diff.attributes = _diff_attributes(
        ("attributes",), spec.attributes, live.attributes if live else None, capabilities, diff
    )
    if spec.email is not None and live is not None and diff.blinded(("email",)):
        diff.compare_at_apply(("email",), spec.email, live.email == spec.email)
        diff.email = spec.email
    elif spec.email is not None and (live is None or live.email != spec.email):
        old = live.email if live is not None else None
        diff.fields.append(
            FieldChange(("email",), "~" if old is not None else "+", old, spec.email)
        )
        diff.email = spec.email
    if capabilities.events:
        _diff_events(spec, live, diff)
    if capabilities.companies:
        _diff_companies(spec, live, capabilities, diff)
        _diff_memberships(spec, live, capabilities, diff)
    if live is not None and not diff.fields:
        return None, diff.warnings
    upsert = Upsert(
        user_id=spec.id,
        attributes=diff.attributes,
        email=diff.email,
        events=tuple(diff.events),
        companies=tuple(diff.companies),
        memberships=tuple(diff.memberships),
    )
    action: Literal["create", "update"] = "create" if live is None else "update"
    digest = fingerprint(spec, live, capabilities, diff.blinded if diff.blind else None)
    change = UserChange(spec.id, action, tuple(diff.fields), upsert, digest, tuple(diff.unsent))
    return change, diff.warnings


def plan_target(
    target: str,
    provider: str,
    capabilities: Capabilities,
    desired: Sequence[UserSpec],
    live: Mapping[str, LiveUser],
    *,
    seen: Iterable[LiveUser] | None = None,
    blind: Collection[str] = (),
    base: Mapping[str, UserSpec] | None = None,
    types: Mapping[typelock.Slot, str] | None = None,
) -> TargetPlan:
    """The plan for one target: every desired user compared with its live state (if any);
    ``blind``: the sensitive names a pull request's plan compares at apply (plan/blind.py).

    On a target that locks attribute types, a value the server would drop is a warning
    that quotes it (masked later, by its path: plan/mask.py). ``seen``: every live user read,
    when pages brought more than ``live``: each value shows its name's type. ``types``: the
    environment's own definitions, which know the names no user read shows.
    """
    changes: list[UserChange] = []
    warnings: list[PlanWarning] = []
    unchanged = 0
    evidence = live.values() if seen is None else seen
    if capabilities.locks_types:
        types = {**typelock.environment_types(evidence), **(types or {})}
    else:
        types = {}
    for spec in sorted(desired, key=lambda u: u.id):
        before = UNKNOWN if base is None else base.get(spec.id)
        change, user_warnings = diff_user(spec, live.get(spec.id), capabilities, blind, before)
        warnings.extend(PlanWarning(spec.id, message) for message in user_warnings)
        if change is None:
            unchanged += 1
            continue
        changes.append(change)
        fields = {f.path for f in change.fields}
        warnings.extend(typelock.drop_warnings(spec, fields, types, provider))
    withheld = withheld_from(provider, capabilities, desired)
    return TargetPlan(
        target, provider, tuple(changes), unchanged, tuple(warnings), withheld=withheld
    )


def withheld_from(
    provider: str, capabilities: Capabilities, desired: Sequence[UserSpec]
) -> tuple[Withheld, ...]:
    """What of the declarations ``desired`` a target of kind ``provider`` cannot hold."""
    found = []
    if not capabilities.companies:
        count = sum(1 for user in desired if user.companies or user.memberships)
        if count:
            reason = f"{provider} has no companies"
            found.append(Withheld("companies and memberships", count, reason))
    if not capabilities.events:
        count = sum(1 for user in desired if user.events)
        if count:
            found.append(Withheld("events", count, f"{provider} keeps no event history"))
    return tuple(found)


def live_fingerprint(live: LiveUser | None) -> str:
    """A digest of everything the target shows about a user that prune would delete.

    Unlike ``fingerprint`` this covers undeclared values too (every one of them is destroyed),
    so a saved plan refuses to delete a user that changed in any way since it was reviewed;
    even one that was merely active, which is exactly when a second look is due.
    """
    if live is None:
        whole: dict[str, object] = {"absent": True}
    else:
        whole = {
            "email": live.email,
            "attributes": dict(live.attributes),
            "events": {n: [s.count, s.first, s.latest] for n, s in live.events.items()},
            "companies": {cid: dict(attrs) for cid, attrs in live.companies.items()},
            "memberships": {
                cid: [dict(m.company.attributes), dict(m.attributes)]
                for cid, m in live.memberships.items()
            },
        }
    canonical = json.dumps(
        whole, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def plan_deletions(
    target: str, listed: Iterable[LiveUser], declared: Iterable[UserSpec]
) -> tuple[UserDeletion, ...]:
    """The listed live users that no file declares *for this target*, sorted by id.

    ``declared`` must be every declaration, not a --user selection: a partial view cannot
    tell what is undeclared. A user declared with ``targets:`` that leave ``target`` out is
    deleted here too, because ``targets:`` says exactly where a user lives; its deletion
    carries a note so that the reviewer sees why.
    """
    everywhere = {spec.id: spec for spec in declared}
    here = {spec.id for spec in targets_users(everywhere.values(), target)}
    deletions = []
    for live in sorted(listed, key=lambda user: user.id):
        if live.id in here:
            continue
        spec = everywhere.get(live.id)
        note = None
        if spec is not None and spec.targets is not None:
            plural = "s" if len(spec.targets) != 1 else ""
            note = f"declared only for target{plural} {', '.join(spec.targets)}"
        deletions.append(UserDeletion(live.id, live_fingerprint(live), live.email, note))
    return tuple(deletions)


def unapplied(
    spec: UserSpec, live_after: LiveUser | None, capabilities: Capabilities
) -> tuple[FieldChange, ...] | None:
    """What did not stick after apply: re-plan the user against what the target now shows.

    Usertour silently drops a value whose type differs from the attribute's existing type;
    this is how we notice (SPEC section 3, "read back what was written"). Returns None when the
    user is not visible at all, else the field changes still pending (empty: all stuck).
    """
    if live_after is None:
        return None
    if not live_after.shows_companies:
        # An answer that does not show companies cannot prove them absent: verify what it
        # shows. Whoever sent companies reads the user back (expanded) instead.
        spec = dataclasses.replace(spec, companies=(), memberships=())
    change, _ = diff_user(spec, live_after, capabilities)
    return change.fields if change is not None else ()
