"""What a command was asked to do: one frozen value per command, built once from its flags.

Click hands each command a dict of loose flags; the builders here turn it into the use case's
request (usecases/requests.py) and what only the command needs (how to show it, where to save
it), the only place where flags are combined and checked against each other (a conflict is a
usage error). The command code reads these and never the flags again (Terraform's
``arguments.Plan``). Pure: no disk, no network. validate's are in validate_args.py (re-exported
here): the validate command loads neither this module nor the other commands' requests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import click

from reconciler.cli.validate_args import ValidateArgs, validate_request
from reconciler.render.limits import COMMENT_LIMIT
from reconciler.render.views import PLAN_FORMS
from reconciler.usecases.requests import (
    ApplyRequest,
    ImportRequest,
    Overrides,
    PlanRequest,
    Scope,
    ValidateRequest,
)

__all__ = [
    "ApplyArgs",
    "ApplyRequest",
    "ImportArgs",
    "ImportRequest",
    "Overrides",
    "PlanArgs",
    "PlanRequest",
    "Scope",
    "ValidateArgs",
    "ValidateRequest",
    "View",
    "validate_request",
]


@dataclass(frozen=True, slots=True)
class View:
    """How to show a plan: --format and --markdown-limit (the command picks its view by them,
    render/views/)."""

    output_format: str = PLAN_FORMS[0]
    markdown_limit: int = COMMENT_LIMIT


@dataclass(frozen=True, slots=True)
class PlanArgs:
    """``reconciler plan``."""

    request: PlanRequest
    view: View = field(default_factory=View)
    #: --detailed-exitcode: exit 2 when the plan changes something.
    detailed_exitcode: bool = False
    #: --out FILE: where to save the plan for ``apply FILE``.
    out_path: Path | None = None
    #: --markdown-out FILE: the pull-request comment goes there; stdout keeps --format.
    markdown_out: Path | None = None
    verbose: int = 0


@dataclass(frozen=True, slots=True)
class ApplyArgs:
    """``reconciler apply [PLANFILE]``."""

    request: ApplyRequest
    view: View = field(default_factory=View)
    verbose: int = 0


@dataclass(frozen=True, slots=True)
class ImportArgs:
    """``reconciler import --target T``."""

    request: ImportRequest
    #: Every --target given: import reads exactly one (checked once the config is loaded, so
    #: that the message can list the configured ones).
    target_names: tuple[str, ...]
    verbose: int = 0


def plan_request(flags: Mapping[str, Any]) -> PlanArgs:
    """The flags of ``plan``."""
    request = PlanRequest(
        config_path=flags["config_path"],
        scope=_scope(flags),
        overrides=Overrides(parallelism=flags["parallelism"]),
    )
    return PlanArgs(
        request,
        view=View(flags["output_format"], flags["markdown_limit"]),
        detailed_exitcode=flags["detailed_exitcode"],
        out_path=flags["out_path"],
        markdown_out=flags.get("markdown_out"),
        verbose=flags["verbose"],
    )


def apply_request(flags: Mapping[str, Any]) -> ApplyArgs:
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
    request = ApplyRequest(
        config_path=flags["config_path"],
        scope=scope,
        overrides=overrides,
        planfile=planfile,
        assume_yes=flags["assume_yes"],
        checksum=flags["checksum"],
        wait=None if flags["no_wait"] else flags["wait"],
        lock_timeout=flags.get("lock_timeout", 0.0),
        assume_settled=flags.get("assume_settled", False),
    )
    view = View(flags["output_format"], flags["markdown_limit"])
    return ApplyArgs(request, view, flags["verbose"])


def import_request(flags: Mapping[str, Any]) -> ImportArgs:
    """The flags of ``import``; which users must be said one way (--all, --user, --ids-from)."""
    names = tuple(flags["target_names"])
    request = ImportRequest(
        config_path=flags["config_path"],
        target=names[0] if len(set(names)) == 1 else "",
        wanted=_requested_ids(flags["import_all"], flags["user_ids"], flags["ids_from"]),
        overrides=Overrides(parallelism=flags["parallelism"]),
        out_path=flags["out_path"],
        include_system=flags["include_system"],
        with_events=flags["with_events"],
    )
    return ImportArgs(request, names, flags["verbose"])


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
