"""Plan -> requests: every action of a checked plan sent, target by target, and its outcome.

A target's actions are its upserts and, when pruned, its deletions: each sent concurrently
(concurrency.fan_out, up to the target's parallelism), each with its own outcome. A failure
of one user never stops the others; every outcome is reported (SPEC section 6). The upserts
are verified (verify.py) before the deletions go out; a lost answer is lostwrite.py's job, so
no event is ever recorded twice. Deleting is verified by the answer itself: Usertour answers 200
once the user is gone, the sandbox deletes in a transaction, and "not found" means it was gone
already (a DELETE whose answer was lost is simply sent again by the client).

On a target with a write-ahead record (``guards``: Sprig), a user's events leave only with
evidence that they are not on their way already (evidence.py), and the record is cleared as
verification sees them. Once ``stop`` is set (SIGINT, SIGTERM) nothing new starts, requests in
flight get ``GRACE`` seconds, and what was sent but not seen is reported so, never as applied.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from reconciler.apply.evidence import (
    Guard,
    Prepared,
    Waiting,
    await_barriers,
    needs_evidence,
    prepare,
    send_recorded,
)
from reconciler.apply.lostwrite import OUTCOME_UNKNOWN, Delivery, send_whole
from reconciler.apply.verify import user_outcome, verify
from reconciler.concurrency import fan_out_until
from reconciler.errors import LostAnswer, NotSent, OutcomeUnknown, ReconcilerError
from reconciler.mapping import NO_MAPPING, TargetMapping, map_user
from reconciler.model import LiveUser, UserSpec
from reconciler.plan.blind import to_send as still_needed
from reconciler.plan.guards import CheckedPlan
from reconciler.planned import ApplyReport, TargetPlan, UserChange, UserDeletion, UserOutcome
from reconciler.progress import Quiet, StepFactory
from reconciler.providers.base import Provider

#: Why an action was not sent once ``stop`` was set (Ctrl-C, SIGTERM).
NOT_SENT = "not sent: apply was interrupted; run apply again"
NOT_DELETED = "not deleted: apply was interrupted; run apply again"
#: A request still in flight when the run stopped waiting for it.
IN_FLIGHT = (
    "outcome unknown: apply was interrupted while its request was in flight; "
    "run plan later (its events are recorded as in flight, never sent twice)"
)
#: Seconds requests in flight get once the run is interrupted (CI kills 10 s after SIGINT).
GRACE = 2.0

log = logging.getLogger("reconciler.apply")
R = TypeVar("R")


def apply_plan(
    checked: CheckedPlan,
    users: Sequence[UserSpec],
    providers: Mapping[str, Provider],
    wait: float | None,
    stop: threading.Event | None = None,
    steps: StepFactory = Quiet,
    guards: Mapping[str, Guard] | None = None,
    mappings: Mapping[str, TargetMapping] | None = None,
) -> ApplyReport:
    """Send every action of a plan that passed its guards (``guards.check``), and verify it.

    ``users``: the declarations the plan was made from (verification compares with them).
    ``wait``: seconds to poll eventually consistent targets until they show the plan (None: no
    wait, so the applied values are not verified there). ``stop``: once set, nothing new is
    sent; requests in flight get ``GRACE`` seconds and the rest is reported as not sent.
    ``guards``: per target, its write-ahead record (evidence.py); targets without one (read
    at once after a write) need none. ``mappings``: each target's ``mapping:``, so that
    verification compares the values that were sent there.
    """
    stop = stop or threading.Event()
    outcomes: list[UserOutcome] = []
    durations: dict[str, float] = {}
    for target_plan in checked.plan.targets:
        provider = providers[target_plan.target]
        guard = (guards or {}).get(target_plan.target)
        mapping = (mappings or {}).get(target_plan.target, NO_MAPPING)
        specs = {user.id: map_user(user, mapping) for user in users}
        sending = steps(f"{target_plan.target}: applying", len(target_plan.changes))
        outcomes.extend(
            upsert_target(target_plan, provider, specs, wait, stop, sending.advance, guard)
        )
        durations[target_plan.target] = sending.close()
        if target_plan.deletions:
            deleting = steps(f"{target_plan.target}: deleting", len(target_plan.deletions))
            outcomes.extend(delete_target(target_plan, provider, stop, deleting.advance))
            durations[target_plan.target] += deleting.close()
    return ApplyReport(tuple(outcomes), durations)


def upsert_target(
    target_plan: TargetPlan,
    provider: Provider,
    specs: Mapping[str, UserSpec],
    wait: float | None,
    stop: threading.Event,
    progress: Callable[[int], None] | None = None,
    guard: Guard | None = None,
) -> list[UserOutcome]:
    """Send the upserts of one target concurrently, then check what the target shows.

    Users whose only change is pending (an earlier run's writes, not visible yet) are read
    back too: shown, their record is cleared; still not, they stay "not visible yet".
    """
    target = target_plan.target
    if guard is not None:
        guard.journal.clear_all(target_plan.seen)

    changes = target_plan.changes
    to_send: Sequence[UserChange] = changes
    decided: dict[str, LiveUser | UserOutcome | None] = {}
    if guard is not None:
        to_send, decided = _gather_evidence(changes, provider, specs, stop, (wait, guard))
    sending = _Sending(target_plan, provider, specs, wait, stop, guard)
    unfinished = _in_flight(target)
    results = fan_out_until(
        sending.send, to_send, provider.parallelism, stop, GRACE, unfinished, progress
    )
    sent = dict(decided)
    sent.update((change.user_id, result) for change, result in zip(to_send, results, strict=True))
    outcomes = {uid: result for uid, result in sent.items() if isinstance(result, UserOutcome)}
    answers = {uid: result for uid, result in sent.items() if not isinstance(result, UserOutcome)}
    pending = [uid for uid in target_plan.pending if uid not in sent and uid in specs]
    answers.update((uid, None) for uid in pending)
    # Interrupted: report what is known now rather than wait for Sprig to catch up.
    outcomes.update(verify(target, provider, specs, answers, wait, stop.is_set(), sending.whole))
    outcomes.update(sending.unknown(outcomes))
    if guard is not None and not (provider.eventually_consistent and wait is None):
        _clear_seen(guard, outcomes.values())  # only what a read showed (not --no-wait's trust)
    return [outcomes[change.user_id] for change in changes] + [outcomes[uid] for uid in pending]


@dataclass(slots=True)
class _Sending:
    """One target's upserts going out, and what verification must know of how they went."""

    target_plan: TargetPlan
    provider: Provider
    #: What each user declares: an answer is checked against it as it comes (see ``send``).
    specs: Mapping[str, UserSpec]
    wait: float | None
    stop: threading.Event
    guard: Guard | None
    #: The changes that went out as one write answered at once (verify.py: "not kept").
    whole: dict[str, UserChange] = field(default_factory=dict)
    #: Users whose last write's answers were all lost (fields only): the last lost answer.
    unanswered: dict[str, LostAnswer] = field(default_factory=dict)

    def send(self, change: UserChange) -> LiveUser | UserOutcome | None:
        target = self.target_plan.target
        if self.stop.is_set():
            return UserOutcome(target, change.user_id, "skipped", message=NOT_SENT)
        # Values compared at apply that the target holds already are not sent (plan/blind.py).
        needed = still_needed(change.upsert, change.unsent)
        if needed is None:
            return UserOutcome(target, change.user_id, "applied")
        sent = dataclasses.replace(change, upsert=needed)
        answer, delivery = _send_one(self.provider, sent, self.wait, self.guard)
        if delivery is not None and delivery.unanswered is not None:
            self.unanswered[change.user_id] = delivery.unanswered
        elif delivery is not None and delivery.at_once and sent == change:
            _whole_unless_pending(self.whole, change, self.target_plan.pending)
        if isinstance(answer, LiveUser):
            # Checked now, as verify() would check it later: kept until then, the answers
            # were a second copy of every user sent (100,000 users: ~100 MB).
            return user_outcome(target, self.specs[change.user_id], answer, self.provider)
        return answer

    def unknown(self, outcomes: Mapping[str, UserOutcome]) -> dict[str, UserOutcome]:
        """Users whose every answer was lost and whom no read showed as planned. Where a read
        is the whole truth (Usertour, the sandbox), the server refused every attempt: failed,
        in its words. Where it applies later (Sprig), the outcome is unknown: never "not
        visible yet", nor "applied" on --no-wait's trust."""
        target = self.target_plan.target
        if not self.provider.eventually_consistent:
            return {
                user_id: UserOutcome(target, user_id, "failed", message=_refused(lost))
                for user_id, lost in self.unanswered.items()
                if outcomes[user_id].status != "applied"
            }
        trusted = self.wait is None
        return {
            user_id: UserOutcome(
                target, user_id, "unconfirmed", message=f"{OUTCOME_UNKNOWN} ({lost})"
            )
            for user_id, lost in self.unanswered.items()
            if outcomes[user_id].status == "not_visible"
            or (trusted and outcomes[user_id].status == "applied")
        }


def _refused(lost: LostAnswer) -> str:
    """A write every attempt of which the server answered with an error, and which a read
    shows it did not keep: refused by the server, whatever the status said."""
    return f"refused by the server: every attempt failed and the user does not show it ({lost})"


def _whole_unless_pending(
    whole: dict[str, UserChange], change: UserChange, pending: Sequence[str]
) -> None:
    """Keep ``change`` as one whole write, unless an earlier run's write of the user is still
    on its way (its events would make the user show in part)."""
    if change.user_id not in pending:
        whole[change.user_id] = change


def _send_one(
    provider: Provider, change: UserChange, wait: float | None, guard: Guard | None
) -> tuple[LiveUser | UserOutcome | None, Delivery | None]:
    """One user's write and its outcome when it did not end with an answer, and how it went
    out (None: it raised). Whatever goes wrong with one user is that user's outcome: the run
    goes on and ends with its report."""
    delivered: list[Delivery] = []

    def step() -> LiveUser | None:
        if guard is not None and change.upsert.events:
            delivered.append(send_recorded(provider, change, wait, guard.journal))
        else:
            delivered.append(send_whole(provider, change, wait))
        return delivered[0].answer

    result = _outcome_of(provider, change.user_id, step)
    return result, (delivered[0] if delivered else None)


def _outcome_of(provider: Provider, user_id: str, step: Callable[[], R]) -> R | UserOutcome:
    """``step()``, or the user's outcome when it raised: every error is that user's alone."""
    target = provider.target
    try:
        return step()
    except OutcomeUnknown as error:
        return UserOutcome(target, user_id, "unconfirmed", message=str(error))
    except NotSent:
        return UserOutcome(target, user_id, "skipped", message=NOT_SENT)
    except ReconcilerError as error:
        return UserOutcome(target, user_id, "failed", message=str(error))
    except Exception as error:  # a bug, or something below that no boundary mapped
        log.debug("user %s: unexpected error", user_id, exc_info=True)
        message = f"unexpected error ({type(error).__name__}); run with -v for details"
        return UserOutcome(target, user_id, "failed", message=message)


def _gather_evidence(
    changes: Sequence[UserChange],
    provider: Provider,
    specs: Mapping[str, UserSpec],
    stop: threading.Event,
    waiting_for: tuple[float | None, Guard],
) -> tuple[list[UserChange], dict[str, LiveUser | UserOutcome | None]]:
    """The changes to send once the users no record covers have their evidence (evidence.py):
    barriers sent together, then read together until they show. Returns the changes to send
    and what became of the others (held, failed, or None: nothing left, read back)."""
    wait, guard = waiting_for
    unproven = [change for change in changes if needs_evidence(change, guard)]
    if not unproven:
        return list(changes), {}

    def look(change: UserChange) -> Prepared:
        if stop.is_set():
            return UserOutcome(provider.target, change.user_id, "skipped", message=NOT_SENT)
        spec = specs[change.user_id]
        return _outcome_of(provider, change.user_id, lambda: prepare(provider, change, spec, guard))

    def not_looked(change: UserChange) -> Prepared:
        return UserOutcome(provider.target, change.user_id, "skipped", message=NOT_SENT)

    found = fan_out_until(look, unproven, provider.parallelism, stop, GRACE, not_looked)
    results = {change.user_id: result for change, result in zip(unproven, found, strict=True)}
    waiting = [result for result in found if isinstance(result, Waiting)]
    if waiting:
        results.update(_awaited(provider, waiting, wait, guard, stop))
    ready = [r for r in results.values() if isinstance(r, UserChange)]
    decided: dict[str, LiveUser | UserOutcome | None] = {
        uid: r for uid, r in results.items() if r is None or isinstance(r, UserOutcome)
    }
    proven = {change.user_id for change in unproven}
    return [c for c in changes if c.user_id not in proven] + ready, decided


def _awaited(
    provider: Provider,
    waiting: Sequence[Waiting],
    wait: float | None,
    guard: Guard,
    stop: threading.Event,
) -> dict[str, Prepared]:
    """The users whose barriers were sent, once they show (or not within the wait)."""
    if stop.is_set():
        return {
            w.change.user_id: UserOutcome(
                provider.target, w.change.user_id, "skipped", message=NOT_SENT
            )
            for w in waiting
        }
    try:
        return await_barriers(provider, waiting, wait, guard)
    except ReconcilerError as error:
        return {
            w.change.user_id: UserOutcome(
                provider.target, w.change.user_id, "failed", message=str(error)
            )
            for w in waiting
        }


def _in_flight(target: str) -> Callable[[UserChange], UserOutcome]:
    def unfinished(change: UserChange) -> UserOutcome:
        return UserOutcome(target, change.user_id, "unconfirmed", message=IN_FLIGHT)

    return unfinished


def _clear_seen(guard: Guard, outcomes: Iterable[UserOutcome]) -> None:
    """Verified users show every declared event: their writes are no longer in flight. One
    fsync for them all: a clear lost to a crash errs on the side of "in flight"."""
    guard.journal.clear_all((o.user_id, None) for o in outcomes if o.status == "applied")


def delete_target(
    target_plan: TargetPlan,
    provider: Provider,
    stop: threading.Event,
    progress: Callable[[int], None] | None = None,
) -> list[UserOutcome]:
    """Delete the planned users of one target concurrently (``--prune``)."""
    target = target_plan.target

    def delete(deletion: UserDeletion) -> UserOutcome:
        if stop.is_set():
            return UserOutcome(target, deletion.user_id, "skipped", message=NOT_DELETED)
        try:
            existed = provider.delete_user(deletion.user_id)
        except NotSent:
            return UserOutcome(target, deletion.user_id, "skipped", message=NOT_DELETED)
        except ReconcilerError as error:
            return UserOutcome(target, deletion.user_id, "failed", message=f"not deleted: {error}")
        note = None if existed else "it was already gone"
        return UserOutcome(target, deletion.user_id, "deleted", message=note)

    def unfinished(deletion: UserDeletion) -> UserOutcome:
        message = "outcome unknown: apply was interrupted while its DELETE was in flight"
        return UserOutcome(target, deletion.user_id, "unconfirmed", message=message)

    return fan_out_until(
        delete, target_plan.deletions, provider.parallelism, stop, GRACE, unfinished, progress
    )
