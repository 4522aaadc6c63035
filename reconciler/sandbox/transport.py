"""The emulator without a socket: an httpx transport that hands each request to the app.

httpx's ``MockTransport`` pattern, over the real ``EmulatorApp``: the same routes, faults,
rate limit and request log as ``sandbox serve``, minus the TCP round trip and the HTTP parser
(server.py, which its own tests cover). Tests put it in a runtime's transport for an
emulator's ``base_url`` (``reconciler.providers.transports.by_url``) so a CLI run inside the
test process talks to the emulator the test started, from every worker thread apply opens.

    app = EmulatorApp(store, EmulatorOptions(), resolve_keys(EmulatorOptions(), {}))
    client = httpx.Client(base_url="http://emulator", transport=EmulatorTransport(app))
"""

from __future__ import annotations

import httpx

from reconciler.sandbox.app import EmulatorApp
from reconciler.sandbox.wire import Request, Response, text_response

#: What the socket server accepts (server.MAX_BODY_BYTES): a larger body gets 413 here too.
MAX_BODY_BYTES = 1 << 20


class EmulatorTransport(httpx.BaseTransport):
    """Answers every request with ``app.handle``; safe to share between threads (the app is)."""

    def __init__(self, app: EmulatorApp) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if len(body) > MAX_BODY_BYTES:
            return to_httpx(text_response(413, "Payload Too Large"), request)
        # The target exactly as it would go on the wire: still percent-encoded, with its query.
        target = request.url.raw_path.decode("ascii")
        headers = {name.lower(): value for name, value in request.headers.items()}
        answer = self.app.handle(Request(request.method, target, headers, body))
        return to_httpx(answer, request)


def to_httpx(response: Response, request: httpx.Request) -> httpx.Response:
    """The emulator's response as httpx's, with the headers the server would write."""
    headers = [("Content-Length", str(len(response.body)))]
    if response.content_type is not None:
        headers.append(("Content-Type", response.content_type))
    headers += list(response.headers)
    return httpx.Response(response.status, headers=headers, content=response.body, request=request)
