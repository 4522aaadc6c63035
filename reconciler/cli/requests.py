"""What a command was asked to do: one frozen value per command, built once from its flags.

Click hands each command a dict of loose flags; the builders here turn it into a request, the
only place where flags are combined, checked against each other (a conflict is a usage error)
and where this run's overrides of reconciler.yaml are resolved. The command code reads the
request and never the flags again (Terraform's ``arguments.Plan``). Pure: no disk, no network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import click

from reconciler.load.config import Config, TargetConfig
from reconciler.plan.guards import Limits, limits_of
from reconciler.render.markdown import COMMENT_LIMIT


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
        return limits_of(
            config, self.max_changes, self.max_change_ratio, self.max_deletes, self.force
        )


@dataclass(frozen=True, slots=True)
class View:
    """How to show a plan: --format and --markdown-limit."""

    output_format: str = "text"
    markdown_limit: int = COMMENT_LIMIT


@dataclass(frozen=True, slots=True)
class ValidateRequest:
    """``reconciler validate [FILES]``."""

    config_path: Path
    target_names: tuple[str, ...] = ()
    output_format: str = "text"
    #: The files pre-commit passes; empty: every declaration file of the config.
    files: tuple[Path, ...] = ()
    verbose: int = 0


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """``reconciler plan``."""

    config_path: Path
    scope: Scope = field(default_factory=Scope)
    view: View = field(default_factory=View)
    overrides: Overrides = field(default_factory=Overrides)
    #: --detailed-exitcode: exit 2 when the plan changes something.
    detailed_exitcode: bool = False
    #: --out FILE: where to save the plan for ``apply FILE``.
    out_path: Path | None = None
    #: --markdown-out FILE: the pull-request comment goes there; stdout keeps --format.
    markdown_out: Path | None = None
    verbose: int = 0


@dataclass(frozen=True, slots=True)
class ApplyRequest:
    """``reconciler apply [PLANFILE]``."""

    config_path: Path
    scope: Scope = field(default_factory=Scope)
    view: View = field(default_factory=View)
    overrides: Overrides = field(default_factory=Overrides)
    #: A saved plan to apply whole (then ``scope`` is the default and ``checksum`` None).
    planfile: Path | None = None
    assume_yes: bool = False
    #: --checksum: apply only if the new plan's checksum starts with these hex digits.
    checksum: str | None = None
    #: Seconds to poll eventually consistent targets; None: --no-wait.
    wait: float | None = None
    verbose: int = 0
    #: --lock-timeout: seconds to wait for another apply of the same target to end.
    lock_timeout: float = 0.0
    #: --assume-settled: no earlier apply's writes can still be on their way.
    assume_settled: bool = False


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """``reconciler import --target T``."""

    config_path: Path
    #: Checked for exactly one name once the config is loaded (the message lists the others).
    target_names: tuple[str, ...]
    #: The ids to read, deduplicated in order; None: --all.
    wanted: tuple[str, ...] | None
    overrides: Overrides = field(default_factory=Overrides)
    out_path: Path | None = None
    include_system: bool = False
    with_events: bool = False
    verbose: int = 0


def validate_request(flags: Mapping[str, Any]) -> ValidateRequest:
    """The flags of ``validate``."""
    return ValidateRequest(
        config_path=flags["config_path"],
        target_names=tuple(flags["target_names"]),
        output_format=flags["output_format"],
        files=tuple(flags["files"]),
        verbose=flags["verbose"],
    )


def plan_request(flags: Mapping[str, Any]) -> PlanRequest:
    """The flags of ``plan``."""
    return PlanRequest(
        config_path=flags["config_path"],
        scope=_scope(flags),
        view=View(flags["output_format"], flags["markdown_limit"]),
        overrides=Overrides(parallelism=flags["parallelism"]),
        detailed_exitcode=flags["detailed_exitcode"],
        out_path=flags["out_path"],
        markdown_out=flags.get("markdown_out"),
        verbose=flags["verbose"],
    )


def apply_request(flags: Mapping[str, Any]) -> ApplyRequest:
    """The flags of ``apply``; a PLANFILE with a flag that selects users is a usage error."""
    scope = _scope(flags)
    planfile: Path | None = flags["planfile"]
    if planfile is not None and (scope.narrowed or flags["checksum"]):
        raise click.UsageError(
            "PLANFILE is applied whole (with its deletions, if it was pruned): "
            "drop --user/--shard/--target/--checksum/--prune/--changed-since"
        )
    overrides = Overrides(
        parallelism=flags["parallelism"],
        max_changes=flags["max_changes"],
        max_change_ratio=flags["max_change_ratio"],
        max_deletes=flags["max_deletes"],
        force=flags["force"],
    )
    return ApplyRequest(
        config_path=flags["config_path"],
        scope=scope,
        view=View(flags["output_format"], flags["markdown_limit"]),
        overrides=overrides,
        planfile=planfile,
        assume_yes=flags["assume_yes"],
        checksum=flags["checksum"],
        wait=None if flags["no_wait"] else flags["wait"],
        verbose=flags["verbose"],
        lock_timeout=flags.get("lock_timeout", 0.0),
        assume_settled=flags.get("assume_settled", False),
    )


def import_request(flags: Mapping[str, Any]) -> ImportRequest:
    """The flags of ``import``; which users must be said one way (--all, --user, --ids-from)."""
    return ImportRequest(
        config_path=flags["config_path"],
        target_names=tuple(flags["target_names"]),
        wanted=_requested_ids(flags["import_all"], flags["user_ids"], flags["ids_from"]),
        overrides=Overrides(parallelism=flags["parallelism"]),
        out_path=flags["out_path"],
        include_system=flags["include_system"],
        with_events=flags["with_events"],
        verbose=flags["verbose"],
    )


def _scope(flags: Mapping[str, Any]) -> Scope:
    return Scope(
        target_names=tuple(flags["target_names"]),
        user_ids=tuple(flags["user_ids"]),
        shard=flags["shard"],
        prune=flags["prune"],
        changed_since=flags["changed_since"],
        sensitive_from=flags["sensitive_from"],
    )


def _requested_ids(
    import_all: bool, user_ids: Sequence[str], ids_from: TextIO | None
) -> tuple[str, ...] | None:
    """The ids to read (None: --all), deduplicated; a usage error when the choice is unclear.

    --ids-from is a file click has opened (``-``: stdin); its lines are the ids.
    """
    ids = [user_id for user_id in user_ids if user_id]  # "" would name the list endpoint
    if ids_from is not None:
        from_file = [line.strip() for line in ids_from]
        ids += [user_id for user_id in from_file if user_id]
        if not any(from_file):
            raise click.UsageError(f"--ids-from {ids_from.name}: no ids in it (one per line)")
    if import_all and (ids or ids_from is not None):
        raise click.UsageError("--all imports every user: drop --user and --ids-from")
    if not import_all and not ids:
        raise click.UsageError(
            "which users? --all (targets that list users: Usertour, sandbox), "
            "--user ID (repeatable) or --ids-from FILE"
        )
    return None if import_all else tuple(dict.fromkeys(ids))
