"""Benchmark: ``reconciler import --all`` against a page walk plus a C YAML dump of the same users.

The emulator (its own process) holds N Usertour users (a few attributes each, one created per
millisecond, so one walk of the listing is complete). Runs in turn (A B A B ...), each a whole
process:
  ours    ``reconciler import --target prod --all --out users/all.yaml``
  floor   a bare ``http.client`` walk of the same pages (``GET /v1/users?limit=100``, expanded
          as reconciler asks), then ``yaml.dump`` of the users with libyaml's CSafeDumper
and prints the median CPU (user + system) and wall time of each and the median of the
pair-by-pair ratios. With ``--base DIR`` (a copy of another commit, e.g. ``git archive BASE |
tar -x -C DIR``), that commit's import runs in the same rounds (PYTHONPATH=DIR), against the
same floor, and its file must be byte-identical to ours. With ``--bytecode``, each runs from a
compiled copy of its package, as an installed wheel does (this environment may set
PYTHONDONTWRITEBYTECODE, so a run from the tree compiles every module it imports: ~0.1 s).

    python bench/import_all.py [--users 5000] [--runs 3] [--base DIR] [--bytecode]
"""

from __future__ import annotations

import argparse
import compileall
import itertools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import print_pairs, served

from reconciler.model import Upsert
from reconciler.sandbox.options import DEFAULT_USERTOUR_KEY
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.usertour_api import NAMESPACE

FLOOR = """\
import http.client, json, sys
from urllib.parse import parse_qs, urlencode, urlsplit
import yaml
port, key, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
expand = [("expand[]", "companies"), ("expand[]", "memberships"),
          ("expand[]", "memberships.company")]
connection = http.client.HTTPConnection("127.0.0.1", port)
users, cursor = [], None
while True:
    query = urlencode([*expand, ("limit", "100"), *([("cursor", cursor)] if cursor else [])])
    connection.request("GET", "/v1/users?" + query, headers={"Authorization": "Bearer " + key})
    body = json.loads(connection.getresponse().read())
    users += body["results"]
    if not body.get("next"):
        break
    cursor = parse_qs(urlsplit(body["next"]).query)["cursor"][0]
with open(out, "w", encoding="utf-8") as stream:
    yaml.dump({"users": users}, stream, Dumper=yaml.CSafeDumper, allow_unicode=True)
assert len(users) == int(sys.argv[4]), len(users)
"""
COUNTRIES = ("NO", "DE", "FR", "US", "GB", "SE")
ROOT = Path(__file__).resolve().parents[1]


def seed(db: Path, count: int) -> None:
    """The users, straight into the emulator's store, one millisecond apart."""
    clock = itertools.count(1_700_000_000_000)
    with UserStore(db, clock=lambda: next(clock)) as store:
        for n in range(count):
            attributes = {
                "plan": ("free", "pro", "team")[n % 3],
                "seats": n % 500,
                "active": n % 2 == 0,
                "country": COUNTRIES[n % len(COUNTRIES)],
                "signup": f"2024-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
            }
            store.upsert_many(NAMESPACE, [Upsert(f"user-{n:06d}", attributes, f"u{n}@example.com")])


def compiled(tree: Path, into: Path) -> Path:
    """A copy of ``tree``'s package (and the schemas found beside it), compiled."""
    shutil.copytree(tree / "reconciler", into / "reconciler")
    if (tree / "schemas").is_dir():
        shutil.copytree(tree / "schemas", into / "schemas")
    compileall.compile_dir(into / "reconciler", quiet=1)
    return into


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode == 0, done.stdout[-800:] + done.stderr[-800:]
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--base", type=Path, help="a copy of another commit, run alike")
    parser.add_argument("--bytecode", action="store_true", help="run compiled copies")
    args = parser.parse_args()
    env = {**os.environ, "USERTOUR_API_KEY": DEFAULT_USERTOUR_KEY}
    with tempfile.TemporaryDirectory(prefix="reconciler-import-") as temp:
        root = Path(temp)
        base = args.base
        if args.bytecode:
            env["PYTHONPATH"] = str(compiled(ROOT, root / "ours"))
            base = compiled(args.base, root / "base") if args.base else None
        seed(root / "emulator.db", args.users)
        with served(root / "emulator.db", 0) as (url, port):
            repo = root / "repo"
            (repo / "users").mkdir(parents=True)
            (repo / "reconciler.yaml").write_text(
                f"targets:\n  prod:\n    provider: usertour\n    base_url: {url}\n"
                "    api_key_env: USERTOUR_API_KEY\nusers: [users/]\n"
            )
            out = repo / "users" / "all.yaml"
            ours = [sys.executable, "-m", "reconciler", "import", "--target", "prod", "--all"]
            ours += ["--out", str(out)]
            floor = [sys.executable, "-c", FLOOR, str(port), DEFAULT_USERTOUR_KEY]
            floor += [str(root / "floor.yaml"), str(args.users)]
            base_env = {**env, "PYTHONPATH": str(base)} if base else env
            pairs, base_pairs = [], []
            for _ in range(args.runs + 1):  # the first round warms the caches: not counted
                out.unlink(missing_ok=True)
                floor_run = timed(floor, repo, env)
                pairs.append((timed(ours, repo, env), floor_run))
                if args.base:
                    written = out.read_bytes()
                    out.unlink()
                    base_pairs.append((timed(ours, repo, base_env), floor_run))
                    assert out.read_bytes() == written, "the files differ"
            assert out.read_text().count("  - id: ") == args.users
    code = "compiled copies" if args.bytecode else "source"
    print(f"import --all of {args.users} Usertour users; {args.runs} rounds, medians; {code}")
    print_pairs(pairs[1:], "reconciler import", "walk + C dump")
    if args.base:
        print(f"{args.base} (its file byte-identical to ours):")
        print_pairs(base_pairs[1:], "base import", "walk + C dump")


if __name__ == "__main__":
    main()
