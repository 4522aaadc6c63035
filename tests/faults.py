"""Broken and hostile vendors, for tests: a fault transport (in process) and a hostile server.

    transport = FaultTransport(raising(httpx.ReadError), serving(200, b"{}"))
    # the real provider, the real client, its requests through the runtime's transport
    provider = open_provider(target_at(URL), ENV, transport=by_url({URL: transport}))
    ...
    assert len(transport.requests) == 2

``FaultTransport`` is an ``httpx.MockTransport`` that answers the n-th request with its n-th
handler, and every later one with the last. The handlers: :func:`raising` (a chosen httpx
exception, or any other), :func:`serving` (a chosen status, body and headers),
:func:`dripping` (a body one byte at a time, with a pause between bytes) and
:func:`gzip_bomb` (a small gzip body that inflates to a large one). :func:`nested` makes JSON
nested as deep as asked.

``HostileServer`` is a real HTTP server on 127.0.0.1 (a thread) for what needs a socket: a
status line or headers dripped one byte at a time, which only a bound on each socket read can
end. It stops dripping after ``give_up`` seconds and closes, so a test never hangs on it.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from reconciler.providers.answers import Answer

Handler = Callable[[httpx.Request], httpx.Response]


class FaultTransport(httpx.MockTransport):
    """Answers request n with handler n (the last one for every later request)."""

    def __init__(self, *handlers: Handler) -> None:
        if not handlers:
            raise ValueError("give at least one handler")
        self.handlers = handlers
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()
        super().__init__(self._serve)

    def _serve(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            index = min(len(self.requests), len(self.handlers) - 1)
            self.requests.append(request)
        return self.handlers[index](request)


def raising(error: type[Exception] | Exception, message: str = "injected") -> Handler:
    """Raise ``error`` (an instance, or a class built with ``message`` and the request)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if isinstance(error, Exception):
            raise error
        if issubclass(error, httpx.RequestError):
            raise error(message, request=request)
        if issubclass(error, httpx.HTTPStatusError):
            raise error(message, request=request, response=httpx.Response(500))
        raise error(message)

    return handle


def serving(
    status: int, body: bytes | str = b"", headers: Mapping[str, str] | None = None
) -> Handler:
    """Answer ``status`` with ``body`` as it is (no encoding applied) and ``headers``."""
    content = body.encode() if isinstance(body, str) else body

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))

    return handle


class _Drip(httpx.SyncByteStream):
    def __init__(self, body: bytes, every: float) -> None:
        self.body = body
        self.every = every
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for byte in self.body:
            self.sent += 1
            yield bytes([byte])
            time.sleep(self.every)


def dripping(body: bytes, every: float, status: int = 200) -> Handler:
    """Answer ``status`` at once, then the body one byte every ``every`` seconds."""

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, stream=_Drip(body, every))

    return handle


def gzip_bomb(inflated: int, status: int = 200) -> Handler:
    """A gzip body of ``inflated`` zero bytes (about 1/1000 of it on the wire)."""
    compressed = gzip.compress(b"\0" * inflated, compresslevel=9)
    return serving(status, compressed, {"Content-Encoding": "gzip"})


def nested(depth: int) -> bytes:
    """``[[[...]]]`` nested ``depth`` deep: valid JSON that a recursive parser chokes on."""
    return b"[" * depth + b"]" * depth


def answer_of(
    status: int, *, json: object = None, text: str | None = None, content: bytes | None = None
) -> Answer:
    """An :class:`Answer` as a vendor would send it (JSON written compactly, as httpx does)."""
    import json as json_module

    from reconciler.providers.answers import Answer

    if json is not None:
        body = json_module.dumps(json, separators=(",", ":")).encode()
    elif text is not None:
        body = text.encode()
    else:
        body = content or b""
    return Answer(status, {}, body)


#: What a hostile server answers to a request (its raw bytes): sent at once, then dripped.
Route = Callable[[bytes], tuple[bytes, bytes]]


def answer_bytes(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 answer that closes its connection."""
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class HostileServer:
    """An HTTP server on 127.0.0.1 that sends ``head`` at once, then drips ``drip`` one byte
    every ``every`` seconds, for at most ``give_up`` seconds, then closes the connection.
    ``route`` (the request's bytes -> head and drip) answers each request its own way."""

    def __init__(
        self,
        head: bytes = b"",
        drip: bytes = b"",
        every: float = 0.0,
        give_up: float = 8.0,
        route: Route | None = None,
    ) -> None:
        self.head, self.drip, self.every, self.give_up = head, drip, every, give_up
        self.route = route
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.give_up + 2)
        self._listener.close()

    def _serve(self) -> None:
        workers = []
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                continue
            self.connections += 1
            worker = threading.Thread(target=self._answer, args=(connection,), daemon=True)
            worker.start()
            workers.append(worker)
        for worker in workers:
            worker.join(timeout=self.give_up + 1)

    def _answer(self, connection: socket.socket) -> None:
        ends = time.monotonic() + self.give_up
        with connection:
            try:
                connection.settimeout(1.0)
                request = _whole_request(connection)  # small: one GET or POST
                head, drip = self.route(request) if self.route else (self.head, self.drip)
                connection.sendall(head)
                for byte in drip:
                    if self._stop.is_set() or time.monotonic() > ends:
                        return
                    connection.sendall(bytes([byte]))
                    time.sleep(self.every)
            except OSError:
                return  # the client gave up and closed: what the tests want


def _whole_request(connection: socket.socket) -> bytes:
    """The request's head and its ``Content-Length`` body: a client may send them in two
    writes (httpcore does), which one ``recv`` on a loaded machine does not always join."""
    request = connection.recv(65536)
    while request and b"\r\n\r\n" not in request:
        more = connection.recv(65536)
        if not more:
            break
        request += more
    head, _, body = request.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    while len(body) < length:
        more = connection.recv(65536)
        if not more:
            break
        body += more
    return head + b"\r\n\r\n" + body if head else request
