"""One user's upsert, and what to do when its answer is lost: find out, then resend what is left.

Attributes, email and companies merge, so sending them twice is harmless; events add up, so an
upsert with events whose answer was lost (a 5xx, a timeout) is resent only with the events the
target proves it did not record. A strongly consistent target proves it with one read. On an
eventually consistent one (Sprig answers 202 and applies later), "not shown" may be "not shown
yet", so the proof is a barrier: a write sent after the lost one whose arrival can be seen.
The vendor applies the writes of one user in arrival order, each whole, so once the barrier
shows, the lost write, had it been accepted, would show its events too: if they are missing,
it was not, and they are resent in the same run (issue 14).

A barrier is seen only if it changes what the target shows, so each barrier is one declared
field the user does not show yet: the user itself (a create), the email, one attribute (in that
order, attributes by name). Each proves one lost answer, and the resend carries the fields
still unshown, so a user whose resend loses its answer too gets the next field as its next
barrier: a create with an email and two attributes survives four lost answers in a row.
When no barrier is left (an events-only change of an existing user; every field shown), after
a timeout (the first request may still be in flight and arrive after the barrier), or with no
wait to see it in, the reads are polled until the wait runs out and the outcome stays unknown:
no event is ever recorded twice. A wait that merely ran out is never taken as proof: a lagging
target may still apply the write (tests/e2e/test_resilience.py, the lagging-target test).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from reconciler.apply.polling import polls
from reconciler.errors import LostAnswer, OutcomeUnknown, ReconcilerError
from reconciler.escape import printable
from reconciler.model import Event, LiveUser, Upsert, UserSpec
from reconciler.plan.planner import unapplied
from reconciler.planned import UserChange
from reconciler.providers.base import Provider
from reconciler.retry import Attempts

#: How a user whose upsert may or may not have been recorded is reported (never resent).
OUTCOME_UNKNOWN = "outcome unknown, re-run apply later"

log = logging.getLogger("reconciler.http")


@dataclass(frozen=True, slots=True)
class Delivery:
    """How one user's change went out: the target's answer (None: read it back), whether it
    went as one write answered at once, and why its outcome is unknown when every answer of
    its last write was lost (fields that merge, left for verification to find)."""

    answer: LiveUser | None
    at_once: bool
    unanswered: LostAnswer | None = None


def send_whole(provider: Provider, change: UserChange, wait: float | None) -> Delivery:
    """Upsert one user under one retry budget; after a lost answer, resend only what is left.
    Returns the target's answer (None: the caller reads the user back) and how it went.
    ``at_once`` (no lost answer, no resend): Sprig, which
    applies a write whole, then shows all of it or none, and verification may call a field
    that never shows while the rest does "not kept". ``unanswered``: the budget was spent
    with only fields left to send: if verification does not see them, the outcome is unknown,
    not "not visible yet" (and never "applied" on trust)."""
    upsert = change.upsert
    attempts = provider.retry.start(f"user {printable(upsert.user_id)}")

    def left(sent: Upsert, lost: LostAnswer) -> Upsert | None:
        return _still_to_send(provider, sent, wait, lost, attempts)

    def announce(rest: Upsert, sent: Upsert, lost: LostAnswer, delay: float) -> None:
        log.warning(
            "%s: the answer to user %s's upsert was lost (%s); resending %s in %.1fs",
            *(provider.target, printable(upsert.user_id), lost, _what(rest, sent), delay),
        )

    sent = resend(provider, upsert, attempts, left, announce)
    if sent.unsent is not None and sent.unsent.events:
        raise OutcomeUnknown(f"{OUTCOME_UNKNOWN} ({sent.lost})")
    # Nothing left, or only fields that merge: verification reads what stuck.
    return Delivery(sent.answer, not sent.resent, sent.lost if sent.unsent is not None else None)


@dataclass(frozen=True, slots=True)
class Sent:
    """How a write ended: answered (``answer``; None when the target answers without the
    user), nothing left to send, or its budget spent with ``unsent`` still to send."""

    answer: LiveUser | None = None
    unsent: Upsert | None = None
    #: The last lost answer, when ``unsent`` is left.
    lost: LostAnswer | None = None
    #: Whether an answer was lost on the way (what was answered is then a resend).
    resent: bool = False


def resend(
    provider: Provider,
    upsert: Upsert,
    attempts: Attempts,
    left: Callable[[Upsert, LostAnswer], Upsert | None],
    announce: Callable[[Upsert, Upsert, LostAnswer, float], None] | None = None,
) -> Sent:
    """The one resend policy, for upserts and barriers alike: send ``upsert``; after a lost
    answer, send what ``left(sent, lost)`` says is left (None: nothing) after the budget's next
    delay (retry.py), until one is answered or ``attempts`` is spent.

    ``announce(rest, sent, lost, delay)`` is told of each resend before its delay.
    """
    resent = False
    while True:
        try:
            return Sent(answer=provider.upsert(upsert, attempts), resent=resent)
        except LostAnswer as lost:
            resent = True
            rest = left(upsert, lost)
            if rest is None:
                return Sent(resent=True)
            delay = attempts.delay()
            if delay is None:
                return Sent(unsent=rest, lost=lost, resent=True)
            if announce is not None:
                announce(rest, upsert, lost, delay)
            if provider.stopping.wait(delay):
                return Sent(unsent=rest, lost=lost, resent=True)
            upsert = rest


def _what(left: Upsert, sent: Upsert) -> str:
    if len(left.events) == len(sent.events):
        return "it"
    already = len(sent.events) - len(left.events)
    return f"it without the {already} event{'s' if already != 1 else ''} already recorded"


def _still_to_send(
    provider: Provider,
    upsert: Upsert,
    wait: float | None,
    error: LostAnswer,
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
    barrier = _next_barrier(upsert, live, provider) if wait and error.answered else None
    if barrier is not None:
        _send_barrier(provider, barrier, attempts.label)
    return _poll(provider, upsert, barrier, wait or 0.0, error)


def _poll(
    provider: Provider,
    upsert: Upsert,
    barrier: Upsert | None,
    wait: float,
    error: LostAnswer,
) -> Upsert | None:
    """Read the user until the lost write's events show (it was applied: send the rest) or the
    barrier shows without them (it was refused: resend them); unknown when the wait runs out."""
    for _ in polls(wait, provider.stopping, provider.clock):
        live = _read(provider, upsert.user_id, error)
        left = _unrecorded(upsert, live)
        if not left:
            return _without_events(upsert)
        if barrier is not None and shows(barrier, live, provider):
            return dataclasses.replace(upsert, events=left)
    raise OutcomeUnknown(f"{OUTCOME_UNKNOWN} ({error})")


def _without_events(upsert: Upsert) -> Upsert | None:
    """The upsert's fields that merge (resending them is harmless), None when there are none."""
    rest = dataclasses.replace(upsert, events=())
    return rest if rest != Upsert(upsert.user_id) else None


