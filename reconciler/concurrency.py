"""The one concurrency helper: a function over items with a bounded number in flight, in order.

Providers read users with it and the applier sends upserts and deletions with it. It lives on
the shared floor, importing nothing of the project, so that both may use it and neither pulls
the HTTP stack into the other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def fan_out(
    function: Callable[[T], R],
    items: Sequence[T],
    parallelism: int,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``function`` over ``items`` with up to ``parallelism`` calls in flight; results in order.

    Threads, as the calls wait on the network or on SQLite: with httpx's sync client measured
    within a few percent of a bare http.client pool at 50 ms round trips, with far less CPU
    than the async client (issue 5's figures). One worker or one item runs in the caller's
    thread. ``progress(1)`` is called as each call returns.
    """

    def counted(item: T) -> R:
        result = function(item)
        if progress is not None:
            progress(1)
        return result

    if parallelism <= 1 or len(items) <= 1:
        return [counted(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(parallelism, len(items))) as pool:
        return list(pool.map(counted, items))


def fan_out_until(
    function: Callable[[T], R],
    items: Sequence[T],
    parallelism: int,
    stop: threading.Event,
    grace: float,
    unfinished: Callable[[T], R],
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``fan_out`` that a stop cuts short: once ``stop`` is set, calls still running get
    ``grace`` more seconds, then their items get ``unfinished(item)`` and this returns.

    A cancelled CI job is killed 10 s after its first signal (SIGINT, then SIGTERM 7.5 s later,
    then the whole process tree 2.5 s after that), so apply must report in time whatever a
    request in flight does. The workers are daemon threads: one still waiting on the network
    when the run ends does not keep the process alive. The function itself is expected to
    start nothing new once ``stop`` is set.
    """
    calls = _Calls(function, items, progress)
    for number in range(max(1, min(parallelism, len(items)))):
        threading.Thread(target=calls.work, name=f"fan-out-{number}", daemon=True).start()
    _wait_for(calls.done, calls.finished, stop, grace)
    with calls.done:
        if calls.errors:
            raise calls.errors[0]
        results = calls.results
        return [results[i] if i in results else unfinished(items[i]) for i in range(len(items))]


class _Calls(Generic[T, R]):
    """The calls of one ``fan_out_until``: a queue the workers take items from, the results
    by index, and the first error (handed to the caller's thread, as ``fan_out`` does)."""

    def __init__(
        self,
        function: Callable[[T], R],
        items: Sequence[T],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.function, self.progress = function, progress
        self.results: dict[int, R] = {}
        self.errors: list[BaseException] = []
        self.done = threading.Condition()
        self.total = len(items)
        self._queue = list(enumerate(items))
        self._queue.reverse()

    def finished(self) -> bool:
        return len(self.results) == self.total or bool(self.errors)

    def work(self) -> None:
        while True:
            with self.done:
                if not self._queue or self.errors:
                    return
                index, item = self._queue.pop()
            try:
                result = self.function(item)
            except BaseException as error:
                with self.done:
                    self.errors.append(error)
                    self.done.notify_all()
                return
            with self.done:
                self.results[index] = result
                self.done.notify_all()
            if self.progress is not None:
                self.progress(1)


def _wait_for(
    done: threading.Condition, finished: Callable[[], bool], stop: threading.Event, grace: float
) -> None:
    """Wait until ``finished()``, or ``grace`` seconds after ``stop`` was set."""
    deadline: float | None = None
    with done:
        while not finished():
            if stop.is_set() and deadline is None:
                deadline = time.monotonic() + grace
            if deadline is not None and time.monotonic() >= deadline:
                return
            done.wait(
                0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic()))
            )
