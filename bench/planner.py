"""Benchmark: CPU time per user in the pure planner, unchanged users (the common case) and changed.

python bench/planner.py --users 100000
"""

from __future__ import annotations

import argparse
import time

from reconciler.kinds import CAPABILITIES
from reconciler.model import Event, EventStats, LiveUser, UserSpec
from reconciler.plan.planner import plan_target

T0 = 1_626_448_859_836


def users(count: int) -> tuple[list[UserSpec], dict[str, LiveUser], dict[str, LiveUser]]:
    desired, equal, differing = [], {}, {}
    for i in range(count):
        uid = f"user-{i:06d}"
        attributes = {"plan": "pro", "seats": i, "beta": True, "country": "NO", "tier": "gold"}
        desired.append(
            UserSpec(
                uid,
                email=f"u{i}@example.com",
                attributes=attributes,
                events=(Event("login", T0 + i), Event("login", T0 + i + 1)),
            )
        )
        live_attributes = {**attributes, "!email": f"u{i}@example.com", "other": "x"}
        stats = {"login": EventStats(2, T0 + i, T0 + i + 1)}
        equal[uid] = LiveUser(uid, f"u{i}@example.com", live_attributes, stats)
        differing[uid] = LiveUser(uid, f"u{i}@example.com", {**live_attributes, "seats": -1}, stats)
    return desired, equal, differing


def cpu_per_user(desired: list[UserSpec], live: dict[str, LiveUser]) -> tuple[float, int]:
    started = time.process_time()
    plan = plan_target("prod", "sprig", CAPABILITIES["sprig"], desired, live)
    return (time.process_time() - started) / len(desired), len(plan.changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    desired, equal, differing = users(args.users)
    unchanged, changes = cpu_per_user(desired, equal)
    assert changes == 0
    changed, changes = cpu_per_user(desired, differing)
    assert changes == args.users
    print(f"{args.users} users, 5 declared attributes, email, 2 events each")
    print(f"unchanged user  {unchanged * 1e6:6.1f} us CPU per user")
    print(f"changed user    {changed * 1e6:6.1f} us CPU per user (diff, upsert, fingerprint)")
    print(f"ratio           changed / unchanged = {changed / unchanged:.1f}")


if __name__ == "__main__":
    main()
