"""The HTTP emulator of Sprig v2 and Usertour v1 on 127.0.0.1 (``reconciler sandbox serve``).

This module is the plumbing: a threaded HTTP/1.1 server with keep-alive, each response written
in one ``sendall`` on a TCP_NODELAY socket, and the Python API that tests and the CLI use.
What the vendors answer lives in app.py and the ``*_api.py`` modules.

    with start_emulator(tmp_path / "emulator.db", EmulatorOptions(fail_rate=0.2)) as emulator:
        httpx.post(f"{emulator.url}/v2/users", ...)
        assert emulator.requests[0].status == 202
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import signal
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from reconciler.errors import EmulatorError
from reconciler.sandbox.app import EmulatorApp, RecordedRequest
from reconciler.sandbox.options import (
    DEFAULT_SPRIG_KEY,
    DEFAULT_USERTOUR_KEY,
    EmulatorOptions,
    Key,
    Keys,
    resolve_keys,
)
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.wire import Request, Response, text_response
from reconciler.settings import DEFAULT_SANDBOX_PATH

__all__ = [
    "DEFAULT_DB_PATH",
    "DEFAULT_SPRIG_KEY",
    "DEFAULT_USERTOUR_KEY",
    "EmulatorError",
    "EmulatorOptions",
    "RecordedRequest",
    "RunningEmulator",
    "listening_message",
    "serve_forever",
    "start_emulator",
]

#: ``sandbox serve`` shares the sandbox target's file; vendors keep their own namespaces in it.
DEFAULT_DB_PATH = DEFAULT_SANDBOX_PATH
#: Larger bodies get 413; a user upsert is a few kilobytes.
MAX_BODY_BYTES = 1 << 20
#: How long ``stop`` lets requests in progress finish before closing the store.
_DRAIN_SECONDS = 5.0


class _BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Handler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 keep-alive, every response in a single write."""

    protocol_version = "HTTP/1.1"
    # StreamRequestHandler sets TCP_NODELAY: a small response is sent at once, not held back
    # by Nagle's algorithm waiting for the ACK of the previous one.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connection_closed(self.connection)

    def _dispatch(self) -> None:
        started = time.perf_counter()
        with self.server.in_flight():
            try:
                body = self._read_body()
            except _BadBody as exc:
                self.close_connection = True
                response = text_response(exc.status, str(exc))
            else:
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = Request(self.command, self.path, headers, body)
                response = self.server.app.handle(request)
            self._write(response)
        if self.server.verbose:
            elapsed = (time.perf_counter() - started) * 1000
            self.log_message('"%s %s" %d %.1fms', self.command, self.path, response.status, elapsed)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    def _write(self, response: Response) -> None:
        """Status line, headers and body leave in one ``sendall``: a separate body write would
        wait for the client's delayed ACK (~40 ms per request on keep-alive)."""
        self.wfile.write(response.encode(close=self.close_connection))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit():
            raise _BadBody(400, "Bad Request: invalid Content-Length")
        size = int(length)
        if size > MAX_BODY_BYTES:
            raise _BadBody(413, "Payload Too Large")
        body = self.rfile.read(size)
        if len(body) < size:
            raise _BadBody(400, "Bad Request: body shorter than Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadBody(400, "Bad Request: invalid chunk size") from None
            if size == 0:
                while self.rfile.readline(65536) not in (b"\r\n", b"\n", b""):
                    pass  # trailers are ignored
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadBody(413, "Payload Too Large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, unknown method): one write as well."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self._write(text_response(code, message or "Error"))

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.client_address[0]} {format % args}\n")


class _Server(ThreadingHTTPServer):
    """Threads per connection (daemons: a stuck client never blocks exit), a deep backlog for
    benchmarks opening many connections at once, and a list of open connections to close."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], app: EmulatorApp, *, verbose: bool) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._busy = 0
        self._idle = threading.Condition()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN: a DNS query that can take seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # a client hung up: normal for keep-alive connections
        super().handle_error(request, client_address)

    def connection_opened(self, connection: socket.socket) -> None:
        with self._idle:
            self._connections.add(connection)

    def connection_closed(self, connection: socket.socket) -> None:
        with self._idle:
            self._connections.discard(connection)

    def in_flight(self) -> _InFlight:
        return _InFlight(self)

    def drain(self, timeout: float) -> None:
        """Close idle keep-alive connections; wait for requests in progress to finish."""
        deadline = time.monotonic() + timeout
        with self._idle:
            for connection in list(self._connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RD)
            while self._busy and (remaining := deadline - time.monotonic()) > 0:
                self._idle.wait(remaining)


class _InFlight:
    """Counts a request in progress, so stopping waits for it before closing the store."""

    def __init__(self, server: _Server) -> None:
        self._server = server

    def __enter__(self) -> None:
        with self._server._idle:
            self._server._busy += 1

    def __exit__(self, *exc: object) -> None:
        with self._server._idle:
            self._server._busy -= 1
            self._server._idle.notify_all()


class RunningEmulator:
    """An emulator serving in a background thread; stop it, or use it as a context manager."""

    def __init__(
        self, server: _Server, app: EmulatorApp, store: UserStore, keys: Keys, db_path: Path
    ) -> None:
        self._server = server
        self._app = app
        self._store = store
        self.keys = keys
        self.db_path = db_path
        self.options = app.options
        self._stopped = False
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name="sandbox-emulator",
        )
        self._thread.start()

    @property
    def host(self) -> str:
        return self._server.server_name

    @property
    def port(self) -> int:
        return self._server.server_port

    @property
    def url(self) -> str:
        """The base URL of both APIs, e.g. ``http://127.0.0.1:54321`` (a target's base_url)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def app(self) -> EmulatorApp:
        """The dispatcher this server answers with (``transport.EmulatorTransport`` takes it)."""
        return self._app

    @property
    def stopped(self) -> bool:
        """Whether ``stop`` was called: nothing answers at ``url`` any more."""
        return self._stopped

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every vendor request answered so far, oldest first."""
        return self._app.requests.snapshot()

    def clear_requests(self) -> None:
        self._app.requests.clear()

    def flush(self) -> None:
        """Make every accepted Sprig write visible now, whatever the visibility delay."""
        self._app.flush()

    def stop(self) -> None:
        """Stop listening, let requests in progress finish, apply pending writes, close the
        store. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._server.drain(_DRAIN_SECONDS)
        self._app.close()
        self._store.close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def check_host(host: str, *, allow_remote: bool = False) -> None:
    """Refuse a non-loopback address unless allowed: the emulator accepts well-known keys and
    has unauthenticated ``/_sandbox/`` endpoints, so it must not be reachable from elsewhere."""
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise EmulatorError(
            f"sandbox emulator: refusing to listen on {host!r}, which is not a loopback address"
            " (use 127.0.0.1, or allow remote access explicitly)"
        )


def start_emulator(
    db_path: Path | str,
    options: EmulatorOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    environ: Mapping[str, str] | None = None,
) -> RunningEmulator:
    """Serve both APIs over the store at ``db_path``; ``port=0`` picks a free port. Keys not
    in ``options`` come from ``environ`` (None: none, the documented defaults)."""
    options = options or EmulatorOptions()
    check_host(host, allow_remote=allow_remote)
    keys = resolve_keys(options, environ or {})
    store = UserStore(db_path)
    app = EmulatorApp(store, options, keys)
    try:
        server = _Server((host, port), app, verbose=options.verbose)
    except OSError as exc:
        app.close()
        store.close()
        raise EmulatorError(_listen_failure(host, port, exc)) from exc
    return RunningEmulator(server, app, store, keys, Path(db_path))


def _listen_failure(host: str, port: int, exc: OSError) -> str:
    """Why the emulator cannot listen, and what to do: a busy port (another emulator, often the
    one started earlier with ``&``) is the usual case."""
    where = f"sandbox emulator: cannot listen on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"{where}: the port is already in use (another `reconciler sandbox serve`?). "
            f"Stop that one, or pick another port: --port {port + 1} (--port 0 picks a free one)"
        )
    if exc.errno == errno.EACCES:
        return f"{where}: not allowed to use that port; pick one above 1023, e.g. --port 8011"
    return f"{where}: {exc.strerror or exc}"


