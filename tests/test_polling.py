"""polling.polls, the one pace at which apply looks at a target again (verify.py, lostwrite.py)."""

from __future__ import annotations

import time

import pytest

from reconciler.apply import polling


@pytest.mark.parametrize("wait", [None, 0.0, 0.1])
def test_no_wait_or_one_shorter_than_the_first_pause_looks_once(wait: float | None) -> None:
    assert list(polling.polls(wait)) == [0]


def test_it_looks_again_after_each_pause_while_the_wait_lasts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(time, "sleep", sleep)
    # 0.2 + 0.5 + 1 + 2 + 5 + 5 = 13.7 s fit in 15; the next 5 s would end after it.
    assert list(polling.polls(15.0)) == [0, 1, 2, 3, 4, 5, 6]
    assert slept == [0.2, 0.5, 1.0, 2.0, 5.0, 5.0]


def test_a_caller_that_has_its_answer_stops_without_pausing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail("paused"))
    for attempt in polling.polls(60.0):
        assert attempt == 0
        break
