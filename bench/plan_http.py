"""Benchmark: `reconciler plan` over HTTP against the bare-GET floor, in one run.

Starts the emulator on 127.0.0.1 with a per-request latency (50 ms by default: a realistic round
trip to a SaaS API), seeds N live Sprig users, then measures
  floor       the same N GETs from a bare http.client thread pool with the same parallelism,
  reconciler  `reconciler plan` (subprocess: load, N GETs, plan, render) with that parallelism,
and prints both, their ratio, and reconciler's CPU time per user. Not a test: figures only.

    python bench/plan_http.py --users 2000 --latency-ms 50 --parallelism 16
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
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


def floor(port: int, count: int, parallelism: int) -> float:
    """The same GETs from bare http.client, one keep-alive connection per thread."""
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

    started = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        statuses = list(pool.map(get, range(count)))
    assert statuses.count(200) == count, "floor: not every GET answered 200"
    return time.perf_counter() - started


def reconciler_plan(root: Path) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one `reconciler plan` subprocess."""
    timed = run_reconciler(
        root, {"SPRIG_API_KEY": DEFAULT_SPRIG_KEY}, "plan", "--detailed-exitcode"
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--parallelism", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "emulator.db"
        seed(db, args.users)
        with served(db, args.latency_ms) as (url, port):
            write_repo(Path(tmp) / "repo", url, args.users, args.parallelism)
            floor_s = floor(port, args.users, args.parallelism)
            wall, cpu = reconciler_plan(Path(tmp) / "repo")
            inside = in_process_plan(Path(tmp) / "repo")
    print(f"{args.users} users, latency {args.latency_ms} ms, parallelism {args.parallelism}")
    print(f"floor       bare http.client pool   wall {floor_s:7.2f} s")
    print(f"reconciler  plan (whole command)    wall {wall:7.2f} s   cpu {cpu:6.2f} s")
    print(f"reconciler  plan (in process)       wall {inside:7.2f} s")
    print(f"ratio       whole command / floor = {wall / floor_s:.3f}")
    print(f"ratio       in-process plan / floor = {inside / floor_s:.3f}")
    print(f"cpu per user {cpu / args.users * 1000:.2f} ms (whole command, startup included)")


if __name__ == "__main__":
    main()
