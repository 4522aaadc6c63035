"""Benchmark: the test suite's wall time, as a ratio to collecting the same suite.

Runs, in turn (A B A B ...), ``pytest`` (the project's own settings: pyproject's addopts) and
``pytest --collect-only -q`` (the floor: the same interpreter importing and collecting the same
tests, running none) in the tree given by ``--code`` (default: this checkout), with PYTHONPATH
pointing at that tree; prints each pair's wall times and ratio, their medians, CPU (user +
system of the child processes, the operating system's accounting) and the slowest tests of the
last run as pytest's ``--durations`` reports them. A run with failures still counts (a failed
test ran to its failure), and the failures are listed under it.

    python bench/suite_time.py [--runs 2] [--code PATH] [--extra-path DIR] [--slowest 20]
                               [-- PYTEST_ARGS...]

``--extra-path`` appends a folder to PYTHONPATH (pytest-xdist installed with ``pip --target``,
where the dev extra is not installed).

To compare with another commit, run this script against a copy of it
(``git archive COMMIT | tar -x -C /tmp/base``, then ``--code /tmp/base``) in the same run.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DURATION = re.compile(r"^\s*(\d+\.\d+)s (call|setup|teardown)\s+(\S.*)$")


@dataclass(frozen=True)
class Run:
    """One pytest run: wall and CPU seconds, its exit code and its output."""

    wall: float
    cpu: float
    code: int
    output: str


def pytest(code: Path, args: list[str], extra: list[str]) -> Run:
    """Run ``python -m pytest ARGS`` in ``code`` with that tree (and ``extra``) on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), *extra])}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=code,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(wall, cpu, done.returncode, done.stdout)


def slowest(output: str, count: int) -> list[str]:
    """The ``count`` longest phases pytest's ``--durations`` printed, longest first."""
    rows = [m.groups() for line in output.splitlines() if (m := DURATION.match(line))]
    rows.sort(key=lambda row: -float(row[0]))
    return [f"{float(s):7.2f} s  {phase:8} {test}" for s, phase, test in rows[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="pairs to run (default 2)")
    parser.add_argument("--code", type=Path, default=ROOT, help="the tree to test")
    parser.add_argument("--extra-path", action="append", default=[], help="for PYTHONPATH")
    parser.add_argument("--slowest", type=int, default=20)
    parser.add_argument("pytest_args", nargs="*", help="after --: more arguments for pytest")
    args = parser.parse_args()
    code = args.code.resolve()
    suite = ["-p", "no:randomly", f"--durations={args.slowest}", *args.pytest_args]
    floor = ["--collect-only", "-q", "-p", "no:randomly", *args.pytest_args]
    pairs: list[tuple[Run, Run]] = []
    last = None
    for number in range(1, args.runs + 1):
        ours = pytest(code, suite, args.extra_path)
        base = pytest(code, floor, args.extra_path)
        last = ours
        ratio = ours.wall / base.wall
        failed = [line for line in ours.output.splitlines() if line.startswith("FAILED ")]
        state = "passed" if ours.code == 0 else f"exit {ours.code}: " + "; ".join(failed)
        print(
            f"pair {number}: suite {ours.wall:6.1f} s wall, {ours.cpu:6.1f} s CPU   "
            f"collect-only {base.wall:5.1f} s   ratio {ratio:5.1f}   {state}",
            flush=True,
        )
        pairs.append((ours, base))
    if pairs:
        wall = statistics.median(a.wall for a, _ in pairs)
        cpu = statistics.median(a.cpu for a, _ in pairs)
        base_wall = statistics.median(b.wall for _, b in pairs)
        ratio = statistics.median(a.wall / b.wall for a, b in pairs)
        print(
            f"median of {len(pairs)}: suite {wall:.1f} s wall ({cpu:.1f} s CPU), "
            f"collect-only {base_wall:.1f} s, ratio {ratio:.1f}"
        )
    if last is not None:
        print(f"slowest {args.slowest} (last run):")
        print("\n".join(slowest(last.output, args.slowest)))


if __name__ == "__main__":
    main()
