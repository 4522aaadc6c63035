"""A clock for tests (``reconciler.clock.Clock``): time moves only when code sleeps on it, so a
wait of minutes runs at once and what was waited is known exactly."""

from __future__ import annotations

import threading


class FakeClock:
    """Starts at ``at`` seconds; ``sleep`` advances it and records the pause."""

    def __init__(self, at: float = 1_000_000.0) -> None:
        self.at = at
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def now(self) -> float:
        return self.at

    def monotonic(self) -> float:
        return self.at

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.at += seconds
