"""Nothing outside the CLI reads the process's environment or sleeps on its own (issue 25
point 3): the environment, the transport and the clock come in a ``Runtime`` value, which
the CLI builds from its process (cli/console.py ``from_process``) and a test or program builds
as it likes. A module that read ``os.environ`` itself would make two runs in one process see
each other's settings, and one that called ``time.sleep`` could not be given another clock.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: What only the process's edge may touch: (module, attribute).
FORBIDDEN = {
    ("os", "environ"),
    ("os", "environb"),
    ("os", "getenv"),
    ("os", "getenvb"),
    ("os", "putenv"),
    ("os", "unsetenv"),
    ("time", "sleep"),
}

#: The one folder that builds the runtime from the process.
EDGE = "reconciler/cli/"

#: Each place outside the CLI still allowed, and why (path, forbidden name).
ALLOWED = {
    # The system clock itself: every other module sleeps through a Clock it is given.
    ("reconciler/clock.py", "time.sleep"),
    # The emulator plays the vendor's server: its latency and race window are the server's
    # wall time (its own options set them), not a run's clock; a test of our clock would not
    # want them faked.
    ("reconciler/sandbox/app.py", "time.sleep"),
    ("reconciler/sandbox/usertour_writes.py", "time.sleep"),
    # Where the per-user cache of compiled schema code lives ($XDG_CACHE_HOME, like pip's and
    # mypy's): the code is memoised for the whole process (functools.cache) before any run
    # starts, so it cannot follow one run's environment; it changes no result, only speed.
    ("reconciler/load/schemacache.py", "os.environ"),
}


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local names bound to a forbidden module or name: ``import os as o`` gives ``o -> os``,
    ``from time import sleep as nap`` gives ``nap -> time.sleep``."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in ("os", "time"):
                    names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "time"):
            for alias in node.names:
                if (node.module, alias.name) in FORBIDDEN:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def uses(source: str) -> Iterator[tuple[int, str]]:
    """(line, ``module.name``) of every forbidden name ``source`` imports or reads."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("os", "time"):
            for alias in node.names:
                if (node.module, alias.name) in FORBIDDEN:
                    yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module is not None and (module, node.attr) in FORBIDDEN:
                yield node.lineno, f"{module}.{node.attr}"


def found_outside_the_cli(root: Path) -> set[tuple[str, str]]:
    """(path, name) of each forbidden use in ``root/reconciler`` outside ``cli/``."""
    found = set()
    for path in sorted((root / "reconciler").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith(EDGE):
            continue
        for _, name in uses(path.read_text(encoding="utf-8")):
            found.add((relative, name))
    return found


def test_no_module_outside_the_cli_reads_the_environment_or_sleeps() -> None:
    assert found_outside_the_cli(ROOT) - ALLOWED == set()


def test_every_allowed_place_is_still_needed() -> None:
    """An allowance nobody uses any more is removed, not left to cover a new use."""
    assert ALLOWED - found_outside_the_cli(ROOT) == set()


def test_the_walk_sees_every_spelling() -> None:
    source = """\
import os
import os as system
import time as t
from os import environ, getenv as get
from time import sleep

os.environ["A"]
system.getenv("B")
t.sleep(1)
environ.get("C")
os.path.join("a", "b")
t.monotonic()
def later():
    import time
    time.sleep(2)
"""
    assert sorted(uses(source)) == [
        (4, "os.environ"),
        (4, "os.getenv"),
        (5, "time.sleep"),
        (7, "os.environ"),
        (8, "os.getenv"),
        (9, "time.sleep"),
        (15, "time.sleep"),
    ]
