"""Progress lines: redrawn on a terminal, plain lines on CI, silent for quick steps."""

from __future__ import annotations

import io

import pytest

from reconciler import progress as progress_module
from reconciler.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_quick_steps_print_nothing() -> None:
    stream = io.StringIO()
    step = Progress("prod: reading users", 3, stream)
    step.advance(3)
    step.close()
    assert stream.getvalue() == ""


def test_ci_prints_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "CI_INTERVAL", 0.0)
    stream = io.StringIO()
    step = Progress("prod: applying", 4, stream)
    step.advance()
    step.advance()
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("prod: applying: 2/4 (")
    assert "ETA" in lines[-1] and "\r" not in stream.getvalue()


def test_terminal_redraws_one_line_and_clears_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "TTY_INTERVAL", 0.0)
    stream = Terminal()
    step = Progress("prod: applying", 2, stream)
    step.advance()
    step.advance()
    step.close()
    text = stream.getvalue()
    assert text.count("\r\x1b[2K") == 3 and "\n" not in text
    assert "2/2" in text


def test_a_step_of_unknown_length_counts_without_eta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "CI_INTERVAL", 0.0)
    stream = io.StringIO()
    step = Progress("prod: listing users", 0, stream)
    step.advance(100)
    assert stream.getvalue().startswith("prod: listing users: 100 (")
    assert "ETA" not in stream.getvalue()


def test_a_listing_shows_pages_and_users(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress_module, "CI_INTERVAL", 0.0)
    stream = io.StringIO()
    step = Progress("prod: listing users", 0, stream)
    step.page(100)
    step.page(100)
    step.page(37)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("prod: listing users: 1 page, 100 users (")
    assert lines[-1].startswith("prod: listing users: 3 pages, 237 users (")
