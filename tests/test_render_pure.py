"""render/ is the only renderer and a pure one (issue 16, point 3): it imports no provider, no
HTTP stack and nothing that reaches the disk, the environment or the clock; it reads no file.

Checked twice: on the source (every import and call of every module under reconciler/render/)
and at run time (importing every render module in a fresh interpreter loads no provider)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import reconciler.render

RENDER = Path(reconciler.render.__file__).parent
MODULES = sorted(RENDER.glob("*.py"))
#: The only packages render/ may import at run time: pure standard library and click (styling).
STDLIB = {"__future__", "collections", "dataclasses", "functools", "html", "json", "re", "typing"}
#: ... and of reconciler, the shared floor, the plan's values and the saved plan's format.
FLOOR = {
    "reconciler",
    "reconciler.errors",
    "reconciler.escape",
    "reconciler.model",
    "reconciler.planned",
    "reconciler.plan.planfile",
}
#: Names whose use would read a file, the environment or the clock.
FORBIDDEN_NAMES = {"open", "environ", "getenv", "read_text", "read_bytes", "now", "time", "stat"}


def _runtime_imports(tree: ast.Module) -> list[str]:
    """Every module imported outside ``if TYPE_CHECKING:`` (annotations only need the names)."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
    return found


def _allowed(module: str) -> bool:
    """Standard library and click by top-level name; reconciler's modules by their full name."""
    if module == "reconciler" or module.startswith("reconciler."):
        return module in FLOOR or module.startswith("reconciler.render")
    return module.split(".")[0] in STDLIB | {"click"}


def test_every_render_module_is_checked() -> None:
    names = {path.stem for path in MODULES}
    assert {"text", "markdown", "documents", "view", "problems"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_render_imports_nothing_but_values_and_pure_helpers(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert [module for module in _runtime_imports(tree) if not _allowed(module)] == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_render_reads_no_file_environment_or_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert used & FORBIDDEN_NAMES == set()


def test_importing_render_loads_no_provider_and_no_http_stack() -> None:
    """At run time too: nothing render/ imports brings a provider module or httpx along."""
    modules = [f"reconciler.render.{path.stem}" for path in MODULES if path.stem != "__init__"]
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert [m for m in loaded if m.startswith(("reconciler.providers", "reconciler.apply"))] == []
    assert [m for m in loaded if m.startswith(("reconciler.load", "reconciler.cli"))] == []
    assert "httpx" not in loaded
