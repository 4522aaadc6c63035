"""One apply per target at a time, on one working tree: a lock file that names its holder.

Two applies racing on Sprig record every event twice (each reads before the other's writes
show), and no read can tell. So apply takes ``.reconciler/locks/<target>.lock`` for each of its
targets before it reads anything, with ``flock``: the kernel releases it when the holder exits,
however it exits, so a holder that died never blocks the next run. The file says who holds it
(process, host, since when), for the refusal's message. Across machines (CI runners) the
lock cannot reach: the example workflows' ``concurrency`` group is that lock (README, CI).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import RefusedError
from reconciler.escape import printable
from reconciler.load.journal import STATE_DIR, utc

try:  # POSIX; elsewhere the lock is only advisory (no concurrent applies are detected)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: Seconds between two tries while waiting for a lock (--lock-timeout).
POLL = 0.2
#: What a holder file may hold at most (it is local, but read as untrusted anyway).
_MAX_HOLDER = 4096


def lock_path(root: Path, target: str) -> Path:
    return root / STATE_DIR / "locks" / f"{target}.lock"


@contextmanager
def target_locks(
    root: Path, targets: Iterable[str], timeout: float = 0.0, clock: Clock = SYSTEM_CLOCK
) -> Iterator[None]:
    """Hold every target's lock (in name order, so two runs never wait on each other in a
    cycle) for the body; refuse (RefusedError, exit 3) when one is held after ``timeout``
    seconds of ``clock`` (the run's), naming its holder."""
    handles = []
    try:
        for target in sorted(set(targets)):
            handles.append(_acquire(lock_path(root, target), target, timeout, clock))
        yield
    finally:
        for handle in reversed(handles):
            os.close(handle)  # closing the descriptor releases the flock


def _acquire(path: Path, target: str, timeout: float, clock: Clock) -> int:
    # A pull request may commit .reconciler as a symlink to elsewhere: checked before anything
    # is made there, so no lock file is ever created outside the repository.
    if any(p.is_symlink() for p in (path, path.parent, path.parent.parent)):
        raise RefusedError(f"{printable(str(path))}: a lock file must not be a symlink; remove it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
    deadline = clock.monotonic() + timeout
    while not _try_lock(fd):
        if clock.monotonic() >= deadline:
            holder = _holder(fd, clock)
            os.close(fd)
            waited = f" after waiting {timeout:g}s" if timeout else ""
            raise RefusedError(
                f"target {target}: another apply holds it{waited} ({holder}; lock "
                f"{printable(str(path))}). Nothing was sent. Wait for it to end, or pass "
                "--lock-timeout SECONDS to wait."
            )
        clock.sleep(POLL)
    _write_holder(fd, clock)
    return fd


def _try_lock(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _write_holder(fd: int, clock: Clock) -> None:
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": clock.now()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(holder).encode(), 0)


def _holder(fd: int, clock: Clock) -> str:
    """Who holds the lock, in words: ``process 4242 on host ci-7 since 2026-12-06T23:40:01Z``.

    The holder writes its name just after it took the lock: a run that lost the race by a
    moment reads again for up to half a second before it says nobody said."""
    for _ in range(25):
        try:
            holder = json.loads(os.pread(fd, _MAX_HOLDER, 0))
            pid, host, since = int(holder["pid"]), str(holder["host"]), float(holder["since"])
        except (ValueError, TypeError, KeyError, OSError, RecursionError):
            clock.sleep(0.02)
            continue
        return f"process {pid} on host {printable(host)[:64]} since {utc(since)}"
    return "its holder did not say who it is"
