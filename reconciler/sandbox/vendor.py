"""What the emulator's dispatcher (app.py) asks of each emulated vendor API.

Each vendor owns a path prefix and answers routing, auth and failures in its own dialect:
Sprig with ``{"error": "..."}`` and plain text, Usertour with its ``E....`` error envelope.
The dispatcher applies latency, rate limits and injected failures the same way for both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar

from reconciler.sandbox.wire import Request, Response

#: Answers one routed request.
Handler = Callable[[Request], Response]


class VendorApi(ABC):
    """One vendor's API over the shared store, in its own namespace."""

    #: Short name used in request logs and as the rate limiter's key.
    name: ClassVar[str]
    #: Paths this vendor owns, e.g. ``/v2/`` for Sprig.
    prefix: ClassVar[str]
    #: The Authorization scheme the vendor expects (recorded in logs instead of the key).
    auth_scheme: ClassVar[str]

    def owns(self, path: str) -> bool:
        return path.startswith(self.prefix)

    @abstractmethod
    def route(self, request: Request) -> Handler | None:
        """The handler for this method and path, or None when no route matches."""

    @abstractmethod
    def not_found(self, request: Request) -> Response:
        """The answer for a path or method the vendor does not serve."""

    def preflight(self, request: Request) -> Response | None:
        """A refusal that comes before authentication (e.g. a body parser), else None."""
        return None

    @abstractmethod
    def authenticate(self, request: Request) -> Response | None:
        """The vendor's refusal when the Authorization header is missing or wrong, else None."""

    @abstractmethod
    def too_many_requests(self, retry_after: int | None) -> Response:
        """The vendor's 429 (with ``Retry-After`` when given)."""

    @abstractmethod
    def failure(self, status: int) -> Response:
        """An injected failure (500, 502, 429...) in the vendor's dialect."""

    def flush(self) -> None:
        """Make every accepted write visible now (Sprig's asynchronous processing)."""

    def close(self) -> None:
        """Finish background work; called once when the emulator stops."""
