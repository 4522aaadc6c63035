"""reconciler: users as code for Sprig and Usertour.

Use from Python: each use case is one call that takes a request value and a :class:`Runtime`
and returns a result value, raising the errors below (never printing or exiting)::

    import os
    from pathlib import Path

    import reconciler

    runtime = reconciler.Runtime(environ=os.environ)
    planned = reconciler.plan_changes(reconciler.PlanRequest(Path("reconciler.yaml")), runtime)
    print(planned.plan.has_changes, planned.plan_view.checksum)

The names load on first use (``validate`` must not pay for the HTTP stack), from
reconciler/usecases/; the stage packages ``plan`` and ``apply`` keep their names, so the calls
are ``plan_changes`` and ``apply_changes``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from reconciler.errors import (
        ConfigError,
        Problem,
        ReconcilerError,
        RefusedError,
        TargetError,
        ValidationError,
    )
    from reconciler.usecases.applying import Applied, Stopping, apply_changes
    from reconciler.usecases.importing import Imported, import_users
    from reconciler.usecases.planning import Planned, plan_changes
    from reconciler.usecases.requests import (
        ApplyRequest,
        ImportRequest,
        Overrides,
        PlanRequest,
        Scope,
        ValidateRequest,
    )
    from reconciler.usecases.runtime import Runtime
    from reconciler.usecases.validating import Validated, validate

#: Each public name, and the module it is loaded from on first use.
_PUBLIC = {
    **dict.fromkeys(
        ("ConfigError", "Problem", "ReconcilerError", "RefusedError", "TargetError"),
        "reconciler.errors",
    ),
    "ValidationError": "reconciler.errors",
    **dict.fromkeys(("Applied", "Stopping", "apply_changes"), "reconciler.usecases.applying"),
    **dict.fromkeys(("Imported", "import_users"), "reconciler.usecases.importing"),
    **dict.fromkeys(("Planned", "plan_changes"), "reconciler.usecases.planning"),
    **dict.fromkeys(
        ("ApplyRequest", "ImportRequest", "Overrides", "PlanRequest", "Scope", "ValidateRequest"),
        "reconciler.usecases.requests",
    ),
    "Runtime": "reconciler.usecases.runtime",
    **dict.fromkeys(("Validated", "validate"), "reconciler.usecases.validating"),
}

__all__ = [
    "Applied",
    "ApplyRequest",
    "ConfigError",
    "ImportRequest",
    "Imported",
    "Overrides",
    "PlanRequest",
    "Planned",
    "Problem",
    "ReconcilerError",
    "RefusedError",
    "Runtime",
    "Scope",
    "Stopping",
    "TargetError",
    "ValidateRequest",
    "Validated",
    "ValidationError",
    "apply_changes",
    "import_users",
    "plan_changes",
    "validate",
]


def __getattr__(name: str) -> Any:
    """A public name, imported when first asked for (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module 'reconciler' has no attribute {name!r}")
    value = getattr(import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value
