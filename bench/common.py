"""What the benchmarks share: seeding the emulator, serving it in its own process, and timing
one `reconciler` command as a user runs it (a subprocess: interpreter start included)."""

from __future__ import annotations

import os
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from reconciler.sandbox.options import DEFAULT_SPRIG_KEY
from reconciler.sandbox.server import EmulatorOptions, start_emulator


@dataclass(frozen=True)
class Timed:
    """One command's wall time, CPU time (user + system) and output."""

    wall: float
    cpu: float
    stdout: str
    stderr: str


def run_reconciler(cwd: Path, env: Mapping[str, str], *args: str) -> Timed:
    """Run ``reconciler ARGS`` in ``cwd`` with ``env`` added; it must succeed (exit 0 or 2)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode in (0, 2), done.stdout[-800:] + done.stderr[-800:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timed(wall, cpu, done.stdout, done.stderr)


def seed(db: Path, count: int) -> None:
    """Create the live users fast (no latency), through the vendor API itself."""
    with start_emulator(db, EmulatorOptions(), environ={}) as running:
        headers = {"Authorization": f"API-Key {DEFAULT_SPRIG_KEY}"}
        with httpx.Client(base_url=running.url, headers=headers) as client:
            for i in range(count):
                body = {"userId": f"user-{i:06d}", "attributes": {"plan": "pro", "seats": i}}
                client.post("/v2/users", json=body).raise_for_status()
        running.flush()


@contextmanager
def served(
    db: Path, latency_ms: int, *options: str, errors: IO[str] | None = None
) -> Iterator[tuple[str, int]]:
    """The emulator in its own process, so it never competes for the GIL with what we time;
    ``errors``: where its log goes (with ``-v``, a line per request)."""
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--db",
            str(db),
            "--latency-ms",
            str(latency_ms),
            *options,
        ],
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert match, first
        yield match.group(0), int(match.group(1))
    finally:
        server.terminate()
        server.wait(timeout=30)


def print_pairs(
    pairs: list[tuple[tuple[float, float], tuple[float, float]]], ours: str, floor: str
) -> None:
    """Medians of (cpu, wall) for ours and the floor, then the median ratio pair by pair."""
    width = max(len(ours), len(floor)) + 1
    for name, index in ((ours, 0), (floor, 1)):
        cpu = statistics.median(pair[index][0] for pair in pairs)
        wall = statistics.median(pair[index][1] for pair in pairs)
        print(f"{name:<{width}} cpu {cpu:7.2f} s   wall {wall:7.2f} s")
    cpu_ratio = statistics.median(a[0] / b[0] for a, b in pairs)
    wall_ratio = statistics.median(a[1] / b[1] for a, b in pairs)
    print(f"{'ratio':<{width}} cpu {cpu_ratio:.3f}   wall {wall_ratio:.3f}")
