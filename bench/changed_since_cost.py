"""Benchmark: the CPU a pull request's ``plan --changed-since`` costs, as a ratio to ``validate``.

A git repository of N users in 10 files (bench/validate.py's realistic users), two sandbox
targets; its last commit edits one user. Runs in turn (A B A B ...), each a whole process:
  ours    ``reconciler plan --changed-since HEAD~1`` (plans the one changed user)
  floor   ``reconciler validate`` of the same repository (reads and checks every file once)
The plan's cache (load/filecache.py) lives in a folder of the run's own: warm by default (the
first plan, not measured, fills it with the unchanged files' summaries and the changed file's
result at HEAD~1, as the base branch's runs would in CI), or empty before every plan with
``--cold``. Before each measured plan the changed user's email is edited again (not committed),
so the changed file's bytes are always new to the cache, as a pull request's are: it is parsed.
Prints the median CPU (user + system, children included) and wall time of each and the
median of the pair-by-pair ratios. The cost of a partial plan should follow the change, not
the repository: the goal is at most 0.2x the validate.

    python bench/changed_since_cost.py [--users 100000] [--runs 3] [--cold]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import print_pairs
from validate import generate

CONFIG = """\
targets:
  production:
    provider: sandbox
    path: .reconciler/production.db
  onboarding:
    provider: sandbox
    path: .reconciler/onboarding.db
users: [users/]
safety:
  max_changes: 200000
"""


def git(repo: Path, *args: str) -> None:
    command = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args]
    subprocess.run(command, cwd=repo, check=True, capture_output=True)


def make_repo(repo: Path, users: int) -> tuple[str, Path, str]:
    """The repository, committed twice; the id of the one user the last commit edits, its
    file, and its email there."""
    paths = generate(repo, users, 10)
    (repo / "reconciler.yaml").write_text(CONFIG)
    (repo / ".gitignore").write_text(".reconciler/\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the users")
    edited = users // 2 + 3
    path = paths[len(paths) // 2]
    text = path.read_text()
    assert f"u{edited}@example.com" in text
    path.write_text(text.replace(f"u{edited}@example.com", f"u{edited}@example.org"))
    git(repo, "commit", "-q", "-am", "a pull request edits one user")
    return f"u{edited:07d}", path, f"u{edited}@example.org"


def edit_again(path: Path, email: str, number: int) -> str:
    """Give the edited user another email (not committed): the changed file's bytes are then
    new to the cache, as a pull request's are, while its base revision's are not."""
    again = email.replace("@", f".{number}@")
    path.write_text(path.read_text().replace(email, again))
    return again


def run(repo: Path, *args: str, cache: Path | None = None) -> tuple[float, float, str]:
    """CPU and wall seconds of ``reconciler ARGS`` in ``repo``, and what it printed; with the
    cache folder ``cache`` (default: the repository's sibling ``cache``)."""
    folder = cache or repo.parent / "cache"
    environ = {**os.environ, "XDG_CACHE_HOME": str(folder)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=environ,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert done.returncode in (0, 2), done.stdout[-800:] + done.stderr[-800:]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="an empty cache for every plan")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reconciler-changed-") as temp:
        repo = Path(temp) / "repo"
        repo.mkdir()
        edited, path, email = make_repo(repo, args.users)
        ours = ("plan", "--changed-since", "HEAD~1", "--target", "production")
        said = run(repo, *ours)[2]
        assert edited in said and "Planned 1 of" in said, said[-800:]
        pairs = []
        for number in range(args.runs):
            cache = Path(temp) / f"cold-{number}" if args.cold else None
            email = edit_again(path, email, number)
            pairs.append((run(repo, *ours, cache=cache), run(repo, "validate")))
    cache = "an empty cache each" if args.cold else "a warm cache"
    print(f"{args.users} users in 10 files, 1 changed; {args.runs} pairs, medians; {cache}")
    print_pairs(pairs, "plan --changed-since", "validate (floor)")


if __name__ == "__main__":
    main()
