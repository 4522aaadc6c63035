"""The write-ahead record: what apply sent to a target and has not seen there yet.

Sprig answers 202 and shows a write later, keeps no idempotency key, and never deletes an
event. A run that reads a user before an earlier run's write shows cannot tell "lost" from
"still on its way", so a resend could record events twice, for good. The record is the
evidence: before a POST that carries events leaves, apply appends what it carries (user, event
names and timestamps, run, time) and flushes it to disk; once a read shows the events, the
record is cleared. Plan and apply hold back the events of a user with a record (pending),
instead of sending them again.

A record says nothing about writes made before it existed (a fresh machine, a lost CI cache).
Its first line says when it was started: until the target's settle time has passed since then,
a user with events is sent them only once a barrier proved that no earlier write of that user
is still on its way (``barrier`` lines, apply/evidence.py), and a user proved so is ``proved``.

One file per target, ``.reconciler/inflight/<target>.jsonl``, JSON lines, appended under a lock
held by one apply at a time (apply/lock.py) and rewritten whole (compacted) at the end of each
apply. The file is local state of this machine, never declarations: it is read bounded (a size
cap, no symlinks), and a torn last line (a run killed while writing) is ignored.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import ConfigError, NotSent
from reconciler.escape import printable
from reconciler.model import Event, LiveUser

#: The folder of every local state file, next to reconciler.yaml (the sandbox lives there too).
STATE_DIR = ".reconciler"
#: A record larger than this is not ours (1,000,000 users with events is ~100 MB less).
MAX_BYTES = 256 * 1024 * 1024
_MAGIC = "reconciler write-ahead record"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class InFlight:
    """One write that carried events, sent and not seen yet."""

    user_id: str
    events: tuple[Event, ...]
    #: The run that sent it (``Journal.run``), and when (Unix seconds).
    run: str
    at: float

    def describe(self) -> str:
        """``login x2, signup x1 sent 2026-12-06T23:40:01Z by run 3f1c9a0b``."""
        counts: dict[str, int] = {}
        for event in self.events:
            counts[event.name] = counts.get(event.name, 0) + 1
        names = ", ".join(f"{printable(name)} x{n}" for name, n in sorted(counts.items()))
        return f"{names} sent {utc(self.at)} by run {self.run}"


def utc(seconds: float) -> str:
    """A moment as people and logs read it: ``2026-12-06T23:40:01Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def visible(event: Event, live: LiveUser | None) -> bool:
    """Whether the target shows ``event``: its name's latest timestamp is at or after it
    (events are compared per name by their latest timestamp, as the planner does)."""
    if live is None:
        return False
    stats = live.events.get(event.name)
    return stats is not None and stats.latest >= event.timestamp


def journal_path(root: Path, target: str) -> Path:
    """Where a target's record lives, under the folder of reconciler.yaml."""
    return root / STATE_DIR / "inflight" / f"{target}.jsonl"


@dataclass(slots=True)
class _State:
    """A record replayed: its start, the writes in flight, the barriers sent, the users proved."""

    started: float | None
    inflight: dict[str, list[InFlight]]
    barriers: dict[str, tuple[str, float]]
    proved: set[str]


def _empty() -> _State:
    return _State(None, {}, {}, set())


