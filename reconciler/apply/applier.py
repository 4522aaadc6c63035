"""Plan -> requests: every action of a checked plan sent, target by target, and its outcome.

A target's actions are its upserts and, when pruned, its deletions: each sent concurrently
(concurrency.fan_out, up to the target's parallelism), each with its own outcome. A failure
of one user never stops the others; every outcome is reported (SPEC section 6). The upserts
are verified (verify.py) before the deletions go out; a lost answer is lostwrite.py's job, so
no event is ever recorded twice. Deleting is verified by the answer itself: Usertour answers 200
once the user is gone, the sandbox deletes in a transaction, and "not found" means it was gone
already (a DELETE whose answer was lost is simply sent again by the client).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from reconciler.apply.lostwrite import send_user
from reconciler.apply.verify import verify
from reconciler.concurrency import fan_out
from reconciler.errors import OutcomeUnknown, ReconcilerError
from reconciler.mapping import NO_MAPPING, TargetMapping, map_user
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


def apply_plan(
    checked: CheckedPlan,
    users: Sequence[UserSpec],
    providers: Mapping[str, Provider],
    wait: float | None,
    stop: threading.Event | None = None,
    steps: StepFactory = Quiet,
    mappings: Mapping[str, TargetMapping] | None = None,
) -> ApplyReport:
    """Send every action of a plan that passed its guards (``guards.check``), and verify it.

    ``users``: the declarations the plan was made from (verification compares with them).
    ``wait``: seconds to poll eventually consistent targets until they show the plan (None: no
    wait, so the applied values are not verified there). ``stop``: once set, nothing new is
    sent; requests in flight finish and the rest is reported as not sent. ``mappings``: each
    target's ``mapping:``, so that verification compares the values that were sent there.
    """
    stop = stop or threading.Event()
    outcomes: list[UserOutcome] = []
    durations: dict[str, float] = {}
    for target_plan in checked.plan.targets:
        provider = providers[target_plan.target]
        mapping = (mappings or {}).get(target_plan.target, NO_MAPPING)
        specs = {user.id: map_user(user, mapping) for user in users}
        sending = steps(f"{target_plan.target}: applying", len(target_plan.changes))
        outcomes.extend(upsert_target(target_plan, provider, specs, wait, stop, sending.advance))
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
) -> list[UserOutcome]:
    """Send the upserts of one target concurrently, then check what the target shows."""
    target = target_plan.target

    def send(change: UserChange) -> LiveUser | UserOutcome | None:
        if stop.is_set():
            return UserOutcome(target, change.user_id, "skipped", message=NOT_SENT)
        try:
            return send_user(provider, change, wait)
        except OutcomeUnknown as error:
            return UserOutcome(target, change.user_id, "unconfirmed", message=str(error))
        except ReconcilerError as error:
            return UserOutcome(target, change.user_id, "failed", message=str(error))

    changes = target_plan.changes
    results = fan_out(send, changes, provider.parallelism, progress)
    sent = {change.user_id: result for change, result in zip(changes, results, strict=True)}
    outcomes = {uid: result for uid, result in sent.items() if isinstance(result, UserOutcome)}
    answers = {uid: result for uid, result in sent.items() if not isinstance(result, UserOutcome)}
    # Interrupted: report what is known now rather than wait for Sprig to catch up.
    outcomes.update(verify(target, provider, specs, answers, None if stop.is_set() else wait))
    return [outcomes[change.user_id] for change in changes]


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
        except ReconcilerError as error:
            return UserOutcome(target, deletion.user_id, "failed", message=f"not deleted: {error}")
        note = None if existed else "it was already gone"
        return UserOutcome(target, deletion.user_id, "deleted", message=note)

    return fan_out(delete, target_plan.deletions, provider.parallelism, progress)
