"""Benchmark: `reconciler apply` of N new users against the bare-POST floor, in one run.

For each vendor (Sprig, Usertour), pair by pair (alternated, ``--runs`` pairs after a warm-up
pair), each run against a fresh, empty emulator in its own process with a per-request latency:
  floor       the same N POSTs (the bodies apply sends: the kind's ``describe_request``) from a
              bare http.client thread pool with the same parallelism, one keep-alive
              connection per thread,
  floor+reads the same, with the GETs apply must send too (each user read before, and on
              Sprig read again after: see ``floor``),
  reconciler  `reconciler apply --yes` of a repository declaring the N users (subprocess: load,
              the plan's reads, the POSTs, verification, the report),
  before      the same command from another copy of the code (``--before PATH``), if given.
Prints medians of wall time and CPU, the median ratio to the floor pair by pair, and the
requests each run made (the emulator's log). Not a test: figures only.

    python bench/apply_creates.py --users 1000 --latency-ms 20 --parallelism 16 --runs 3 \\
        --before /tmp/base
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from threading import local
from typing import Any

from common import run_reconciler, served

from reconciler.kinds import sprig as sprig_kind
from reconciler.kinds import usertour as usertour_kind
from reconciler.model import Event, Upsert
from reconciler.sandbox.options import DEFAULT_SPRIG_KEY, DEFAULT_USERTOUR_KEY

VENDORS = {
    "sprig": ("SPRIG_API_KEY", f"API-Key {DEFAULT_SPRIG_KEY}", DEFAULT_SPRIG_KEY, sprig_kind),
    "usertour": (
        "USERTOUR_API_KEY",
        f"Bearer {DEFAULT_USERTOUR_KEY}",
        DEFAULT_USERTOUR_KEY,
        usertour_kind,
    ),
}


#: ``--events``: each Sprig user also carries one event (recorded before its POST leaves).
EVENTS = [False]
T0 = 1_700_000_000_000


def user(index: int, vendor: str = "usertour") -> dict[str, object]:
    spec: dict[str, object] = {
        "id": f"user-{index:06d}",
        "attributes": {"plan": "pro", "seats": index},
    }
    if EVENTS[0] and vendor == "sprig":
        spec["events"] = [{"event": "login", "timestamp": T0 + index}]
    return spec


def write_repo(root: Path, vendor: str, url: str, count: int, parallelism: int) -> None:
    (root / "users").mkdir(parents=True, exist_ok=True)
    variable = VENDORS[vendor][0]
    (root / "reconciler.yaml").write_text(
        f"targets:\n  prod:\n    provider: {vendor}\n    base_url: {url}\n"
        f"    api_key_env: {variable}\n    parallelism: {parallelism}\n"
    )
    users = [user(i, vendor) for i in range(count)]
    (root / "users" / "all.yaml").write_text(json.dumps({"users": users}))


@contextmanager
def emulator(directory: Path, latency_ms: int) -> Iterator[tuple[str, int, Path]]:
    """A fresh, empty emulator in its own process; its request log goes to a file."""
    db, log = directory / "emulator.db", directory / "requests.log"
    for stale in directory.glob("emulator.db*"):
        stale.unlink()
    with log.open("w") as errors, served(db, latency_ms, "-v", errors=errors) as (url, port):
        yield url, port, log


def requests_made(log: Path) -> dict[str, int]:
    """Requests by method in the emulator's log (one line per request it answered)."""
    counts: dict[str, int] = {}
    for method in re.findall(r"\b(GET|POST|DELETE)\b", log.read_text()):
        counts[method] = counts.get(method, 0) + 1
    return counts


