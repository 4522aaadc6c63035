"""One command run up to its plan, without printing: load, select, open, read live, plan.

The CLI calls these functions and turns their values and errors into output and exit codes;
applier.py sends the plan they make.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from reconciler.apply.progress import Quiet, StepFactory
from reconciler.errors import ConfigError, MissingKey
from reconciler.load.config import Config, TargetConfig, load_config
from reconciler.load.declarations import Declarations, load_declarations
from reconciler.load.digest import inputs_digest
from reconciler.model import LiveUser, Plan, PlanScope, TargetPlan, UserSpec
from reconciler.plan.changes import ChangeSet
from reconciler.plan.liveread import read_live
from reconciler.plan.planner import (
    plan_deletions,
    plan_target,
    targets_users,
)
from reconciler.plan.readstrategy import MIN_TO_LIST
from reconciler.providers import CAPABILITIES, open_provider
from reconciler.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Workspace:
    """A loaded and validated config repository, narrowed to the selected targets and users."""

    config: Config
    declarations: Declarations
    targets: tuple[TargetConfig, ...]
    users: tuple[UserSpec, ...]
    #: SHA-256 of the config and declaration files, read once as they were loaded (load/digest.py).
    digest: str
    #: --shard I/N, if any: pruning deletes only the undeclared live users of this shard.
    shard: tuple[int, int] | None = None
    #: --changed-since REV: only the users whose declaration changed since REV are planned.
    changes: ChangeSet | None = None


def load_workspace(
    config_path: Path,
    environ: Mapping[str, str],
    target_names: Sequence[str] = (),
    user_ids: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
    changed_since: str | None = None,
    check_selected_only: bool = False,
) -> Workspace:
    """Load config and declarations (all problems at once), then --target / --user / --shard.

    ``check_selected_only`` (validate --target): what a target can hold is checked for the
    selected targets alone, not for every target of the config.

    ``changed_since`` (a git revision) compares the declarations with those at that revision,
    read with git in-process, so that only the changed users are planned.
    """
    config = load_config(config_path, environ)
    targets = select_targets(config, target_names)
    only = frozenset(target_names) if check_selected_only and target_names else None
    declarations = load_declarations(config, only=only)
    users = select_users(declarations.users, user_ids)
    if user_ids and not target_names:
        # --user alone: the targets those users go to, not an empty block for every other one.
        targets = tuple(t for t in targets if targets_users(users, t.name))
    if shard is not None:
        users = tuple(u for u in users if in_shard(u.id, shard))
    changes = None
    if changed_since is not None:
        from reconciler.load.gitrev import changed_since as compare_with_revision

        changes = compare_with_revision(config, declarations, changed_since, environ)
    digest = inputs_digest(config.path, declarations.files)
    return Workspace(config, declarations, targets, users, digest, shard, changes)


def in_shard(user_id: str, shard: tuple[int, int]) -> bool:
    """Shard ``I/N`` (1-based) holds the ids whose stable hash is I-1 modulo N.

    SHA-256, not Python's ``hash()``, which is salted per process: every job of a CI matrix
    must agree on the split, so that N jobs cover every user exactly once.
    """
    index, count = shard
    digest = hashlib.sha256(user_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def select_targets(config: Config, names: Sequence[str]) -> tuple[TargetConfig, ...]:
    """The targets named by --target (all when none), refusing names the config does not have."""
    if not names:
        return tuple(config.targets.values())
    unknown = sorted(set(names) - set(config.targets))
    if unknown:
        known = ", ".join(config.targets) or "none"
        raise ConfigError(f"unknown target {', '.join(unknown)} (configured targets: {known})")
    return tuple(config.targets[name] for name in sorted(set(names)))


def select_users(users: Sequence[UserSpec], ids: Sequence[str]) -> tuple[UserSpec, ...]:
    """The users named by --user (all when none), refusing ids that no file declares."""
    if not ids:
        return tuple(users)
    wanted = set(ids)
    selected = tuple(u for u in users if u.id in wanted)
    missing = wanted - {u.id for u in selected}
    if missing:
        raise ConfigError(f"--user {', '.join(sorted(missing))}: no declaration file declares it")
    return selected


def open_providers(
    workspace: Workspace,
    environ: Mapping[str, str],
    stack: ExitStack,
    parallelism: int | None = None,
) -> dict[str, Provider]:
    """Open every selected target before any request, so a missing key fails fast and whole.

    ``parallelism`` (--parallelism) overrides every target's configured value for this run.
    """
    targets = workspace.targets
    if parallelism is not None:
        targets = tuple(dataclasses.replace(t, parallelism=parallelism) for t in targets)
    providers: dict[str, Provider] = {}
    missing: list[MissingKey] = []
    for target in targets:
        try:
            providers[target.name] = stack.enter_context(open_provider(target, environ))
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
) -> Plan:
    """Read the live state of the declared users of each target and compare (reads only).

    Each target is read by GETs or by its listing, whichever the read strategy finds cheaper
    (readstrategy; ``min_to_list`` None: GETs only). ``prune`` reads the whole listing, which
    then serves as the read of the declared users too, to plan deleting the undeclared ones;
    the caller has run ``check_prunable`` before opening the providers (before any key).
    """
    if prune:
        _check_whole(workspace)
    target_plans = []
    planned: set[str] = set()
    declared: set[str] = set()
    for target in workspace.targets:
        desired = targets_users(workspace.users, target.name)
        declared.update(user.id for user in desired)
        if workspace.changes is not None:
            desired = list(workspace.changes.select(target.name, desired))
        planned.update(user.id for user in desired)
        provider = providers[target.name]
        target_plans.append(
            _plan_target(workspace, target, provider, desired, steps, prune, min_to_list)
        )
    deleted = {(t.target, d.user_id) for t in target_plans for d in t.deletions}
    return Plan(tuple(target_plans), _scope(workspace, len(planned), len(declared), deleted))


def _plan_target(
    workspace: Workspace,
    target: TargetConfig,
    provider: Provider,
    desired: Sequence[UserSpec],
    steps: StepFactory,
    prune: bool,
    min_to_list: int | None,
) -> TargetPlan:
    """One target's plan from one read: its declared users, and with ``prune`` the deletion
    candidates too (every listed user, or the users a --changed-since change stopped declaring).
    """
    ids = [user.id for user in desired]
    removed = _removed_ids(workspace, target.name) if prune else None
    whole = prune and removed is None
    read = read_live(provider, [*ids, *(removed or ())], steps, whole, min_to_list)
    live = {user_id: read.live[user_id] for user_id in ids if user_id in read.live}
    caps = provider.capabilities
    target_plan = plan_target(
        target.name, target.provider, caps, desired, live, seen=read.live.values()
    )
    if removed is not None:
        return _removed_since(target_plan, workspace, removed, read.live)
    if read.listed is not None:
        return _with_deletions(target_plan, workspace, read.listed)
    return target_plan


def _scope(
    workspace: Workspace, planned: int, declared: int, deleted: set[tuple[str, str]]
) -> PlanScope | None:
    """What a --changed-since plan left out, for the selected targets: ``planned`` of the
    ``declared`` users that go to them (users no longer declared are left alone, unless
    --prune plans their deletion)."""
    changes = workspace.changes
    if changes is None:
        return None
    names = [target.name for target in workspace.targets]
    return PlanScope(
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
    changes = workspace.changes
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
