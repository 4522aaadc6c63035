"""Signals during apply: what the CLI tells a running apply (usecases/applying.py ``Stopping``)
when CI cancels the job."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from reconciler.usecases.applying import Stopping


class Interrupts:
    """SIGINT and SIGTERM during apply, as a cancelled CI job sends them (SIGINT, SIGTERM 7.5 s
    later, then a kill of the process tree 2.5 s after that).

    Before anything is sent, a signal ends the run at once (exit 130, "Interrupted."; nothing
    sent). While sending, the first one stops the run (``stopping``: no new request starts,
    retry pauses and polls end too), requests in flight get a moment, and the report is
    printed. A second one exits at once: what was sent is in the write-ahead record already,
    line by line.
    """

    def __init__(self) -> None:
        self.stopping = Stopping()

    def __call__(self, signum: int, frame: object) -> None:
        if not self.stopping.sending:
            raise KeyboardInterrupt
        if self.stopping.stopped:
            click.echo("Interrupted again: exiting now.", err=True)
            os._exit(130)
        click.echo("Interrupted: sending nothing new; reporting what was sent.", err=True)
        self.stopping.stop()


@contextmanager
def interruptible(interrupts: Interrupts) -> Iterator[Interrupts]:
    """SIGINT and SIGTERM handled by ``interrupts`` for the body (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = {sig: signal.signal(sig, interrupts) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield interrupts
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