def serve_forever(
    db_path: Path | str,
    options: EmulatorOptions | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    announce: Callable[[str], None] = print,
    stopping: threading.Event | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run until Ctrl+C, SIGTERM or ``stopping`` is set (the CLI command); ``announce`` gets
    the listening message once the port is bound, so ``--port 0`` users learn the port."""
    emulator = start_emulator(
        db_path, options, host=host, port=port, allow_remote=allow_remote, environ=environ
    )
    stopping = stopping or threading.Event()
    restore = _on_sigterm(stopping)
    try:
        announce(listening_message(emulator))
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        restore()
        emulator.stop()


def _on_sigterm(stopping: threading.Event) -> Callable[[], None]:
    """Stop cleanly on SIGTERM too (process managers, ``kill``); only the main thread may."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = signal.signal(signal.SIGTERM, stop)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def listening_message(emulator: RunningEmulator) -> str:
    """What ``sandbox serve`` prints: the URL, the store, and the header each vendor expects.

    Keys print only when they are the documented defaults; others show where they came from.
    """
    url, keys = emulator.url, emulator.keys
    return "\n".join(
        [
            f"Sandbox emulator listening on {url} (store: {emulator.db_path})",
            f"  Sprig v2      base_url: {url}  Authorization: API-Key {_shown(keys.sprig)}",
            f"  Usertour v1   base_url: {url}  Authorization: Bearer {_shown(keys.usertour)}",
            "Press Ctrl+C to stop.",
        ]
    )


def _shown(key: Key) -> str:
    return key.value if key.is_default else f"<key from {key.source}>"
