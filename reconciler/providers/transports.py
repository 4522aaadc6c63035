"""Where a base URL's requests go when not to the network: the seam for an in-process emulator.

A ``TransportFor`` answers, for a target's base URL, the httpx transport its ``ApiClient``
sends through, or None: the network. It is part of the ``Runtime`` a use case is given (a test
builds one with the emulator's socket-free transport; the CLI's has none, so a normal run
always uses the network), and it reaches the clients of that run only: two runs in one
process, with two runtimes, never see each other's transports. No setting or variable reaches
this; only code that builds a runtime can.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

#: A target's base URL -> the transport its requests go through (None: the network).
TransportFor = Callable[[str], "httpx.BaseTransport | None"]


def _key(base_url: str) -> str:
    return base_url.rstrip("/")


def by_url(transports: Mapping[str, httpx.BaseTransport]) -> TransportFor:
    """Send the requests for each base URL of ``transports`` through its transport (a
    trailing slash does not matter); any other URL goes to the network."""
    table = {_key(url): transport for url, transport in transports.items()}

    def transport_for(base_url: str) -> httpx.BaseTransport | None:
        return table.get(_key(base_url))

    return transport_for
