"""Plan, and the steps apply shares with it: load the repository for a scope, open its targets
with this run's overrides, read the live users and plan; or re-derive the plan of a saved plan
file and refuse it unless it equals the file (the saved-plan gate).
"""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from reconciler.apply.records import Records, read_records
from reconciler.errors import RefusedError
from reconciler.load.workspace import Workspace, load_workspace
from reconciler.load.yamlcore import gc_paused
from reconciler.plan.engine import check_prunable, make_plan, open_providers
from reconciler.plan.planfile import read_saved_plan
from reconciler.plan.replan import compare
from reconciler.planned import Plan
from reconciler.providers.base import Provider
from reconciler.render.view import PlanView
from reconciler.settings import display_path
from reconciler.usecases.present import present_plan
from reconciler.usecases.requests import Overrides, PlanRequest, Scope
from reconciler.usecases.runtime import Runtime

#: What a use case plans with: the repository, its open targets, and the plan itself.
Opened = tuple[Workspace, dict[str, Provider], Plan]
#: Called once the repository is loaded, before any target is opened: the writes in flight of
#: its targets (apply takes its locks and opens its records there; None: read them as they are).
Prepare = Callable[[Workspace], Records]


def load(config_path: Path, scope: Scope, runtime: Runtime) -> Workspace:
    """The repository narrowed to ``scope``; --prune's preconditions checked before any key is
    read (with --user, or on a target that cannot list: ConfigError)."""
    workspace = _load_scope(config_path, scope, runtime)
    _check_prune(workspace, scope)
    return workspace


def _load_scope(config_path: Path, scope: Scope, runtime: Runtime) -> Workspace:
    return load_workspace(
        config_path,
        runtime.environ,
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
    runtime: Runtime,
    stack: ExitStack,
    prepare: Prepare | None = None,
) -> Opened:
    """Load, open every target (closed with ``stack``), read the live users and plan."""
    if scope.changed_since is None:
        workspace = load(config_path, scope, runtime)
    else:
        with gc_paused():  # frozen before the collector runs again: it would scan all of it
            workspace = load(config_path, scope, runtime)
            _freeze_loaded(stack)
    inflight = _inflight(workspace, runtime, prepare)
    providers = open_targets(workspace, overrides, runtime, stack)
    the_plan = make_plan(workspace, providers, runtime.steps, scope.prune, inflight=inflight)
    return workspace, providers, the_plan


def _freeze_loaded(stack: ExitStack) -> None:
    """What a partial plan loaded lives as long as the plan and holds no cycles: the garbage
    collector leaves it alone (scanning 100k users for cycles would cost a tenth of the plan)
    until the plan is done, so a program that plans again and again frees what each left."""
    gc.freeze()
    stack.callback(gc.unfreeze)


def _inflight(workspace: Workspace, runtime: Runtime, prepare: Prepare | None) -> Records:
    """The writes in flight: ``prepare``'s, or the records as they are (plan never writes them)."""
    if prepare is not None:
        return prepare(workspace)
    return read_records(workspace.config.root, workspace.targets, runtime.environ, runtime.clock)


def open_targets(
    workspace: Workspace, overrides: Overrides, runtime: Runtime, stack: ExitStack
) -> dict[str, Provider]:
    """Every selected target, as this run's overrides (--parallelism) have it."""
    overridden = dataclasses.replace(workspace, targets=overrides.targets(workspace.targets))
    return open_providers(
        overridden, runtime.environ, stack, transport=runtime.transport, clock=runtime.clock
    )


def saved_plan(
    config_path: Path,
    planfile: Path,
    overrides: Overrides,
    runtime: Runtime,
    stack: ExitStack,
    prepare: Prepare | None = None,
) -> Opened:
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
    workspace = _load_scope(config_path, scope, runtime)
    if workspace.digest != saved.digest:
        raise RefusedError(
            f"stale plan: reconciler.yaml or the declarations changed since {planfile} was made; "
            "run plan again. Nothing was sent."
        )
    _check_prune(workspace, scope)
    inflight = _inflight(workspace, runtime, prepare)
    providers = open_targets(workspace, overrides, runtime, stack)
    derived = make_plan(workspace, providers, runtime.steps, scope.prune, inflight=inflight)
    shown = present_plan(derived, workspace.config, workspace.digest, selection)
    differences = compare(saved.document, shown.document)
    if differences:
        raise RefusedError(differences.message(display_path(planfile)))
    return workspace, providers, derived


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Planned:
    """A plan and the value every format prints of it."""

    #: What apply would send (unmasked: the values declared).
    plan: Plan
    #: Masked, with its checksum, each vendor's request and what apply would refuse: the
    #: value the text, Markdown and JSON renderers and a saved plan file are made from.
    plan_view: PlanView


def plan_changes(request: PlanRequest, runtime: Runtime) -> Planned:
    """Read the live users of ``request.scope`` (GET requests only) and plan."""
    with ExitStack() as stack:
        workspace, _, the_plan = fresh_plan(
            request.config_path, request.scope, request.overrides, runtime, stack
        )
    shown = present_plan(
        the_plan,
        workspace.config,
        workspace.digest,
        request.scope.selection(),
        declarations=workspace.declarations,
    )
    return Planned(the_plan, shown)
