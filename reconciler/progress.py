"""Progress of long reads and upserts on stderr: a redrawn line on a terminal, a line every few
seconds on CI (where a redrawn line would flood the log), nothing for quick steps."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol, TextIO

from reconciler.escape import printable

#: On CI, one line at most this often; also the delay before anything is shown at all.
CI_INTERVAL = 5.0
TTY_INTERVAL = 0.1


class Step(Protocol):
    """Progress of one step; the CLI passes one that draws on stderr, the library draws nothing."""

    def advance(self, count: int = 1) -> None: ...

    def page(self, count: int) -> None: ...

    def close(self) -> float: ...


#: ``steps(label, total)``: a step of ``total`` items (0: a count not known ahead).
StepFactory = Callable[[str, int], Step]


class Quiet:
    """A step that reports nothing but still measures its duration."""

    def __init__(self, label: str, total: int) -> None:
        self._started = time.monotonic()

    def advance(self, count: int = 1) -> None:
        pass

    def page(self, count: int) -> None:
        pass

    def close(self) -> float:
        return time.monotonic() - self._started


class Progress:
    """Counts done items of one step (``label``) and reports rate and ETA. Thread-safe."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None) -> None:
        self.label = printable(label)
        self.total = total
        self.done = 0
        #: Pages of a listing read so far (``page``), shown with the users they held.
        self.pages = 0
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._started = time.monotonic()
        self._shown = self._started
        self._drawn = False
        self._lock = threading.Lock()

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self.done += count
            now = time.monotonic()
            if now - self._shown >= (TTY_INTERVAL if self._tty else CI_INTERVAL):
                self._shown = now
                self._show(now)

    def page(self, count: int) -> None:
        """One more page of a listing, holding ``count`` users."""
        with self._lock:
            self.pages += 1
        self.advance(count)

    def _show(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        line = f"{self.label}: {self.done}/{self.total} ({rate:.0f}/s, ETA {left:.0f}s)"
        if self.total <= 0:  # a count not known ahead (listing a target): no ETA
            line = f"{self.label}: {self.done} ({rate:.0f}/s)"
        if self.pages:
            pages = f"{self.pages} page{'' if self.pages == 1 else 's'}"
            line = f"{self.label}: {pages}, {self.done} users ({rate:.0f}/s)"
        if self._tty:
            self._stream.write(f"\r\x1b[2K{line}")
            self._drawn = True
        else:
            self._stream.write(line + "\n")
        self._stream.flush()

    def close(self) -> float:
        """End the step (clear a drawn line); returns its duration in seconds."""
        with self._lock:
            if self._drawn:
                self._stream.write("\r\x1b[2K")
                self._stream.flush()
        return time.monotonic() - self._started
