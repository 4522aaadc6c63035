"""Benchmark: `reconciler plan` over HTTP against the bare-GET floor, in one run.

Starts the emulator on 127.0.0.1 (its own process) with a per-request latency (50 ms by default:
a realistic round trip to a SaaS API), seeds N live Sprig users, then measures, pair by pair
(alternated, ``--runs`` pairs after one warm-up pair):
  floor       the same N GETs from a bare http.client thread pool with the same parallelism
              (this process: its CPU is this process's),
  reconciler  `reconciler plan` (subprocess: load, N GETs, plan, render) with that parallelism,
  before      the same command from another copy of the code (``--before PATH``), if given,
and prints medians of wall time and CPU per user, and the median ratios to the floor. With
``--in-process`` it also times the plan itself in this process (no interpreter start).
Not a test: figures only.

    python bench/plan_http.py --users 4000 --latency-ms 50 --parallelism 16 --runs 5 \
        --before /tmp/base
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import local
from urllib.parse import quote

from common import run_reconciler, seed, served

from reconciler.sandbox.options import DEFAULT_SPRIG_KEY


def write_repo(root: Path, url: str, count: int, parallelism: int) -> None:
    (root / "users").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: sprig\n"
        f"    base_url: {url}\n    api_key_env: SPRIG_API_KEY\n    parallelism: {parallelism}\n"
    )
    users = [
        {"id": f"user-{i:06d}", "attributes": {"plan": "pro", "seats": i}} for i in range(count)
    ]
    (root / "users" / "all.yaml").write_text(json.dumps({"users": users}))


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def floor(port: int, count: int, parallelism: int) -> tuple[float, float]:
    """The same GETs from bare http.client, one keep-alive connection per thread: wall, CPU."""
    state = local()

    def get(index: int) -> int:
        if not hasattr(state, "connection"):
            state.connection = http.client.HTTPConnection("127.0.0.1", port)
        path = "/v2/users/" + quote(f"user-{index:06d}", safe="")
        state.connection.request(
            "GET", path, headers={"Authorization": f"API-Key {DEFAULT_SPRIG_KEY}"}
        )
        response = state.connection.getresponse()
        response.read()
        return response.status

    cpu = cpu_self()
    started = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        statuses = list(pool.map(get, range(count)))
    assert statuses.count(200) == count, "floor: not every GET answered 200"
    return time.perf_counter() - started, cpu_self() - cpu


def reconciler_plan(root: Path, code: str | None = None) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one `reconciler plan` subprocess; ``code``:
    the directory of another copy of the package (PYTHONPATH)."""
    env = {"SPRIG_API_KEY": DEFAULT_SPRIG_KEY}
    if code is not None:
        env["PYTHONPATH"] = code
    timed = run_reconciler(root, env, "plan", "--detailed-exitcode")
    return timed.wall, timed.cpu


def in_process_plan(root: Path) -> float:
    """The plan itself, in this process: load, read every user, compare (no process start)."""
    from contextlib import ExitStack

    from reconciler.load.workspace import load_workspace
    from reconciler.plan.engine import make_plan, open_providers

    env = {**os.environ, "SPRIG_API_KEY": DEFAULT_SPRIG_KEY}
    started = time.perf_counter()
    workspace = load_workspace(root / "reconciler.yaml", env)
    with ExitStack() as stack:
        plan = make_plan(workspace, open_providers(workspace, env, stack))
    assert not plan.has_changes
    return time.perf_counter() - started


def measure(
    args: argparse.Namespace, port: int, repo: Path
) -> dict[str, list[tuple[float, float]]]:
    """Each variant's (wall, CPU) per pair; the first pair warms up and is dropped."""
    runs: dict[str, list[tuple[float, float]]] = {"floor": [], "reconciler": []}
    if args.before:
        runs["before"] = []
    for number in range(args.runs + 1):
        pair = {"floor": floor(port, args.users, args.parallelism)}
        pair["reconciler"] = reconciler_plan(repo)
        if args.before:
            pair["before"] = reconciler_plan(repo, args.before)
        if number:
            for name, figures in pair.items():
                runs[name].append(figures)
    return runs


def report(args: argparse.Namespace, runs: dict[str, list[tuple[float, float]]]) -> None:
    users = args.users
    print(
        f"{users} users, latency {args.latency_ms} ms, parallelism {args.parallelism}, "
        f"medians of {args.runs} pairs"
    )
    for name, figures in runs.items():
        wall = statistics.median(f[0] for f in figures)
        cpu = statistics.median(f[1] for f in figures)
        per_user = cpu / users * 1000
        line = f"{name:<11} wall {wall:7.2f} s   cpu {cpu:6.2f} s   cpu per user {per_user:.3f} ms"
        if name != "floor":
            ratios = [f[0] / b[0] for f, b in zip(figures, runs["floor"], strict=True)]
            line += f"   wall / floor {statistics.median(ratios):.3f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3, help="measured pairs (after a warm-up)")
    parser.add_argument("--before", help="another copy of the code (its PYTHONPATH) to time too")
    parser.add_argument("--in-process", action="store_true", help="also time the plan in process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "emulator.db"
        seed(db, args.users)
        with served(db, args.latency_ms) as (url, port):
            repo = Path(tmp) / "repo"
            write_repo(repo, url, args.users, args.parallelism)
            runs = measure(args, port, repo)
            inside = in_process_plan(repo) if args.in_process else None
    report(args, runs)
    if inside is not None:
        print(f"in process  wall {inside:7.2f} s (this code: no interpreter start)")


if __name__ == "__main__":
    main()
