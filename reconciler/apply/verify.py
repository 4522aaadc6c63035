"""Verification: each upserted user compared with what the target shows after the upserts.

Usertour answers with the user (its answer is checked); the sandbox too; Sprig applies later,
so its reads are polled until they show the plan or the wait runs out: "not visible yet", which
is not "did not keep". The planner's own comparison (``unapplied``) judges what stuck, so apply
and the next plan agree on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from reconciler.apply.polling import polls
from reconciler.errors import ReconcilerError
from reconciler.model import LiveUser, UserSpec
from reconciler.plan.planner import unapplied
from reconciler.plan.typelock import DROPPED
from reconciler.planned import FieldChange, UserChange, UserOutcome
from reconciler.providers.base import Provider


def verify(
    target: str,
    provider: Provider,
    specs: Mapping[str, UserSpec],
    answers: Mapping[str, LiveUser | None],
    wait: float | None,
    interrupted: bool = False,
    whole: Mapping[str, UserChange] | None = None,
) -> dict[str, UserOutcome]:
    """The outcome of each sent user: its answer checked, or (None) the user read back.

    ``wait``: seconds an eventually consistent target is polled; None trusts its acceptance
    (--no-wait). A strongly consistent target is read once. ``interrupted``: nothing is read
    any more; a write without an answer to check is reported sent but not verified, never as
    applied. ``whole``: the changes that went out as one write answered at once (see
    ``_not_kept``).
    """
    results = {
        user_id: user_outcome(target, specs[user_id], answer, provider)
        for user_id, answer in answers.items()
        if answer is not None
    }
    pending = {user_id: specs[user_id] for user_id, answer in answers.items() if answer is None}
    if interrupted:
        results.update((user_id, _unverified(target, user_id)) for user_id in pending)
        return results
    if provider.eventually_consistent and wait is None:
        results.update((user_id, UserOutcome(target, user_id, "applied")) for user_id in pending)
        return results
    if pending:
        budget = (wait or 0.0) if provider.eventually_consistent else 0.0
        results.update(_read_back(target, provider, pending, budget, wait, whole or {}))
    return results


def _unverified(target: str, user_id: str) -> UserOutcome:
    message = "sent, not verified: apply was interrupted; run plan later"
    return UserOutcome(target, user_id, "not_visible", message=message)


def user_outcome(
    target: str, spec: UserSpec, live: LiveUser | None, provider: Provider
) -> UserOutcome:
    """Whether ``live`` shows everything ``spec`` declares: applied, not_stuck or unconfirmed."""
    remaining = unapplied(spec, live, provider.capabilities)
    if remaining is None:
        return UserOutcome(target, spec.id, "unconfirmed", message="not visible on the target")
    if remaining:
        # The usual cause on such a target; the plan's warnings name the type it holds.
        why = DROPPED if provider.capabilities.locks_types else None
        return UserOutcome(target, spec.id, "not_stuck", message=why, not_stuck=remaining)
    return UserOutcome(target, spec.id, "applied")


def _read_back(
    target: str,
    provider: Provider,
    pending: Mapping[str, UserSpec],
    budget: float,
    wait: float | None,
    whole: Mapping[str, UserChange],
) -> dict[str, UserOutcome]:
    """Read the pending users until each shows the plan or ``budget`` seconds run out."""
    waiting = dict(pending)
    results: dict[str, UserOutcome] = {}
    last: dict[str, UserOutcome] = {}
    for _ in polls(budget, provider.stopping, provider.clock):
        try:
            live = provider.read_users(list(waiting))
        except ReconcilerError as error:
            for user_id in waiting:
                results[user_id] = UserOutcome(target, user_id, "unconfirmed", message=str(error))
            return results
        last = {}
        for user_id, spec in waiting.items():
            outcome = user_outcome(target, spec, live.get(user_id), provider)
            if outcome.status == "applied":
                results[user_id] = outcome
            else:
                last[user_id] = outcome
        waiting = {user_id: waiting[user_id] for user_id in last}
        if not waiting:
            break
    results.update(_timed_out(last, provider, wait, whole))
    return results


#: Why a field is "not kept" on a target that applies later (Sprig).
NOT_KEPT = (
    "the target shows the rest of this write but not these fields: it applies a write whole, "
    "so it did not keep them"
)


def _timed_out(
    last: Mapping[str, UserOutcome],
    provider: Provider,
    wait: float | None,
    whole: Mapping[str, UserChange],
) -> dict[str, UserOutcome]:
    """Outcomes of users that never showed the plan. On an eventually consistent target the
    wait ran out: "not visible yet", which is not a refusal (its 4xx would have failed the
    upsert); the fields still pending are kept for the JSON report. But a write that shows in
    part was applied: what it does not show was not kept (``_not_kept``)."""
    if not provider.eventually_consistent:
        return dict(last)
    results = {}
    for user_id, outcome in last.items():
        change = whole.get(user_id)
        if change is not None and _not_kept(change, outcome):
            results[user_id] = dataclasses.replace(outcome, message=NOT_KEPT)
            continue
        results[user_id] = UserOutcome(
            outcome.target,
            outcome.user_id,
            "not_visible",
            message=f"not visible yet after {wait or 0:g}s; run plan later",
            not_stuck=outcome.not_stuck,
        )
    return results


def _not_kept(change: UserChange, outcome: UserOutcome) -> bool:
    """Whether a whole write shows in part: the user it created exists, or some of the fields
    it changed show. Sprig applies one write whole, so the rest will never show."""
    if outcome.status != "not_stuck":  # "unconfirmed": the user does not show at all
        return False
    missing = {_key(f) for f in outcome.not_stuck}
    changed = {_key(f) for f in change.fields}
    return missing <= changed and (change.action == "create" or missing < changed)


def _key(change: FieldChange) -> tuple[tuple[str, ...], str | None]:
    """A field change by its path; events by their name too (one ``events`` line per name)."""
    name = (change.summary or "").rsplit(" x", 1)[0] if change.path == ("events",) else None
    return change.path, name
