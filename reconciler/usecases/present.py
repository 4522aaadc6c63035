"""The plan as every format shows it: masked once, with its checksum, each vendor's request
and what apply would refuse, built into one :class:`~reconciler.render.view.PlanView`.

This is the one step between the planner and the renderers that needs more than the plan:
the sensitive names and safety limits of the config, the provider kinds (whose requests the
plan document shows) and the clock. The renderers get the value and stay pure.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from reconciler.kinds import KINDS
from reconciler.load.declared import declared_at
from reconciler.plan.guards import Limits, limits_of, refusals
from reconciler.plan.mask import mask_plan
from reconciler.plan.planfile import plan_checksum
from reconciler.planned import Plan
from reconciler.render.rollup import is_masked
from reconciler.render.view import PlanView, Requests

if TYPE_CHECKING:
    from reconciler.load.config import Config
    from reconciler.load.declarations import Declarations


#: Masked values located (file:line), the first by user id: more than a comment can show.
MAX_LOCATED = 2_000


def present_plan(
    plan: Plan,
    config: Config,
    digest: str,
    selection: Mapping[str, Any],
    limits: Limits | None = None,
    created_at: str | None = None,
    declarations: Declarations | None = None,
) -> PlanView:
    """``plan`` as shown: ``digest`` is the workspace's (computed at load), ``limits`` the guards
    of this run (apply's overrides included; None: reconciler.yaml's safety), ``created_at``
    now unless given; ``declarations``, when given, locate each masked value (file:line)."""
    masked = mask_plan(plan, config.sensitive)
    wanted = sorted(
        {
            (change.user_id, field.path)
            for target in masked.targets
            for change in target.changes
            for field in change.fields
            if is_masked(field)
        }
    )[:MAX_LOCATED]
    located = declared_at(declarations, wanted) if declarations and wanted else {}
    return PlanView(
        masked=masked,
        checksum=plan_checksum(plan),
        digest=digest,
        created_at=created_at or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        selection=selection,
        refusals=tuple(refusals(plan, limits or limits_of(config))),
        requests=describe_requests(masked),
        declared_at=located,
    )


def describe_requests(masked: Plan) -> Requests:
    """Each change's request as its provider kind would send it, from the masked upsert (so
    the document shows no sensitive value in a vendor's body either)."""
    return DescribedRequests(masked)


class DescribedRequests(Mapping[tuple[str, str], Mapping[str, Any]]):
    """The requests of a masked plan, each described when asked for and not kept.

    Only the JSON document reads them, one change at a time; text and Markdown never do. Built
    up front they were a second copy of every upsert (a body dict per user): at 100,000 new
    users, about a tenth of plan's peak memory, held through apply for nothing.
    """

    def __init__(self, masked: Plan) -> None:
        self._targets = {
            target.target: (target.provider, {change.user_id: change for change in target.changes})
            for target in masked.targets
        }

    def __getitem__(self, key: tuple[str, str]) -> Mapping[str, Any]:
        provider, changes = self._targets[key[0]]
        return KINDS[provider].describe_request(changes[key[1]].upsert)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for target, (_, changes) in self._targets.items():
            yield from ((target, user_id) for user_id in changes)

    def __len__(self) -> int:
        return sum(len(changes) for _, changes in self._targets.values())
