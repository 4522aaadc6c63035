"""Benchmark: reading a Usertour plan by GETs only vs by the page (issue 15), in one run.

For each case DECLARED:ENVIRONMENT, an emulated Usertour environment of ENVIRONMENT users (its
store seeded directly, in one transaction) is served in its own process with a per-request
latency (20 ms by default); a repository declares DECLARED of them (a random sample, as live),
and the plan is made in process twice on the same workspace:
  GET only   make_plan(..., min_to_list=None): one GET per declared user (the old read),
  by page    make_plan(...): the read strategy (readstrategy.py), listing while it pays.
It prints requests (list pages + GETs, from the emulator's own request log) and wall time of
each, and their ratios. Not a test: figures only. Both plans must come out equal.
``--rate R`` also limits the emulator to R requests per second per key, and sets the target's
``rate_limit`` to R (a vendor's per-minute limit: then requests are time).

    python bench/read_by_page.py                     # the five cases of issue 15 (~4 minutes)
    python bench/read_by_page.py --cases 1000:1000,10:10000 --latency-ms 20 --parallelism 16
    python bench/read_by_page.py --cases 1000:1000,1000:10000 --rate 20
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
from common import served

from reconciler.load.workspace import load_workspace
from reconciler.model import Upsert
from reconciler.plan.engine import make_plan, open_providers
from reconciler.sandbox.options import DEFAULT_USERTOUR_KEY
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.usertour_api import NAMESPACE

CASES = "1000:1000,1000:10000,10000:10000,10000:100000,10:10000"
ENV = {"USERTOUR_API_KEY": DEFAULT_USERTOUR_KEY}


@dataclass(frozen=True)
class Measured:
    pages: int
    gets: int
    wall: float

    @property
    def requests(self) -> int:
        return self.pages + self.gets


def user_id(n: int) -> str:
    return f"user-{n:06d}"


def seed_store(db: Path, size: int) -> None:
    """The environment's users, written straight into the emulator's store."""
    with UserStore(db) as store:
        store.upsert_many(
            NAMESPACE, (Upsert(user_id(n), {"plan": "pro", "seats": n}) for n in range(size))
        )


def write_repo(
    root: Path, url: str, declared: list[int], parallelism: int, rate: float | None
) -> Path:
    (root / "users").mkdir(parents=True)
    limit = f"    rate_limit: {rate}\n" if rate else ""
    (root / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: usertour\n"
        f"    base_url: {url}\n    api_key_env: USERTOUR_API_KEY\n"
        f"    parallelism: {parallelism}\n{limit}users: [users/]\n"
    )
    users = [{"id": user_id(n), "attributes": {"plan": "pro", "seats": n}} for n in declared]
    (root / "users" / "all.yaml").write_text(json.dumps({"users": users}))
    return root / "reconciler.yaml"


def requests_since_last(url: str) -> tuple[int, int]:
    """(list pages, GETs of one user) in the emulator's log since it was last cleared."""
    log = httpx.get(f"{url}/_sandbox/requests", timeout=60).json()
    httpx.post(f"{url}/_sandbox/requests/clear").raise_for_status()
    pages = sum(1 for entry in log if entry["path"].split("?")[0] == "/v1/users")
    return pages, len(log) - pages


def measure_case(
    tmp: Path, url: str, size: int, count: int, parallelism: int, rate: float | None
) -> list[Measured]:
    """Plan ``count`` declared users of the environment, GET only and then by page."""
    declared = sorted(random.Random(count * 7919 + size).sample(range(size), count))
    config = write_repo(tmp / f"repo-{count}-{size}", url, declared, parallelism, rate)
    workspace = load_workspace(config, ENV)
    plans, measured = [], []
    for min_to_list in (None, 100):
        requests_since_last(url)
        with ExitStack() as stack:
            providers = open_providers(workspace, ENV, stack)
            started = time.perf_counter()
            plans.append(make_plan(workspace, providers, min_to_list=min_to_list))
            wall = time.perf_counter() - started
        measured.append(Measured(*requests_since_last(url), wall))
    assert plans[0] == plans[1] and not plans[0].has_changes, "the two reads disagree"
    return measured


def report(count: int, size: int, get_only: Measured, by_page: Measured) -> str:
    return (
        f"| {count:,} | {size:,} | {get_only.requests:,} | {get_only.wall:.2f} s "
        f"| {by_page.pages:,} + {by_page.gets:,} = {by_page.requests:,} | {by_page.wall:.2f} s "
        f"| {by_page.requests / get_only.requests:.3f} | {by_page.wall / get_only.wall:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=CASES, help="DECLARED:ENVIRONMENT,...")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--rate", type=float, default=None, help="requests/s per key")
    args = parser.parse_args()
    cases = [tuple(int(n) for n in case.split(":")) for case in args.cases.split(",")]
    limit = ("--rate-limit", str(args.rate)) if args.rate else ()
    rate = f", {args.rate:g} requests/s" if args.rate else ""
    print(f"latency {args.latency_ms} ms, parallelism {args.parallelism}{rate}")
    print(
        "| declared | environment | GET only: requests | wall | by page: pages + GETs "
        "| wall | requests ratio | wall ratio |"
    )
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for size in sorted({size for _, size in cases}):
            db = Path(tmp) / f"environment-{size}.db"
            seed_store(db, size)
            with served(db, args.latency_ms, *limit) as (url, _port):
                for count, wanted_size in cases:
                    if wanted_size == size:
                        get_only, by_page = measure_case(
                            Path(tmp), url, size, count, args.parallelism, args.rate
                        )
                        print(report(count, size, get_only, by_page), flush=True)


if __name__ == "__main__":
    main()
