"""One user's upsert, and what to do when its answer is lost: find out, then resend what is left.

Attributes, email and companies merge, so sending them twice is harmless; events add up, so an
upsert with events whose answer was lost (a 5xx, a timeout) is resent only with the events the
target proves it did not record. A strongly consistent target proves it with one read. On an
eventually consistent one (Sprig answers 202 and applies later), "not shown" may be "not shown
yet", so the proof is a barrier: the same upsert without its events is sent after the lost one.
The vendor applies the writes of one user in arrival order, each whole, so once the user shows
the upsert's other fields, the lost write, had it been accepted, would show its events too: if
they are missing, it was not, and they are resent in the same run (issue 14). When no barrier
can prove it (an events-only change of an existing user; a timeout, after which the first
request may still be in flight; no wait; or a user who shows the other fields already, as after
an earlier barrier), the reads are polled until the wait runs out and the outcome
stays unknown: no event is ever recorded twice.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import time

from reconciler.errors import LostAnswer as AmbiguousWrite
from reconciler.errors import ReconcilerError
from reconciler.escape import printable
from reconciler.model import Event, LiveUser, Upsert, UserChange, UserSpec
from reconciler.plan.planner import unapplied
from reconciler.providers.base import Provider
from reconciler.providers.retry import Attempts

#: Seconds between verification polls: short first (Sprig is often quick), then backing off.
POLL_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)
#: How a user whose upsert may or may not have been recorded is reported (never resent).
OUTCOME_UNKNOWN = "outcome unknown, re-run apply later"

log = logging.getLogger("reconciler.http")


class OutcomeUnknown(ReconcilerError):
    """A lost answer left it unknowable whether events were recorded: sending them again could
    record them twice, not sending them could lose them, so the user is left to a later run."""


def send_user(
    provider: Provider, change: UserChange, spec: UserSpec, wait: float | None
) -> LiveUser | None:
    """Upsert one user under one retry budget; after a lost answer, resend only what is left.

    Returns the target's answer, or None when the caller must read the user back.
    """
    upsert = change.upsert
    attempts = provider.retry.start(f"user {printable(upsert.user_id)}")
    while True:
        try:
            return provider.upsert(upsert, attempts)
        except AmbiguousWrite as error:
            lost = error
        left = _still_to_send(provider, change, spec, upsert, wait, lost, attempts)
        if left is None:
            return None
        delay = attempts.delay()
        if delay is None:
            if left.events:
                raise OutcomeUnknown(f"{OUTCOME_UNKNOWN} ({lost})")
            return None  # only fields that merge are left: verification reads what stuck
        log.warning(
            "%s: the answer to user %s's upsert was lost (%s); resending %s in %.1fs",
            *(provider.target, printable(upsert.user_id), lost, _what(left, upsert), delay),
        )
        time.sleep(delay)
        upsert = left


def _what(left: Upsert, sent: Upsert) -> str:
    if len(left.events) == len(sent.events):
        return "it"
    already = len(sent.events) - len(left.events)
    return f"it without the {already} event{'s' if already != 1 else ''} already recorded"


def _still_to_send(
    provider: Provider,
    change: UserChange,
    spec: UserSpec,
    upsert: Upsert,
    wait: float | None,
    error: AmbiguousWrite,
    attempts: Attempts,
) -> Upsert | None:
    """What of ``upsert`` is left to send after its answer was lost; None: nothing."""
    if not upsert.events:
        return upsert
    live = _read(provider, upsert.user_id, error)
    left = _unrecorded(upsert, live)
    if not left:
        return _without_events(upsert)
    if not provider.eventually_consistent:
        return dataclasses.replace(upsert, events=left)
    # A barrier proves the order only when its arrival can be seen: the user must not show the
    # rest already (after an earlier barrier it does, and a second lost write may still be
    # queued at the vendor: resending its events could record them twice), and there must be a
    # wait to see it in (--no-wait).
    provable = (
        bool(wait)
        and error.answered
        and _barrier_observable(change, upsert)
        and not _shows_rest(spec, live, provider)
    )
    if provable:
        _send_barrier(provider, upsert, attempts.label)
    deadline = time.monotonic() + (wait or 0.0)
    for attempt in itertools.count():
        if provable and _shows_rest(spec, live, provider):
            return dataclasses.replace(upsert, events=left)
        delay = POLL_DELAYS[min(attempt, len(POLL_DELAYS) - 1)]
        if time.monotonic() + delay > deadline:
            break
        time.sleep(delay)
        live = _read(provider, upsert.user_id, error)
        left = _unrecorded(upsert, live)
        if not left:
            return _without_events(upsert)
    raise OutcomeUnknown(f"{OUTCOME_UNKNOWN} ({error})")


def _without_events(upsert: Upsert) -> Upsert | None:
    """The upsert's fields that merge (resending them is harmless), None when there are none."""
    rest = dataclasses.replace(upsert, events=())
    return rest if rest != Upsert(upsert.user_id) else None


def _barrier_observable(change: UserChange, upsert: Upsert) -> bool:
    """Whether the barrier's arrival can be seen: it sets fields the user did not show at plan
    time, or it creates the user (who was absent)."""
    return change.action == "create" or _without_events(upsert) is not None


def _send_barrier(provider: Provider, upsert: Upsert, label: str) -> None:
    """Send the upsert without its events after the lost one, until one is answered.

    It merges, so a barrier whose answer is lost too is sent again (within its budget); any
    one of them showing proves the order. A refusal (4xx) is the user's failure, as it would
    have been for the upsert. The barrier is a request of its own with a budget of its own:
    drawing it from the upsert's budget spent that on the proof, and at 30% injected failures
    about one user in 200 ran out of attempts after two lost answers and stayed unknown.
    """
    barrier = dataclasses.replace(upsert, events=())
    attempts = provider.retry.start(label)
    while (delay := attempts.delay()) is not None:
        time.sleep(delay)
        try:
            provider.upsert(barrier, attempts)
            return
        except AmbiguousWrite:
            continue


def _shows_rest(spec: UserSpec, live: LiveUser | None, provider: Provider) -> bool:
    """The user shows every declared field but the events (so a later write was applied)."""
    without_events = dataclasses.replace(spec, events=())
    return unapplied(without_events, live, provider.capabilities) == ()


def _read(provider: Provider, user_id: str, error: AmbiguousWrite) -> LiveUser | None:
    try:
        return provider.read_users([user_id]).get(user_id)
    except ReconcilerError as read_error:
        raise OutcomeUnknown(f"{OUTCOME_UNKNOWN} ({error}; then {read_error})") from read_error


def _unrecorded(upsert: Upsert, live: LiveUser | None) -> tuple[Event, ...]:
    """The events of ``upsert`` the target does not show: newer than the latest per name."""
    recorded = live.events if live is not None else {}
    return tuple(
        event
        for event in upsert.events
        if event.name not in recorded or event.timestamp > recorded[event.name].latest
    )
