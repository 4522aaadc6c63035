"""Peak memory of `reconciler plan` and `apply --yes` on N new sandbox users, against floors.

    python bench/memory_100k.py [--users 100000] [--files 10] [--pairs 3] [--before PATH]
                                [--corpus examples|lean]

Generates an examples/-like repository once (N users in ``--files`` files: emails, attributes of
mixed types, events on one user in three, a company on one in ten; one sandbox target; `email`
and `phone` sensitive; ``--corpus lean``: bench/apply_memory.py's users, one file of ids with
three attributes). Then, pair after pair, each command in a fresh process on a fresh copy:

  pass        ``python -c pass``: the interpreter alone
  bare        libyaml's C loader (``CSafeLoader``) reading the same files, garbage collector off
  plan        ``reconciler plan`` (every user is a create: the sandbox store is empty)
  apply       ``reconciler apply --yes`` (creates them all)

``--before PATH`` runs plan and apply a second time in each pair with ``PYTHONPATH=PATH`` (a copy
of an older commit: ``git archive REV | tar -x -C PATH``), so "before" and "after" share the run.

Peak memory of the whole process tree (the command and its loader workers) is sampled from
outside every 20 ms: the summed RSS and the summed PSS (forked workers share pages with their
parent, so summed RSS overstates what the tree holds). The command's own high-water mark
(``VmHWM``, exact) comes from ``wait4``. Ratios are taken pair by pair, to the bare loader's
peak, and the medians printed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

CONFIG = """\
targets:
  local:
    provider: sandbox
    path: .reconciler/sandbox.db
users: [users/]
safety:
  max_changes: 10000000
sensitive: [email, phone]
"""
PLANS = ("free", "pro", "team", "enterprise")
COUNTRIES = ("NO", "DE", "FR", "US", "GB", "SE", "ES", "IT", "ON")
EVENTS = ("login", "purchase", "invite_sent", "completed_onboarding")

#: ``python -c pass``, saying its own high-water mark as it exits.
PASS = "import sys; sys.stderr.write(open('/proc/self/status').read())"

BARE = """\
import gc, sys, yaml
from pathlib import Path
gc.disable()
for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    with path.open("rb") as stream:
        yaml.load(stream, Loader=yaml.CSafeLoader)
"""


def user_yaml(number: int, rng: random.Random) -> str:
    """One user as examples/users/customers.yaml writes them."""
    signup = f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T08:30:00.000Z"
    lines = [
        f'  - id: "u{number:07d}"',
        f"    email: u{number}@example.com",
        "    attributes:",
        f"      plan: {rng.choice(PLANS)}",
        f"      seats: {rng.randint(1, 500)}",
        f"      country: {rng.choice(COUNTRIES)}",
        f'      zip: "{rng.randint(0, 99999):05d}"',
        f"      signed_up_at: {signup}",
    ]
    if number % 5 == 0:
        lines.append(f'      phone: "+47 555 {rng.randint(0, 99999):05d}"')
    if number % 3 == 1:
        lines.append("    events:")
        for name in rng.sample(EVENTS, 2):
            stamp = 1_600_000_000_000 + rng.randint(0, 10**11)
            lines.append(f"      - {{event: {name}, timestamp: {stamp}}}")
    if number % 10 == 0:
        company = number // 40  # several users share a company, under one name
        lines.append(f"    companies: [{{id: c{company}, attributes: {{name: Co {company}}}}}]")
    return "\n".join(lines)


def generate(folder: Path, users: int, files: int, corpus: str = "examples") -> None:
    rng = random.Random(20240320)
    (folder / "users").mkdir(parents=True)
    (folder / "reconciler.yaml").write_text(CONFIG)
    if corpus == "lean":  # bench/apply_memory.py's users: one file, three attributes each
        lines = ["users:"]
        for n in range(users):
            lines.append(f'  - id: "user-{n:06d}"')
            lines.append(f"    attributes: {{plan: pro, seats: {n}, region: eu-{n % 7}}}")
        (folder / "users" / "users.yaml").write_text("\n".join(lines) + "\n")
        return
    per_file = users // files
    for index in range(files):
        body = "\n".join(user_yaml(n, rng) for n in range(index * per_file, (index + 1) * per_file))
        head = "defaults:\n  attributes: {customer: true}\nusers:\n"
        (folder / "users" / f"customers-{index:02d}.yaml").write_text(head + body + "\n")


def _tree(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return [pid]
    return [pid] + [p for child in children for p in _tree(int(child))]


def _rss_pss_kib(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


@dataclass(frozen=True)
class Peak:
    """One run: MB of summed RSS and PSS over the tree (sampled), and the command's VmHWM."""

    tree_rss: float
    tree_pss: float
    own: float
    wall: float


