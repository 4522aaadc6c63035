"""The one polling helper: read again after short, growing pauses until a wait runs out.

Sprig answers 202 and applies later, so apply looks again until the target shows what it
needs: verification (verify.py) until users show the plan, and lostwrite.py after a lost
answer until it can tell whether the write was recorded. Both look at the same pace.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

from reconciler.clock import SYSTEM_CLOCK, Clock

#: Seconds between polls: short first (Sprig is often quick), then backing off.
POLL_DELAYS = (0.2, 0.5, 1.0, 2.0, 5.0)


def polls(
    wait: float | None, stop: threading.Event | None = None, clock: Clock = SYSTEM_CLOCK
) -> Iterator[int]:
    """Yield the poll number (0 at once), sleeping between polls; stop when the next pause
    would end more than ``wait`` seconds (None: 0) after the first poll, or once ``stop`` is
    set (an interrupted run looks no more: the pause ends at once).

    The caller looks at the target in the loop body and breaks once it has its answer; a loop
    that ends without a break means the wait ran out. The deadline starts with the first poll,
    on ``clock`` (the run's: the provider's). With ``stop``, a pause is a wait on it (it ends
    at once when set), so only the deadline is read from the clock.
    """
    deadline = clock.monotonic() + (wait or 0.0)
    for attempt in itertools.count():
        yield attempt
        delay = POLL_DELAYS[min(attempt, len(POLL_DELAYS) - 1)]
        if clock.monotonic() + delay > deadline:
            return
        if stop is None:
            clock.sleep(delay)
        elif stop.wait(delay):
            return
