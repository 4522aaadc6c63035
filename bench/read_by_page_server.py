"""Benchmark: GET only vs by page against a running Usertour server (not the emulator).

Declares COUNT users ``{prefix}NNNNN`` (attributes ``{prefix}seq`` and ``{prefix}plan``, named so
they lock no type another user of the environment relies on), applies them once if they are not
live yet, then plans them in process GET only and by page, and prints requests (counted from
reconciler's own request log lines) and wall time of each, with the ratios. The environment may
hold other users: that is realistic. Nothing but these users is ever written.

    . /tmp/usertour-server/key.env   # USERTOUR_API_KEY
    python bench/read_by_page_server.py --base-url http://127.0.0.1:3300 --users 1000
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from common import run_reconciler

from reconciler.load.workspace import load_workspace
from reconciler.plan.engine import make_plan, open_providers


class Counter(logging.Handler):
    """Counts reconciler's request log lines (``prod: GET /v1/users 200 12ms``)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.pages = 0
        self.gets = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if ": GET /v1/users " in message:  # the list; its query is not logged
            self.pages += 1
        elif ": GET /v1/users/" in message:
            self.gets += 1


def write_repo(root: Path, url: str, count: int, prefix: str) -> Path:
    (root / "users").mkdir(parents=True)
    (root / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: usertour\n"
        f"    base_url: {url}\n    api_key_env: USERTOUR_API_KEY\n    parallelism: 8\n"
        f"safety:\n  max_changes: {count}\nusers: [users/]\n"
    )
    users = [
        {"id": f"{prefix}{n:05d}", "attributes": {f"{prefix}seq": n, f"{prefix}plan": "pro"}}
        for n in range(count)
    ]
    (root / "users" / "all.yaml").write_text(json.dumps({"users": users}))
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:3300")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--prefix", default="i15_")
    args = parser.parse_args()
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        repo = write_repo(Path(tmp) / "repo", args.base_url, args.users, args.prefix)
        applied = run_reconciler(repo, {}, "apply", "--yes")
        print(applied.stdout.strip().splitlines()[-1], f"({applied.wall:.1f} s)")
        counter = Counter()
        logging.getLogger("reconciler.http").addHandler(counter)
        logging.getLogger("reconciler.http").setLevel(logging.INFO)
        workspace = load_workspace(repo / "reconciler.yaml", env)
        plans = []
        for name, min_to_list in (("GET only", None), ("by page", 100)):
            counter.pages = counter.gets = 0
            with ExitStack() as stack:
                providers = open_providers(workspace, env, stack)
                started = time.perf_counter()
                plan = make_plan(workspace, providers, min_to_list=min_to_list)
                wall = time.perf_counter() - started
            assert not plan.has_changes
            plans.append(plan)
            total = counter.pages + counter.gets
            print(f"{name:9} {counter.pages} pages + {counter.gets} GETs = {total}  {wall:.2f} s")
        assert plans[0] == plans[1], "the two reads disagree"
        whole = run_reconciler(repo, {}, "plan", "-v")
        pages = whole.stderr.count(": list page ")
        print(f"whole `reconciler plan` command: {pages} list pages, {whole.wall:.2f} s")


if __name__ == "__main__":
    main()
