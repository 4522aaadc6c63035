"""The plan as every format shows it: masked once, with its checksum, each vendor's request
and what apply would refuse, built into one :class:`~reconciler.render.view.PlanView`.

This is the one step between the planner and the renderers that needs more than the plan:
the sensitive names and safety limits of the config, the provider kinds (whose requests the
plan document shows) and the clock. The renderers get the value and stay pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.load.declared import declared_at
from reconciler.model import Plan
from reconciler.plan.guards import Limits, limits_of, refusals
from reconciler.plan.mask import mask_plan
from reconciler.plan.planfile import plan_checksum
from reconciler.providers import KINDS
from reconciler.render.markdown import code_span
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
    return {
        (target.target, change.user_id): KINDS[target.provider].describe_request(change.upsert)
        for target in masked.targets
        for change in target.changes
    }


def full_plan_pointer(stdout_format: str, out_path: Path | None) -> str:
    """Where the whole plan is, for Markdown that may leave detail out and is not itself
    stdout (``--markdown-out``, the step summary): stdout, in its text or json format (in CI:
    the job log). When stdout is the Markdown, it takes another run. The saved plan (``--out``)
    is named by its file name only: its folder is the runner's, not the reader's."""
    if stdout_format != "markdown":
        where = f"The full plan is in this run's {stdout_format} output (in CI: the job log)"
    else:
        where = "The full plan: `reconciler plan` (text) or `reconciler plan --format json`"
    if out_path is not None:
        where += f"; as JSON in {code_span(out_path.name)}, the file `--out` saved"
    return where + "."
