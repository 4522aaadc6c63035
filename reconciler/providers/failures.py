"""The HTTP boundary: every way one attempt can fail, by what it means for the request.

Like httpx's own ``map_httpcore_exceptions``, one function (:func:`failure_of`) turns whatever
the layers below raise into one value, so no exception from httpx, httpcore, ssl, zlib or the
JSON parser ever leaves a provider. What matters about a failure is what the caller may do:

- the request never left (no connection): nothing was processed, it may be sent again;
- it left and its answer was lost or unreadable: a read is sent again, a write's outcome is
  unknown (``LostAnswer``);
- sending it again would fail the same way (an untrusted certificate, an answer over a limit,
  the total deadline): the request fails at once, without retries.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

import httpx

from reconciler.errors import TargetError
from reconciler.providers.answers import Answer, Unreadable
from reconciler.providers.deadline import Deadline
from reconciler.retry import parse_retry_after

log = logging.getLogger("reconciler.http")

#: Failures that happen before the request left: nothing can have been processed.
NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
#: Seconds httpx waits for a connection to open.
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed attempt: why, whether it may have been processed, whether to try again."""

    #: Why, in a few words (logs and LostAnswer messages): ``timed out``, ``503``.
    reason: str
    #: What the request raises when this failure ends it (a read, or retries spent).
    error: TargetError
    #: The request may have reached the server: a write's outcome is then unknown.
    sent: bool
    #: The same request again would fail the same way: no retry.
    final: bool = False
    #: The connection never opened (counts toward the target's outage, client.py).
    unconnected: bool = False
    #: The server's status, when it answered (the answer may still be unreadable).
    status: int | None = None
    #: A retryable status answer (429, 5xx): returned as is once retries are spent.
    answer: Answer | None = None
    retry_after: float | None = None
    #: The vendor's words about it (a 5xx's message), for LostAnswer.
    detail: str | None = None

    @property
    def throttled(self) -> bool:
        """A 429: refused before processing, so it uses no attempt (``Attempts.throttled``)."""
        return self.status == 429 and self.answer is not None


#: What the operating system or the TLS layer says, lowered -> what it means to the user.
_CONNECT_REASONS = (
    (("refused",), "connection refused (nothing listens there: wrong port, or down)"),
    (
        ("name or service not known", "nodename nor servname", "name resolution", "getaddrinfo"),
        "the host name does not resolve (DNS): check the host in base_url",
    ),
    (("certificate",), "TLS: the server's certificate is not trusted"),
    (("ssl", "tls"), "TLS handshake failed (is it https on an http port?)"),
    (("unreachable",), "the network is unreachable"),
)


def why_not_connected(error: Exception) -> str:
    """Why a connection never opened, in words: refused, timeout, DNS or TLS."""
    if isinstance(error, httpx.ConnectTimeout):
        return f"no answer within {CONNECT_TIMEOUT:g}s (connect timeout: a firewall, or down)"
    if isinstance(error, httpx.PoolTimeout):
        return "no free connection in the pool in time"
    text = str(error).lower()
    for needles, reason in _CONNECT_REASONS:
        if any(needle in text for needle in needles):
            return reason
    return f"{type(error).__name__} ({error})" if str(error) else type(error).__name__


def untrusted_certificate(error: BaseException) -> bool:
    """Whether the TLS layer refused the server's certificate (anywhere in the chain of
    causes): not transient, so never retried."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if "certificate verify failed" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@dataclass(frozen=True, slots=True)
class Attempted:
    """What one attempt was: the request, where it went, its deadline, what was answered."""

    target: str
    method: str
    path: str
    shown_url: str
    deadline: Deadline
    #: The status line received, if it was (the body may still fail).
    status: int | None = None

    def error(self, what: str) -> TargetError:
        """``GET URL PATH timed out``: the request, then what happened to it."""
        return TargetError(self.target, f"{self.method} {self.shown_url} {self.path} {what}")

    def because(self, reason: str) -> TargetError:
        """``GET URL PATH: no complete answer within 60s``."""
        return TargetError(self.target, f"{self.method} {self.shown_url} {self.path}: {reason}")


def failure_of(error: Exception, attempted: Attempted) -> Failure:
    """The one mapping: ``error`` (raised while sending or reading) as a :class:`Failure`."""
    status = attempted.status
    if isinstance(error, NOT_SENT) and status is None:
        connect = TargetError(
            attempted.target, f"cannot connect to {attempted.shown_url}: {why_not_connected(error)}"
        )
        if untrusted_certificate(error):
            connect = TargetError(
                attempted.target,
                f"cannot connect to {attempted.shown_url}: TLS: the server's certificate is "
                "not trusted (not retried: check the host in base_url, or the CA bundle)",
            )
            return Failure("untrusted certificate", connect, sent=False, final=True)
        final = isinstance(error, (httpx.UnsupportedProtocol, httpx.LocalProtocolError))
        return Failure(type(error).__name__, connect, sent=False, final=final, unconnected=True)
    if isinstance(error, Unreadable):
        reason = f"unreadable answer ({error})"
        return Failure(reason, attempted.because(reason), True, True, status=status)
    if isinstance(error, httpx.TimeoutException) or attempted.deadline.passed:
        if attempted.deadline.passed:
            reason = f"no complete answer within {attempted.deadline.seconds:g}s"
            return Failure(reason, attempted.because(reason), True, True, status=status)
        return Failure("timed out", attempted.error("timed out"), sent=True, status=status)
    if isinstance(error, (httpx.TransportError, OSError)):
        name = type(error).__name__
        lost = attempted.error(f"failed: {name}")
        return Failure(f"connection lost ({name})", lost, sent=True, status=status)
    # Any other httpx.HTTPError (a body that claims an encoding and is not, ...): the answer
    # cannot be read, and would not be the next time either. Anything else is a surprise from
    # below (or a bug): still one request's failure, never a run's traceback.
    if isinstance(error, (httpx.HTTPError, httpx.StreamError, ValueError)):
        reason = f"unreadable answer ({type(error).__name__})"
    else:
        log.debug("unexpected error in an HTTP exchange", exc_info=error)
        reason = f"unexpected failure ({type(error).__name__})"
    return Failure(reason, attempted.because(reason), True, True, status=status)


def status_failure(answer: Answer, attempted: Attempted, detail: str) -> Failure:
    """A 429 or 5xx: the server answered "not now" (429, before processing) or failed (5xx,
    perhaps after processing)."""
    retry_after = parse_retry_after(answer.headers.get("retry-after"))
    error = attempted.error(f"answered {detail}")
    return Failure(
        str(answer.status),
        error,
        sent=answer.status != 429,
        status=answer.status,
        answer=answer,
        retry_after=retry_after,
        detail=detail,
    )
