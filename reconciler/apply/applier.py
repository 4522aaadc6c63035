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

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from reconciler.apply.evidence import Guard, send_guarded
from reconciler.apply.lostwrite import send_user
from reconciler.apply.verify import verify
from reconciler.concurrency import fan_out_until
from reconciler.errors import NotSent, OutcomeUnknown, ReconcilerError
from reconciler.model import (
    ApplyReport,
    LiveUser,
    TargetPlan,
    UserChange,
    UserDeletion,
    UserOutcome,
    UserSpec,
)
from reconciler.plan.guards import CheckedPlan
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


def apply_plan(
    checked: CheckedPlan,
    users: Sequence[UserSpec],
    providers: Mapping[str, Provider],
    wait: float | None,
    stop: threading.Event | None = None,
    steps: StepFactory = Quiet,
    guards: Mapping[str, Guard] | None = None,
) -> ApplyReport:
    """Send every action of a plan that passed its guards (``guards.check``), and verify it.

    ``users``: the declarations the plan was made from (verification compares with them).
    ``wait``: seconds to poll eventually consistent targets until they show the plan (None: no
    wait, so the applied values are not verified there). ``stop``: once set, nothing new is
    sent; requests in flight get ``GRACE`` seconds and the rest is reported as not sent.
    ``guards``: per target, its write-ahead record (evidence.py); targets without one (read
    at once after a write) need none.
    """
    specs = {user.id: user for user in users}
    stop = stop or threading.Event()
    outcomes: list[UserOutcome] = []
    durations: dict[str, float] = {}
    for target_plan in checked.plan.targets:
        provider = providers[target_plan.target]
        guard = (guards or {}).get(target_plan.target)
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
        for user_id, events in target_plan.seen:
            guard.journal.clear(user_id, events)

    def send(change: UserChange) -> LiveUser | UserOutcome | None:
        if stop.is_set():
            return UserOutcome(target, change.user_id, "skipped", message=NOT_SENT)
        return _send_one(provider, change, specs[change.user_id], wait, guard)

    changes = target_plan.changes
    unfinished = _in_flight(target)
    results = fan_out_until(send, changes, provider.parallelism, stop, GRACE, unfinished, progress)
    sent = {change.user_id: result for change, result in zip(changes, results, strict=True)}
    outcomes = {uid: result for uid, result in sent.items() if isinstance(result, UserOutcome)}
    answers = {uid: result for uid, result in sent.items() if not isinstance(result, UserOutcome)}
    pending = [uid for uid in target_plan.pending if uid not in sent and uid in specs]
    answers.update((uid, None) for uid in pending)
    # Interrupted: report what is known now rather than wait for Sprig to catch up.
    outcomes.update(verify(target, provider, specs, answers, wait, stop.is_set()))
    if guard is not None:
        _clear_seen(guard, outcomes.values())
    return [outcomes[change.user_id] for change in changes] + [outcomes[uid] for uid in pending]


def _send_one(
    provider: Provider,
    change: UserChange,
    spec: UserSpec,
    wait: float | None,
    guard: Guard | None,
) -> LiveUser | UserOutcome | None:
    """One user's write and its outcome when it did not end with an answer. Whatever goes
    wrong with one user is that user's outcome: the run goes on and ends with its report."""
    target = provider.target
    try:
        if guard is None:
            return send_user(provider, change, wait)
        return send_guarded(provider, change, spec, wait, guard)
    except OutcomeUnknown as error:
        return UserOutcome(target, change.user_id, "unconfirmed", message=str(error))
    except NotSent:
        return UserOutcome(target, change.user_id, "skipped", message=NOT_SENT)
    except ReconcilerError as error:
        return UserOutcome(target, change.user_id, "failed", message=str(error))
    except Exception as error:  # a bug, or something below that no boundary mapped
        log.debug("user %s: unexpected error", change.user_id, exc_info=True)
        message = f"unexpected error ({type(error).__name__}); run with -v for details"
        return UserOutcome(target, change.user_id, "failed", message=message)


def _in_flight(target: str) -> Callable[[UserChange], UserOutcome]:
    def unfinished(change: UserChange) -> UserOutcome:
        return UserOutcome(target, change.user_id, "unconfirmed", message=IN_FLIGHT)

    return unfinished


def _clear_seen(guard: Guard, outcomes: Iterable[UserOutcome]) -> None:
    """Verified users show every declared event: their writes are no longer in flight."""
    for outcome in outcomes:
        if outcome.status == "applied":
            guard.journal.clear(outcome.user_id)


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
