"""The emulator's dispatcher: one request in, one response out, for either vendor.

It owns what both vendors share: latency, the per-key rate limit, injected failures, and the
log of requests that tests inspect. It knows no socket (server.py does) and no vendor rule
(sprig_api.py and usertour_api.py do).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.faults import FaultInjector, RateLimiter
from reconciler.sandbox.options import EmulatorOptions, Keys
from reconciler.sandbox.sprig_api import SprigApi
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.usertour_api import UsertourApi
from reconciler.sandbox.vendor import Handler, VendorApi
from reconciler.sandbox.wire import Request, Response, json_response, text_response

#: Authorization schemes recorded as they are; anything else is recorded as "other", since a
#: header without a scheme may be a bare key, and keys never appear in logs.
_KNOWN_SCHEMES = ("API-Key", "Bearer", "Basic")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A vendor request as the emulator received and answered it (never the key)."""

    method: str
    #: Path and query exactly as sent, still percent-encoded.
    path: str
    #: The Authorization scheme ("API-Key", "Bearer", "other") or None when absent.
    auth: str | None
    status: int
    #: "sprig", "usertour", or None for a path neither vendor owns.
    vendor: str | None
    body: bytes = b""
    #: Requests being handled when this one arrived, itself included: how hard the client
    #: pushed (tests check that a client lowers it when answered 429).
    in_flight: int = 1
    #: The request's Content-Type header (contract tests check it against the vendor's).
    content_type: str | None = None

    def json(self) -> Any:
        """The body as JSON, or None when it is empty or not JSON."""
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def as_dict(self) -> dict[str, Any]:
        """What ``GET /_sandbox/requests`` lists."""
        body = self.json()
        if body is None and self.body:
            body = self.body.decode("utf-8", errors="replace")
        return {
            "method": self.method,
            "path": self.path,
            "auth": self.auth,
            "status": self.status,
            "vendor": self.vendor,
            "body": body,
            "in_flight": self.in_flight,
        }


def auth_scheme(request: Request) -> str | None:
    header = request.header("authorization")
    if header is None:
        return None
    scheme = header.split(" ", 1)[0]
    return scheme if scheme in _KNOWN_SCHEMES else "other"


class RequestLog:
    """Every vendor request so far, in the order answered; safe to share between threads."""

    def __init__(self) -> None:
        self._entries: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def record(self, request: Request, vendor: str | None, status: int, in_flight: int = 1) -> None:
        entry = RecordedRequest(
            request.method,
            request.target,
            auth_scheme(request),
            status,
            vendor,
            request.body,
            in_flight,
            request.header("content-type"),
        )
        with self._lock:
            self._entries.append(entry)

    def snapshot(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> int:
        """Forget everything; return how many entries there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            return count


class EmulatorApp:
    """Both vendor APIs over one store, behind the shared faults and the request log."""

    def __init__(self, store: UserStore, options: EmulatorOptions, keys: Keys) -> None:
        self.options = options
        self.apis: tuple[VendorApi, ...] = (
            SprigApi(store, keys.sprig.value, options.visibility_delay_ms),
            UsertourApi(
                store,
                keys.usertour.value,
                race_window_ms=options.first_write_race_ms,
                listing_ties=options.listing_ties,
            ),
        )
        self.requests = RequestLog()
        self._faults = FaultInjector(options.fail_rate, options.fail_mode, options.seed)
        self._limiter = RateLimiter(options.rate_limit) if options.rate_limit else None
        self._in_flight = 0
        self._in_flight_lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return self._sandbox(request)
        with self._in_flight_lock:
            self._in_flight += 1
            in_flight = self._in_flight
        try:
            api = next((api for api in self.apis if api.owns(request.path)), None)
            response = self._vendor(api, request) if api else text_response(404, "Not Found")
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1
        self.requests.record(request, api.name if api else None, response.status, in_flight)
        return response

    def flush(self) -> None:
        """Make every accepted write visible now."""
        for api in self.apis:
            api.flush()

    def close(self) -> None:
        for api in self.apis:
            api.close()

    def _vendor(self, api: VendorApi, request: Request) -> Response:
        """Latency, routing, auth, rate limit, then the handler between injected failures."""
        if self.options.latency_ms:
            time.sleep(self.options.latency_ms / 1000)
        handler = api.route(request)
        if handler is None:
            return api.not_found(request)
        refusal = api.preflight(request) or api.authenticate(request)
        if refusal is not None:
            return refusal
        if self._limiter is not None:
            retry_after = self._limiter.acquire(api.name)
            if retry_after is not None:
                return api.too_many_requests(retry_after)
        failure = self._faults.draw()
        if failure is not None and self._faults.fail_mode == "before":
            return api.failure(failure)
        response = _run(api, handler, request)
        # "after": the write is committed; only its answer is lost.
        return response if failure is None else api.failure(failure)

    def _sandbox(self, request: Request) -> Response:
        """The emulator's own endpoints, for tests driving it from another process."""
        route = (request.method, request.path)
        if route == ("GET", "/_sandbox/requests"):
            return json_response(200, [entry.as_dict() for entry in self.requests.snapshot()])
        if route == ("POST", "/_sandbox/requests/clear"):
            return json_response(200, {"cleared": self.requests.clear()})
        if route == ("POST", "/_sandbox/flush"):
            self.flush()
            return json_response(200, {"flushed": True})
        return text_response(404, "Not Found")


def _run(api: VendorApi, handler: Handler, request: Request) -> Response:
    """Run a handler; a bug or a store failure becomes the vendor's 500, reported on stderr."""
    try:
        return handler(request)
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return api.failure(500)
