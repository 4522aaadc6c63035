"""The applier called directly: a checked plan in, requests to a real target, outcomes out.

Against the emulator (Sprig and Usertour over HTTP on 127.0.0.1) and the sandbox provider, so
that what is asserted is what a target shows, not what a mock was told.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from reconciler.apply.applier import apply_plan
from reconciler.errors import RefusedError
from reconciler.model import UserSpec
from reconciler.plan import guards
from reconciler.plan.guards import Limits
from reconciler.plan.planner import plan_deletions, plan_target
from reconciler.plan.typelock import DROPPED
from reconciler.planned import Plan
from reconciler.providers.base import Provider
from reconciler.providers.sandbox import SandboxProvider
from reconciler.providers.sprig import SprigProvider
from reconciler.providers.usertour import UsertourProvider
from reconciler.retry import RetryPolicy
from reconciler.sandbox.server import RunningEmulator
from reconciler.settings import TargetConfig
from tests.e2e.emulator import SPRIG_KEY, USERTOUR_KEY, StartEmulator

pytest_plugins = ("tests.e2e.emulator",)

QUICK = RetryPolicy(max_attempts=2, base=0.001, cap=0.002)
#: Guards that let every plan of these tests through (pruning allowed, any share).
ALLOW_ALL = Limits(max_changes=None, max_deletes=100, force=True)


def _plan(provider: Provider, users: Sequence[UserSpec], prune: bool = False) -> Plan:
    """The plan of ``users`` against what ``provider`` shows now, as the planner makes it."""
    live = provider.read_users([user.id for user in users])
    target_plan = plan_target(
        provider.target, provider.kind.name, provider.capabilities, users, live
    )
    if prune:
        listed = provider.list_users()
        deletions = plan_deletions(provider.target, listed, users)
        target_plan = dataclasses.replace(target_plan, deletions=deletions, listed=len(listed))
    return Plan((target_plan,))


def _apply(
    provider: Provider,
    plan: Plan,
    users: Sequence[UserSpec],
    limits: Limits = ALLOW_ALL,
    wait: float | None = 10.0,
    stop: threading.Event | None = None,
) -> dict[str, tuple[str, str | None]]:
    """user id -> (status, message) of applying ``plan`` through the guards, as apply does."""
    report = apply_plan(guards.check(plan, limits), users, {provider.target: provider}, wait, stop)
    return {o.user_id: (o.status, o.message) for o in report.outcomes}


@pytest.fixture
def sprig(emulator: StartEmulator) -> Iterator[tuple[RunningEmulator, SprigProvider]]:
    running = emulator()
    target = TargetConfig("prod", "sprig", running.url, "SPRIG_API_KEY")
    with SprigProvider(target, running.url, SPRIG_KEY, QUICK) as provider:
        yield running, provider


@pytest.fixture
def usertour(emulator: StartEmulator) -> Iterator[tuple[RunningEmulator, UsertourProvider]]:
    running = emulator()
    target = TargetConfig("onboarding", "usertour", running.url, "USERTOUR_API_KEY")
    with UsertourProvider(target, running.url, USERTOUR_KEY, QUICK) as provider:
        yield running, provider


def _written(running: RunningEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in running.requests if r.method in ("POST", "DELETE")]


def test_a_refused_user_is_reported_and_the_rest_applied(
    sprig: tuple[RunningEmulator, SprigProvider],
) -> None:
    running, provider = sprig
    # Sprig refuses a value its database cannot hold (a NUL) with 400; the others must not care.
    users = [
        UserSpec(f"u{n}", attributes={"plan": "pro\x00" if n == 2 else "pro"}) for n in range(5)
    ]
    outcomes = _apply(provider, _plan(provider, users), users)
    status, message = outcomes.pop("u2")
    assert status == "failed" and message is not None and "400" in message
    assert outcomes == {f"u{n}": ("applied", None) for n in (0, 1, 3, 4)}
    shown = provider.read_users([user.id for user in users])
    assert sorted(shown) == ["u0", "u1", "u3", "u4"]
    assert {user.attributes["plan"] for user in shown.values()} == {"pro"}
    # One POST each: a refusal (4xx) is not sent again.
    assert sorted(path for method, path in _written(running)) == ["/v2/users"] * 5


def test_nothing_is_sent_when_a_guard_refuses(
    usertour: tuple[RunningEmulator, UsertourProvider],
) -> None:
    running, provider = usertour
    users = [UserSpec(f"u{n}", attributes={"n": n}) for n in range(3)]
    plan = _plan(provider, users)
    with pytest.raises(RefusedError, match=r"refusing to change 3 users.*Nothing was sent\."):
        _apply(provider, plan, users, Limits(max_changes=2))
    assert _written(running) == []
    assert provider.read_users([user.id for user in users]) == {}


def test_a_deletion_is_an_action_of_the_plan_and_guarded(
    usertour: tuple[RunningEmulator, UsertourProvider],
) -> None:
    running, provider = usertour
    everyone = [UserSpec(f"u{n}", attributes={"n": n}) for n in range(4)]
    _apply(provider, _plan(provider, everyone), everyone)
    kept = everyone[1:]
    plan = _plan(provider, [*kept, UserSpec("new")], prune=True)
    running.clear_requests()
    # Pruning needs safety.max_deletes: without it the whole plan is refused, its upsert too.
    with pytest.raises(RefusedError, match="pruning is not allowed"):
        _apply(provider, plan, [*kept, UserSpec("new")], Limits())
    assert _written(running) == []
    outcomes = _apply(provider, plan, [*kept, UserSpec("new")], Limits(max_deletes=1))
    assert outcomes == {"new": ("applied", None), "u0": ("deleted", None)}
    assert _written(running) == [("POST", "/v1/users"), ("DELETE", "/v1/users/u0")]
    assert sorted(u.id for u in provider.list_users()) == ["new", "u1", "u2", "u3"]
    # The same deletion again: the target says the user is gone already, which is done too.
    again = Plan((dataclasses.replace(plan.targets[0], changes=()),))
    outcomes = _apply(provider, again, [], Limits(max_deletes=1))
    assert outcomes == {"u0": ("deleted", "it was already gone")}


def test_verification_reads_what_stuck(usertour: tuple[RunningEmulator, UsertourProvider]) -> None:
    _, provider = usertour
    first = [UserSpec("a", attributes={"seats": 12})]
    _apply(provider, _plan(provider, first), first)
    # Usertour keeps the first type seen for a name and drops values of another type.
    users = [UserSpec("b", attributes={"seats": "twelve", "plan": "pro"})]
    plan = _plan(provider, users)
    report = apply_plan(guards.check(plan, ALLOW_ALL), users, {"onboarding": provider}, 10.0)
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.message) == ("not_stuck", DROPPED)
    assert [change.field for change in outcome.not_stuck] == ["attributes.seats"]
    assert provider.read_users(["b"])["b"].attributes.get("plan") == "pro"
    assert report.failed == 1


def test_a_target_that_shows_writes_late_is_polled_until_the_wait_runs_out(
    emulator: StartEmulator,
) -> None:
    running = emulator(visibility_delay_ms=60_000)
    target = TargetConfig("prod", "sprig", running.url, "SPRIG_API_KEY")
    users = [UserSpec("u1", attributes={"plan": "pro"})]
    with SprigProvider(target, running.url, SPRIG_KEY, QUICK) as provider:
        outcomes = _apply(provider, _plan(provider, users), users, wait=1.0)
        reads = [r for r in running.requests if r.method == "GET"]
        assert outcomes == {"u1": ("not_visible", "not visible yet after 1s; run plan later")}
        # One read for the plan, then verification polled more than once within the wait.
        assert len(reads) >= 3
        running.flush()
        assert _apply(provider, _plan(provider, users), users) == {}


def test_nothing_new_is_sent_once_stopped(tmp_path: Path) -> None:
    with SandboxProvider("local", tmp_path / "users.db") as provider:
        users = [UserSpec("u1", attributes={"n": 1})]
        stop = threading.Event()
        stop.set()
        outcomes = _apply(provider, _plan(provider, users), users, stop=stop)
        assert outcomes == {"u1": ("skipped", "not sent: apply was interrupted; run apply again")}
        assert provider.read_users(["u1"]) == {}
        assert _apply(provider, _plan(provider, users), users) == {"u1": ("applied", None)}
        assert provider.read_users(["u1"])["u1"].attributes == {"n": 1}
