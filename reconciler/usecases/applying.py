"""Apply: under the targets' locks and write-ahead records, plan (or re-derive a saved plan and
refuse it unless it is the same), pass the guards and the confirmation, send only the needed
writes, verify, and return the report; a run stopped halfway still reports what was sent.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

from reconciler.apply.applier import apply_plan
from reconciler.apply.evidence import Guard
from reconciler.apply.lock import target_locks
from reconciler.apply.records import Records, open_guards
from reconciler.errors import RefusedError
from reconciler.load.workspace import Workspace
from reconciler.plan.guards import CheckedPlan
from reconciler.plan.guards import check as guards_check
from reconciler.plan.mask import mask_report
from reconciler.planned import ApplyReport, Plan
from reconciler.providers.base import Provider
from reconciler.render.view import PlanView
from reconciler.usecases.planning import Opened, Prepare, fresh_plan, saved_plan
from reconciler.usecases.present import present_plan
from reconciler.usecases.requests import ApplyRequest
from reconciler.usecases.reviewed import check_checksum
from reconciler.usecases.runtime import Runtime

#: Asked once the plan passed its guards, before anything is sent, unless the request says
#: ``assume_yes``: True applies, False cancels (RefusedError). The CLI's asks on the terminal.
Confirm = Callable[[Plan], bool]
#: Called with the plan as shown, before the guards and the confirmation (the CLI prints it).
ShowPlan = Callable[[PlanView], None]


class Stopping:
    """Stops an apply from elsewhere (a signal handler, another thread): once ``stop`` is called,
    no new request starts, every target stops its retry pauses and polls, requests in flight get
    a moment, and the report says what was not sent."""

    def __init__(self) -> None:
        self.event = threading.Event()
        #: Whether sending has started (before it, stopping is the caller's to do: nothing sent).
        self.sending = False
        self._providers: list[Provider] = []

    def started(self, providers: list[Provider]) -> None:
        """Sending begins, through ``providers``."""
        self._providers.extend(providers)
        self.sending = True

    def stop(self) -> None:
        self.event.set()
        for provider in self._providers:
            provider.stop_sending()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()


@dataclass(frozen=True, slots=True)
class Applied:
    """How an apply ended."""

    #: The plan that was applied (unmasked).
    plan: Plan
    #: The plan as every format shows it.
    plan_view: PlanView
    #: What happened to each user, values and vendor messages masked; None: nothing to apply.
    report: ApplyReport | None
    #: Stopped before the end (``Stopping.stop``): the report says what was not sent.
    interrupted: bool


def apply_changes(
    request: ApplyRequest,
    runtime: Runtime,
    *,
    confirm: Confirm | None = None,
    show: ShowPlan | None = None,
    stopping: Stopping | None = None,
) -> Applied:
    """Apply ``request`` (a new plan of its scope, or its saved ``planfile``).

    Raises RefusedError (a guard, a stale or edited plan file, a checksum that is not the
    plan's, no confirmation: nothing sent), ConfigError, ValidationError or TargetError; once
    sending started, a failed user is in the report, not an error.
    """
    stopping = stopping or Stopping()
    guards: dict[str, Guard] = {}
    with ExitStack() as stack:
        prepare = _locked(request, runtime, stack, guards)
        workspace, providers, the_plan = _planned(request, runtime, stack, prepare)
        limits = request.overrides.limits(workspace.config)
        shown = present_plan(
            the_plan,
            workspace.config,
            workspace.digest,
            request.scope.selection(),
            limits,
            declarations=workspace.declarations,
        )
        if show is not None:
            show(shown)
        pending = any(target.pending for target in the_plan.targets)
        if not the_plan.has_changes and not pending:
            return Applied(the_plan, shown, None, interrupted=False)
        checked = guards_check(the_plan, limits)
        if the_plan.has_changes and not request.assume_yes:
            _confirm(the_plan, confirm)
        stopping.started(list(providers.values()))
        opened = (workspace, providers, the_plan)
        report = _send(checked, opened, request, runtime, stopping, guards)
    # What every format prints of the outcome: values and vendor messages masked.
    shown_report = mask_report(report, the_plan, workspace.config.sensitive)
    return Applied(the_plan, shown, shown_report, stopping.stopped)


def _locked(
    request: ApplyRequest, runtime: Runtime, stack: ExitStack, guards: dict[str, Guard]
) -> Prepare:
    """Once the repository is loaded: take its targets' locks (held until ``stack`` closes),
    open their write-ahead records into ``guards``, and return their writes in flight."""

    def prepare(workspace: Workspace) -> Records:
        root = workspace.config.root
        names = [target.name for target in workspace.targets]
        stack.enter_context(target_locks(root, names, request.lock_timeout, runtime.clock))
        opened, inflight = open_guards(
            root, workspace.targets, runtime.environ, request.assume_settled, stack, runtime.clock
        )
        guards.update(opened)
        return inflight

    return prepare


def _planned(request: ApplyRequest, runtime: Runtime, stack: ExitStack, prepare: Prepare) -> Opened:
    """The plan file's plan, re-derived and compared; or a new plan, checked against the
    reviewed checksum."""
    if request.planfile is not None:
        return saved_plan(
            request.config_path, request.planfile, request.overrides, runtime, stack, prepare
        )
    opened = fresh_plan(
        request.config_path, request.scope, request.overrides, runtime, stack, prepare
    )
    check_checksum(opened[2], request.checksum)
    return opened


def _confirm(the_plan: Plan, confirm: Confirm | None) -> None:
    """Nothing is sent that nobody confirmed."""
    if confirm is None:
        raise RefusedError(
            "apply needs a confirmation: pass assume_yes (--yes) or a confirm callback. "
            "Nothing was sent."
        )
    if not confirm(the_plan):
        raise RefusedError("apply cancelled: nothing was sent")


def _send(
    checked: CheckedPlan,
    opened: Opened,
    request: ApplyRequest,
    runtime: Runtime,
    stopping: Stopping,
    guards: dict[str, Guard],
) -> ApplyReport:
    workspace, providers, _ = opened
    mappings = {target.name: target.mapping for target in workspace.targets}
    return apply_plan(
        checked,
        workspace.users,
        providers,
        request.wait,
        stopping.event,
        runtime.steps,
        guards,
        mappings,
    )
