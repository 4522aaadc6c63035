"""Benchmark: a pull request's plan, full vs ``--changed-since``, under a vendor rate limit.

A git repository of N Sprig users (10 files); its last commit edits 3 of them. The emulator
(its own process) allows R requests per second per key, and the target's ``rate_limit`` is set to
the same R so reconciler paces itself instead of collecting 429s. Prints, for
  full plan              ``reconciler plan``                       (what every PR paid before)
  --changed-since        ``reconciler plan --changed-since HEAD~1`` (what a PR pays now)
the requests the emulator received and the wall time. Not a test: figures only.

    python bench/changed_since.py --users 10000 --rate 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import httpx
from common import run_reconciler, seed, served

from reconciler.sandbox.options import DEFAULT_SPRIG_KEY

FILES = 10
CHANGED = ("user-000010", "user-004321", "user-009876")


def git(repo: Path, *args: str) -> None:
    command = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args]
    subprocess.run(command, cwd=repo, check=True, capture_output=True)


def write_files(repo: Path, count: int, edited: frozenset[str]) -> None:
    users = [
        {
            "id": f"user-{i:06d}",
            "attributes": {"plan": "pro", "seats": i + (1000 if f"user-{i:06d}" in edited else 0)},
        }
        for i in range(count)
    ]
    size = -(-count // FILES)
    for index in range(FILES):
        chunk = users[index * size : (index + 1) * size]
        (repo / "users" / f"part{index:02d}.yaml").write_text(json.dumps({"users": chunk}))


def make_repo(root: Path, url: str, count: int, rate: float) -> Path:
    repo = root / "repo"
    (repo / "users").mkdir(parents=True)
    (repo / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: sprig\n"
        f"    base_url: {url}\n    api_key_env: SPRIG_API_KEY\n"
        f"    parallelism: 8\n    rate_limit: {rate}\n"
    )
    git(repo, "init", "-q")
    write_files(repo, count, frozenset())
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "users as they are live")
    write_files(repo, count, frozenset(CHANGED))
    git(repo, "commit", "-q", "-am", "a pull request edits 3 users")
    return repo


def plan(repo: Path, url: str, *args: str) -> tuple[float, int, str]:
    """Wall time, requests the emulator received, and the plan's summary lines."""
    with httpx.Client(base_url=url) as client:
        client.post("/_sandbox/requests/clear").raise_for_status()
        timed = run_reconciler(repo, {"SPRIG_API_KEY": DEFAULT_SPRIG_KEY}, "plan", *args)
        requests = len(client.get("/_sandbox/requests").json())
    summary = [line for line in timed.stdout.splitlines() if line.startswith(("Plan:", "Planned"))]
    return timed.wall, requests, " / ".join(summary)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "emulator.db"
        seed(db, args.users)
        with served(db, 0, "--rate-limit", str(args.rate)) as (url, _):
            repo = make_repo(Path(tmp), url, args.users, args.rate)
            partial = plan(repo, url, "--changed-since", "HEAD~1")
            full = plan(repo, url)
    print(f"{args.users} Sprig users, 3 changed, emulator limit {args.rate:g} req/s")
    print(f"full plan        requests {full[1]:6d}   wall {full[0]:8.2f} s   {full[2]}")
    print(f"--changed-since  requests {partial[1]:6d}   wall {partial[0]:8.2f} s   {partial[2]}")
    fewer, faster = full[1] / partial[1], full[0] / partial[0]
    print(f"ratio            {fewer:.0f}x fewer requests, {faster:.0f}x less wall time")


if __name__ == "__main__":
    main()
