"""How fast one target is called: a token bucket for ``rate_limit`` and an adaptive cap on
requests in flight that halves when the target answers 429 and grows back as it recovers.

Both are shared by every thread that talks to the target, so together they hold the whole
target's traffic under its limit, not each thread's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from reconciler.clock import SYSTEM_CLOCK

#: Successful answers in a row before one more request may be in flight again.
RECOVERY_STREAK = 20


class TokenBucket:
    """At most ``rate`` requests per second on average, with bursts of up to ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = SYSTEM_CLOCK.monotonic,
        sleep: Callable[[float], None] = SYSTEM_CLOCK.sleep,
    ) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def _reserve(self) -> float:
        """Take one token (possibly in advance) and return how long to wait for it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> None:
        delay = self._reserve()
        if delay > 0:
            self._sleep(delay)


class AdaptiveLimit:
    """A cap on requests in flight: halved on each 429, raised by one after a calm streak."""

    def __init__(self, maximum: int) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self._in_flight = 0
        self._streak = 0
        self._condition = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._condition:
            self._condition.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1
        try:
            yield
        finally:
            with self._condition:
                self._in_flight -= 1
                self._condition.notify_all()

    def throttled(self) -> int | None:
        """The target said 429: halve what we send at once. Returns the new cap if it moved."""
        with self._condition:
            previous, self.limit = self.limit, max(1, self.limit // 2)
            self._streak = 0
            return self.limit if self.limit != previous else None

    def succeeded(self) -> None:
        with self._condition:
            self._streak += 1
            if self._streak >= RECOVERY_STREAK and self.limit < self.maximum:
                self.limit += 1
                self._streak = 0
                self._condition.notify_all()
