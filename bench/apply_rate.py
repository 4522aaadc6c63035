"""Benchmark: apply throughput under an emulator rate limit, and the 429s it provoked.

The emulator allows ``--rate`` requests per second per key (429 with Retry-After beyond);
the target is configured with the same ``rate_limit``. `reconciler apply` of N new Usertour
users sends N GETs (plan) and N POSTs; throughput is requests per second over the command's
wall time, as a fraction of the allowed rate. Not a test: figures only.

    python bench/apply_rate.py --users 300 --rate 50 --parallelism 16
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from common import run_reconciler

from reconciler.sandbox.options import DEFAULT_USERTOUR_KEY
from reconciler.sandbox.server import EmulatorOptions, start_emulator


def write_repo(root: Path, url: str, count: int, rate: float | None, parallelism: int) -> None:
    (root / "users").mkdir(parents=True)
    limit = f"    rate_limit: {rate}\n" if rate else ""
    (root / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: usertour\n"
        f"    base_url: {url}\n    api_key_env: USERTOUR_API_KEY\n"
        f"    parallelism: {parallelism}\n{limit}"
        "safety:\n  max_changes: 100000\n"
    )
    users = [{"id": f"user-{i:06d}", "attributes": {"plan": "pro", "n": i}} for i in range(count)]
    (root / "users" / "all.yaml").write_text(json.dumps({"users": users}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument(
        "--no-client-limit",
        action="store_true",
        help="leave rate_limit unset: only 429s and the adaptive cap slow reconciler down",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        options = EmulatorOptions(rate_limit=args.rate, latency_ms=20)
        with start_emulator(Path(tmp) / "emulator.db", options, environ={}) as running:
            repo = Path(tmp) / "repo"
            client_rate = None if args.no_client_limit else args.rate
            write_repo(repo, running.url, args.users, client_rate, args.parallelism)
            env = {"USERTOUR_API_KEY": DEFAULT_USERTOUR_KEY}
            wall = run_reconciler(repo, env, "apply", "--yes").wall
            requests = [r for r in running.requests if r.vendor == "usertour"]
    answered = [r for r in requests if r.status != 429]
    throttled = len(requests) - len(answered)
    rate = len(answered) / wall
    mode = "no client rate_limit" if args.no_client_limit else f"rate_limit {args.rate:g}"
    limits = f"emulator limit {args.rate:g} req/s, {mode}"
    print(f"{args.users} users, {limits}, parallelism {args.parallelism}")
    print(f"requests answered {len(answered)} (GETs + POSTs), 429s {throttled}")
    print(
        f"wall {wall:.2f} s (whole command), {rate:.1f} req/s = {rate / args.rate:.1%} of the limit"
    )


if __name__ == "__main__":
    main()
