"""Delayed visibility of accepted writes, as Sprig's asynchronous processing shows it.

Sprig answers an upsert with 202 and processes it later: "Making a GET request immediately
after may result in a 404" and "another POST request immediately after with the same userId
is supported" (seeds/001). Here each accepted write is applied ``delay`` seconds after it
arrived, by one worker thread, in arrival order: the delay is the same for every write, so
first-in is first-due and the writes of one user are never reordered.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable

from reconciler.model import Upsert

#: Applies one write to the store: (namespace, upsert).
Apply = Callable[[str, Upsert], object]


class DelayedWrites:
    """A FIFO of writes, each applied once its delay has passed (immediately when it is 0)."""

    def __init__(
        self, apply: Apply, delay_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if delay_s < 0:
            raise ValueError(f"visibility delay must not be negative, got {delay_s}")
        self._apply = apply
        self.delay_s = delay_s
        self._clock = clock
        self._queue: deque[tuple[float, str, Upsert]] = deque()
        self._pending: dict[tuple[str, str], list[Upsert]] = {}
        self._changed = threading.Condition()
        # Held while a write is applied: a flush and the worker never apply the same write.
        self._applying = threading.Lock()
        self._closed = False
        self._worker: threading.Thread | None = None
        if delay_s > 0:
            self._worker = threading.Thread(target=self._run, name="sprig-visibility", daemon=True)
            self._worker.start()

    def submit(self, namespace: str, upsert: Upsert) -> None:
        """Accept a write; it becomes visible after the delay."""
        if self._worker is None:
            with self._applying:
                self._apply(namespace, upsert)
            return
        with self._changed:
            if self._closed:
                raise RuntimeError("the emulator is stopping")
            self._queue.append((self._clock() + self.delay_s, namespace, upsert))
            self._pending.setdefault((namespace, upsert.user_id), []).append(upsert)
            self._changed.notify()

    def pending(self, namespace: str, user_id: str) -> list[Upsert]:
        """Writes accepted for this user that are not visible yet, oldest first."""
        with self._changed:
            return list(self._pending.get((namespace, user_id), ()))

    def flush(self) -> None:
        """Apply every accepted write now, in order (tests, and stopping without losing data)."""
        with self._applying:
            while self._apply_head(due_only=False):
                pass

    def close(self) -> None:
        """Stop the worker, then apply what is left: an accepted write is never lost."""
        with self._changed:
            self._closed = True
            self._changed.notify()
        if self._worker is not None:
            self._worker.join()
        self.flush()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._closed and not self._head_due():
                    self._changed.wait(self._wait_time())
                if self._closed:
                    return
            with self._applying:
                self._apply_head(due_only=True)

    def _head_due(self) -> bool:
        return bool(self._queue) and self._queue[0][0] <= self._clock()

    def _wait_time(self) -> float | None:
        return max(0.0, self._queue[0][0] - self._clock()) if self._queue else None

    def _apply_head(self, *, due_only: bool) -> bool:
        """Apply the oldest write (the caller holds ``_applying``); False when there is none.

        The write stays listed as pending until it is applied, so the attribute cap check of a
        concurrent POST always sees it either pending or stored.
        """
        with self._changed:
            if not self._queue or (due_only and not self._head_due()):
                return False
            _, namespace, upsert = self._queue[0]
        try:
            self._apply(namespace, upsert)
        except Exception:
            # A write the store refuses must not block every later one: report and drop it.
            traceback.print_exc(file=sys.stderr)
        with self._changed:
            self._queue.popleft()
            key = (namespace, upsert.user_id)
            writes = self._pending[key]
            writes.pop(0)
            if not writes:
                del self._pending[key]
        return True
