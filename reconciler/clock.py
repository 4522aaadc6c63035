"""Time as a value passed in: the wall clock (records, journal stamps), a monotonic clock
(deadlines, rate limits) and sleeping between polls.

A use case gets its clock from its ``Runtime`` (the CLI's is ``SYSTEM_CLOCK``); a test or a
program may pass another, e.g. one whose ``sleep`` only advances its own time. This module is
the one place outside the emulator that calls ``time.sleep`` (tests/test_architecture.py).
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What reconciler asks of time: three questions, each safe from any thread."""

    def now(self) -> float:
        """Seconds since the epoch (wall time): what a record or a lock holder writes."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: deadlines and rates."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a pause between polls, a rate limit's delay)."""
        ...


class SystemClock:
    """The process's clocks: ``time.time``, ``time.monotonic``, ``time.sleep``."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


#: The clock of a normal run.
SYSTEM_CLOCK: Clock = SystemClock()
