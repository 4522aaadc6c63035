"""polling.polls, the one pace at which apply looks at a target again (verify.py, lostwrite.py)."""

from __future__ import annotations

import threading

import pytest

from reconciler.apply import polling
from tests.fakeclock import FakeClock


@pytest.mark.parametrize("wait", [None, 0.0, 0.1])
def test_no_wait_or_one_shorter_than_the_first_pause_looks_once(wait: float | None) -> None:
    assert list(polling.polls(wait)) == [0]


def test_it_looks_again_after_each_pause_while_the_wait_lasts() -> None:
    clock = FakeClock()
    # 0.2 + 0.5 + 1 + 2 + 5 + 5 = 13.7 s fit in 15; the next 5 s would end after it.
    assert list(polling.polls(15.0, clock=clock)) == [0, 1, 2, 3, 4, 5, 6]
    assert clock.slept == [0.2, 0.5, 1.0, 2.0, 5.0, 5.0]


def test_a_caller_that_has_its_answer_stops_without_pausing() -> None:
    clock = FakeClock()
    for attempt in polling.polls(60.0, clock=clock):
        assert attempt == 0
        break
    assert clock.slept == []


def test_with_a_stop_event_the_deadline_is_the_clock_s() -> None:
    """An interrupted run's polls wait on its event, but how long they may go on is the run's
    clock's to say: a clock past the deadline ends them after one look."""
    clock = FakeClock()
    stop = threading.Event()
    looks = []
    for attempt in polling.polls(15.0, stop, clock):
        looks.append(attempt)
        clock.at += 60.0  # each look takes a minute, on this clock
    assert looks == [0]
