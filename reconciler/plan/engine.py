"""One command run up to its plan, without printing: open the targets, read live, plan.

The use cases (usecases/planning.py) call these functions with a loaded Workspace
(load/workspace.py); apply/applier.py sends the plan they make.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import ConfigError, MissingKey
from reconciler.kinds import CAPABILITIES
from reconciler.load.declarations import targets_users
from reconciler.load.journal import InFlight
from reconciler.load.workspace import Workspace, in_shard
from reconciler.mapping import map_user
from reconciler.model import LiveUser, UserSpec
from reconciler.plan import typelock
from reconciler.plan.inflight import hold_pending
from reconciler.plan.liveread import read_live
from reconciler.plan.planner import (
    plan_deletions,
    plan_target,
)
from reconciler.plan.readstrategy import MIN_TO_LIST
from reconciler.planned import ChangedSince, Plan, TargetPlan
from reconciler.progress import Quiet, StepFactory
from reconciler.providers import open_provider
from reconciler.providers.base import Provider
from reconciler.settings import TargetConfig

if TYPE_CHECKING:
    from reconciler.providers.transports import TransportFor


def open_providers(
    workspace: Workspace,
    environ: Mapping[str, str],
    stack: ExitStack,
    *,
    transport: TransportFor | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, Provider]:
    """Open every selected target before any request, so a missing key fails fast and whole
    (through the run's ``transport`` and ``clock``: its runtime's).

    --parallelism and the other run overrides are already in ``workspace.targets``
    (usecases/requests.py ``Overrides``): this is the one place targets are opened, not resolved.
    """
    providers: dict[str, Provider] = {}
    missing: list[MissingKey] = []
    for target in workspace.targets:
        try:
            providers[target.name] = stack.enter_context(
                open_provider(target, environ, transport=transport, clock=clock)
            )
        except MissingKey as error:
            missing.append(error)
    if missing:  # every missing variable at once, not one per run
        raise MissingKey.combined(missing)
    return providers


def make_plan(
    workspace: Workspace,
    providers: Mapping[str, Provider],
    steps: StepFactory = Quiet,
    prune: bool = False,
    min_to_list: int | None = MIN_TO_LIST,
    inflight: Mapping[str, Mapping[str, Sequence[InFlight]]] | None = None,
) -> Plan:
    """Read the live state of the declared users of each target and compare (reads only).

    Each target is read by GETs or by its listing, whichever the read strategy finds cheaper
    (readstrategy; ``min_to_list`` None: GETs only). ``prune`` reads the whole listing, which
    then serves as the read of the declared users too, to plan deleting the undeclared ones;
    the caller has run ``check_prunable`` before opening the providers (before any key).
    ``inflight``: per target, the writes in flight of the write-ahead record (load/journal.py),
    whose events the plan holds back (plan/inflight.py).
    """
    if prune:
        _check_whole(workspace)
    target_plans = []
    planned: set[str] = set()
    declared: set[str] = set()
    for target in workspace.targets:
        desired = targets_users(workspace.users, target.name)
        declared.update(user.id for user in desired)
        if workspace.changed_users is not None:
            desired = list(workspace.changed_users.select(target.name, desired))
        planned.update(user.id for user in desired)
        provider = providers[target.name]
        records = (inflight or {}).get(target.name, {})
        target_plans.append(
            _plan_target(workspace, target, provider, desired, steps, (prune, min_to_list), records)
        )
    deleted = {(t.target, d.user_id) for t in target_plans for d in t.deletions}
    return Plan(
        tuple(target_plans), _changed_since(workspace, len(planned), len(declared), deleted)
    )


def _plan_target(
    workspace: Workspace,
    target: TargetConfig,
    provider: Provider,
    desired: Sequence[UserSpec],
    steps: StepFactory,
    reading: tuple[bool, int | None],
    records: Mapping[str, Sequence[InFlight]],
) -> TargetPlan:
    """One target's plan from one read: its declared users, and with ``prune`` the deletion
    candidates too (every listed user, or the users a --changed-since change stopped declaring).
    ``reading``: (prune, min_to_list) as ``make_plan`` has them; ``records``: the target's
    writes in flight, held back. The users are compared as the target's mapping sends them
    (reconciler.yaml ``mapping:``).
    """
    prune, min_to_list = reading
    desired = [map_user(user, target.mapping) for user in desired]
    ids = [user.id for user in desired]
    removed = _removed_ids(workspace, target.name) if prune else None
    whole = prune and removed is None
    read = read_live(provider, [*ids, *(removed or ())], steps, whole, min_to_list)
    live = {user_id: read.live[user_id] for user_id in ids if user_id in read.live}
    if ids and not read.live:
        provider.confirm_absence()  # a wrong URL must not pass for a target of new users
    caps = provider.capabilities
    target_plan = plan_target(
        target.name,
        target.provider,
        caps,
        desired,
        live,
        seen=read.live.values(),
        blind=workspace.compared_at_apply,
        base=workspace.base_users,
    )
    if _needs_definitions(target_plan, desired, read.live.values(), caps.locks_types):
        definitions = provider.attribute_types()
        if definitions is not None:
            target_plan = plan_target(
                *(target.name, target.provider, caps, desired, live),
                seen=read.live.values(),
                blind=workspace.compared_at_apply,
                base=workspace.base_users,
                types=definitions,
            )
    if records:
        target_plan = hold_pending(target_plan, records, live, ids)
    if removed is not None:
        return _removed_since(target_plan, workspace, removed, read.live)
    if read.listed is not None:
        return _with_deletions(target_plan, workspace, read.listed)
    return target_plan


def _needs_definitions(
    target_plan: TargetPlan, desired: Sequence[UserSpec], seen: Iterable[LiveUser], locks: bool
) -> bool:
    """Whether a change sends a value to an attribute name no live user read shows: on a
    target that locks types, only the environment's definitions (one request, Usertour's
    ``GET /v1/attribute-definitions``) tell whether the server would drop it. A plan of new
    users (``--user NEW``, a pull request that only adds users) reads no live user at all."""
    if not locks or not target_plan.changes:
        return False
    known = typelock.environment_types(seen)
    specs = {user.id: user for user in desired}
    return any(
        typelock.unknown_slots(specs[change.user_id], {f.path for f in change.fields}, known)
        for change in target_plan.changes
    )


def _changed_since(
    workspace: Workspace, planned: int, declared: int, deleted: set[tuple[str, str]]
) -> ChangedSince | None:
    """What a --changed-since plan left out, for the selected targets: ``planned`` of the
    ``declared`` users that go to them (users no longer declared are left alone, unless
    --prune plans their deletion)."""
    changes = workspace.changed_users
    if changes is None:
        return None
    names = [target.name for target in workspace.targets]
    return ChangedSince(
        rev=changes.rev,
        commit=changes.commit,
        planned=planned,
        declared=declared,
        left_alone=tuple(
            (name, user_id)
            for name in names
            for user_id in changes.left_alone.get(name, ())
            if (name, user_id) not in deleted
        ),
        full_targets=tuple(
            (name, changes.reasons.get(name, "")) for name in names if name in changes.full_targets
        ),
        warnings=changes.warnings,
    )


def _removed_ids(workspace: Workspace, target: str) -> list[str] | None:
    """With --changed-since (and the target not planned in full), the only deletion candidates
    are the users the change stopped declaring for it (of the shard), read by id: no listing
    of the whole target. None: pruning judges every live user, from the whole listing."""
    changes = workspace.changed_users
    if changes is None or changes.users_for(target) is None:
        return None
    return [
        user_id
        for user_id in changes.left_alone.get(target, ())
        if workspace.shard is None or in_shard(user_id, workspace.shard)
    ]


def _with_deletions(
    target_plan: TargetPlan, workspace: Workspace, listed: Sequence[LiveUser]
) -> TargetPlan:
    """Add the deletions of undeclared live users (of the workspace's shard, if any).

    Undeclared means "in no declaration file for this target", judged on every declaration
    (``workspace.declarations``), never on a --user or --shard selection of them.
    """
    if workspace.shard is not None:
        listed = [user for user in listed if in_shard(user.id, workspace.shard)]
    deletions = plan_deletions(target_plan.target, listed, workspace.declarations.users)
    return dataclasses.replace(target_plan, deletions=deletions, listed=len(listed))


def _removed_since(
    target_plan: TargetPlan,
    workspace: Workspace,
    candidates: Sequence[str],
    live: Mapping[str, LiveUser],
) -> TargetPlan:
    """Deletions of the users a change stopped declaring for a target, if they are live.

    The ratio guard needs the target's live count, which a partial plan does not read: it
    divides by the users declared for the target (in the shard) plus those to delete, i.e.
    the users the repository managed there before the change.
    """
    target = target_plan.target
    found = [live[user_id] for user_id in candidates if user_id in live]
    deletions = plan_deletions(target, found, workspace.declarations.users)
    declared = [
        user
        for user in targets_users(workspace.declarations.users, target)
        if workspace.shard is None or in_shard(user.id, workspace.shard)
    ]
    return dataclasses.replace(
        target_plan, deletions=deletions, listed=len(declared) + len(deletions)
    )


def check_prunable(
    selected: Iterable[TargetConfig],
    configured: Iterable[TargetConfig],
    user_ids: Collection[str] = (),
) -> None:
    """Refuse --prune where it cannot be right, before any key is read or request sent.

    With --user, every other user is not undeclared, only unselected (--shard is fine: its
    split of ids is stable, so each job prunes its own share). A target that cannot list its
    users cannot know which live users no file declares; the message names the targets that
    can be pruned, to select with --target.
    """
    if user_ids:
        raise ConfigError(
            "--prune cannot be combined with --user: pruning deletes every live user no file "
            "declares, which a selection of users cannot tell. Nothing was sent."
        )
    refused = [t for t in selected if not _can_list(t)]
    if not refused:
        return
    reasons = "; ".join(
        f"target {t.name} ({t.provider}): "
        + (CAPABILITIES[t.provider].cannot_list_because or "it cannot list or delete users")
        for t in refused
    )
    prunable = [t.name for t in configured if _can_list(t)]
    hint = (
        "select the targets to prune with " + " ".join(f"--target {name}" for name in prunable)
        if prunable
        else "no configured target can be pruned"
    )
    raise ConfigError(f"--prune: {reasons}. Nothing was sent: {hint}.")


def _can_list(target: TargetConfig) -> bool:
    capabilities = CAPABILITIES.get(target.provider)
    return capabilities is not None and capabilities.can_list


def _check_whole(workspace: Workspace) -> None:
    """Pruning judges "undeclared" on every declaration file: a workspace loaded from only some
    of them (validate's FILES) would see declared users as undeclared and delete them."""
    if not workspace.declarations.complete:
        raise ConfigError(
            "--prune needs every declaration file of the config, and only some were loaded. "
            "Nothing was sent."
        )
