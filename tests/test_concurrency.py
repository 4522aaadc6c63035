"""concurrency.fan_out, the one helper that runs calls concurrently (reads and writes alike)."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import pytest

from reconciler.concurrency import fan_out

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"


def test_results_come_in_the_order_of_the_items_whatever_finishes_first() -> None:
    first_may_finish = threading.Event()

    def slow_first(item: int) -> int:
        if item == 0:
            assert first_may_finish.wait(10)
        else:
            first_may_finish.set()
        return item * 10

    assert fan_out(slow_first, [0, 1, 2], parallelism=3) == [0, 10, 20]


def test_up_to_parallelism_calls_are_in_flight_and_never_more() -> None:
    parallelism = 3
    # Every call waits until 3 are in flight at once: fewer workers would break the barrier.
    together = threading.Barrier(parallelism, timeout=10)
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def call(item: int) -> int:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        together.wait()
        with lock:
            in_flight[0] -= 1
        return item

    assert fan_out(call, list(range(9)), parallelism) == list(range(9))
    assert most[0] == parallelism


def test_one_worker_runs_in_the_callers_thread_and_progress_counts_each_call() -> None:
    done: list[int] = []
    threads = fan_out(lambda _: threading.current_thread(), "abc", 1, done.append)
    assert set(threads) == {threading.current_thread()}
    assert done == [1, 1, 1]


def test_an_error_reaches_the_caller() -> None:
    def refuse(item: int) -> int:
        raise ValueError(f"item {item}")

    with pytest.raises(ValueError, match="item"):
        fan_out(refuse, [1, 2], parallelism=2)


def test_no_other_module_starts_a_thread_pool() -> None:
    """Three pools (the HTTP reads, the upserts, the deletions) became this one helper."""
    starting = sorted(
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if any(
            isinstance(node, ast.Name | ast.Attribute)
            and (getattr(node, "id", None) or getattr(node, "attr", None)) == "ThreadPoolExecutor"
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    )
    assert starting == ["concurrency.py"]


def test_fan_out_until_returns_within_the_grace_once_stopped() -> None:
    """A stop cuts the wait for calls in flight to ``grace`` seconds; their items get the
    ``unfinished`` value, later items are not started (the function sees the stop)."""
    from reconciler.concurrency import fan_out_until

    stop = threading.Event()
    release = threading.Event()
    started: list[int] = []

    def call(item: int) -> int:
        if stop.is_set():
            return -2
        started.append(item)
        if item == 1:
            stop.set()
            assert release.wait(30)
        return item

    try:
        results = fan_out_until(call, list(range(6)), 2, stop, 0.1, lambda item: -1)
    finally:
        release.set()
    assert results[1] == -1
    assert all(r in (-2, i) for i, r in enumerate(results) if i != 1)


def test_fan_out_until_hands_an_error_to_the_caller() -> None:
    from reconciler.concurrency import fan_out_until

    def refuse(item: int) -> int:
        raise ValueError(f"item {item}")

    with pytest.raises(ValueError, match="item"):
        fan_out_until(refuse, [1, 2], 2, threading.Event(), 1.0, lambda item: 0)
