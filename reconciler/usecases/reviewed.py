"""Apply only the plan a person reviewed: a checksum given with the apply (the ``Plan checksum:``
line a pull request showed, or its start) must be the checksum of the plan made now."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import RefusedError
from reconciler.plan.planfile import plan_checksum
from reconciler.planned import Plan

#: Users named per target in a refusal; the rest are counted.
NAMED_USERS = 10


def check_checksum(the_plan: Plan, expected: str | None) -> None:
    """Refuse when the plan is not the reviewed one, naming what the plan now does, so that
    it can be held against the reviewed one (the checksum alone cannot say what differs)."""
    if expected is None:
        return
    actual = plan_checksum(the_plan)
    if not actual.startswith(expected):
        raise RefusedError(
            f"the plan checksum is now {actual}, not {expected}: the declarations or the live "
            f"users changed since that plan was reviewed. The plan now {plan_contents(the_plan)}. "
            "Run plan again and review it. Nothing was sent."
        )


def plan_contents(the_plan: Plan) -> str:
    """``changes target prod: u1, u2 and 3 more; deletes on target t: u9`` (ids, sorted)."""
    parts = []
    for target in the_plan.targets:
        ids = [change.user_id for change in target.changes]
        if ids:
            parts.append(f"changes on target {target.target}: {_some(ids)}")
        deleted = [deletion.user_id for deletion in target.deletions]
        if deleted:
            parts.append(f"deletes on target {target.target}: {_some(deleted)}")
    return "; ".join(parts) if parts else "changes nothing"


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:NAMED_USERS])
    return f"{shown} and {len(ids) - NAMED_USERS} more" if len(ids) > NAMED_USERS else shown
