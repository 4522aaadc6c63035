"""The one retry policy: capped exponential backoff with full jitter, honouring Retry-After.

Pure (no I/O, no sleeping) so that it can be unit-tested; ``ApiClient.request`` and the
applier's handling of lost responses both take their waits from here. Full jitter (a uniform
draw between 0 and the capped exponential) spreads the retries of parallel workers that failed
together, which a fixed backoff would send again in lockstep (AWS's "Exponential Backoff And
Jitter"). The knobs can be lowered through the environment so that tests stay quick.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from reconciler.errors import ConfigError

#: Environment variables that override the policy's fields (seconds, or a count).
ENV_FIELDS = {
    "RECONCILER_RETRY_ATTEMPTS": "max_attempts",
    "RECONCILER_RETRY_BASE": "base",
    "RECONCILER_RETRY_CAP": "cap",
    "RECONCILER_RETRY_DEADLINE": "deadline",
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one request."""

    #: Attempts in all, the first included. 10, not 6: at 30% injected failures about one
    #: upsert in four loses its answer (a 429's free retry is often the next failure), and with
    #: 6 attempts about one 200-user apply in 25 had a user whose budget ran out (issue 14);
    #: the 120 s deadline bounds the time either way.
    max_attempts: int = 10
    #: Seconds of the first backoff ceiling; doubled at each attempt.
    base: float = 0.2
    #: Ceiling of one backoff, in seconds.
    cap: float = 10.0
    #: Seconds after the first attempt past which no retry starts.
    deadline: float = 120.0
    #: Uniform draw in [0, 1); replaceable for tests.
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A server's Retry-After wins (it knows when it will take requests again); otherwise a
        full-jitter draw below ``min(cap, base * 2 ** (attempt - 1))``.
        """
        if retry_after is not None:
            return max(0.0, retry_after)
        ceiling = min(self.cap, self.base * 2.0 ** max(0, attempt - 1))
        return float(ceiling * self.random())

    def may_retry(self, attempt: int, elapsed: float, delay: float) -> bool:
        """Whether another attempt fits in both the attempt count and the total deadline."""
        return attempt < self.max_attempts and elapsed + delay <= self.deadline

    def start(self, label: str = "") -> Attempts:
        """A fresh budget for one request (or one user's writes): ``label`` names it in logs."""
        return Attempts(self, label)

    @classmethod
    def from_env(cls, environ: Mapping[str, str], base: RetryPolicy | None = None) -> RetryPolicy:
        """``base`` (the default policy) with the ``RECONCILER_RETRY_*`` variables applied."""
        values: dict[str, float] = {}
        for variable, name in ENV_FIELDS.items():
            raw = environ.get(variable, "").strip()
            if not raw:
                continue
            try:
                value = float(raw)
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < (1 if name == "max_attempts" else 0):
                raise ConfigError(f"{variable} must be a non-negative number, got {raw!r}")
            values[name] = value
        default = base if base is not None else cls()
        return replace(
            default,
            max_attempts=int(values.get("max_attempts", default.max_attempts)),
            base=values.get("base", default.base),
            cap=values.get("cap", default.cap),
            deadline=values.get("deadline", default.deadline),
        )


class Attempts:
    """One request's retry budget, shared by every loop that may send it again.

    The client retries what was surely not processed (429, no connection) and the applier
    resends a write whose answer was lost; both draw from this one budget, so a POST is sent
    at most ``max_attempts`` times in all, plus as many 429s (two loops each with their own
    budget multiplied: 6 x 6). Each barrier of lostwrite.py (one per lost answer) has a
    budget of its own. Used by one thread at a time (one user's writes go one after the other).
    """

    def __init__(self, policy: RetryPolicy, label: str = "") -> None:
        self.policy = policy
        #: What the request is about (``user 'u1'``), for the retry lines; already escaped.
        self.label = label
        #: Attempts counted against ``max_attempts``.
        self.used = 0
        #: Every send, throttled ones included: the backoff grows with these.
        self.sent = 0
        #: 429s that used no attempt; at most ``max_attempts`` of them (then they count).
        self.free = 0
        self._started = time.monotonic()

    def begin(self) -> int:
        """Count one attempt about to be sent; returns its number (1-based)."""
        self.used += 1
        self.sent += 1
        return self.used

    def throttled(self) -> None:
        """The last attempt was answered 429: it uses no attempt of the budget.

        A 429 is the server refusing *before* any processing (both vendors throttle per key),
        so sending again can neither duplicate a write nor record an event twice. Counting it
        would spend the budget on the server's pacing: at 30% injected failures, half of them
        429s, six attempts per user left about 5% of 200 users "outcome unknown" in one run.
        Throttled sends stay bounded: at most ``max_attempts`` of them are free (a server
        answering 429 with ``Retry-After: 0`` forever gets twice the budget, not 120 s of
        requests), the in-flight cap halves on each 429 (throttle.py), and the deadline holds.
        """
        if self.free < self.policy.max_attempts:
            self.free += 1
            self.used -= 1

    def delay(self, retry_after: float | None = None) -> float | None:
        """Seconds to wait before the next attempt, or None when the budget is spent."""
        delay = self.policy.backoff(self.sent, retry_after)
        elapsed = time.monotonic() - self._started
        if not self.policy.may_retry(self.used, elapsed, delay):
            return None
        return delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 10.2.3).

    Unparseable values are ignored (None) rather than trusted: the backoff then applies.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    from email.utils import parsedate_to_datetime  # 5 ms to import; rare: HTTP dates only

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())
