"""The safety guards as data: which limits a plan exceeds, and the flag or setting that allows it.

Pure, so that one function serves both ends: ``plan`` forecasts every refusal in each format
(the Markdown is the pull-request comment, where a surprise belongs, not at merge time), and
``apply`` refuses with the first one before anything is sent. Like octoDNS's thresholds: a
surprising plan (a bad merge, a wrong glob) is refused unless a human says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reconciler.errors import RefusedError
from reconciler.load.config import DEFAULT_MAX_CHANGES

if TYPE_CHECKING:
    from reconciler.load.config import Config
    from reconciler.planned import Plan, TargetPlan

#: The ratio guards only speak once a target holds this many users: on a new or tiny target,
#: changing everything is the normal first apply.
RATIO_MIN_LIVE = 10
#: Pruning refuses to delete more than this share of a target's live users without --force
#: (octoDNS's MAX_SAFE_DELETE_PCENT), once the target has RATIO_MIN_LIVE users.
MAX_DELETE_RATIO = 0.3


@dataclass(frozen=True, slots=True)
class Limits:
    """The guards in force for one run: reconciler.yaml's safety, with apply's overrides."""

    max_changes: int | None = DEFAULT_MAX_CHANGES
    max_change_ratio: float | None = None
    #: safety.max_deletes: only reconciler.yaml (a reviewed file) can allow pruning at all.
    max_deletes: int | None = None
    #: --max-deletes raises or lowers the count, but cannot turn pruning on.
    deletes_override: int | None = None
    #: --force: a target may lose more than MAX_DELETE_RATIO of its users.
    force: bool = False


def limits_of(
    config: Config,
    max_changes: int | None = None,
    max_change_ratio: float | None = None,
    max_deletes: int | None = None,
    force: bool = False,
) -> Limits:
    """reconciler.yaml's safety, with apply's overrides (None: not given) on top."""
    return Limits(
        config.max_changes if max_changes is None else max_changes,
        config.max_change_ratio if max_change_ratio is None else max_change_ratio,
        config.max_deletes,
        max_deletes,
        force,
    )


@dataclass(frozen=True, slots=True)
class Refusal:
    """One guard the plan exceeds."""

    #: max_changes, max_change_ratio, max_deletes or delete_ratio.
    guard: str
    #: What is refused and why, ending with what allows it.
    message: str
    #: The flag or setting that allows it (``--max-changes 600``).
    allow: str


@dataclass(frozen=True, slots=True)
class CheckedPlan:
    """A plan that passed the guards of one run: the only value apply sends (``check`` makes
    it), so no caller can send a plan its guards refuse (octoDNS's ``raise_if_unsafe``)."""

    plan: Plan
    limits: Limits


def refusals(plan: Plan, limits: Limits) -> list[Refusal]:
    """Every guard ``plan`` exceeds under ``limits``, in the order apply checks them.

    A deletion is one more action of the plan, with guards of its own: it counts towards
    max_deletes and the deletion ratio, never towards max_changes."""
    return [*_change_refusals(plan, limits), *_deletion_refusals(plan, limits)]


def check(plan: Plan, limits: Limits) -> CheckedPlan:
    """Refuse (exit 3) with the first exceeded guard, before anything is sent."""
    found = refusals(plan, limits)
    if found:
        raise RefusedError(f"{found[0].message} Nothing was sent.")
    return CheckedPlan(plan, limits)


def _plural(count: int) -> str:
    return f"{count} user{'s' if count != 1 else ''}"


def _change_refusals(plan: Plan, limits: Limits) -> list[Refusal]:
    found = []
    changed = sum(len(t.changes) for t in plan.targets)
    if limits.max_changes is not None and changed > limits.max_changes:
        allow = f"--max-changes {changed}"
        found.append(
            Refusal(
                "max_changes",
                f"refusing to change {_plural(changed)}: safety.max_changes is "
                f"{limits.max_changes}. Review the plan, then run apply with {allow} to allow it.",
                allow,
            )
        )
    if limits.max_change_ratio is None:
        return found
    for target in plan.targets:
        declared = len(target.changes) + target.unchanged
        live = target.updates + target.unchanged
        if live < RATIO_MIN_LIVE or not declared:
            continue
        ratio = len(target.changes) / declared
        if ratio > limits.max_change_ratio:
            allow = f"--max-change-ratio {ratio:.2f}"
            found.append(
                Refusal(
                    "max_change_ratio",
                    f"refusing to change {len(target.changes)} of {declared} users ({ratio:.0%}) "
                    f"on target {target.target}: safety.max_change_ratio is "
                    f"{limits.max_change_ratio:g}. Review the plan, then run apply with {allow} "
                    "to allow it.",
                    allow,
                )
            )
    return found


def _deletion_refusals(plan: Plan, limits: Limits) -> list[Refusal]:
    deletes = plan.deletes
    if not deletes:
        return []
    configured = limits.max_deletes
    if not configured:
        setting = "is not set" if configured is None else "is 0"
        return [
            Refusal(
                "max_deletes",
                f"pruning is not allowed: the plan deletes {_plural(deletes)} and "
                f"safety.max_deletes {setting}. Set safety.max_deletes in reconciler.yaml to "
                "allow it.",
                "safety.max_deletes",
            )
        ]
    found = []
    limit = configured if limits.deletes_override is None else limits.deletes_override
    if deletes > limit:
        source = "safety.max_deletes" if limits.deletes_override is None else "--max-deletes"
        allow = f"--max-deletes {deletes}"
        found.append(
            Refusal(
                "max_deletes",
                f"refusing to delete {_plural(deletes)}: {source} is {limit}. Review the plan, "
                f"then run apply with {allow} to allow it.",
                allow,
            )
        )
    if not limits.force:
        found.extend(r for r in map(_ratio_refusal, plan.targets) if r is not None)
    return found


def _ratio_refusal(target: TargetPlan) -> Refusal | None:
    listed = target.listed or 0
    if listed < RATIO_MIN_LIVE:  # a small target: the count guard is enough
        return None
    ratio = len(target.deletions) / listed
    if ratio <= MAX_DELETE_RATIO:
        return None
    return Refusal(
        "delete_ratio",
        f"refusing to delete {len(target.deletions)} of the {listed} live users "
        f"({ratio:.0%}) of target {target.target}: more than {MAX_DELETE_RATIO:.0%}. "
        "Review the plan, then run apply with --force to allow it.",
        "--force",
    )
