"""The steps plan and apply share: load the repository for a scope, open its targets with this
run's overrides, read the live users and plan; or re-derive the plan of a saved plan file.

Split from the commands so that each of them is a short list of steps; like them, this is the
edge where errors become messages, and nothing here is called by the library.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from reconciler.apply.records import Records, read_records
from reconciler.cli.present import present_plan
from reconciler.cli.requests import Overrides, Scope
from reconciler.errors import RefusedError
from reconciler.load.config import display_path
from reconciler.load.workspace import Workspace, load_workspace
from reconciler.model import Plan
from reconciler.plan.engine import check_prunable, make_plan, open_providers
from reconciler.plan.planfile import read_saved_plan
from reconciler.plan.replan import compare
from reconciler.progress import Progress
from reconciler.providers.base import Provider

#: What a command plans with: the repository, its open targets, and the plan itself.
Planned = tuple[Workspace, dict[str, Provider], Plan]
#: Called once the repository is loaded, before any target is opened: the writes in flight of
#: its targets (apply takes its locks and opens its records there).
Prepare = Callable[[Workspace], Records]


def read_only(workspace: Workspace) -> Records:
    """What plan holds back: the records as they are (plan never writes them)."""
    targets = workspace.targets
    return read_records(workspace.config.root, targets, os.environ)


def load(config_path: Path, scope: Scope) -> Workspace:
    """The repository narrowed to ``scope``; --prune's preconditions checked before any key is
    read (with --user, or on a target that cannot list: exit 1)."""
    workspace = _load_scope(config_path, scope)
    _check_prune(workspace, scope)
    return workspace


def _load_scope(config_path: Path, scope: Scope) -> Workspace:
    return load_workspace(
        config_path,
        os.environ,
        scope.target_names,
        scope.user_ids,
        scope.shard,
        scope.changed_since,
        sensitive_from=scope.sensitive_from,
    )


def _check_prune(workspace: Workspace, scope: Scope) -> None:
    if scope.prune:
        check_prunable(workspace.targets, workspace.config.targets.values(), scope.user_ids)


def fresh_plan(
    config_path: Path,
    scope: Scope,
    overrides: Overrides,
    stack: ExitStack,
    prepare: Prepare = read_only,
) -> Planned:
    """Load, open every target (closed with ``stack``), read the live users and plan."""
    workspace = load(config_path, scope)
    inflight = prepare(workspace)
    providers = open_targets(workspace, overrides, stack)
    the_plan = make_plan(workspace, providers, Progress, scope.prune, inflight=inflight)
    return workspace, providers, the_plan


def open_targets(
    workspace: Workspace, overrides: Overrides, stack: ExitStack
) -> dict[str, Provider]:
    """Every selected target, as this run's overrides (--parallelism) have it."""
    overridden = dataclasses.replace(workspace, targets=overrides.targets(workspace.targets))
    return open_providers(overridden, os.environ, stack)


def saved_plan(
    config_path: Path,
    planfile: Path,
    overrides: Overrides,
    stack: ExitStack,
    prepare: Prepare = read_only,
) -> Planned:
    """The plan to apply for a plan file: re-derived from the declarations and the live state
    with the file's selection, and only when it equals the file (replan.py). The file's
    requests are never sent: an edited file cannot change what reaches a target."""
    saved = read_saved_plan(planfile)
    selection = saved.selection
    scope = Scope(
        target_names=tuple(selection.get("targets", ())),
        user_ids=tuple(selection.get("users", ())),
        shard=saved.shard,
        prune=bool(selection.get("prune")),
        changed_since=saved.revision,
        sensitive_from=_text_or_none(selection.get("sensitive_from")),
    )
    workspace = _load_scope(config_path, scope)
    if workspace.digest != saved.digest:
        raise RefusedError(
            f"stale plan: reconciler.yaml or the declarations changed since {planfile} was made; "
            "run plan again. Nothing was sent."
        )
    _check_prune(workspace, scope)
    inflight = prepare(workspace)
    providers = open_targets(workspace, overrides, stack)
    derived = make_plan(workspace, providers, Progress, scope.prune, inflight=inflight)
    shown = present_plan(derived, workspace.config, workspace.digest, selection)
    differences = compare(saved.document, shown.document)
    if differences:
        raise RefusedError(differences.message(display_path(planfile)))
    return workspace, providers, derived


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)
