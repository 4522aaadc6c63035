"""One target's HTTP client: the pool, the retry policy, the limits, and the one boundary.

Every request goes through :meth:`ApiClient.request`, which returns an :class:`Answer` (a plain
value) or raises the project's own errors, by meaning (failures.py): ``TargetError`` (a read
failed, or a write was refused), ``LostAnswer`` (a write left and its outcome is unknown) or
``NotSent`` (the run is stopping: nothing left the machine). Nothing from httpx gets out.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler import __version__
from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import LostAnswer, NotSent, TargetError
from reconciler.escape import printable
from reconciler.providers.answers import ACCEPT_ENCODING, Answer, AnswerLimits, cut, decode_body
from reconciler.providers.deadline import Deadline, bound_client
from reconciler.providers.failures import (
    CONNECT_TIMEOUT,
    Attempted,
    Failure,
    failure_of,
    status_failure,
)
from reconciler.providers.http import is_loopback
from reconciler.providers.sending import Sender
from reconciler.providers.throttle import AdaptiveLimit, TokenBucket
from reconciler.quoting import PATH_CHARS, excerpt
from reconciler.retry import Attempts, RetryPolicy
from reconciler.settings import TargetConfig

TIMEOUT = httpx.Timeout(30.0, connect=CONNECT_TIMEOUT)
#: Answers that say "try again": throttled, or the vendor (or a proxy before it) failed.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Methods whose re-sending cannot do anything twice: a read, or a delete (a second DELETE of a
#: deleted user answers 404, which the caller takes as "already gone").
IDEMPOTENT = frozenset({"GET", "DELETE"})
#: Seconds a target may refuse connections before it is taken as unreachable: every request
#: then fails at once, instead of each waiting out its own backoff (issue 21: 72 lines in 30 s).
CONNECT_GRACE = 10.0

log = logging.getLogger("reconciler.http")


def _client(
    base_url: str, auth_header: str, pool: int, transport: httpx.BaseTransport | None
) -> Sender:
    """The target's connections: keep-alive, no redirects, the key in one header."""
    trust_env = not is_loopback(urlsplit(base_url).hostname or "")
    # Plain http (loopback only, see check_destination) never does TLS, and redirects are not
    # followed: loading the CA bundle for it would cost ~130 ms at every start. One context,
    # shared by every connection (sending.py), is loaded once for https.
    verify = (
        False if base_url.startswith("http://") else httpx.create_ssl_context(trust_env=trust_env)
    )
    client = httpx.Client(
        base_url=base_url,
        headers={
            "Authorization": auth_header,
            "User-Agent": f"reconciler/{__version__}",
            # Only what answers.py decodes within its cap (no br/zstd, even if installed).
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
        follow_redirects=False,
        # HTTP(S)_PROXY / ALL_PROXY / .netrc are for the network; a loopback target's key
        # (over plain http) must never go through a proxy, in clear.
        trust_env=trust_env,
        verify=verify,
        # None: the network; a runtime's in-process emulator otherwise (transports.py).
        transport=transport,
    )
    bound_client(client)
    return Sender(client, verify, TIMEOUT)


def _attempt_note(failure: Failure, attempt: int, max_attempts: int) -> str:
    """The retry line's tail: which attempt comes next, or why a 429 used none."""
    if failure.throttled:
        return f"a 429 uses no attempt; {attempt - 1} of {max_attempts} used"
    return f"attempt {attempt + 1}/{max_attempts}"


class ApiClient:
    """One keep-alive connection pool per target, with request logs that never show the key.

    Every request goes through the one retry policy (SPEC section 6): reads are always safe to
    send again; a write is sent again only when the failure proves it was not processed (429,
    or a connection that never opened). Any other write failure is a ``LostAnswer``.
    """

    def __init__(
        self,
        target: TargetConfig,
        base_url: str,
        auth_header: str,
        describe_error: Callable[[Answer], str],
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        stopping: threading.Event | None = None,
        limits: AnswerLimits | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.target = target.name
        self.key_variable = target.api_key_env or ""
        self.base_url = base_url
        #: The URL for messages: as reconciler.yaml writes it (``${VAR}`` never expanded).
        written = target.shown("base_url") if target.base_url else base_url
        plain = written.rstrip("/") == base_url and len(base_url) <= PATH_CHARS
        self.shown_url = base_url if plain else excerpt(written, PATH_CHARS)
        self.retry = retry or RetryPolicy()
        self.limits = limits or AnswerLimits()
        #: Set when the run is interrupted: no attempt starts, a retry's pause ends at once.
        self.stopping = stopping or threading.Event()
        self._describe_error = describe_error
        #: Set once the target is unreachable (no connection through the grace, or a certificate
        #: refused): later requests fail at once.
        self._unreachable: TargetError | None = None
        #: When connections started failing (monotonic), None while they open.
        self._outage: float | None = None
        self._outage_lock = threading.Lock()
        pool = max(1, target.parallelism)
        #: ``rate_limit`` is a ceiling for the whole target; the adaptive cap halves the
        #: requests in flight when the target answers 429 instead of hammering it.
        rate = target.rate_limit
        self._bucket = TokenBucket(rate, clock=clock.monotonic, sleep=clock.sleep) if rate else None
        self._limit = AdaptiveLimit(pool)
        try:
            self._client = _client(base_url, auth_header, pool, transport)
        except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
            # The CA bundle is read now, from SSL_CERT_FILE / SSL_CERT_DIR when set (never
            # quoted: a variable's value stays out of messages).
            why = getattr(error, "strerror", None) or type(error).__name__
            raise TargetError(
                self.target,
                f"cannot load the CA certificates to check {self.shown_url} ({why}); check "
                "SSL_CERT_FILE and SSL_CERT_DIR",
            ) from error

    def request(
        self, method: str, path: str, attempts: Attempts | None = None, **kwargs: Any
    ) -> Answer:
        """Send one request, retrying what may be retried; auth refusals become TargetErrors.

        ``attempts``: the request's retry budget, when the caller may send it again itself
        (the applier after a lost answer): both loops then draw from one budget.
        Returns the last answer when retries run out on a status (the caller reports it in the
        vendor's words); raises the failure's TargetError, ``LostAnswer`` or ``NotSent``.
        """
        budget = attempts if attempts is not None else self.retry.start()
        about = f" ({budget.label})" if budget.label else ""
        while True:
            self._may_send(method, path)
            attempt = budget.begin()
            outcome = self._attempt(method, path, kwargs)
            if isinstance(outcome, Answer):
                return self._checked(outcome)
            if outcome.sent and method not in IDEMPOTENT:
                raise self._lost(outcome, f"{method} {path}{about}")
            if outcome.final:
                raise self._unreachable_now(outcome) if not outcome.sent else outcome.error
            if outcome.throttled:
                budget.throttled()
            delay = budget.delay(outcome.retry_after)
            if outcome.unconnected:
                delay = self._still_trying(outcome, delay)
            if delay is None:
                return self._give_up(outcome)
            if not outcome.unconnected:  # an outage is said once per target (_still_trying)
                log.warning(
                    "%s: %s %s%s: %s, retrying in %.1fs (%s)",
                    *(self.target, method, path, about, outcome.reason, delay),
                    _attempt_note(outcome, attempt, self.retry.max_attempts),
                )
            if self.stopping.wait(delay):
                raise self._not_sent(method, path)

    def _may_send(self, method: str, path: str) -> None:
        """Refuse to start an attempt once the run stops or the target is known unreachable."""
        if self.stopping.is_set():
            raise self._not_sent(method, path)
        if self._unreachable is not None:
            raise self._unreachable

    def _not_sent(self, method: str, path: str) -> NotSent:
        return NotSent(self.target, f"{method} {path}: not sent: the run is stopping")

    def _attempt(self, method: str, path: str, kwargs: Mapping[str, Any]) -> Answer | Failure:
        """One try: the answer when it is final, else what went wrong. Nothing from below is
        raised: only NotSent, when the run stops while this attempt waited for its turn."""
        with self._limit.slot():
            if self._bucket is not None:
                self._bucket.acquire()
            if self.stopping.is_set():
                raise self._not_sent(method, path)
            deadline = Deadline(self.limits.deadline)  # from here: waiting for a slot is not
            attempted = Attempted(self.target, method, path, self.shown_url, deadline)
            started = time.perf_counter()
            try:
                with deadline.bounding():
                    answer = self._exchange(method, path, kwargs, attempted)
            except _Answered as answered:
                return failure_of(answered.error, answered.attempted)
            except Exception as error:  # the boundary: failure_of names every kind by meaning
                return failure_of(error, attempted)
        elapsed = (time.perf_counter() - started) * 1000
        log.info("%s: %s %s %s %.0fms", self.target, method, path, answer.status, elapsed)
        return self._judged(answer, attempted)

    def _exchange(
        self, method: str, path: str, kwargs: Mapping[str, Any], attempted: Attempted
    ) -> Answer:
        """Send, then read the body within the limits (streamed: never more than the cap)."""
        with self._client.send(method, path, kwargs) as response:
            try:
                headers = dict(response.headers.items())  # names in lower case
                raw: Iterable[bytes] = response.iter_raw()
                if response.is_stream_consumed:
                    # An in-process transport (the emulator's) answered from memory, decoded.
                    headers.pop("content-encoding", None)
                    raw = [response.content]
                chunks = _until(raw, attempted.deadline)
                body, truncated = decode_body(response.status_code, headers, chunks, self.limits)
            except Exception as error:
                answered = dataclasses.replace(attempted, status=response.status_code)
                raise _Answered(error, answered) from error
        return Answer(response.status_code, headers, body, truncated)

    def _judged(self, answer: Answer, attempted: Attempted) -> Answer | Failure:
        """A final answer, or a 429/5xx to retry (noting 429s in the in-flight cap)."""
        self._connected()
        status = answer.status
        if status == 429:
            lowered = self._limit.throttled()
            if lowered is not None:
                requests = "request" if lowered == 1 else "requests"
                log.warning(
                    "%s: answered 429: at most %d %s in flight now", self.target, lowered, requests
                )
        elif status < 400:
            self._limit.succeeded()
        if status not in RETRY_STATUSES:
            return answer
        return status_failure(answer, attempted, cut(printable(self._describe_error(answer))))

    def _connected(self) -> None:
        with self._outage_lock:
            self._outage = None

    def _still_trying(self, failure: Failure, delay: float | None) -> float | None:
        """A connection did not open: the pause before trying again while the target's outage
        is younger than the grace (never past it), else None. Said once per outage, for the
        whole target, not once per request and retry."""
        now = time.monotonic()
        with self._outage_lock:
            first = self._outage is None
            if self._outage is None:
                self._outage = now
            grace = min(CONNECT_GRACE, self.retry.deadline)
            left = grace - (now - self._outage)
        if delay is None or left <= 0:
            return None
        if first:
            why = str(failure.error).removeprefix(f"target {self.target}: ")
            log.warning("%s: %s; trying again for up to %gs", self.target, why, grace)
        return min(delay, left)

    def _lost(self, failure: Failure, what: str) -> LostAnswer:
        """A write that left and whose outcome is unknown: the applier finds out."""
        return LostAnswer(
            self.target,
            f"{what}: {failure.reason} after the request was sent",
            answered=failure.status is not None,
            status=failure.status,
            detail=failure.detail,
        )

    def _unreachable_now(self, failure: Failure) -> TargetError:
        self._unreachable = failure.error
        return failure.error

    def _checked(self, answer: Answer) -> Answer:
        if answer.status in (401, 403):
            raise TargetError(
                self.target,
                f"rejected the API key from ${self.key_variable} ({self.describe(answer)})",
            )
        return answer

    def _give_up(self, failure: Failure) -> Answer:
        """Retries are spent: the last answer, or the failure's TargetError."""
        if failure.answer is not None:
            return failure.answer
        if failure.unconnected:
            self._unreachable = failure.error
        raise failure.error

    def describe(self, answer: Answer) -> str:
        """A vendor's refusal in its own words, cut to an excerpt."""
        return cut(self._describe_error(answer))

    def failure(self, answer: Answer, what: str) -> TargetError:
        """A vendor refusal in the vendor's own words."""
        return TargetError(self.target, f"{what}: {self.describe(answer)}")

    def close(self) -> None:
        self._client.close()


class _Answered(Exception):
    """The status line came, then reading the body failed: carries what was answered."""

    def __init__(self, error: Exception, attempted: Attempted) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempted = attempted


def _until(chunks: Iterable[bytes], deadline: Deadline) -> Iterator[bytes]:
    """The raw body chunk by chunk, ending with a timeout once the deadline has passed (for
    transports without sockets; over the network, deadline.py bounds each read already)."""
    for chunk in chunks:
        if deadline.passed:
            raise httpx.ReadTimeout(f"no complete answer within {deadline.seconds:g}s")
        yield chunk
