"""One command run, end to end but without printing: load, select, read live, plan, apply.

The CLI calls these functions and turns their values and errors into output and exit codes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from reconciler.applier import ApplyReport, apply_target
from reconciler.config import Config, TargetConfig, load_config
from reconciler.declarations import Declarations, load_declarations
from reconciler.errors import ConfigError
from reconciler.model import Plan, UserSpec
from reconciler.planfile import inputs_digest
from reconciler.planner import fingerprint, plan_target, targets_users
from reconciler.providers import open_provider
from reconciler.providers.base import Provider


@dataclass(frozen=True, slots=True)
class Workspace:
    """A loaded and validated config repository, narrowed to the selected targets and users."""

    config: Config
    declarations: Declarations
    targets: tuple[TargetConfig, ...]
    users: tuple[UserSpec, ...]


def load_workspace(
    config_path: Path,
    environ: Mapping[str, str],
    target_names: Sequence[str] = (),
    user_ids: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
) -> Workspace:
    """Load config and declarations (all problems at once), then --target / --user / --shard."""
    config = load_config(config_path, environ)
    declarations = load_declarations(config)
    targets = select_targets(config, target_names)
    users = select_users(declarations.users, user_ids)
    if shard is not None:
        users = tuple(u for u in users if in_shard(u.id, shard))
    return Workspace(config, declarations, targets, users)


def in_shard(user_id: str, shard: tuple[int, int]) -> bool:
    """Shard ``I/N`` (1-based) holds the ids whose stable hash is I-1 modulo N.

    SHA-256, not Python's ``hash()``, which is salted per process: every job of a CI matrix
    must agree on the split, so that N jobs cover every user exactly once.
    """
    index, count = shard
    digest = hashlib.sha256(user_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def digest(workspace: Workspace) -> str:
    """Digest of the config and declaration files this workspace was loaded from."""
    return inputs_digest(workspace.config.path, workspace.declarations.files)


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
    return {target.name: stack.enter_context(open_provider(target, environ)) for target in targets}


class Step(Protocol):
    """Progress of one step; the CLI passes one that draws on stderr, the library draws nothing."""

    def advance(self, count: int = 1) -> None: ...

    def close(self) -> float: ...


StepFactory = Callable[[str, int], Step]


class _Quiet:
    """A step that reports nothing but still measures its duration."""

    def __init__(self, label: str, total: int) -> None:
        self._started = time.monotonic()

    def advance(self, count: int = 1) -> None:
        pass

    def close(self) -> float:
        return time.monotonic() - self._started


def make_plan(
    workspace: Workspace, providers: Mapping[str, Provider], steps: StepFactory = _Quiet
) -> Plan:
    """Read the live state of the declared users of each target and compare (GETs only)."""
    target_plans = []
    for target in workspace.targets:
        provider = providers[target.name]
        desired = targets_users(workspace.users, target.name)
        reading = steps(f"{target.name}: reading users", len(desired))
        live = provider.read_users([u.id for u in desired], reading.advance)
        reading.close()
        target_plans.append(
            plan_target(target.name, target.provider, provider.capabilities, desired, live)
        )
    return Plan(tuple(target_plans))


def stale_users(
    plan: Plan, workspace: Workspace, providers: Mapping[str, Provider]
) -> list[tuple[str, str]]:
    """(target, user) pairs of a saved plan whose live state changed since it was made."""
    specs = {u.id: u for u in workspace.users}
    stale = []
    for target_plan in plan.targets:
        provider = providers[target_plan.target]
        ids = [c.user_id for c in target_plan.changes]
        live = provider.read_users(ids)
        for change in target_plan.changes:
            spec = specs.get(change.user_id)
            now = fingerprint(spec, live.get(change.user_id), provider.capabilities) if spec else ""
            if now != change.fingerprint:
                stale.append((target_plan.target, change.user_id))
    return stale


def apply_plan(
    plan: Plan,
    workspace: Workspace,
    providers: Mapping[str, Provider],
    wait: float | None,
    stop: threading.Event | None = None,
    steps: StepFactory = _Quiet,
) -> ApplyReport:
    """Send every change of the plan and verify it; the safety guard has run before this.

    ``wait``: seconds to poll eventually consistent targets until they show the plan (None: no
    wait, so the applied values are not verified there).
    """
    specs = {u.id: u for u in workspace.users}
    outcomes = []
    durations = {}
    for target_plan in plan.targets:
        provider = providers[target_plan.target]
        sending = steps(f"{target_plan.target}: applying", len(target_plan.changes))
        outcomes.extend(apply_target(target_plan, provider, specs, wait, stop, sending.advance))
        durations[target_plan.target] = sending.close()
    return ApplyReport(tuple(outcomes), durations)
