"""Benchmark: what `reconciler validate` costs on a big repository, against a bare YAML load.

Generates a config repository (default: 100,000 users in 10 files) in a temporary folder, then
measures, each in a fresh Python process so peak memory is its own:

  bare        yaml.load(file, Loader=yaml.CSafeLoader) of every file, one after the other, with
              the garbage collector off (gc.disable())
  reconciler  load_config + load_declarations: what `reconciler validate` does (YAML 1.2 dialect,
              schema, checks against the targets, duplicate ids; worker processes across files)

and prints wall time, CPU time (this process and its children), peak RSS, and the ratio.

    python bench/validate.py                      # 100k users, 10 files, ~20 MB
    python bench/validate.py --lean               # 100k users, 10 files, ~14 MB
    python bench/validate.py --users 20000 --files 4 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """\
targets:
  production:
    provider: sprig
    api_key_env: SPRIG_API_KEY
  onboarding:
    provider: usertour
    api_key_env: USERTOUR_API_KEY
users: [users/]
"""
PLANS = ("free", "pro", "team", "enterprise")
COUNTRIES = ("NO", "DE", "FR", "US", "GB", "SE", "ES", "IT", "ON")
EVENTS = ("login", "purchase", "invite_sent", "completed_onboarding")


def user_yaml(number: int, rng: random.Random, lean: bool = False) -> str:
    """One realistic user: id, email, attributes of mixed types, often events or a company.

    ``lean`` users (4 attributes, events on 1 in 10) make 100k users about 14 MB, which a bare
    CSafeLoader reads in about 15 s like the issue's 11 MB corpus; the default users (6-7
    attributes, events on 1 in 3) make about 20 MB.
    """
    attributes = (
        f"plan: {rng.choice(PLANS)}, seats: {rng.randint(1, 500)}, "
        f"active: {rng.choice(('true', 'false'))}, country: {rng.choice(COUNTRIES)}"
    )
    if not lean:
        signup = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        attributes += f', signup: {signup}, zip: "{rng.randint(0, 99999):05d}"'
    usertour_only = number % (20 if lean else 10) == 0  # a float and a company: not for Sprig
    if usertour_only:
        attributes += f", score: {rng.random():.3f}"
    lines = [
        f'  - id: "u{number:07d}"',
        f"    email: u{number}@example.com",
        f"    attributes: {{{attributes}}}",
    ]
    if number % (10 if lean else 3) == 1 and not usertour_only:  # Usertour keeps no events
        lines.append("    events:")
        for name in rng.sample(EVENTS, 2):
            stamp = 1_600_000_000_000 + rng.randint(0, 10**11)
            lines.append(f"      - {{event: {name}, timestamp: {stamp}}}")
    if usertour_only:
        # Several users share a company: one name for it, or validate rightly refuses the file.
        company = number // 40
        lines.append(f"    companies: [{{id: c{company}, attributes: {{name: Co {company}}}}}]")
        lines.append("    targets: [onboarding]")
    return "\n".join(lines)


def generate(folder: Path, users: int, files: int, lean: bool = False) -> list[Path]:
    """Write reconciler.yaml and ``files`` declaration files holding ``users`` users in total."""
    rng = random.Random(20240320)
    (folder / "reconciler.yaml").write_text(CONFIG)
    (folder / "users").mkdir()
    per_file = users // files
    paths = []
    for index in range(files):
        path = folder / "users" / f"customers-{index:02d}.yaml"
        start = index * per_file
        body = "\n".join(user_yaml(n, rng, lean) for n in range(start, start + per_file))
        path.write_text(f"defaults:\n  attributes: {{customer: true}}\nusers:\n{body}\n")
        paths.append(path)
    return paths


def measure_bare(folder: Path) -> int:
    """The fair floor: libyaml's C loader with the garbage collector off, as reconciler loads.

    With the collector on, the bare load rescans its growing heap of small objects again and
    again and runs about 3x slower: a floor that flatters whatever is compared with it.
    """
    import gc

    import yaml

    gc.disable()
    users = 0
    for path in sorted((folder / "users").glob("*.yaml")):
        with path.open("rb") as stream:
            users += len(yaml.load(stream, Loader=yaml.CSafeLoader)["users"])
    return users


def measure_reconciler(folder: Path) -> int:
    from reconciler.errors import ValidationError
    from reconciler.load.config import load_config
    from reconciler.load.declarations import load_declarations

    config = load_config(folder / "reconciler.yaml", os.environ)
    try:
        return len(load_declarations(config).users)
    except ValidationError as error:  # the generated corpus must be valid: show why not
        print("\n".join(str(problem) for problem in error.problems[:5]), file=sys.stderr)
        raise


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid] + [p for child in children for p in _tree(int(child))]


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_phase(phase: str, folder: Path) -> dict[str, float]:
    """Run one phase in this (fresh) process and return its figures."""
    wall = time.perf_counter()
    users = {"bare": measure_bare, "reconciler": measure_reconciler}[phase](folder)
    wall = time.perf_counter() - wall
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "users": users,
        "wall_s": wall,
        "cpu_s": own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime,
        "peak_rss_mb": own.ru_maxrss / 1024,  # Linux reports KiB
        "peak_rss_children_mb": children.ru_maxrss / 1024,
    }


def spawn(phase: str, folder: Path) -> dict[str, float]:
    """Run a phase in a fresh process; sample its process tree's memory from outside.

    ru_maxrss of children is the largest single child, and forked workers share pages with
    their parent, so adding RSS peaks overstates: the summed PSS (proportional set size) of
    the whole tree, sampled every 100 ms, is what the run really holds at its peak.
    """
    command = [sys.executable, __file__, "--phase", phase, str(folder)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        peak_kib = 0
        while process.poll() is None:
            peak_kib = max(peak_kib, sum(_pss_kib(pid) for pid in _tree(process.pid)))
            time.sleep(0.1)  # reading smaps costs the measured processes too
        output = process.stdout.read() if process.stdout else ""
    if process.returncode:
        raise SystemExit(f"phase {phase} failed with exit code {process.returncode}")
    figures: dict[str, float] = json.loads(output)
    figures["peak_pss_tree_mb"] = peak_kib / 1024
    return figures


def report(name: str, figures: dict[str, float]) -> None:
    children = figures["peak_rss_children_mb"]
    memory = f"peak RSS {figures['peak_rss_mb']:4.0f} MB"
    if children:
        memory += f" + largest worker {children:.0f} MB"
    memory += f"; peak PSS of process tree {figures['peak_pss_tree_mb']:.0f} MB"
    times = f"wall {figures['wall_s']:6.2f} s   cpu {figures['cpu_s']:6.2f} s"
    print(f"{name:<11} {figures['users']:.0f} users   {times}   {memory}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--lean", action="store_true", help="smaller users: 100k in ~14 MB")
    parser.add_argument("--repeat", type=int, default=1, help="runs per phase; best wall is kept")
    parser.add_argument("--phase", choices=("bare", "reconciler"), help=argparse.SUPPRESS)
    parser.add_argument("folder", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(run_phase(args.phase, args.folder)))
        return
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as temp:
        folder = Path(temp)
        paths = generate(folder, args.users, args.files, args.lean)
        size = sum(path.stat().st_size for path in paths) / 1e6
        print(f"{args.users} users in {args.files} files, {size:.1f} MB; {args.repeat} run(s)")
        results = {}
        for phase in ("bare", "reconciler"):
            runs = [spawn(phase, folder) for _ in range(args.repeat)]
            results[phase] = min(runs, key=lambda figures: figures["wall_s"])
            report(phase, results[phase])
            if args.repeat > 1:
                walls = ", ".join(f"{run['wall_s']:.2f}" for run in runs)
                print(f"{'':<11} all runs (wall s): {walls}")
        ratio = results["reconciler"]["wall_s"] / results["bare"]["wall_s"]
        cpu = results["reconciler"]["cpu_s"] / results["bare"]["cpu_s"]
        print(
            f"ratio       reconciler / bare CSafeLoader (gc off): wall {ratio:.2f}, cpu {cpu:.2f}"
        )


if __name__ == "__main__":
    main()
