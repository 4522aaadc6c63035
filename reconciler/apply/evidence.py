"""Exactly once across runs: a user's events are sent only with evidence that no earlier write
of them is still on its way, and every write that carries events is recorded before it leaves.

The evidence, in the order apply looks for it (the README's "Exactly once" says the same):

1. The write-ahead record (load/journal.py) speaks for every write reconciler made to the
   target since it was started. Once it is older than the target's settle time
   (``ProviderKind.settles_within``: Sprig shows every accepted write within it), any write from
   before it shows by now, so the live read is the whole truth but for the writes the record
   lists, which the plan holds back (plan/inflight.py). This is the normal case: no request
   beyond the upsert itself.
2. A barrier: Sprig applies the writes of one user in arrival order, each whole. A write sent
   now that changes what the user shows (a field the read does not show: the user itself, the
   email, one attribute) proves, once it shows, that every earlier write of that user shows
   too. Then the user's events are read again and only the ones still missing are sent. The
   barrier is recorded (its digest) before it leaves, so a later run that sees it shows needs
   no second one. Cost: one more POST and the reads until it shows, per user with events.
3. ``--assume-settled``: the operator says no earlier apply can still have writes on their way.

Without any of these (a fresh machine or a lost CI cache, an events-only change of a user who
shows every declared field, or a barrier that does not show within --wait, a minute at least)
the events are held: not sent, reported as "held" with what evidence is missing and what to do
(exit 5).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.apply.lostwrite import Delivery, barriers, send_whole, send_write, shows
from reconciler.apply.polling import polls
from reconciler.errors import OutcomeUnknown, ReconcilerError
from reconciler.load.journal import Journal, utc
from reconciler.model import LiveUser, Upsert, UserSpec, upsert_to_json
from reconciler.plan.planner import diff_user
from reconciler.planned import UserChange, UserOutcome
from reconciler.providers.base import Provider

#: Seconds a run waits at least for its barriers to show (see ``barrier_wait``).
BARRIER_WAIT = 60.0


@dataclass(frozen=True, slots=True)
class Guard:
    """A target's write-ahead record for one run, and whether it speaks for every write."""

    journal: Journal
    #: The record is older than the settle time, or the operator said --assume-settled.
    covered: bool
    #: Seconds within which the target shows what it accepted (for the messages).
    settle: float


