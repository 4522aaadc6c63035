"""Validate: load reconciler.yaml and the declaration files (all of them, or the ones named),
offline, and say what they hold; every problem at once in one ValidationError."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import Problem
from reconciler.load.workspace import Workspace, load_workspace
from reconciler.usecases.runtime import Runtime
from reconciler.usecases.validate_request import ValidateRequest


@dataclass(frozen=True, slots=True)
class Validated:
    """Valid declarations: how many users, files read and targets, and the warnings."""

    users: int
    files: int
    targets: int
    #: Located, like problems, but nothing to refuse (a value a target will coerce...).
    warnings: tuple[Problem, ...]


def validate(request: ValidateRequest, runtime: Runtime) -> Validated:
    """Check ``request``'s repository without any request to a target or any key: raises
    ValidationError with every problem found, or ConfigError."""
    workspace = _load(request, runtime)
    return Validated(
        users=len(workspace.users),
        files=len(workspace.declarations.files),
        targets=len(workspace.targets),
        warnings=tuple(workspace.declarations.warnings),
    )


def _load(request: ValidateRequest, runtime: Runtime) -> Workspace:
    """The whole repository, or with ``files`` only those of its declaration files (each file
    named but left alone is a note, said before any file is read)."""
    if not request.files:
        return load_workspace(
            request.config_path, runtime.environ, request.target_names, check_selected_only=True
        )
    from reconciler.load.changed_files import load_named

    workspace, _ = load_named(
        request.config_path,
        runtime.environ,
        request.target_names,
        request.files,
        lambda path, reason: runtime.note(f"Skipped {path}: {reason}"),
    )
    return workspace
