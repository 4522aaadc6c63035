"""Where a base URL's requests go when not to the network: the seam for an in-process emulator.

A test that starts the emulator mounts its socket-free transport on the emulator's URL; every
``ApiClient`` opened for that URL while it is mounted (in any thread: apply's workers too, which
a context variable would not reach) sends through it. Nothing mounts one in a normal run, so
the CLI always uses the network. Only code can mount: no setting or variable reaches this.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

_mounted: dict[str, httpx.BaseTransport] = {}
_lock = threading.Lock()


def _key(base_url: str) -> str:
    return base_url.rstrip("/")


def transport_for(base_url: str) -> httpx.BaseTransport | None:
    """The transport mounted on ``base_url``, or None: use the network."""
    with _lock:
        return _mounted.get(_key(base_url))


@contextmanager
def mounted(base_url: str, transport: httpx.BaseTransport) -> Iterator[None]:
    """Send requests for ``base_url`` through ``transport`` until the block ends."""
    key = _key(base_url)
    with _lock:
        if key in _mounted:
            raise ValueError(f"a transport is already mounted on {key}")
        _mounted[key] = transport
    try:
        yield
    finally:
        with _lock:
            del _mounted[key]