def digest(barrier: Upsert) -> str:
    """What the record keeps of a barrier: a digest of its one field and value (the value
    itself is never written to the record)."""
    body = json.dumps(upsert_to_json(barrier), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Waiting:
    """A user whose barrier was sent: its events wait until the barrier shows."""

    change: UserChange
    spec: UserSpec
    barrier: Upsert


#: What becomes of a user that needed evidence: a change to send (recorded), None (nothing
#: left: read it back), a barrier to wait for, or its outcome (held).
Prepared = UserChange | Waiting | UserOutcome | None


def needs_evidence(change: UserChange, guard: Guard) -> bool:
    """Whether the change carries events that no record speaks for yet."""
    return bool(change.upsert.events) and not (
        guard.covered or guard.journal.proved(change.user_id)
    )


def prepare(provider: Provider, change: UserChange, spec: UserSpec, guard: Guard) -> Prepared:
    """Look for evidence for one user: read it; its events show already, or a barrier an
    earlier run sent shows (proved); else send the next barrier (recorded first) to wait for.
    ``spec``: the user as declared (what is left to send is planned again against the read)."""
    journal = guard.journal
    upsert = change.upsert
    live = provider.read_users([upsert.user_id]).get(upsert.user_id)
    rest = _still_to_send(change, spec, live, provider)
    if rest is None or not rest.upsert.events:
        # Its events show already (an earlier write arrived since the plan read): what is
        # left merges, so no proof is needed to send it.
        return rest
    if _barrier_shows(journal, upsert, live, provider):
        journal.prove(upsert.user_id)
        return rest
    barrier = next((b for b in barriers(upsert) if not shows(b, live, provider)), None)
    if barrier is None:
        return _held(provider, upsert, guard, "no field is left to send as a barrier")
    journal.sent_barrier(upsert.user_id, digest(barrier))
    send_write(provider, barrier)
    return Waiting(rest, spec, barrier)


def barrier_wait(wait: float | None) -> float:
    """Seconds to wait for barriers to show: ``--wait``, but at least ``BARRIER_WAIT``.

    The barrier is a precondition for sending the events, not the verification that --wait
    (or --no-wait) is about: a short wait would hold every user's events on a first run, and
    the run after it would hold them again, so they would never be sent. The wait ends as soon
    as every barrier shows (within Sprig's lag, seconds)."""
    return max(wait or 0.0, BARRIER_WAIT)


def await_barriers(
    provider: Provider, waiting: Sequence[Waiting], wait: float | None, guard: Guard
) -> dict[str, Prepared]:
    """Read the users whose barriers were sent, all together, until each barrier shows (the
    user is proved: its change is planned again against that read) or ``barrier_wait(wait)``
    runs out (held). One read per user per poll, however many users wait."""
    left = {item.change.user_id: item for item in waiting}
    ready: dict[str, Prepared] = {}
    wait = barrier_wait(wait)
    for _ in polls(wait, provider.stopping, provider.clock):
        live = provider.read_users(list(left))
        for user_id, item in list(left.items()):
            user = live.get(user_id)
            if shows(item.barrier, user, provider):
                guard.journal.prove(user_id)
                ready[user_id] = _still_to_send(item.change, item.spec, user, provider)
                del left[user_id]
        if not left:
            break
    why = f"its barrier did not show within {wait:g}s"
    for user_id, item in left.items():
        ready[user_id] = _held(provider, item.change.upsert, guard, why)
    return ready


def send_recorded(
    provider: Provider, change: UserChange, wait: float | None, journal: Journal
) -> Delivery:
    """``send_whole`` with its events recorded before they leave; cleared again when the write
    surely was not processed (refused, not sent), kept when its outcome is unknown."""
    events = change.upsert.events
    journal.sending(change.user_id, events)
    try:
        return send_whole(provider, change, wait)
    except OutcomeUnknown:
        raise
    except ReconcilerError:
        journal.clear(change.user_id, events)
        raise


def _barrier_shows(
    journal: Journal, upsert: Upsert, live: LiveUser | None, provider: Provider
) -> bool:
    """Whether a barrier an earlier run sent (and recorded) for this user shows now."""
    sent = journal.barrier(upsert.user_id)
    if sent is None:
        return False
    return any(digest(b) == sent[0] and shows(b, live, provider) for b in barriers(upsert))


def _still_to_send(
    change: UserChange, spec: UserSpec, live: LiveUser | None, provider: Provider
) -> UserChange | None:
    """The change planned again against ``live`` (the read that proved the user): only what
    does not show yet, and of the events only those the plan sends (it held the pending ones).
    None when nothing is left."""
    again, _ = diff_user(spec, live, provider.capabilities)
    if again is None:
        return None
    planned = set(change.upsert.events)
    events = tuple(e for e in again.upsert.events if e in planned)
    upsert = dataclasses.replace(again.upsert, events=events)
    if upsert == Upsert(upsert.user_id) and again.action == "update":
        return None
    return dataclasses.replace(again, upsert=upsert)


def _held(provider: Provider, upsert: Upsert, guard: Guard, why: str) -> UserOutcome:
    """The user's outcome when its events are held: what evidence is missing, what to do."""
    started = guard.journal.started
    since = f"started {utc(started)}" if started is not None else "none yet"
    ready = utc(started + guard.settle) if started is not None else "an hour"
    message = (
        f"events held back: no write-ahead record covers its earlier writes ({since}) and "
        f"{why}; run apply again after {ready}, restore .reconciler/ from the last apply, or "
        "pass --assume-settled (README: Exactly once)"
    )
    return UserOutcome(provider.target, upsert.user_id, "held", message=message)