def floor(
    vendor: str, port: int, count: int, parallelism: int, reads: bool = False
) -> tuple[float, float]:
    """The same POSTs from bare http.client, one keep-alive connection per thread; ``reads``:
    the GETs apply must send too, in its order (every user read before the POSTs, since only
    a GET proves a user absent; on Sprig, which answers 202 and applies later, read again
    after them to verify)."""
    _, header, _, kind = VENDORS[vendor]
    bodies = []
    for index in range(count):
        spec = user(index, vendor)
        raw: list[dict[str, Any]] = spec.get("events", [])  # type: ignore[assignment]
        events = tuple(Event(e["event"], e["timestamp"]) for e in raw)
        attributes: dict[str, Any] = spec["attributes"]  # type: ignore[assignment]
        upsert = Upsert(str(spec["id"]), attributes, events=events)
        request = kind.describe_request(upsert)
        bodies.append(json.dumps(request["body"]).encode())
    path = request["path"]
    state = local()

    def send(method: str, where: str, body: bytes | None = None) -> int:
        if not hasattr(state, "connection"):
            state.connection = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Authorization": header, "Content-Type": "application/json"}
        state.connection.request(method, where, body=body, headers=headers)
        response = state.connection.getresponse()
        response.read()
        return response.status

    def get(index: int) -> int:
        return send("GET", f"{path}/{user(index)['id']}")

    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(parallelism) as pool:
        if reads:
            assert set(pool.map(get, range(count))) == {404}
        statuses = list(pool.map(lambda body: send("POST", path, body), bodies))
        if reads and vendor == "sprig":
            assert set(pool.map(get, range(count))) == {200}
    assert all(200 <= status < 300 for status in statuses), set(statuses)
    return time.perf_counter() - started, time.process_time() - cpu


def apply(vendor: str, repo: Path, code: str | None) -> tuple[float, float]:
    variable, _, key, _ = VENDORS[vendor]
    env = {variable: key, **({"PYTHONPATH": code} if code else {})}
    settled = ("--assume-settled",) if EVENTS[0] and vendor == "sprig" else ()
    timed = run_reconciler(repo, env, "apply", "--yes", "--max-changes", "1000000", *settled)
    assert timed.stdout.rstrip().endswith(" 0 failed."), timed.stdout[-400:]
    return timed.wall, timed.cpu


Figures = dict[str, list[tuple[float, float]]]


def one_pair(vendor: str, args: argparse.Namespace, work: Path) -> dict[str, tuple[float, float]]:
    pair: dict[str, tuple[float, float]] = {}
    variants: list[tuple[str, str | None]] = [("reconciler", None)]
    if args.before:
        variants.append(("before", args.before))
    with emulator(work, args.latency_ms) as (_, port, _):
        pair["floor"] = floor(vendor, port, args.users, args.parallelism)
    with emulator(work, args.latency_ms) as (_, port, _):
        pair["floor+reads"] = floor(vendor, port, args.users, args.parallelism, reads=True)
    for name, code in variants:
        with emulator(work, args.latency_ms) as (url, _, log):
            write_repo(work / "repo", vendor, url, args.users, args.parallelism)
            pair[name] = apply(vendor, work / "repo", code)
        requests[name] = requests_made(log)
    return pair


requests: dict[str, dict[str, int]] = {}


def report(vendor: str, args: argparse.Namespace, runs: Figures) -> None:
    with_events = " with an event each" if EVENTS[0] and vendor == "sprig" else ""
    print(
        f"{vendor}: {args.users} new users{with_events}, latency {args.latency_ms} ms, "
        f"parallelism {args.parallelism}, medians of {args.runs} pairs"
    )
    for name, figures in runs.items():
        wall = statistics.median(f[0] for f in figures)
        cpu = statistics.median(f[1] for f in figures)
        line = f"  {name:<11} wall {wall:7.2f} s   cpu {cpu:6.2f} s"
        if name in requests:
            for floor_name in ("floor", "floor+reads"):
                ratios = [f[0] / b[0] for f, b in zip(figures, runs[floor_name], strict=True)]
                line += f"   / {floor_name} {statistics.median(ratios):.3f}"
            line += f"   requests {requests[name]}"
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3, help="measured pairs (after a warm-up)")
    parser.add_argument("--vendors", default="sprig,usertour")
    parser.add_argument("--before", help="another copy of the code (its PYTHONPATH) to time too")
    parser.add_argument(
        "--events",
        action="store_true",
        help="Sprig users carry an event (--assume-settled: the record covers, one line each)",
    )
    args = parser.parse_args()
    EVENTS[0] = args.events
    for vendor in args.vendors.split(","):
        runs: Figures = {}
        with tempfile.TemporaryDirectory() as tmp:
            for number in range(args.runs + 1):
                pair = one_pair(vendor, args, Path(tmp))
                if number:
                    for name, figures in pair.items():
                        runs.setdefault(name, []).append(figures)
        report(vendor, args, runs)


if __name__ == "__main__":
    main()
