"""Writes in flight (the write-ahead record) applied to a target's plan: their events are held.

Pure. An earlier apply sent events that the read does not show yet: resending them could record
them twice (Sprig never deletes an event), so the plan sends none of that name for the user
(a newer event of the same name would hide the loss of an older one, since events compare by
their latest timestamp), says why in a warning on the user, and lists the user as pending. The
rest of the user's change (fields that merge) is planned as usual. Writes the read now shows
are listed as seen, for apply to clear.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence

from reconciler.load.journal import InFlight, visible
from reconciler.model import Event, LiveUser
from reconciler.planned import PlanWarning, TargetPlan, UserChange

#: The warning on a pending user, after what was sent when and by which run.
PENDING = "not visible yet; its events are not sent again until they show"


def hold_pending(
    target_plan: TargetPlan,
    inflight: Mapping[str, Sequence[InFlight]],
    live: Mapping[str, LiveUser],
    read: Collection[str],
) -> TargetPlan:
    """``target_plan`` with the events of writes in flight held back; ``read``: the users
    the plan read (records of other users are left as they are)."""
    held: dict[str, set[str]] = {}
    warnings: list[PlanWarning] = []
    seen: list[tuple[str, tuple[Event, ...]]] = []
    for user_id in sorted(set(inflight) & set(read)):
        user = live.get(user_id)
        shown = tuple(e for r in inflight[user_id] for e in r.events if visible(e, user))
        if shown:
            seen.append((user_id, shown))
        for record in inflight[user_id]:
            waiting = [e for e in record.events if not visible(e, user)]
            if waiting:
                held.setdefault(user_id, set()).update(e.name for e in waiting)
                kept = dataclasses.replace(record, events=tuple(waiting))
                warnings.append(PlanWarning(user_id, f"events {kept.describe()}: {PENDING}"))
    if not held and not seen:
        return target_plan
    changes = []
    unchanged = target_plan.unchanged
    for change in target_plan.changes:
        kept_change = _without(change, held.get(change.user_id, set()))
        if kept_change is None:
            unchanged += 1
        else:
            changes.append(kept_change)
    return dataclasses.replace(
        target_plan,
        changes=tuple(changes),
        unchanged=unchanged,
        warnings=tuple(sorted((*target_plan.warnings, *warnings), key=_warning_order)),
        pending=tuple(sorted(held)),
        seen=tuple(seen),
    )


def _warning_order(warning: PlanWarning) -> str:
    return warning.user_id


def _without(change: UserChange, names: set[str]) -> UserChange | None:
    """The change without events of ``names``; None when nothing is left of it."""
    if not names or not any(e.name in names for e in change.upsert.events):
        return change
    events = tuple(e for e in change.upsert.events if e.name not in names)
    fields = tuple(
        f
        for f in change.fields
        if f.path != ("events",) or (f.summary or "").rsplit(" x", 1)[0] not in names
    )
    if not fields:
        return None
    upsert = dataclasses.replace(change.upsert, events=events)
    return dataclasses.replace(change, fields=fields, upsert=upsert)
