"""One retry budget per user's writes, against the emulator failing every request.

The client retries a 429 and the applier resends a write whose answer was lost; before issue 14
each loop had its own budget, so a POST could go out 6 x 6 times. Library-level: a CLI run
cannot plan against an emulator that fails every read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

import pytest

from reconciler.apply.lostwrite import send_whole
from reconciler.errors import LostAnswer, ReconcilerError
from reconciler.escape import printable
from reconciler.kinds.sprig import SPRIG
from reconciler.model import Event, EventStats, LiveUser, Upsert, UserSpec
from reconciler.plan.planner import diff_user
from reconciler.providers.base import Provider
from reconciler.providers.sprig import SprigProvider
from reconciler.retry import Attempts, RetryPolicy
from reconciler.settings import TargetConfig
from tests.e2e.emulator import SPRIG_KEY, StartEmulator

pytest_plugins = ("tests.e2e.emulator",)

QUICK = RetryPolicy(max_attempts=4, base=0.001, cap=0.002)


def test_a_post_is_sent_at_most_the_budget_in_all(
    emulator: StartEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    running = emulator(fail_rate=1.0, fail_mode="before", seed=1)
    target = TargetConfig("prod", "sprig", running.url, "SPRIG_API_KEY")
    spec = UserSpec("u\x1b1", attributes={"plan": "pro"})
    change, _ = diff_user(spec, None, SPRIG.capabilities)
    assert change is not None
    with SprigProvider(target, running.url, SPRIG_KEY, QUICK) as provider:
        caplog.set_level(logging.WARNING, "reconciler.http")
        with contextlib.suppress(ReconcilerError):
            send_whole(provider, change, wait=0.0)
    posts = [r.status for r in running.requests if r.method == "POST"]
    # Every send that may have been processed uses an attempt; a 429 (refused before any
    # processing, the emulator's every other failure) uses none, so they come on top.
    assert len([s for s in posts if s != 429]) == QUICK.max_attempts
    assert 429 in posts
    retries = [r.getMessage() for r in caplog.records if "POST" in r.getMessage()]
    assert retries and all(f"(user {printable(spec.id)})" in line for line in retries), retries
    assert not any("\x1b" in line for line in retries)


class _LateSprig(Provider):
    """An eventually consistent target whose writes show one read late, each whole and in
    arrival order, scripted: ``lost`` maps a POST's number (1-based) to whether it was
    committed before its answer was lost (500)."""

    kind = SPRIG

    def __init__(self, lost: dict[int, bool]) -> None:
        super().__init__("prod", retry=QUICK)
        self.lost = lost
        self.posts: list[Upsert] = []
        self.queue: list[Upsert] = []
        self.state = LiveUser("u1")
        self.reads = 0

    def upsert(self, upsert: Upsert, attempts: Attempts | None = None) -> LiveUser | None:
        assert attempts is not None
        attempts.begin()
        self.posts.append(upsert)
        committed = self.lost.get(len(self.posts), True)
        if committed:
            self.queue.append(upsert)
        if len(self.posts) in self.lost:
            state = "committed" if committed else "not committed"
            raise LostAnswer("prod", f"500 ({state}, answer lost)", answered=True)
        return None

    def read_users(self, ids: Iterable[str], progress: object = None) -> dict[str, LiveUser]:
        self.reads += 1
        if self.queue and self.reads % 2 == 0:
            self._apply(self.queue.pop(0))
        return {self.state.id: self.state}

    def settle(self) -> LiveUser:
        while self.queue:
            self._apply(self.queue.pop(0))
        return self.state

    def _apply(self, upsert: Upsert) -> None:
        events = dict(self.state.events)
        for event in upsert.events:
            old = events.get(event.name)
            count = old.count + 1 if old else 1
            events[event.name] = EventStats(count, event.timestamp, event.timestamp)
        attributes = {**self.state.attributes, **upsert.attributes}
        self.state = LiveUser("u1", attributes=attributes, events=events)


def _send(provider: _LateSprig, spec: UserSpec) -> None:
    change, _ = diff_user(spec, LiveUser("u1"), SPRIG.capabilities)
    assert change is not None
    send_whole(provider, change, wait=1.0)


def test_a_second_lost_answer_is_not_proven_by_the_first_barrier() -> None:
    """Once a barrier has landed the user shows its field, so it proves nothing about a later
    write: with no other field left, a resend whose answer was lost although it was committed
    must not be sent again (the review's reproduction recorded the event twice)."""
    spec = UserSpec("u1", attributes={"plan": "pro"}, events=(Event("signup", 100),))
    provider = _LateSprig(lost={1: False, 3: True})
    with contextlib.suppress(ReconcilerError):
        _send(provider, spec)
    assert provider.settle().events["signup"].count == 1


def test_each_lost_answer_is_proven_by_the_next_unshown_field() -> None:
    """Issue 14: the upsert, then its resend, lose their answers unprocessed; the first barrier
    is one attribute, the second the other, and the events are recorded once, in one run."""
    spec = UserSpec("u1", attributes={"plan": "pro", "seats": 3}, events=(Event("signup", 100),))
    provider = _LateSprig(lost={1: False, 3: False})
    _send(provider, spec)
    barriers = [p for p in provider.posts if not p.events]
    assert barriers == [
        Upsert("u1", attributes={"plan": "pro"}),
        Upsert("u1", attributes={"seats": 3}),
    ]
    state = provider.settle()
    assert state.events["signup"].count == 1
    assert state.attributes == {"plan": "pro", "seats": 3}


def test_a_committed_resend_shows_its_events_before_the_next_barrier() -> None:
    """The resend was applied and only its answer lost: it arrived before the second barrier,
    so its events show first and nothing is sent again."""
    spec = UserSpec("u1", attributes={"plan": "pro", "seats": 3}, events=(Event("signup", 100),))
    provider = _LateSprig(lost={1: False, 3: True})
    _send(provider, spec)
    assert provider.settle().events["signup"].count == 1
    assert sum(1 for p in provider.posts if p.events) == 2
