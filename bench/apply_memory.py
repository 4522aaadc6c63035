"""Peak memory of `reconciler apply --yes` on N new sandbox users, per output format.

    python bench/apply_memory.py --users 20000 [--formats json,text]

Each run is a fresh process on a fresh copy of a generated repository (one declaration file,
N users with three attributes, one sandbox target); its peak resident set size is the child's
``ru_maxrss`` (Linux: KiB). Prints one line per format: users, format, wall seconds, peak MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """targets:
  local:
    provider: sandbox
    path: sandbox.db
users: [users.yaml]
safety:
  max_changes: 1000000
"""


def write_repo(folder: Path, users: int) -> None:
    folder.mkdir(parents=True)
    (folder / "reconciler.yaml").write_text(CONFIG)
    lines = ["users:"]
    for n in range(users):
        lines.append(f'  - id: "user-{n:06d}"')
        lines.append(f"    attributes: {{plan: pro, seats: {n}, region: eu-{n % 7}}}")
    (folder / "users.yaml").write_text("\n".join(lines) + "\n")


def peak_of_apply(template: Path, output_format: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one apply in a fresh copy of ``template``."""
    with tempfile.TemporaryDirectory() as scratch:
        repo = Path(scratch) / "repo"
        shutil.copytree(template, repo)
        script = (
            "import resource, sys, runpy\n"
            "sys.argv = ['reconciler', 'apply', '--yes', '--format', sys.argv[1]]\n"
            "try:\n"
            "    runpy.run_module('reconciler', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        )
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", script, output_format],
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - started
    peak_kib = int(done.stderr.strip().splitlines()[-1])
    return wall, peak_kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--formats", default="json,text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "template"
        write_repo(template, args.users)
        for output_format in args.formats.split(","):
            wall, peak = peak_of_apply(template, output_format)
            print(f"{args.users} users  --format {output_format:5}  {wall:6.1f} s  {peak:7.0f} MB")


if __name__ == "__main__":
    main()
