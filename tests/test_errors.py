"""One error taxonomy: every error a user can act on is declared in reconciler/errors.py.

Callers catch by meaning (``except TargetError``), never by the module that happens to raise,
and the CLI maps the classes of one module to exit codes (cli/exits.py).
"""

from __future__ import annotations

import importlib
import pkgutil

import reconciler
from reconciler.errors import ReconcilerError


def every_subclass(base: type[ReconcilerError]) -> list[type[ReconcilerError]]:
    found = []
    for subclass in base.__subclasses__():
        found += [subclass, *every_subclass(subclass)]
    return found


def test_every_reconciler_error_is_declared_in_errors_py() -> None:
    for module in pkgutil.walk_packages(reconciler.__path__, "reconciler."):
        if module.name != "reconciler.__main__":  # running it runs the CLI
            importlib.import_module(module.name)
    elsewhere = sorted(
        f"{kind.__module__}.{kind.__qualname__}"
        for kind in every_subclass(ReconcilerError)
        if kind.__module__ != "reconciler.errors" and not kind.__module__.startswith("tests")
    )
    assert elsewhere == []
