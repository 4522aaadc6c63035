"""What the Sprig and Usertour providers share: where a key may go, the client and its errors.

Keys go only where they belong (SPEC section 8): a pull request can edit ``base_url`` while CI
plans it with the keys in the environment, so a key is sent only over HTTPS to the provider's
official hosts, to loopback (plain HTTP allowed there, for the emulator), or to hosts an operator
listed in ``RECONCILER_ALLOWED_HOSTS`` for that provider. Everything else is refused before
connecting. And a key is read only from a variable named for its vendor (``SPRIG_API_KEY``) or
listed by the operator in ``RECONCILER_KEY_VARIABLES``: ``api_key_env`` is the pull request's to
write, and must not name another secret of the CI (``GH_TOKEN``, ``AWS_SECRET_ACCESS_KEY``).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from reconciler import __version__
from reconciler.errors import ConfigError, LostAnswer, MissingKey, TargetError
from reconciler.load.config import TargetConfig
from reconciler.load.configcheck import url_problem
from reconciler.providers.retry import Attempts, RetryPolicy, parse_retry_after
from reconciler.providers.throttle import AdaptiveLimit, TokenBucket
from reconciler.providers.transports import transport_for
from reconciler.quoting import PATH_CHARS, excerpt

ALLOWED_HOSTS_ENV = "RECONCILER_ALLOWED_HOSTS"
#: ``provider:NAME,...``: variables the operator allows as a provider's key on top of the
#: vendor-named ones (set in the CI environment, never in reconciler.yaml).
KEY_VARIABLES_ENV = "RECONCILER_KEY_VARIABLES"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)

log = logging.getLogger("reconciler.http")

#: Answers that say "try again": throttled, or the vendor (or a proxy before it) failed.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Failures that happen before the request left: nothing can have been processed.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class _Failure:
    """One failed attempt: why, whether the request may have been processed, what to raise."""

    reason: str
    ambiguous: bool
    retry_after: float | None = None
    response: httpx.Response | None = None
    error: TargetError | None = None

    @property
    def throttled(self) -> bool:
        """A 429: refused before processing, so it uses no attempt (``Attempts.throttled``)."""
        return self.response is not None and self.response.status_code == 429


def _attempt_note(failure: _Failure, attempt: int, max_attempts: int) -> str:
    """The retry line's tail: which attempt comes next, or why a 429 used none."""
    if failure.throttled:
        return f"a 429 uses no attempt; {attempt - 1} of {max_attempts} used"
    return f"attempt {attempt + 1}/{max_attempts}"


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
        return f"no answer within {TIMEOUT.connect:g}s (connect timeout: a firewall, or down)"
    if isinstance(error, httpx.PoolTimeout):
        return "no free connection in the pool in time"
    text = str(error).lower()
    for needles, reason in _CONNECT_REASONS:
        if any(needle in text for needle in needles):
            return reason
    return f"{type(error).__name__} ({error})" if str(error) else type(error).__name__


def read_api_key(
    target: TargetConfig, environ: Mapping[str, str], key_words: Iterable[str] = ()
) -> str:
    """The key from the variable the target names; missing or empty is an error naming both.

    The variable must be named for the vendor (its name holds one of ``key_words``, e.g.
    ``SPRIG``) or be listed for the provider in ``RECONCILER_KEY_VARIABLES``; otherwise it is
    refused before it is read, so a pull request cannot send another secret as the key."""
    variable = target.api_key_env
    if not variable:
        raise ConfigError(f"target {target.name}: api_key_env is not set in reconciler.yaml")
    refused = _key_variable_refusal(target, variable, tuple(key_words), environ)
    if refused:
        raise ConfigError(refused)
    key = environ.get(variable, "").strip()
    if not key:
        # Named as reconciler.yaml writes it: a name that came from ${VAR} stays ${VAR}.
        raise MissingKey(target.name, target.shown("api_key_env"))
    return key


def _key_variable_refusal(
    target: TargetConfig, variable: str, key_words: tuple[str, ...], environ: Mapping[str, str]
) -> str | None:
    if any(word in variable.upper() for word in key_words):
        return None
    if variable in _listed(environ.get(KEY_VARIABLES_ENV, ""), target.provider):
        return None
    shown = excerpt(target.shown("api_key_env"))
    words = " or ".join(key_words) or "the provider's name"
    return (
        f"target {target.name}: api_key_env {shown} is not a {target.provider} key variable: "
        f"a {target.provider} target reads its key only from a variable whose name holds "
        f"{words}, or one the CI environment allows (never reconciler.yaml): "
        f"{KEY_VARIABLES_ENV}={target.provider}:<variable>"
    )