def measure(command: list[str], cwd: Path, pythonpath: Path) -> Peak:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "NO_COLOR": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    tree_rss = tree_pss = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        sums = [_rss_pss_kib(p) for p in _tree(process.pid)]
        tree_rss = max(tree_rss, sum(r for r, _ in sums))
        tree_pss = max(tree_pss, sum(p for _, p in sums))
        time.sleep(0.02)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode not in (0, 2):
        raise SystemExit(f"{command} failed ({process.returncode}):\n{stderr[-2000:]}")
    own = usage.ru_maxrss / 1024
    # ru_maxrss survives exec: a child forked from this (big) process starts at its size. A
    # command that prints its own /proc/self/status (the floor) says its true high-water mark.
    hwm = [line.split()[1] for line in stderr.splitlines() if line.startswith("VmHWM:")]
    if hwm:
        return Peak(int(hwm[-1]) / 1024, int(hwm[-1]) / 1024, int(hwm[-1]) / 1024, wall)
    # A run shorter than one sample: its own high-water mark is the best figure there is.
    return Peak(max(tree_rss / 1024, own), max(tree_pss / 1024, own), own, wall)


def run_pair(template: Path, code: Path, label: str) -> dict[str, Peak]:
    peaks = {}
    for command in ("plan", "apply"):
        with tempfile.TemporaryDirectory() as scratch:
            repo = Path(scratch) / "repo"
            shutil.copytree(template, repo)
            args = ["plan"] if command == "plan" else ["apply", "--yes"]
            argv = [sys.executable, "-m", "reconciler", *args]
            peaks[f"{command} {label}"] = measure(argv, repo, code)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument(
        "--corpus",
        choices=("examples", "lean"),
        default="examples",
        help="lean: bench/apply_memory.py's users (one file, id and three attributes)",
    )
    parser.add_argument("--before", type=Path, help="a copy of the base commit to compare")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "template"
        generate(template, args.users, args.files, args.corpus)
        rows: dict[str, list[Peak]] = {}
        for pair in range(args.pairs):
            peaks = {
                "pass": measure([sys.executable, "-c", PASS], template, HERE),
                "bare": measure(
                    [sys.executable, "-c", BARE, str(template / "users")], template, HERE
                ),
            }
            if args.before:
                peaks.update(run_pair(template, args.before.resolve(), "before"))
            peaks.update(run_pair(template, HERE, "after"))
            for name, peak in peaks.items():
                rows.setdefault(name, []).append(peak)
            line = "  ".join(f"{n} {p.tree_rss:.0f}/{p.tree_pss:.0f}" for n, p in peaks.items())
            print(f"pair {pair + 1}: {line}", file=sys.stderr, flush=True)
    report(rows, f"{args.users} users ({args.corpus} corpus)")


def report(rows: dict[str, list[Peak]], users: str) -> None:
    """Medians of each figure, and of each pair's ratios to the floors' peaks (tree RSS)."""
    print(f"{users}, medians of {len(rows['bare'])} pairs (MB)")
    print(
        f"{'':14} {'tree RSS':>9} {'tree PSS':>9} {'own HWM':>8} {'wall s':>7} "
        f"{'RSS/bare':>9} {'PSS/bare':>9} {'RSS/pass':>9}"
    )
    for name, peaks in rows.items():
        print(
            f"{name:14} {statistics.median(p.tree_rss for p in peaks):9.0f} "
            f"{statistics.median(p.tree_pss for p in peaks):9.0f} "
            f"{statistics.median(p.own for p in peaks):8.0f} "
            f"{statistics.median(p.wall for p in peaks):7.1f} "
            f"{_ratio(peaks, rows['bare'], 'tree_rss'):9.2f} "
            f"{_ratio(peaks, rows['bare'], 'tree_pss'):9.2f} "
            f"{_ratio(peaks, rows['pass'], 'tree_rss'):9.2f}"
        )


def _ratio(peaks: list[Peak], floor: list[Peak], figure: str) -> float:
    """The median of the pair-by-pair ratios (each run to its own pair's floor)."""
    pairs = zip(peaks, floor, strict=True)
    return statistics.median(getattr(p, figure) / getattr(f, figure) for p, f in pairs)


if __name__ == "__main__":
    main()
