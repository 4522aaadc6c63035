"""The shape of the package, checked: offline commands load no HTTP stack, no import cycles.

``validate`` runs in pre-commit hooks and editors, where starting fast and needing no network
library matter, and it must learn every kind's capabilities without opening a provider. A cycle
among modules (even through an import inside a function) means two modules that cannot be
understood, tested or moved one without the other.
"""

from __future__ import annotations

import ast
import functools
import graphlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Set
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Run in a fresh interpreter: the console script's entry point (pyproject's
#: ``[project.scripts]``, whatever module the CLI lives in) with ``argv``, then what it loaded.
#: Ours by distribution: another installed package may declare a ``reconciler`` script too.
PROBE = """\
import importlib.metadata, json, sys
dist = importlib.metadata.distribution("users-reconciler")
(entry,) = (e for e in dist.entry_points if e.group == "console_scripts" and e.name == "reconciler")
code = 0
try:
    entry.load()(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "httpcore", "reconciler"))
print(json.dumps({"code": code, "loaded": loaded}), file=sys.stderr)
"""


def _probe(cwd: Path, *args: str) -> tuple[int, str, set[str]]:
    """``reconciler ARGS`` run in ``cwd``: its exit code, its output and the modules it loaded."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.endswith("_API_KEY") and not name.startswith(("GITHUB_", "RECONCILER_"))
    }
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(completed.stderr.strip().splitlines()[-1])
    return report["code"], completed.stdout, set(report["loaded"])


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A private copy of examples/ (its sandbox database left out)."""
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy, ignore=shutil.ignore_patterns(".reconciler"))
    return copy


@pytest.mark.parametrize(
    ("folder", "args", "said"),
    [
        # The sandbox example, and the one whose targets are Sprig and Usertour: validate checks
        # the declarations against their capabilities without loading their HTTP providers.
        (".", ("validate",), "Valid: "),
        ("emulator", ("validate",), "Valid: 2 users in 1 file, 2 targets."),
        (".", ("schema",), "config.schema.json"),
        (".", ("--help",), "Usage: reconciler"),
    ],
    ids=["validate", "validate-http-targets", "schema", "help"],
)
def test_offline_commands_load_no_http_stack(
    examples: Path, folder: str, args: tuple[str, ...], said: str
) -> None:
    code, output, loaded = _probe(examples / folder, *args)
    assert (code, said in output) == (0, True), output  # the command ran, and to the end
    assert not {m for m in loaded if m.startswith(("httpx", "httpcore"))}
    assert not {m for m in loaded if m.startswith("reconciler.providers.")} - OFFLINE_PROVIDERS


#: The provider modules an offline command may load: none. What each kind of target holds is
#: on the floor (reconciler/kinds/), so checking declarations against it opens no provider.
OFFLINE_PROVIDERS: set[str] = set()


# --- import cycles -------------------------------------------------------------------------


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``root``, by dotted name (a package by its own)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterable[str]:
    """The names one import statement may load: ``from a import b`` loads ``a`` and maybe
    ``a.b``; a relative import is resolved against ``module``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def imports_of(path: Path, module: str, known: Iterable[str]) -> set[str]:
    """The modules among ``known`` that ``module`` imports, at module level or inside a
    function (a lazy import still ties the two); ``if TYPE_CHECKING:`` blocks do not count."""
    names = set(known)
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while pending:
        node = pending.pop()
        if _type_checking_only(node):
            continue
        found.update(_imported(node, module, path.name == "__init__.py"))
        pending.extend(ast.iter_child_nodes(node))
    return {name for name in found if name in names and name != module}


def cycles(graph: Mapping[str, Set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            if component:
                found.append(sorted([node, *component]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = module_files(root, package)
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


@functools.cache
def reconciler_graph() -> Mapping[str, frozenset[str]]:
    """This checkout's import graph, parsed once per test process (six tests read it; none
    changes a file of the package)."""
    return {name: frozenset(targets) for name, targets in import_graph(ROOT, "reconciler").items()}


#: The cycle issue 16 point 4 removed: ``main`` registered the import command, which imported
#: ``main``'s logging setup back inside a function (now both use cli/console.py).
CLI_PAIR = ["reconciler.cli.import_cmd", "reconciler.cli.main"]


def test_no_import_cycle_among_reconcilers_modules() -> None:
    assert cycles(reconciler_graph()) == []


def test_the_cli_commands_do_not_import_each_other() -> None:
    assert CLI_PAIR not in cycles(reconciler_graph())


def test_the_cycle_finder_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    """The walk above is only as good as what it sees: a cycle closed inside a function or by a
    relative import is found; one that only type checkers follow is not a cycle."""
    package = tmp_path / "pkg"
    package.mkdir()
    files = {
        "__init__.py": "",
        "a.py": "from pkg import b\n",
        "b.py": "def later():\n    from . import a\n",
        "c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\n",
        "d.py": "import pkg.c\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    assert cycles(import_graph(tmp_path, "pkg")) == [["pkg.a", "pkg.b"]]


# --- the tree shows the flow: load -> plan -> render | apply -> providers ------------------------

#: Modules every stage may use: plain values, errors, escaping, the one pool, progress lines,
#: and the vocabulary several stages share: what each kind of target holds (``kinds``), a
#: target's settings, the URL policy, the retry policy; and the clock.
FLOOR = {
    "errors",
    "model",
    "planned",
    "mapping",
    "escape",
    "quoting",
    "concurrency",
    "progress",
    "kinds",
    "settings",
    "urlpolicy",
    "retry",
    "clock",
    "__init__",
}
#: The stages each stage may import besides the floor: the README's "Architecture" draws
#: exactly these (checked below), every one is used, and they point one way (a topological
#: order exists). load reads the repository and its ``.reconciler/`` state, the write-ahead
#: record included, so apply reaches back past plan to load to write that record (a
#: downstream edge, skipping a level, never against the flow); providers open the
#: emulator's store; render only reads the plan's values; usecases puts the stages together
#: into validate, plan, apply and import (the library surface), and cli only drives usecases,
#: renders, and reads what its flags need (the configured targets when import gets no --target,
#: the schema's path, the guards' defaults, the emulator to serve).
STAGES: dict[str, set[str]] = {
    "load": set(),
    "sandbox": set(),
    "providers": {"sandbox"},
    "plan": {"load", "providers"},
    "render": {"plan"},
    "apply": {"load", "plan", "providers"},
    "importing": {"load"},
    "usecases": {"load", "plan", "render", "apply", "providers", "importing"},
    "cli": {"usecases", "load", "plan", "render", "sandbox"},
    "__main__": {"cli"},
}


def _stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "__init__"


def test_no_module_imports_against_the_flow() -> None:
    against = sorted(
        f"{module} imports {target}"
        for module, targets in reconciler_graph().items()
        for target in targets
        if _stage(target) not in FLOOR
        and _stage(target) != _stage(module)
        and _stage(target) not in STAGES.get(_stage(module), set())
    )
    assert against == []


def test_the_floor_imports_only_the_floor_and_every_stage_is_known() -> None:
    graph = reconciler_graph()
    assert {_stage(m) for m in graph} <= FLOOR | set(STAGES)
    floor = {m: {_stage(t) for t in ts} for m, ts in graph.items() if _stage(m) in FLOOR}
    assert {m: s - FLOOR for m, s in floor.items() if s - FLOOR} == {}


def stage_edges(graph: Mapping[str, Set[str]]) -> dict[str, set[str]]:
    """The stages each stage imports, besides its own and the floor's modules."""
    edges: dict[str, set[str]] = {}
    for module, targets in graph.items():
        for target in targets:
            if _stage(target) not in FLOOR | {_stage(module)}:
                edges.setdefault(_stage(module), set()).add(_stage(target))
    return edges


