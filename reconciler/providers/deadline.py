"""A total deadline per request, enforced at every socket operation.

httpx's timeouts bound each read, not the request: a server that sends one byte every 5 s never
trips a 30 s read timeout, during the headers as during the body. httpcore reads each timeout
once per phase, so the bound has to be applied below it: the network backend here gives every
connect, read and write of a request the time left before its deadline (a thread-local, set by
``ApiClient`` around one attempt: httpx's sync client does a request's I/O in the calling
thread), and past the deadline raises httpcore's own timeout, which httpx maps to
``httpx.TimeoutException`` as usual. ``ApiClient`` then sees that the deadline passed.

Transports that open no socket (the in-process emulator, tests' MockTransport) are bounded
between body chunks instead (``ApiClient`` checks the deadline as it reads).
"""

from __future__ import annotations

import logging
import threading
import time
import typing
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

log = logging.getLogger("reconciler.http")

_local = threading.local()


class Deadline:
    """The moment one attempt must be over by (``time.monotonic``)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    @property
    def passed(self) -> bool:
        return self.left() <= 0

    @contextmanager
    def bounding(self) -> Iterator[Deadline]:
        """Every socket operation of this thread, within the block, ends by the deadline."""
        outer = getattr(_local, "deadline", None)
        _local.deadline = self
        try:
            yield self
        finally:
            _local.deadline = outer


def _bound(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of this thread's deadline; ``expired`` past it."""
    deadline: Deadline | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline.left()
    if left <= 0:
        raise expired(f"no complete answer within {deadline.seconds:g}s")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bound(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bound(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, bounded, local_address, socket_options)
        return _BoundedStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bound(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bound_client(client: httpx.Client) -> bool:
    """Put the deadline under every network transport of ``client`` (its own and the proxy
    mounts httpx made from the environment); False when one could not be reached."""
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    bounded = True
    for transport in transports:
        if isinstance(transport, httpx.HTTPTransport):
            bounded = bound_transport(transport) and bounded
        # else: an in-process transport, bounded between chunks by ApiClient
    return bounded


def bound_transport(transport: httpx.HTTPTransport) -> bool:
    """Put the deadline under ``transport``'s connections; False when it could not be reached.

    httpx offers no public way to give its transport a network backend, so this reaches its
    connection pool (``HTTPTransport._pool``, httpcore's ``_network_backend``); tests with a
    loopback server that drips its answer prove it still works with the installed versions.
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:
        log.debug("cannot bound the reads of %r by a deadline", transport)
        return False
    if not isinstance(backend, _BoundedBackend):
        pool._network_backend = _BoundedBackend(backend)  # type: ignore[union-attr]
    return True