def barriers(upsert: Upsert) -> Iterator[Upsert]:
    """Each declared field of ``upsert`` as a write of its own, in a fixed order: the user (an
    upsert of the id alone creates it), the email, then each attribute by name."""
    yield Upsert(upsert.user_id)
    if upsert.email is not None:
        yield Upsert(upsert.user_id, email=upsert.email)
    for name in sorted(upsert.attributes):
        yield Upsert(upsert.user_id, attributes={name: upsert.attributes[name]})


def _next_barrier(upsert: Upsert, live: LiveUser | None, provider: Provider) -> Upsert | None:
    """The first field the user does not show yet, whose arrival will be seen; None: all show."""
    return next((b for b in barriers(upsert) if not shows(b, live, provider)), None)


def send_write(provider: Provider, write: Upsert) -> None:
    """Send a write that merges (no events) until one is answered, within its own budget:
    sending it twice changes nothing. A refusal (4xx) raises, as for the upsert."""
    attempts = provider.retry.start(f"user {printable(write.user_id)}")
    resend(provider, write, attempts, lambda sent, lost: sent)


def _send_barrier(provider: Provider, barrier: Upsert, label: str) -> None:
    """Send the barrier after the lost write, until one is answered.

    It merges, so a barrier whose answer is lost too is sent again (within its budget); any
    one of them showing proves the order. A refusal (4xx) is the user's failure, as it would
    have been for the upsert. The barrier is a request of its own with a budget of its own:
    drawing it from the upsert's budget spent that on the proof, and at 30% injected failures
    about one user in 200 ran out of attempts after two lost answers and stayed unknown.
    """
    attempts = provider.retry.start(label)
    delay = attempts.delay()
    if delay is None or provider.stopping.wait(delay):
        return
    resend(provider, barrier, attempts, lambda sent, lost: sent)


def shows(barrier: Upsert, live: LiveUser | None, provider: Provider) -> bool:
    """Whether the target shows the barrier's one field (for the bare id: the user)."""
    if live is None:
        return False
    spec = UserSpec(barrier.user_id, email=barrier.email, attributes=dict(barrier.attributes))
    return unapplied(spec, live, provider.capabilities) == ()


def _read(provider: Provider, user_id: str, error: LostAnswer) -> LiveUser | None:
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