def _listed(setting: str, provider: str | None, bare: bool = False) -> set[str]:
    """The entries of a ``provider:item,...`` setting for ``provider``; ``bare`` items (no
    ``provider:``) count too when asked (RECONCILER_ALLOWED_HOSTS' older form)."""
    found = set()
    for entry in setting.split(","):
        prefix, colon, item = entry.strip().partition(":")
        if colon and prefix.strip().lower() == (provider or "").lower():
            found.add(item.strip())
        elif not colon and bare:
            found.add(prefix)
    found.discard("")
    return found


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal: names that never leave the machine.

    ``localhost.`` (a fully qualified name) and names like ``127.0.0.1.nip.io`` are resolved
    through DNS, which may answer anything, so they are not loopback.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def check_destination(
    target: str,
    base_url: str,
    official_hosts: Iterable[str],
    environ: Mapping[str, str],
    shown: str | None = None,
    provider: str | None = None,
    self_hosted: bool = True,
) -> str:
    """Return the normalised base URL, or refuse (before any connection) to send a key there.

    ``shown`` is the URL as reconciler.yaml writes it (``${VAR}`` unexpanded): messages quote
    that, and name the host only when the URL held no variable.

    ``RECONCILER_ALLOWED_HOSTS`` lists hosts per provider (``usertour:tours.example.com``), so
    that a host allowed for one vendor's key never receives the other's. A bare host (the
    older form) counts only for a provider that can be ``self_hosted`` (Usertour), the one it
    was documented for.
    """
    quoted = excerpt(shown if shown is not None else base_url, PATH_CHARS)
    problem = url_problem(base_url)
    if problem is not None:
        raise ConfigError(f"target {target}: base_url {quoted} {problem}")
    parts = urlsplit(base_url)
    raw_host = parts.hostname or ""
    host = raw_host.rstrip(".")
    named = host if shown is None or shown == base_url else f"the host of {quoted}"
    listed = _listed(environ.get(ALLOWED_HOSTS_ENV, ""), provider, bare=self_hosted)
    allowed = {entry.lower() for entry in listed}
    if is_loopback(raw_host):
        pass
    elif host in set(official_hosts) | allowed:
        if parts.scheme != "https":
            raise ConfigError(
                f"target {target}: refusing to send the API key over plain http to {named}; "
                "use https://"
            )
    else:
        prefix = f"{provider}:" if provider else ""
        shown_host = host if named == host else "<host>"
        hint = f"{ALLOWED_HOSTS_ENV}={prefix}{shown_host}"
        raise ConfigError(
            f"target {target}: refusing to send the API key to {named}: it is not an official "
            f"host of this provider ({', '.join(sorted(official_hosts))}) nor loopback. If this "
            f"host is yours (e.g. a self-hosted Usertour), allow it in the CI environment: "
            f"{hint}"
        )
    return base_url.rstrip("/")


def user_path(prefix: str, user_id: str) -> str:
    """A user id as ONE path segment: ``a/b``, ``../x``, ``?``, ``#``, ``%`` are data, not path.

    ``.`` and ``..`` are unreserved, so ``quote`` leaves them; as a whole segment they are
    dot-segments, which httpx (RFC 3986) removes before sending: ``/v1/users/.`` would reach
    the list route. Encoded (``%2E``), they are one segment holding the id, on both vendors.
    """
    if user_id in (".", ".."):
        return f"{prefix}/{'%2E' * len(user_id)}"
    return f"{prefix}/{quote(user_id, safe='')}"


#: Methods whose re-sending cannot do anything twice: a read, or a delete (a second DELETE of a
#: deleted user answers 404, which the caller takes as "already gone").
IDEMPOTENT = frozenset({"GET", "DELETE"})