def test_every_edge_the_table_allows_is_used() -> None:
    """A permission no import needs is an edge the picture draws for nothing."""
    used = stage_edges(reconciler_graph())
    unused = sorted(
        f"{stage} -> {target}"
        for stage, targets in STAGES.items()
        for target in targets - used.get(stage, set())
    )
    assert unused == []


def acyclic_order(edges: Mapping[str, set[str]]) -> list[str]:
    """The stages, each after every stage it imports (raises graphlib.CycleError if none)."""
    return list(graphlib.TopologicalSorter(edges).static_order())


def test_the_stages_point_one_way() -> None:
    """No stage imports, directly or through others, a stage that imports it back: a
    topological order exists, with the flow's stages in the flow's order."""
    order = acyclic_order(STAGES)
    assert order.index("load") < order.index("plan") < order.index("apply") < order.index("cli")


def test_the_acyclic_check_sees_a_cycle_through_several_stages() -> None:
    with pytest.raises(graphlib.CycleError):
        acyclic_order({"a": {"b"}, "b": {"c"}, "c": {"a"}})


#: One line of the README's import table: ``plan/      ──▶ load/ · providers/``.
README_EDGE = re.compile(r"^\s*(\S+?)/?\s+──▶\s+(.*)$")


def readme_stage_edges(readme: str) -> dict[str, set[str]]:
    """The edges the README's "Architecture" draws in its import table (the block after
    the line that names it), by stage."""
    section = readme.split("### Architecture", 1)[1].split("\n### ", 1)[0]
    block = section.split("Who imports whom", 1)[1].split("```text", 1)[1].split("```", 1)[0]
    edges: dict[str, set[str]] = {}
    for line in block.splitlines():
        if match := README_EDGE.match(line):
            named = {name.strip().rstrip("/") for name in match[2].split("·")}
            edges[match[1]] = {name for name in named if name and not name.startswith("(")}
    return edges


def test_the_readme_draws_exactly_the_allowed_edges() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_stage_edges(readme) == STAGES


#: What the package's ``__init__`` loads its public names from (by name, on first use, so
#: that ``import reconciler`` loads no stage): the library surface and the floor.
SURFACE = {"usecases", "errors"}


def test_the_public_surface_is_the_use_cases_and_nothing_imports_them_but_the_cli() -> None:
    import reconciler

    assert {_stage(module) for module in reconciler._PUBLIC.values()} == SURFACE
    for name in reconciler.__all__:  # every name there, and loadable
        assert getattr(reconciler, name) is not None
    users = {
        module
        for module, targets in reconciler_graph().items()
        if any(_stage(target) == "usecases" for target in targets)
    }
    assert {_stage(module) for module in users} == {"usecases", "cli"}


# --- one meaning per name (issue 25 point 5) -----------------------------------------------


def public_definitions(root: Path, package: str) -> dict[str, list[str]]:
    """Every public class and function defined at a module's top level, by name: the modules
    that define it."""
    found: dict[str, list[str]] = {}
    for module, path in module_files(root, package).items():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and not node.name.startswith("_"):
                found.setdefault(node.name, []).append(module)
    return found


def test_a_class_name_and_a_format_function_have_one_meaning() -> None:
    """Two classes of one name (the safety ``Limits`` and an answer's) or two ``format_path``
    (a declared field and a place in a file) read alike and mean different things."""
    defined = public_definitions(ROOT, "reconciler")
    classes = {
        node.name
        for path in module_files(ROOT, "reconciler").values()
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.ClassDef)
    }
    twice = {name: modules for name, modules in defined.items() if len(modules) > 1}
    assert {name: twice[name] for name in classes if name in twice} == {}
    assert {name: twice[name] for name in twice if name.startswith("format_")} == {}
