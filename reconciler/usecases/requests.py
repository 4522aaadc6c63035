"""What a use case is asked to do: one frozen value per use case, plus the two parts plan and
apply share (which users, and this run's overrides of reconciler.yaml).

The CLI builds them from its flags (cli/arguments.py); a program builds them directly. Pure: no
disk, no network. validate's request is in validate_request.py (re-exported here), so that the
validate command creates none of the others (each frozen dataclass costs ~0.5 ms of a start).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.usecases.validate_request import ValidateRequest

if TYPE_CHECKING:
    from reconciler.load.config import Config
    from reconciler.plan.guards import Limits
    from reconciler.settings import TargetConfig

__all__ = ["ApplyRequest", "ImportRequest", "Overrides", "PlanRequest", "Scope", "ValidateRequest"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which targets and users a plan covers (--target, --user, --shard, --prune and
    --changed-since), as given: the workspace narrows to it once the config is loaded. And
    --sensitive-from: the base revision whose sensitive names stay masked (it narrows nothing,
    but a saved plan records it, so that apply masks as the plan did)."""

    target_names: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None
    prune: bool = False
    changed_since: str | None = None
    sensitive_from: str | None = None

    @property
    def narrowed(self) -> bool:
        """Whether any flag narrows (or, with --prune, widens) the default: every user."""
        return bool(
            self.target_names or self.user_ids or self.shard or self.prune or self.changed_since
        )

    def selection(self) -> dict[str, Any]:
        """The selection a saved plan records, so that apply plans the same users again."""
        selection: dict[str, Any] = {
            "targets": sorted(self.target_names),
            "users": sorted(self.user_ids),
            "shard": f"{self.shard[0]}/{self.shard[1]}" if self.shard else None,
        }
        # Recorded only when set: plans made without them keep their exact bytes.
        if self.prune:
            selection["prune"] = True
        if self.changed_since is not None:
            selection["changed_since"] = self.changed_since
        if self.sensitive_from is not None:
            selection["sensitive_from"] = self.sensitive_from
        return selection


@dataclass(frozen=True, slots=True)
class Overrides:
    """This run's flags over reconciler.yaml (None: not given, the file's value holds).

    Resolved here and nowhere else: the speed of every target (--parallelism) and the safety
    guards (--max-changes, --max-change-ratio, --max-deletes, --force).
    """

    parallelism: int | None = None
    max_changes: int | None = None
    max_change_ratio: float | None = None
    max_deletes: int | None = None
    force: bool = False

    def target(self, target: TargetConfig) -> TargetConfig:
        """``target`` as this run reads and writes it."""
        if self.parallelism is None:
            return target
        return replace(target, parallelism=self.parallelism)

    def targets(self, targets: Iterable[TargetConfig]) -> tuple[TargetConfig, ...]:
        return tuple(self.target(target) for target in targets)

    def limits(self, config: Config) -> Limits:
        """The safety guards of this run: reconciler.yaml's, with the flags on top."""
        from reconciler.plan.guards import limits_of  # plan and apply load it; validate not

        return limits_of(
            config, self.max_changes, self.max_change_ratio, self.max_deletes, self.force
        )


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Read the live users of ``scope`` and plan (GET requests only)."""

    config_path: Path
    scope: Scope = field(default_factory=Scope)
    overrides: Overrides = field(default_factory=Overrides)


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    """Plan ``scope`` (or re-derive ``planfile``'s plan), pass the guards, apply, verify."""

    config_path: Path
    scope: Scope = field(default_factory=Scope)
    overrides: Overrides = field(default_factory=Overrides)
    #: A saved plan to apply whole (then ``scope`` is the default and ``checksum`` None).
    planfile: Path | None = None
    #: Apply without calling the confirmation (--yes).
    assume_yes: bool = False
    #: Apply only if the new plan's checksum starts with these (lowercase) hex digits.
    checksum: str | None = None
    #: Seconds to poll eventually consistent targets; None: do not wait.
    wait: float | None = None
    #: Seconds to wait for another apply of the same target to end.
    lock_timeout: float = 0.0
    #: No earlier apply's writes can still be on their way (--assume-settled).
    assume_settled: bool = False


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """The live users of one target, as a declaration file (or merged into the declarations)."""

    config_path: Path
    #: The target's name in reconciler.yaml: a file is imported from one target.
    target: str
    #: The ids to read, deduplicated in order; None: every user (--all).
    wanted: tuple[str, ...] | None
    overrides: Overrides = field(default_factory=Overrides)
    #: Where to write (merging into the declarations); None: the text is returned.
    out_path: Path | None = None
    include_system: bool = False
    with_events: bool = False
