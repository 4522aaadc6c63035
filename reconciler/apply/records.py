"""The run's side of the write-ahead records: which targets keep one, opened for plan or apply.

A target keeps a record when its kind shows writes later and holds events (Sprig): there a
read cannot tell a lost write from one still on its way. Targets that show a write at once
(Usertour, the sandbox) need none: the read after a lost answer is the proof.

Plan reads the records (never writes them); apply opens them under the targets' locks
(lock.py), forgets writes older than the settle time (lost, by the vendor's own bound), and
compacts them when it ends.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from reconciler.apply.evidence import Guard
from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import ConfigError
from reconciler.escape import printable
from reconciler.kinds import KINDS
from reconciler.load.journal import InFlight, Journal, journal_path, read_state
from reconciler.settings import TargetConfig

#: Overrides every kind's settle time, in seconds (the operator's, never the repository's).
SETTLE_ENV = "RECONCILER_SETTLE_SECONDS"

#: Per target, per user: the writes in flight.
Records = Mapping[str, Mapping[str, Sequence[InFlight]]]

log = logging.getLogger("reconciler.apply")


def settle_time(target: TargetConfig, environ: Mapping[str, str]) -> float | None:
    """Seconds within which the target shows an accepted write; None: it keeps no record."""
    kind = KINDS.get(target.provider)
    if kind is None or kind.settles_within is None or not kind.capabilities.events:
        return None
    raw = environ.get(SETTLE_ENV, "").strip()
    if not raw:
        return kind.settles_within
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{SETTLE_ENV} must be a non-negative number of seconds, got {raw!r}")
    return value


def read_records(
    root: Path,
    targets: Iterable[TargetConfig],
    environ: Mapping[str, str],
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, dict[str, tuple[InFlight, ...]]]:
    """What plan holds back: each recording target's writes in flight, less the expired (as
    of ``clock``: the run's)."""
    now = clock.now()
    found: dict[str, dict[str, tuple[InFlight, ...]]] = {}
    for target in targets:
        settle = settle_time(target, environ)
        if settle is None:
            continue
        state = read_state(journal_path(root, target.name), target.name)
        found[target.name] = {
            user: kept
            for user, records in state.inflight.items()
            if (kept := tuple(r for r in records if now - r.at < settle))
        }
    return found


def open_guards(
    root: Path,
    targets: Iterable[TargetConfig],
    environ: Mapping[str, str],
    assume_settled: bool,
    stack: ExitStack,
    clock: Clock = SYSTEM_CLOCK,
) -> tuple[dict[str, Guard], Records]:
    """Open the record of each recording target for this apply (its locks already held):
    the guards apply sends through, and the writes in flight the plan holds back."""
    guards: dict[str, Guard] = {}
    inflight: dict[str, Mapping[str, Sequence[InFlight]]] = {}
    now = clock.now()
    for target in targets:
        settle = settle_time(target, environ)
        if settle is None:
            continue
        journal = Journal(journal_path(root, target.name), target.name, clock=clock)
        stack.callback(journal.compact)
        for lost in journal.expire(now, settle):
            log.warning(
                "%s: user %s: %s and still not shown after %gs: taken as lost, sent again",
                *(target.name, printable(lost.user_id), lost.describe(), settle),
            )
        journal.start(now - settle if assume_settled else None)
        covered = journal.covers(clock.now(), settle)
        guards[target.name] = Guard(journal, covered, settle)
        inflight[target.name] = journal.inflight()
    return guards, inflight