class Journal:
    """A target's write-ahead record, open for one run: read at once, appended as apply sends.

    Thread-safe: apply's workers append concurrently; each line is written and flushed to the
    disk (fsync) before the write it announces leaves; lines appended together share an fsync.
    """

    def __init__(
        self, path: Path, target: str, run: str | None = None, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.path = path
        self.target = target
        #: The run's clock: when each write was recorded, and when the run started.
        self._clock = clock
        #: This run's name in the record: short, random, printed in reports.
        self.run = run or uuid.uuid4().hex[:8]
        self._state = read_state(path, target)
        self._lock = threading.Lock()
        self._file: Any = None
        #: Lines written (flushed to the OS) and lines known on disk: appends share fsyncs.
        self._written = 0
        self._synced = 0
        self._syncing = threading.Lock()
        #: Set by ``compact`` at the end of the run: a request still in flight then (an
        #: interrupted run's worker) appends nothing more, so the record stays as compacted,
        #: which errs on the side of "in flight".
        self._closed = False

    # What the record says ------------------------------------------------------------------

    @property
    def started(self) -> float | None:
        """When the record was started (None: no record yet)."""
        return self._state.started

    def inflight(self) -> Mapping[str, tuple[InFlight, ...]]:
        """The writes in flight, per user."""
        with self._lock:
            return {user: tuple(records) for user, records in self._state.inflight.items()}

    def barrier(self, user_id: str) -> tuple[str, float] | None:
        """The last barrier sent for the user (its digest, when), if any."""
        return self._state.barriers.get(user_id)

    def proved(self, user_id: str) -> bool:
        """Whether a barrier proved that no write of the user from before the record is on
        its way (then the record alone is the evidence for it)."""
        return user_id in self._state.proved

    def covers(self, now: float, settle: float) -> bool:
        """Whether the record speaks for every write: it was started ``settle`` seconds ago or
        more, so any write from before it would show by now."""
        started = self._state.started
        return started is not None and now - started >= settle

    # What apply appends ----------------------------------------------------------------------

    def sending(self, user_id: str, events: Iterable[Event]) -> None:
        """Record a write that carries ``events``, before it leaves."""
        carried = tuple(events)
        if not carried:
            return
        record = InFlight(user_id, carried, self.run, self._clock.now())
        line = {"op": "sent", "user": user_id, "events": _events(carried), "at": record.at}
        if not self._append(line):  # the run is ending: nothing leaves without its record
            raise NotSent(self.target, "not sent: the run is ending")
        with self._lock:
            self._state.inflight.setdefault(user_id, []).append(record)

    def clear(self, user_id: str, events: Iterable[Event] | None = None) -> None:
        """Forget the user's writes in flight that carried ``events`` (None: all of them):
        seen on the target, refused, or never sent."""
        self.clear_all([(user_id, events)])

    def clear_all(self, cleared: Iterable[tuple[str, Iterable[Event] | None]]) -> None:
        """``clear`` for many users at once, their lines on disk with one fsync (verification
        clears every user it saw: one fsync each cost 5 ms apiece, in one thread)."""
        wanted = [
            (user_id, None if events is None else tuple(events)) for user_id, events in cleared
        ]
        with self._lock:
            wanted = [
                (user_id, events) for user_id, events in wanted if user_id in self._state.inflight
            ]
        if not wanted:
            return
        self._append(
            *(
                {
                    "op": "clear",
                    "user": user_id,
                    "events": None if events is None else _events(events),
                }
                for user_id, events in wanted
            )
        )
        with self._lock:
            for user_id, events in wanted:
                _clear(self._state, user_id, events)

    def sent_barrier(self, user_id: str, digest: str) -> None:
        """Record a barrier (a write without events) before it leaves."""
        at = self._clock.now()
        if not self._append({"op": "barrier", "user": user_id, "digest": digest, "at": at}):
            raise NotSent(self.target, "not sent: the run is ending")
        with self._lock:
            self._state.barriers[user_id] = (digest, at)

    def prove(self, user_id: str) -> None:
        """Record that the user has no write from before the record on its way."""
        with self._lock:
            if user_id in self._state.proved:
                return
        self._append({"op": "proved", "user": user_id})
        with self._lock:
            self._state.proved.add(user_id)

    def expire(self, now: float, settle: float) -> list[InFlight]:
        """Forget the writes sent more than ``settle`` seconds ago and still not seen: by the
        target's own settle time they were lost. Returns them (apply says so)."""
        expired = [
            record
            for records in self.inflight().values()
            for record in records
            if now - record.at >= settle
        ]
        for record in expired:
            self.clear(record.user_id, record.events)
        return expired

    def compact(self) -> None:
        """Rewrite the record with what is still in flight (atomically: temp file, rename)."""
        with self._lock:
            self._close_file()
            self._closed = True
            if self._state.started is not None:
                self._rewrite()

    def close(self) -> None:
        with self._lock:
            self._close_file()

    def _append(self, *lines: dict[str, Any]) -> bool:
        """Write ``lines`` and return once they are on disk; False, writing nothing, once the
        journal is closed (checked under the lock the close takes: a write that passed a check
        made before it could otherwise leave unrecorded)."""
        data = b"".join(
            (json.dumps({**line, "run": self.run}, ensure_ascii=False) + "\n").encode()
            for line in lines
        )
        with self._lock:
            if self._closed:
                return False
            handle = self._open_file()
            handle.write(data)
            handle.flush()
            self._written += 1
            line_number = self._written
        self._sync(line_number)
        return True

    def _sync(self, line_number: int) -> None:
        """Return once line ``line_number`` is on disk: an fsync that began after it was
        written has ended (group commit). Workers that append while one fsync runs (5 ms here)
        share the next one instead of queueing one each: 16 workers sending events did one
        POST per fsync, not 16. No caller returns, and so no write leaves, before its own line
        is on disk."""
        with self._syncing:
            if self._synced >= line_number:
                return  # an fsync that began after this line was written covered it
            with self._lock:
                covered = self._written
                fd = os.dup(self._file.fileno()) if self._file is not None else None
            if fd is None:  # closed meanwhile (end of run): sync the file by its name
                try:
                    fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                except FileNotFoundError:
                    return
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._synced = covered

    def _open_file(self) -> Any:
        if self._file is None:
            if self._state.started is None:
                self._state.started = self._clock.now()
            # Rewritten from what was read before the first append: a torn line left by a
            # killed run never ends up in the middle of the file.
            self._rewrite()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
            self._file = os.fdopen(fd, "ab")
        return self._file

    def _rewrite(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = _lines(self.target, self._state)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        _write_all(
            temporary, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        )
        os.replace(temporary, self.path)
        _fsync_dir(self.path.parent)

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def start(self, since: float | None = None) -> None:
        """Make sure the record exists on disk (its start time counts from the first run).

        ``since``: the operator says no write from before that moment can still be on its
        way (--assume-settled): the record speaks for every write from then on."""
        with self._lock:
            if since is not None:
                started = self._state.started
                self._state.started = since if started is None else min(started, since)
                self._close_file()
            self._open_file()


def _events(events: Iterable[Event]) -> list[list[Any]]:
    return [[event.name, event.timestamp] for event in events]


def _clear(state: _State, user_id: str, events: tuple[Event, ...] | None) -> None:
    records = state.inflight.get(user_id, [])
    if events is None:
        kept: list[InFlight] = []
    else:
        gone = set(events)
        kept = []
        for record in records:
            left = tuple(e for e in record.events if e not in gone)
            if left:
                kept.append(InFlight(record.user_id, left, record.run, record.at))
    if kept:
        state.inflight[user_id] = kept
    else:
        state.inflight.pop(user_id, None)


def _lines(target: str, state: _State) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [
        {"record": _MAGIC, "v": _VERSION, "target": target, "started": state.started}
    ]
    for user_id in sorted(state.proved):
        lines.append({"op": "proved", "user": user_id})
    for user_id, (digest, at) in sorted(state.barriers.items()):
        if user_id not in state.proved:
            lines.append({"op": "barrier", "user": user_id, "digest": digest, "at": at})
    for user_id in sorted(state.inflight):
        for record in state.inflight[user_id]:
            lines.append(
                {
                    "op": "sent",
                    "user": user_id,
                    "events": _events(record.events),
                    "at": record.at,
                    "run": record.run,
                }
            )
    return lines


def _write_all(path: Path, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_state(path: Path, target: str) -> _State:
    """Replay a target's record; an absent file is an empty state with no start."""
    shown = printable(str(path))
    if path.is_symlink() or path.parent.is_symlink() or path.parent.parent.is_symlink():
        raise ConfigError(f"{shown}: the write-ahead record must not be a symlink; remove it")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return _empty()
    except OSError as error:
        raise ConfigError(
            f"{shown}: cannot read the write-ahead record ({error.strerror})"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{shown}: the write-ahead record is over {MAX_BYTES >> 20} MiB")
    return _replay(data, target, shown)


def _replay(data: bytes, target: str, shown: str) -> _State:
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: a torn write (a run killed mid-line), or nothing
    state = _empty()
    for number, raw in enumerate(lines, start=1):
        if number > 1 and not raw.strip():
            continue
        try:
            line = json.loads(raw)
            if number == 1:
                _header(line, target)
                state.started = float(line["started"])
            else:
                _apply_line(state, line)
        except (
            ValueError,
            TypeError,
            KeyError,
            AttributeError,
            IndexError,
            RecursionError,
        ) as error:
            raise ConfigError(
                f"{shown}:{number}: the write-ahead record is damaged ({_why(error)}); if no "
                "apply of this target ran in the last hour, move the file aside"
            ) from None
    return state


def _why(error: Exception) -> str:
    return printable(str(error))[:120] or type(error).__name__


def _header(line: Mapping[str, Any], target: str) -> None:
    if line.get("record") != _MAGIC or line.get("v") != _VERSION:
        raise ValueError("not a write-ahead record of this version")
    if line.get("target") != target:
        raise ValueError(f"it belongs to target {line.get('target')!r}")


def _apply_line(state: _State, line: Mapping[str, Any]) -> None:
    op, user = line["op"], line["user"]
    if not isinstance(user, str):
        raise TypeError("a user id must be a string")
    if op == "sent":
        events = _parse_events(line["events"])
        record = InFlight(user, events, str(line.get("run", "")), float(line["at"]))
        state.inflight.setdefault(user, []).append(record)
    elif op == "clear":
        raw = line.get("events")
        _clear(state, user, None if raw is None else _parse_events(raw))
    elif op == "barrier":
        state.barriers[user] = (str(line["digest"]), float(line["at"]))
    elif op == "proved":
        state.proved.add(user)
    else:
        raise ValueError(f"unknown operation {op!r}")


def _parse_events(raw: Any) -> tuple[Event, ...]:
    events = []
    for name, timestamp in raw:
        if not isinstance(name, str) or not isinstance(timestamp, int):
            raise TypeError("an event is a name and a timestamp in ms")
        events.append(Event(name, timestamp))
    return tuple(events)