def _client(
    base_url: str, auth_header: str, pool: int, transport: httpx.BaseTransport | None
) -> httpx.Client:
    """The target's connection pool: keep-alive, no redirects, the key in one header."""
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": auth_header, "User-Agent": f"reconciler/{__version__}"},
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
        follow_redirects=False,
        # HTTP(S)_PROXY / ALL_PROXY / .netrc are for the network; a loopback target's key
        # (over plain http) must never go through a proxy, in clear.
        trust_env=not is_loopback(urlsplit(base_url).hostname or ""),
        # Plain http (loopback only, see check_destination) never does TLS, and redirects
        # are not followed: loading the CA bundle for it would cost ~130 ms at every start.
        verify=not base_url.startswith("http://"),
        # None: the network, unless a test mounted the in-process emulator (transports.py).
        transport=transport or transport_for(base_url),
    )


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
        describe_error: Callable[[httpx.Response], str],
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.target = target.name
        self.key_variable = target.api_key_env or ""
        self.base_url = base_url
        #: The URL for messages: as reconciler.yaml writes it (``${VAR}`` never expanded).
        written = target.shown("base_url") if target.base_url else base_url
        plain = written.rstrip("/") == base_url and len(base_url) <= PATH_CHARS
        self.shown_url = base_url if plain else excerpt(written, PATH_CHARS)
        self.retry = retry or RetryPolicy()
        self._describe_error = describe_error
        #: Set once connecting failed through every retry: later requests fail at once instead
        #: of each waiting out its own backoff against a target that is not there.
        self._unreachable: TargetError | None = None
        pool = max(1, target.parallelism)
        #: ``rate_limit`` is a ceiling for the whole target; the adaptive cap halves the
        #: requests in flight when the target answers 429 instead of hammering it.
        self._bucket = TokenBucket(target.rate_limit) if target.rate_limit else None
        self._limit = AdaptiveLimit(pool)
        self._client = _client(base_url, auth_header, pool, transport)

    def request(
        self, method: str, path: str, attempts: Attempts | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send one request, retrying what may be retried; auth refusals become TargetErrors.

        ``attempts``: the request's retry budget, when the caller may send it again itself
        (the applier after a lost answer): both loops then draw from one budget.
        Returns the last answer when retries run out on a status (the caller reports it in the
        vendor's words); raises the transport error's TargetError, or ``LostAnswer``.
        """
        if self._unreachable is not None:
            raise self._unreachable
        budget = attempts if attempts is not None else self.retry.start()
        about = f" ({budget.label})" if budget.label else ""
        while True:
            attempt = budget.begin()
            outcome = self._attempt(method, path, kwargs)
            if isinstance(outcome, httpx.Response):
                return self._checked(outcome)
            if outcome.ambiguous and method not in IDEMPOTENT:
                raise LostAnswer(
                    self.target,
                    f"{method} {path}{about}: {outcome.reason} after the request was sent",
                    answered=outcome.response is not None,
                )
            if outcome.throttled:
                budget.throttled()
            delay = budget.delay(outcome.retry_after)
            if delay is None:
                return self._give_up(outcome)
            log.warning(
                "%s: %s %s%s: %s, retrying in %.1fs (%s)",
                *(self.target, method, path, about, outcome.reason, delay),
                _attempt_note(outcome, attempt, self.retry.max_attempts),
            )
            time.sleep(delay)

    def _attempt(
        self, method: str, path: str, kwargs: Mapping[str, Any]
    ) -> httpx.Response | _Failure:
        """One try: the answer when it is final, else what went wrong."""
        try:
            with self._limit.slot():
                if self._bucket is not None:
                    self._bucket.acquire()
                started = time.perf_counter()
                response = self._client.request(method, path, **kwargs)
        except NOT_SENT as error:
            failure = TargetError(
                self.target, f"cannot connect to {self.shown_url}: {why_not_connected(error)}"
            )
            return _Failure(type(error).__name__, ambiguous=False, error=failure)
        except httpx.TimeoutException:
            failure = TargetError(self.target, f"{method} {self.shown_url} {path} timed out")
            return _Failure("timed out", ambiguous=True, error=failure)
        except httpx.TransportError as error:
            name = type(error).__name__
            failure = TargetError(self.target, f"{method} {self.shown_url} {path} failed: {name}")
            return _Failure(f"connection lost ({name})", ambiguous=True, error=failure)
        elapsed = (time.perf_counter() - started) * 1000
        log.info("%s: %s %s %s %.0fms", self.target, method, path, response.status_code, elapsed)
        status = response.status_code
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
            return response
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        # A 429 is a refusal before any processing; a 5xx may come after a commit.
        return _Failure(str(status), status != 429, retry_after, response=response)

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if response.status_code in (401, 403):
            raise TargetError(
                self.target,
                f"rejected the API key from ${self.key_variable} "
                f"({self._describe_error(response)})",
            )
        return response

    def _give_up(self, failure: _Failure) -> httpx.Response:
        """Retries are spent: the last answer, or the transport failure as a TargetError."""
        if failure.response is not None:
            return failure.response
        assert failure.error is not None
        if not failure.ambiguous:
            self._unreachable = failure.error
        raise failure.error

    def failure(self, response: httpx.Response, what: str) -> TargetError:
        """A vendor refusal in the vendor's own words."""
        return TargetError(self.target, f"{what}: {self._describe_error(response)}")

    def close(self) -> None:
        self._client.close()
