"""Plan -> requests: the safety guard, one upsert per changed user, and read-back verification.

A failure of one user never stops the others; every outcome is reported (SPEC section 6).
After the upserts, each user is compared with what the target shows: Usertour answers with the
user (its answer is checked), Sprig applies later (reads are polled until they show the plan or
the wait runs out: "not visible yet", which is not "did not keep"). Lost answers are
lostwrite.py's job: no event is ever recorded twice.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from reconciler.apply.lostwrite import POLL_DELAYS, OutcomeUnknown, send_user
from reconciler.errors import ReconcilerError
from reconciler.model import (
    FieldChange,
    LiveUser,
    Plan,
    TargetPlan,
    UserChange,
    UserSpec,
)
from reconciler.plan import guards
from reconciler.plan.planner import unapplied
from reconciler.plan.typelock import DROPPED
from reconciler.providers.base import Provider

#: "deleted": a pruned user is gone (it answered 200, or was already gone).
#: "not_visible": sent and accepted, but an eventually consistent target (Sprig) did not show
#: it within --wait; not a refusal ("not_stuck" is a value the target did not keep).
Status = Literal[
    "applied", "deleted", "failed", "not_stuck", "unconfirmed", "not_visible", "skipped"
]
#: The statuses that are what the plan wanted; every other one is reported.
DONE: frozenset[Status] = frozenset({"applied", "deleted"})
#: The statuses that count as failed (exit 1); "not_visible" (exit 4) and "skipped" (not sent,
#: after Ctrl-C) are counted apart.
FAILED: frozenset[Status] = frozenset({"failed", "not_stuck", "unconfirmed"})

log = logging.getLogger("reconciler.http")


@dataclass(frozen=True, slots=True)
class UserOutcome:
    """What happened to one planned user on one target."""

    target: str
    user_id: str
    status: Status
    #: Why it failed (the target's own words), for ``failed`` and ``unconfirmed``.
    message: str | None = None
    #: The fields the target did not keep, for ``not_stuck``.
    not_stuck: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """Every outcome, in plan order (target, then user id)."""

    outcomes: tuple[UserOutcome, ...]
    #: Seconds spent per target (sending and verifying).
    durations: Mapping[str, float] = dataclasses.field(default_factory=dict)

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


def check_safety(plan: Plan, max_changes: int | None, max_change_ratio: float | None) -> None:
    """Refuse before anything is sent when the plan changes more users than allowed
    (guards.py holds the guards; plan forecasts the same refusals)."""
    guards.refuse(guards.change_refusals(plan, guards.Limits(max_changes, max_change_ratio)))


def apply_target(
    target_plan: TargetPlan,
    provider: Provider,
    specs: Mapping[str, UserSpec],
    wait: float | None,
    stop: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[UserOutcome]:
    """Send the changes of one target concurrently, then check what the target shows.

    ``wait``: seconds to poll an eventually consistent target; None skips the wait.
    ``stop``: once set (Ctrl-C, SIGTERM), nothing new is sent; requests in flight finish.
    """
    stop = stop or threading.Event()
    target = target_plan.target

    def send(change: UserChange) -> tuple[UserChange, LiveUser | UserOutcome | None]:
        if stop.is_set():
            message = "not sent: apply was interrupted; run apply again"
            return change, UserOutcome(target, change.user_id, "skipped", message=message)
        try:
            return change, send_user(provider, change, specs[change.user_id], wait)
        except OutcomeUnknown as error:
            return change, UserOutcome(target, change.user_id, "unconfirmed", message=str(error))
        except ReconcilerError as error:
            return change, _failed(target, change, str(error))
        finally:
            if progress is not None:
                progress(1)

    workers = max(1, min(provider.parallelism, len(target_plan.changes)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        sent = list(pool.map(send, target_plan.changes))
    outcomes = {c.user_id: r for c, r in sent if isinstance(r, UserOutcome)}
    answers = {c.user_id: r for c, r in sent if not isinstance(r, UserOutcome)}
    pending = {uid: specs[uid] for uid in answers}
    # Interrupted: report what is known now rather than wait for Sprig to catch up.
    verify_wait = None if stop.is_set() else wait
    verified = _verify(target, provider, pending, answers, verify_wait)
    outcomes.update(verified)
    return [outcomes[c.user_id] for c in target_plan.changes]


def _failed(target: str, change: UserChange, message: str) -> UserOutcome:
    return UserOutcome(target, change.user_id, "failed", message=message)


def _check(target: str, spec: UserSpec, live: LiveUser | None, provider: Provider) -> UserOutcome:
    remaining = unapplied(spec, live, provider.capabilities)
    if remaining is None:
        return UserOutcome(target, spec.id, "unconfirmed", message="not visible on the target")
    if remaining:
        # The usual cause on such a target; the plan's warnings name the type it holds.
        why = DROPPED if provider.capabilities.locks_types else None
        return UserOutcome(target, spec.id, "not_stuck", message=why, not_stuck=remaining)
    return UserOutcome(target, spec.id, "applied")


def _verify(
    target: str,
    provider: Provider,
    pending: dict[str, UserSpec],
    answers: Mapping[str, LiveUser | None],
    wait: float | None,
) -> dict[str, UserOutcome]:
    """Compare answers, then read back the rest; poll while an eventual target catches up."""
    results: dict[str, UserOutcome] = {}
    for user_id, answer in answers.items():
        if answer is not None:
            results[user_id] = _check(target, pending.pop(user_id), answer, provider)
    if provider.eventually_consistent and wait is None:
        for user_id in pending:
            results[user_id] = UserOutcome(target, user_id, "applied")
        return results
    budget = (wait or 0.0) if provider.eventually_consistent else 0.0
    deadline = time.monotonic() + budget
    attempt = 0
    while pending:
        try:
            live = provider.read_users(list(pending))
        except ReconcilerError as error:
            for user_id in pending:
                results[user_id] = UserOutcome(target, user_id, "unconfirmed", message=str(error))
            break
        last: dict[str, UserOutcome] = {}
        for user_id, spec in list(pending.items()):
            outcome = _check(target, spec, live.get(user_id), provider)
            if outcome.status == "applied":
                results[user_id] = outcome
                del pending[user_id]
            else:
                last[user_id] = outcome
        delay = POLL_DELAYS[min(attempt, len(POLL_DELAYS) - 1)]
        if not pending or time.monotonic() + delay > deadline:
            results.update(_timed_out(last, provider, wait))
            break
        time.sleep(delay)
        attempt += 1
    return results


def _timed_out(
    last: Mapping[str, UserOutcome], provider: Provider, wait: float | None
) -> dict[str, UserOutcome]:
    """Outcomes of users that never showed the plan. On an eventually consistent target the
    wait ran out: "not visible yet", which is not a refusal (its 4xx would have failed the
    upsert); the fields still pending are kept for the JSON report."""
    if not provider.eventually_consistent:
        return dict(last)
    return {
        user_id: UserOutcome(
            outcome.target,
            outcome.user_id,
            "not_visible",
            message=f"not visible yet after {wait or 0:g}s; run plan later",
            not_stuck=outcome.not_stuck,
        )
        for user_id, outcome in last.items()
    }
