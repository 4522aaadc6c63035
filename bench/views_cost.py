"""Benchmark: what choosing and running a command's view costs, this tree against another.

Runs, in turn (A B A B ...), ``validate`` and ``plan`` in each ``--format`` on a copy of
examples/ (7 users, the sandbox filled by one apply first) with this tree's package (A) and with
the package of ``--base`` (B: a checkout of the commit before, e.g. ``git archive 67b6bb4 | tar
-x -C /tmp/base``), both compiled first (the environment may set PYTHONDONTWRITEBYTECODE, and a
tree without bytecode would pay for compiling every run). Prints the median CPU (user + system,
the operating system's accounting of each child) of A and B and the median of the pair-by-pair
ratios A/B: the views (issue 25 point 4) should cost nothing measurable, a ratio near 1.

    python bench/views_cost.py --base /tmp/base [--runs 10]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (
    ("validate",),
    ("plan",),
    ("plan", "--format", "json"),
    ("plan", "--format", "markdown"),
    ("validate", "--format", "github"),
)


def cpu(arguments: tuple[str, ...], tree: Path, cwd: Path) -> float:
    """CPU seconds of one ``python -m reconciler ARGUMENTS`` with ``tree`` on the path."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    env.pop("GITHUB_STEP_SUMMARY", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [sys.executable, "-m", "reconciler", *arguments]
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other tree (B)")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    for tree in (ROOT, args.base):
        compileall.compile_dir(tree / "reconciler", quiet=1)
    with tempfile.TemporaryDirectory(prefix="reconciler-views-") as temp:
        examples = Path(temp) / "examples"
        shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns(".reconciler"))
        cpu(("apply", "--yes"), ROOT, examples)
        print(f"{args.runs} pairs each, A = {ROOT}, B = {args.base}")
        for arguments in COMMANDS:
            cpu(arguments, ROOT, examples), cpu(arguments, args.base, examples)  # warm-up
            pairs = [
                (cpu(arguments, ROOT, examples), cpu(arguments, args.base, examples))
                for _ in range(args.runs)
            ]
            a = statistics.median(p[0] for p in pairs)
            b = statistics.median(p[1] for p in pairs)
            ratio = statistics.median(p[0] / p[1] for p in pairs)
            name = " ".join(arguments)
            print(f"{name:<26} A {a:.3f} s   B {b:.3f} s   A/B {ratio:.3f}")


if __name__ == "__main__":
    main()
