"""The emulator without a socket: the transport in-process CLI runs use, and its mounting seam."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from reconciler.errors import TargetError
from reconciler.providers.sprig import SprigProvider
from reconciler.providers.transports import by_url
from reconciler.retry import RetryPolicy
from reconciler.sandbox.app import EmulatorApp
from reconciler.sandbox.options import EmulatorOptions, resolve_keys
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.transport import EmulatorTransport, to_httpx
from reconciler.sandbox.wire import text_response
from reconciler.settings import TargetConfig
from tests.e2e.emulator import SPRIG_KEY, StartEmulator

pytest_plugins = ("tests.e2e.emulator",)

#: Nothing is served there: a request that reached the network would fail to connect.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture
def app(tmp_path: Path) -> EmulatorApp:
    options = EmulatorOptions()
    return EmulatorApp(UserStore(tmp_path / "emulator.db"), options, resolve_keys(options, {}))


def sprig(app: EmulatorApp, key: str = SPRIG_KEY) -> httpx.Client:
    return httpx.Client(
        base_url=NOWHERE,
        headers={"Authorization": f"API-Key {key}"},
        transport=EmulatorTransport(app),
    )


def test_requests_reach_the_app_as_sent_on_the_wire(app: EmulatorApp) -> None:
    with sprig(app) as client:
        posted = client.post("/v2/users", json={"userId": "a/b", "attributes": {"plan": "pro"}})
        app.flush()
        read = client.get("/v2/users/a%2Fb")
    assert (posted.status_code, posted.text) == (202, "Accepted")
    assert read.status_code == 200
    assert read.json()["attributes"]["plan"] == "pro"
    recorded = app.requests.snapshot()
    # Still percent-encoded: the id is one segment, as the socket server would see it.
    assert [(r.method, r.path, r.auth) for r in recorded] == [
        ("POST", "/v2/users", "API-Key"),
        ("GET", "/v2/users/a%2Fb", "API-Key"),
    ]
    assert recorded[0].content_type == "application/json"


def test_the_vendor_refusals_come_through(app: EmulatorApp) -> None:
    with sprig(app, key="wrong") as client:
        refused = client.get("/v2/users/u1")
    assert refused.status_code == 401
    assert refused.headers["content-length"] == str(len(refused.content))


def test_a_body_the_server_would_refuse_is_refused(app: EmulatorApp) -> None:
    with sprig(app) as client:
        answer = client.post("/v2/users", content=b"x" * ((1 << 20) + 1))
    assert answer.status_code == 413
    assert app.requests.snapshot() == []


def test_answer_headers_are_kept() -> None:
    request = httpx.Request("GET", f"{NOWHERE}/v1/users")
    answer = to_httpx(text_response(429, "slow down", (("Retry-After", "2"),)), request)
    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "2"
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text == "slow down"


def test_a_runtime_transport_carries_the_clients_of_its_url_only(
    emulator: StartEmulator,
) -> None:
    served, elsewhere = emulator(), emulator()
    target = TargetConfig("prod", "sprig", served.url, "SPRIG_API_KEY")
    transport_for = by_url({served.url + "/": EmulatorTransport(elsewhere.app)})
    opened = SprigProvider(target, served.url, SPRIG_KEY, transport=transport_for(served.url))
    with opened as provider:
        assert provider.read_users(["u1"]) == {}
    assert [r.path for r in elsewhere.requests] == ["/v2/users/u1"]
    assert served.requests == []
    with SprigProvider(target, served.url, SPRIG_KEY) as provider:
        provider.read_users(["u2"])
    assert [r.path for r in served.requests] == ["/v2/users/u2"]


def test_without_a_transport_the_network_is_used(app: EmulatorApp) -> None:
    target = TargetConfig("prod", "sprig", NOWHERE, "SPRIG_API_KEY")
    assert by_url({NOWHERE: EmulatorTransport(app)})("http://127.0.0.1:8") is None
    once = RetryPolicy(max_attempts=1)
    with SprigProvider(target, NOWHERE, SPRIG_KEY, once) as provider, pytest.raises(TargetError):
        provider.read_users(["u1"])
