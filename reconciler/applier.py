"""Plan -> requests: the safety guard, one upsert per changed user, and read-back verification.

A failure of one user never stops the others; every outcome is reported (SPEC section 6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from reconciler.errors import ReconcilerError, RefusedError
from reconciler.model import FieldChange, Plan, TargetPlan, UserChange, UserSpec
from reconciler.planner import unapplied
from reconciler.providers.base import Provider

Status = Literal["applied", "failed", "not_stuck"]


@dataclass(frozen=True, slots=True)
class UserOutcome:
    """What happened to one planned user on one target."""

    target: str
    user_id: str
    status: Status
    #: Why it failed (the target's own words), for ``failed``.
    message: str | None = None
    #: The fields the target did not keep, for ``not_stuck``.
    not_stuck: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """Every outcome, in plan order (target, then user id)."""

    outcomes: tuple[UserOutcome, ...]

    @property
    def applied(self) -> int:
        return sum(1 for o in self.outcomes if o.status == "applied")

    @property
    def problems(self) -> tuple[UserOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status != "applied")


def check_safety(plan: Plan, max_changes: int | None) -> None:
    """Refuse before anything is sent when the plan changes more users than allowed."""
    changed = sum(len(t.changes) for t in plan.targets)
    if max_changes is not None and changed > max_changes:
        raise RefusedError(
            f"refusing to change {changed} users: safety.max_changes is {max_changes}. "
            f"Review the plan, then run apply with --max-changes {changed} to allow it."
        )


def apply_target(
    target_plan: TargetPlan, provider: Provider, specs: Mapping[str, UserSpec]
) -> list[UserOutcome]:
    """Send each change of one target, then check that what the target shows is what was sent."""
    return [
        _apply_one(target_plan.target, change, provider, specs[change.user_id])
        for change in target_plan.changes
    ]


def _apply_one(target: str, change: UserChange, provider: Provider, spec: UserSpec) -> UserOutcome:
    user_id = change.user_id
    try:
        live_after = provider.upsert(change.upsert)
        if live_after is None:
            live_after = provider.read_users([user_id]).get(user_id)
    except ReconcilerError as error:
        return UserOutcome(target, user_id, "failed", message=str(error))
    remaining = unapplied(spec, live_after, provider.capabilities)
    if remaining is None:
        return UserOutcome(target, user_id, "failed", message="not found on the target after apply")
    if remaining:
        return UserOutcome(target, user_id, "not_stuck", not_stuck=remaining)
    return UserOutcome(target, user_id, "applied")
