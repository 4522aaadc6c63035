"""Benchmark: what starting a command costs, as a ratio to an empty interpreter.

Runs, in turn (A B A B ...), ``python -m reconciler --help`` and ``python -m reconciler validate``
(in a copy of examples/, 7 users) against ``python -c pass`` with the same interpreter, and
prints the median CPU (user + system, the operating system's accounting of each child) and wall
time of each, and the median of the pair-by-pair ratios.

This environment may set PYTHONDONTWRITEBYTECODE with no bytecode in the tree, so every run
compiles every module it imports; ``--bytecode`` runs a compiled copy of the package instead,
as a wheel install would be.

    python bench/startup.py [--runs 20] [--bytecode]
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """CPU and wall seconds of one run of ``command`` (it must exit 0)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def paired(ours: list[str], floor: list[str], cwd: Path, env: dict[str, str], runs: int) -> str:
    """Medians of ours, of the floor, and of the ratio taken pair by pair."""
    run(ours, cwd, env), run(floor, cwd, env)  # warm-up: the page cache, not counted
    pairs = [(run(ours, cwd, env), run(floor, cwd, env)) for _ in range(runs)]
    cpu = statistics.median(a[0] for a, _ in pairs)
    base = statistics.median(b[0] for _, b in pairs)
    ratio = statistics.median(a[0] / b[0] for a, b in pairs)
    wall = statistics.median(a[1] / b[1] for a, b in pairs)
    return f"cpu {cpu:.3f} s   floor {base:.3f} s   cpu ratio {ratio:.2f}   wall ratio {wall:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bytecode", action="store_true", help="run a compiled copy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconciler-startup-") as temp:
        folder = Path(temp)
        examples = folder / "examples"
        shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns(".reconciler"))
        code = ROOT
        if args.bytecode:
            code = folder / "code"
            shutil.copytree(ROOT / "reconciler", code / "reconciler")
            shutil.copytree(ROOT / "schemas", code / "schemas")  # found beside the package
            compileall.compile_dir(code / "reconciler", quiet=1)
        env = {**os.environ, "PYTHONPATH": str(code)}
        env = {k: v for k, v in env.items() if not k.endswith("_API_KEY")}
        floor = [sys.executable, "-c", "pass"]
        print(f"{'bytecode' if args.bytecode else 'source'}, {args.runs} pairs, medians")
        for name, extra in (("--help", ["--help"]), ("validate", ["validate"])):
            line = paired(
                [sys.executable, "-m", "reconciler", *extra], floor, examples, env, args.runs
            )
            print(f"{name:<9} {line}")


if __name__ == "__main__":
    main()
