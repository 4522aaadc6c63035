"""The retry policy alone: backoff bounds, Retry-After parsing, environment knobs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from reconciler.errors import ConfigError
from reconciler.retry import RetryPolicy, parse_retry_after


def test_full_jitter_stays_under_the_capped_exponential() -> None:
    top = RetryPolicy(base=0.2, cap=1.0, random=lambda: 0.999999)
    assert [round(top.backoff(n), 3) for n in range(1, 6)] == [0.2, 0.4, 0.8, 1.0, 1.0]
    bottom = RetryPolicy(base=0.2, cap=1.0, random=lambda: 0.0)
    assert bottom.backoff(4) == 0.0


def test_jitter_spreads_the_waits() -> None:
    policy = RetryPolicy(base=1.0, cap=10.0)
    waits = {policy.backoff(3) for _ in range(50)}
    assert len(waits) > 1
    assert all(0.0 <= wait < 4.0 for wait in waits)


def test_retry_after_wins_over_the_backoff() -> None:
    policy = RetryPolicy(base=0.2, cap=1.0)
    assert policy.backoff(1, retry_after=3.0) == 3.0
    assert policy.backoff(1, retry_after=-2.0) == 0.0


def test_attempts_and_deadline_bound_the_retries() -> None:
    policy = RetryPolicy(max_attempts=3, deadline=10.0)
    assert policy.may_retry(1, elapsed=0.0, delay=1.0)
    assert not policy.may_retry(3, elapsed=0.0, delay=1.0)
    assert not policy.may_retry(1, elapsed=9.5, delay=1.0)


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now) == 30.0
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5e3x"])
def test_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_environment_overrides_the_policy() -> None:
    policy = RetryPolicy.from_env(
        {"RECONCILER_RETRY_ATTEMPTS": "3", "RECONCILER_RETRY_BASE": "0.01"}
    )
    assert (policy.max_attempts, policy.base, policy.cap) == (3, 0.01, RetryPolicy().cap)
    assert RetryPolicy.from_env({}) == RetryPolicy()


@pytest.mark.parametrize("value", ["x", "-1", "nan", "inf"])
def test_bad_environment_values_are_config_errors(value: str) -> None:
    with pytest.raises(ConfigError, match="RECONCILER_RETRY_BASE"):
        RetryPolicy.from_env({"RECONCILER_RETRY_BASE": value})


def test_a_429_uses_no_attempt_but_still_grows_the_backoff() -> None:
    policy = RetryPolicy(max_attempts=6, base=1.0, cap=100.0, random=lambda: 0.999)
    attempts = policy.start()
    for _ in range(5):  # five throttled sends: the budget of six is untouched
        attempts.begin()
        attempts.throttled()
        assert attempts.delay() is not None
    assert attempts.delay() == pytest.approx(1.0 * 2**4 * 0.999)  # the sixth send waits longest
    for _ in range(5):  # sends that may have been processed count...
        attempts.begin()
        assert attempts.delay() is not None
    attempts.begin()  # ...and the sixth spends the budget
    assert attempts.delay() is None


def test_throttled_sends_stop_at_the_deadline() -> None:
    attempts = RetryPolicy(max_attempts=2, base=1.0, cap=1.0, deadline=0.5).start()
    attempts.begin()
    attempts.throttled()
    assert attempts.delay(retry_after=1.0) is None  # waiting would pass the total deadline


def test_no_more_429s_are_free_than_the_budget() -> None:
    """A server answering 429 with Retry-After: 0 forever gets max_attempts free sends, then
    its 429s count: twice the budget in all, not a deadline's worth of requests."""
    attempts = RetryPolicy(max_attempts=3, base=0.0, cap=0.0).start()
    sends = 0
    while True:
        attempts.begin()
        sends += 1
        attempts.throttled()
        if attempts.delay(retry_after=0.0) is None:
            break
    assert sends == 6
