"""Benchmark: apply of new Sprig users with events through injected 5xx, and how it settles.

The emulator fails ``--fail-rate`` of all requests before processing them (half 500, whose
answer reconciler must treat as lost, half 429); writes show ``--delay-ms`` later. For each
seed, one `reconciler apply` of ``--users`` new users, each with an email, ``--attributes``
attributes and one or two login events. Printed per run: exit code, users left "outcome
unknown", lost answers, barriers (writes without events sent to prove a lost one refused),
resends, and users whose events were recorded twice (must be 0). Not a test: figures only.

    python bench/lost_answers.py --users 200 --fail-rate 0.3 --seeds 5 --attributes 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from reconciler.sandbox.options import DEFAULT_SPRIG_KEY
from reconciler.sandbox.server import EmulatorOptions, start_emulator
from reconciler.sandbox.store import UserStore

T0 = 1_700_000_000_000


def write_repo(root: Path, url: str, users: int, attributes: int) -> list[dict[str, object]]:
    (root / "users").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: sprig\n"
        f"    base_url: {url}\n    api_key_env: SPRIG_API_KEY\n    parallelism: 8\n"
    )
    declared = [
        {
            "id": f"u{i:03d}",
            "email": f"u{i}@example.com",
            "attributes": {f"a{n}": i for n in range(attributes)},
            "events": [{"event": "login", "timestamp": T0 + n} for n in range(1 + i % 2)],
        }
        for i in range(users)
    ]
    (root / "users" / "all.yaml").write_text(json.dumps({"users": declared}))
    return declared


def one_run(args: argparse.Namespace, seed: int) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        options = EmulatorOptions(
            fail_rate=args.fail_rate,
            fail_mode="before",
            seed=seed,
            visibility_delay_ms=args.delay_ms,
        )
        with start_emulator(Path(tmp) / "emulator.db", options, environ={}) as running:
            declared = write_repo(Path(tmp) / "repo", running.url, args.users, args.attributes)
            done = subprocess.run(
                [sys.executable, "-m", "reconciler", "apply", "--yes", "--wait", "5"],
                cwd=Path(tmp) / "repo",
                env={**os.environ, "SPRIG_API_KEY": DEFAULT_SPRIG_KEY},
                capture_output=True,
                text=True,
            )
            posts = [r for r in running.requests if r.method == "POST"]
            barriers = sum(1 for r in posts if not r.json().get("events"))
            running.flush()
            store = UserStore(running.db_path)
            stored = store.get_users("sprig", [str(u["id"]) for u in declared])
            store.close()
    twice = sum(
        1
        for u in declared
        if (login := stored[str(u["id"])].events.get("login")) is not None
        and login.count > len(u["events"])  # type: ignore[arg-type]
    )
    return (
        f"seed {seed}: exit {done.returncode}, "
        f"{done.stdout.count('outcome unknown')} unknown, "
        f"{done.stderr.count('was lost')} lost answers, {barriers} barriers, "
        f"{done.stderr.count('resending')} resends, {twice} recorded twice"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--delay-ms", type=int, default=30)
    parser.add_argument("--attributes", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for seed in range(args.seeds):
        print(one_run(args, seed), flush=True)


if __name__ == "__main__":
    main()
