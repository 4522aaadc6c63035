"""Benchmark: what exactly-once across runs costs in requests, and how fast a signal stops apply.

Sprig's emulator shows writes ``--delay-ms`` late (5 s, as issue 20 measured). Each scenario
starts from an empty emulator and a fresh repository of ``--users`` new users, each with an
email, one attribute and three events (login x2, signup), and prints the requests each run
sent (POSTs with events, POSTs without, GETs), its exit code, and at the end the users whose
events were recorded more often than declared (must be 0). Not a test: figures only.

    python bench/exactly_once.py --users 1000 --delay-ms 5000

Scenarios:
  covered     the record covers (--assume-settled): the normal case; then a re-run at once
  fresh       no record at all (a fresh machine): barriers first, --wait 30
  sigterm     SIGTERM once 30% of the POSTs went out; seconds to exit, POSTs after the signal;
              then a re-run at once
  kill        kill -9 at 30%, then a re-run at once
  no-wait     --no-wait, then a re-run at once
  together    two applies started together on one working tree
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reconciler.sandbox.options import DEFAULT_SPRIG_KEY
from reconciler.sandbox.server import EmulatorOptions, RunningEmulator, start_emulator
from reconciler.sandbox.store import UserStore

T0 = 1_700_000_000_000
ENV = {**os.environ, "SPRIG_API_KEY": DEFAULT_SPRIG_KEY}
ENV.pop("RECONCILER_SETTLE_SECONDS", None)


def write_repo(root: Path, url: str, users: int) -> list[dict[str, object]]:
    (root / "users").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: sprig\n"
        f"    base_url: {url}\n    api_key_env: SPRIG_API_KEY\n    parallelism: 8\n"
    )
    events = [{"event": "login", "timestamp": T0 + n} for n in range(2)]
    declared = [
        {
            "id": f"u{i:04d}",
            "email": f"u{i}@example.com",
            "attributes": {"plan": "pro"},
            "events": [*events, {"event": "signup", "timestamp": T0}],
        }
        for i in range(users)
    ]
    (root / "users" / "all.yaml").write_text(json.dumps({"users": declared}))
    return declared


def start(repo: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start an apply; its output goes to a file (a full pipe would block it)."""
    out = repo.parent / f"out-{len(list(repo.parent.glob('out-*')))}"
    with out.open("wb") as handle:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "reconciler",
                "apply",
                "--yes",
                "--max-changes",
                "100000",
                *args,
            ],
            cwd=repo,
            env=ENV,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    return child, out


def counted(running: RunningEmulator, since: int = 0) -> str:
    requests = running.requests[since:]
    posts = [r for r in requests if r.method == "POST"]
    with_events = sum(1 for r in posts if r.json().get("events"))
    gets = sum(1 for r in requests if r.method == "GET")
    return f"{with_events} POSTs with events, {len(posts) - with_events} without, {gets} GETs"


def apply(running: RunningEmulator, repo: Path, label: str, *args: str) -> None:
    since = len(running.requests)
    started = time.perf_counter()
    child, _ = start(repo, *args)
    child.wait()
    took = time.perf_counter() - started
    print(f"  {label}: exit {child.returncode}, {counted(running, since)}, {took:.1f}s")


def twice(running: RunningEmulator, declared: list[dict[str, object]]) -> int:
    running.flush()
    store = UserStore(running.db_path)
    try:
        stored = store.get_users("sprig", [str(u["id"]) for u in declared])
    finally:
        store.close()
    over = 0
    for user in declared:
        live = stored.get(str(user["id"]))
        names: dict[str, int] = {}
        for event in user["events"]:  # type: ignore[attr-defined]
            names[event["event"]] = names.get(event["event"], 0) + 1
        if live and any(s.count > names.get(n, 0) for n, s in live.events.items()):
            over += 1
    return over


def interrupted(running: RunningEmulator, repo: Path, users: int, how: str) -> None:
    child, out = start(repo, "--assume-settled")
    while sum(r.method == "POST" for r in running.requests) < users * 0.3:
        time.sleep(0.01)
    at = len(running.requests)
    signalled = time.perf_counter()
    child.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
    child.wait()
    took = time.perf_counter() - signalled
    stdout = out.read_text()
    late = sum(1 for r in running.requests[at:] if r.method == "POST")
    printed = "Apply complete:" in stdout
    print(
        f"  {how}: exit {child.returncode} {took:.2f}s after the signal, "
        f"{late} POSTs arrived after it, report printed: {printed}"
    )


SCENARIOS: dict[str, Callable[[RunningEmulator, Path, int], None]] = {
    "covered": lambda r, repo, n: (
        apply(r, repo, "first", "--assume-settled"),
        apply(r, repo, "again", "--wait", "1"),
    ),
    "fresh": lambda r, repo, n: apply(r, repo, "first", "--wait", "30"),
    "sigterm": lambda r, repo, n: (
        interrupted(r, repo, n, "sigterm"),
        apply(r, repo, "again", "--wait", "30"),
    ),
    "kill": lambda r, repo, n: (
        interrupted(r, repo, n, "kill"),
        apply(r, repo, "again", "--wait", "30"),
    ),
    "no-wait": lambda r, repo, n: (
        apply(r, repo, "first", "--assume-settled", "--no-wait"),
        apply(r, repo, "again", "--no-wait"),
    ),
    "together": lambda r, repo, n: together(r, repo),
}


def together(running: RunningEmulator, repo: Path) -> None:
    children = [start(repo, "--assume-settled")[0] for _ in range(2)]
    codes = [child.wait() for child in children]
    print(f"  two at once: exits {sorted(codes)}, {counted(running)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--delay-ms", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=10)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    for name in args.scenarios.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            options = EmulatorOptions(visibility_delay_ms=args.delay_ms, latency_ms=args.latency_ms)
            with start_emulator(Path(tmp) / "emulator.db", options, environ={}) as running:
                repo = Path(tmp) / "repo"
                declared = write_repo(repo, running.url, args.users)
                print(f"{name} ({args.users} users, Sprig {args.delay_ms} ms behind):", flush=True)
                SCENARIOS[name](running, repo, args.users)
                print(
                    f"  users with an event recorded twice: {twice(running, declared)}", flush=True
                )


if __name__ == "__main__":
    main()
