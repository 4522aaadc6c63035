"""Fault injection for the emulator: failures, lost responses and a per-key rate limit.

Retries, backoff and "apply twice sends nothing twice" can only be tested against a server that
fails on purpose. Every decision here is deterministic: failures are drawn from a random
generator seeded by ``seed``, so a test that sends requests in a fixed order sees the same
failures every run.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from typing import Literal

FailMode = Literal["before", "after"]

#: Statuses a failure answers with, in turn. "before": the vendor refused without processing
#: (a crash or a throttle). "after": the write was committed, then the answer was lost on the
#: way back, as a proxy's 502 or a crash after commit would lose it.
FAILURE_STATUSES: dict[FailMode, tuple[int, int]] = {
    "before": (500, 429),
    "after": (502, 500),
}


class FaultInjector:
    """Decides, request by request, whether to answer with an injected failure."""

    def __init__(self, fail_rate: float, fail_mode: FailMode, seed: int) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"fail_rate must be between 0 and 1, got {fail_rate}")
        if fail_mode not in FAILURE_STATUSES:
            raise ValueError(f"fail_mode must be 'before' or 'after', got {fail_mode!r}")
        self.fail_rate = fail_rate
        self.fail_mode = fail_mode
        self._random = random.Random(seed)
        self._failures = 0
        self._lock = threading.Lock()

    def draw(self) -> int | None:
        """The status to fail this request with, or None to answer normally.

        One random draw per request, in arrival order; the failure statuses alternate so that a
        run with a few failures exercises both kinds.
        """
        if self.fail_rate == 0.0:
            return None
        with self._lock:
            if self._random.random() >= self.fail_rate:
                return None
            statuses = FAILURE_STATUSES[self.fail_mode]
            status = statuses[self._failures % len(statuses)]
            self._failures += 1
            return status


class RateLimiter:
    """A token bucket per API key: ``rate`` requests per second, bursts up to one second's worth.

    Both vendors throttle per key with 429 (Usertour's cloud per minute, Sprig undocumented);
    a bucket refilled continuously gives the same pressure without minute-long tests.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not rate > 0:
            raise ValueError(f"rate_limit must be positive, got {rate}")
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, time)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int | None:
        """Take a token for ``key``; None when allowed, else the seconds to send as Retry-After.

        Retry-After holds whole seconds (RFC 9110), so the wait is rounded up and at least 1.
        """
        with self._lock:
            now = self._clock()
            tokens, then = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
