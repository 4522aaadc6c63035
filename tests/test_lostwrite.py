"""One retry budget per user's writes, against the emulator failing every request.

The client retries a 429 and the applier resends a write whose answer was lost; before issue 14
each loop had its own budget, so a POST could go out 6 x 6 times. Library-level: a CLI run
cannot plan against an emulator that fails every read.
"""

from __future__ import annotations

import contextlib
import logging

import pytest

from reconciler.config import TargetConfig
from reconciler.errors import ReconcilerError
from reconciler.escape import printable
from reconciler.lostwrite import send_user
from reconciler.model import UserSpec
from reconciler.planner import diff_user
from reconciler.providers.sprig import SprigProvider
from reconciler.retry import RetryPolicy
from tests.e2e.emulator import SPRIG_KEY, StartEmulator

pytest_plugins = ("tests.e2e.emulator",)

QUICK = RetryPolicy(max_attempts=4, base=0.001, cap=0.002)


def test_a_post_is_sent_at_most_the_budget_in_all(
    emulator: StartEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    running = emulator(fail_rate=1.0, fail_mode="before", seed=1)
    target = TargetConfig("prod", "sprig", running.url, "SPRIG_API_KEY")
    spec = UserSpec("u\x1b1", attributes={"plan": "pro"})
    change, _ = diff_user(spec, None, SprigProvider.capabilities)
    assert change is not None
    with SprigProvider(target, running.url, SPRIG_KEY, QUICK) as provider:
        caplog.set_level(logging.WARNING, "reconciler.http")
        with contextlib.suppress(ReconcilerError):
            send_user(provider, change, spec, wait=0.0)
    posts = [r.status for r in running.requests if r.method == "POST"]
    # Every send that may have been processed uses an attempt; a 429 (refused before any
    # processing, the emulator's every other failure) uses none, so they come on top.
    assert len([s for s in posts if s != 429]) == QUICK.max_attempts
    assert 429 in posts
    retries = [r.getMessage() for r in caplog.records if "POST" in r.getMessage()]
    assert retries and all(f"(user {printable(spec.id)})" in line for line in retries), retries
    assert not any("\x1b" in line for line in retries)
