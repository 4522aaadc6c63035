"""Fault injection, the HTTP plumbing and the Python API of the emulator."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox.server import (
    EmulatorError,
    EmulatorOptions,
    RunningEmulator,
    check_host,
    listening_message,
    serve_forever,
    start_emulator,
)
from reconciler.sandbox.store import StoredUser, UserStore
from tests.e2e.emulator import (
    SPRIG_KEY,
    USERTOUR_KEY,
    StartEmulator,
    sprig_client,
    usertour_client,
)

pytest_plugins = ("tests.e2e.emulator",)


def stored(running: RunningEmulator, namespace: str, user_id: str) -> StoredUser | None:
    """Read the store directly: with fail_rate=1 every GET would fail too."""
    with UserStore(running.db_path) as store:
        return store.get_user(namespace, user_id)


def test_fail_before_answers_500_then_429_and_writes_nothing(emulator: StartEmulator) -> None:
    running = emulator(fail_rate=1.0)
    with sprig_client(running) as sprig, usertour_client(running) as usertour:
        first = sprig.post("/v2/users", json={"userId": "s"})
        second = sprig.post("/v2/users", json={"userId": "s"})
        third = usertour.post("/v1/users", json={"id": "u"})
        fourth = usertour.post("/v1/users", json={"id": "u"})
    assert (first.status_code, first.json()) == (500, {"error": "Internal Server Error"})
    assert (second.status_code, second.json()) == (429, {"error": "Too Many Requests"})
    assert (third.status_code, third.json()["error"]["code"]) == (500, "E0000")
    assert (fourth.status_code, fourth.json()["error"]["code"]) == (429, "E1013")
    assert stored(running, "sprig", "s") is None
    assert stored(running, "usertour", "u") is None


def test_fail_after_commits_the_write_then_loses_the_answer(emulator: StartEmulator) -> None:
    running = emulator(fail_rate=1.0, fail_mode="after")
    with sprig_client(running) as sprig, usertour_client(running) as usertour:
        lost = sprig.post("/v2/users", json={"userId": "s", "attributes": {"plan": "pro"}})
        also_lost = usertour.post("/v1/users", json={"id": "u", "attributes": {"n": 1}})
    assert (lost.status_code, lost.text) == (502, "Bad Gateway")
    assert also_lost.status_code == 500
    sprig_user = stored(running, "sprig", "s")
    usertour_user = stored(running, "usertour", "u")
    assert sprig_user is not None and sprig_user.attributes == {"plan": "pro"}
    assert usertour_user is not None and usertour_user.attributes["n"] == 1


def test_auth_refusals_are_not_replaced_by_failures(emulator: StartEmulator) -> None:
    running = emulator(fail_rate=1.0)
    with sprig_client(running, key="wrong") as sprig:
        assert sprig.post("/v2/users", json={"userId": "s"}).status_code == 401


def sprig_statuses(running: RunningEmulator, count: int = 40) -> list[int]:
    with sprig_client(running) as sprig:
        return [sprig.post("/v2/users", json={"userId": f"u{i}"}).status_code for i in range(count)]


def test_failures_are_deterministic_for_a_seed(emulator: StartEmulator) -> None:
    first = sprig_statuses(emulator(fail_rate=0.5, seed=7))
    again = sprig_statuses(emulator(fail_rate=0.5, seed=7))
    other = sprig_statuses(emulator(fail_rate=0.5, seed=8))
    assert first == again
    assert first != other
    assert {202, 500, 429} <= set(first)


def test_rate_limit_answers_429_with_retry_after_per_key(emulator: StartEmulator) -> None:
    running = emulator(rate_limit=0.001)  # one request, then a refill in 1000 s
    with sprig_client(running) as sprig, usertour_client(running) as usertour:
        assert sprig.post("/v2/users", json={"userId": "s"}).status_code == 202
        throttled = sprig.post("/v2/users", json={"userId": "s"})
        # Usertour's key has its own bucket.
        assert usertour.post("/v1/users", json={"id": "u"}).status_code == 201
        usertour_throttled = usertour.get("/v1/users/u")
    assert throttled.status_code == 429
    assert throttled.json() == {"error": "Too Many Requests"}
    assert int(throttled.headers["Retry-After"]) >= 1
    assert usertour_throttled.status_code == 429
    assert usertour_throttled.json()["error"]["code"] == "E1013"
    assert int(usertour_throttled.headers["Retry-After"]) >= 1


def test_latency_still_answers(emulator: StartEmulator) -> None:
    with sprig_client(emulator(latency_ms=5)) as sprig:
        assert sprig.post("/v2/users", json={"userId": "s"}).status_code == 202


def test_the_request_log_records_scheme_never_key(emulator: StartEmulator) -> None:
    running = emulator()
    with sprig_client(running) as sprig, httpx.Client(base_url=running.url) as anonymous:
        sprig.post("/v2/users", json={"userId": "s"})
        anonymous.get("/v1/users?limit=5&expand[]=companies", headers={"Authorization": "ak_x"})
        anonymous.get("/v1/users/a%2Fb", headers={"Authorization": f"Bearer {USERTOUR_KEY}"})
        anonymous.get("/nowhere")
        listed = anonymous.get("/_sandbox/requests").json()
        cleared = anonymous.post("/_sandbox/requests/clear").json()
    expected = [
        ("POST", "/v2/users", "API-Key", 202, "sprig"),
        ("GET", "/v1/users?limit=5&expand[]=companies", "other", 401, "usertour"),
        ("GET", "/v1/users/a%2Fb", "Bearer", 404, "usertour"),
        ("GET", "/nowhere", None, 404, None),
    ]
    assert [(e["method"], e["path"], e["auth"], e["status"], e["vendor"]) for e in listed] == (
        expected
    )
    assert listed[0]["body"] == {"userId": "s"}
    assert SPRIG_KEY not in json.dumps(listed) and USERTOUR_KEY not in json.dumps(listed)
    assert cleared == {"cleared": 4}
    assert running.requests == []


def test_the_python_api_lists_requests(emulator: StartEmulator) -> None:
    running = emulator()
    with usertour_client(running) as usertour:
        usertour.post("/v1/users", json={"id": "u"})
    [entry] = running.requests
    assert (entry.method, entry.path, entry.auth, entry.status) == (
        "POST",
        "/v1/users",
        "Bearer",
        201,
    )
    assert entry.json() == {"id": "u"}
    running.clear_requests()
    assert running.requests == []


@pytest.fixture
def server_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[Any]]]:
    """Record ``sendall`` and ``setsockopt`` calls made by server threads (not the test's)."""
    calls: dict[str, list[Any]] = {"sendall": [], "setsockopt": []}
    main = threading.main_thread()
    real_sendall, real_setsockopt = socket.socket.sendall, socket.socket.setsockopt

    def sendall(self: socket.socket, data: Any, *args: Any) -> None:
        if threading.current_thread() is not main:
            calls["sendall"].append(bytes(data))
        real_sendall(self, data, *args)

    def setsockopt(self: socket.socket, *args: Any) -> None:
        if threading.current_thread() is not main:
            calls["setsockopt"].append(args)
        real_setsockopt(self, *args)

    monkeypatch.setattr(socket.socket, "sendall", sendall)
    monkeypatch.setattr(socket.socket, "setsockopt", setsockopt)
    yield calls


def test_every_response_is_one_write_on_a_nodelay_keepalive_socket(
    emulator: StartEmulator, server_writes: dict[str, list[Any]]
) -> None:
    running = emulator()
    connection = http.client.HTTPConnection(running.host, running.port)
    sprig = {"Authorization": f"API-Key {SPRIG_KEY}", "Content-Type": "application/json"}
    usertour = {"Authorization": f"Bearer {USERTOUR_KEY}", "Content-Type": "application/json"}
    exchanges = [
        ("POST", "/v2/users", b'{"userId": "s"}', sprig),
        ("GET", "/v2/users/s", None, sprig),
        ("GET", "/v2/users/none", None, sprig),
        ("POST", "/v1/users", b'{"id": "u"}', usertour),
        ("POST", "/v1/users", b'{"id": ', usertour),
        ("GET", "/v1/users/u", None, {}),
        ("GET", "/_sandbox/requests", None, {}),
    ]
    bodies, sockets = [], set()
    for method, path, body, headers in exchanges:
        connection.request(method, path, body=body, headers=headers)
        bodies.append(connection.getresponse().read())
        sockets.add(id(connection.sock))
    connection.close()
    assert len(sockets) == 1  # one keep-alive connection throughout
    writes = server_writes["sendall"]
    assert len(writes) == len(exchanges)
    for write, body in zip(writes, bodies, strict=True):
        head, _, sent_body = write.partition(b"\r\n\r\n")
        assert sent_body == body
        assert f"Content-Length: {len(body)}".encode() in head
    assert (socket.IPPROTO_TCP, socket.TCP_NODELAY, True) in server_writes["setsockopt"]


def test_many_concurrent_keepalive_clients(emulator: StartEmulator) -> None:
    running = emulator()

    def client(worker: int) -> list[int]:
        with sprig_client(running) as sprig:
            return [
                sprig.post("/v2/users", json={"userId": f"w{worker}-{i}"}).status_code
                for i in range(20)
            ]

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = [status for result in pool.map(client, range(32)) for status in result]
    assert statuses == [202] * 640
    with UserStore(running.db_path) as store:
        assert store.count_users("sprig") == 640


def raw_exchange(running: RunningEmulator, request: bytes) -> bytes:
    with socket.create_connection((running.host, running.port), timeout=10) as raw:
        raw.send(request)
        chunks = []
        while chunk := raw.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_bad_framing_is_refused_and_closes_the_connection(emulator: StartEmulator) -> None:
    running = emulator()
    bad_length = raw_exchange(running, b"POST /v2/users HTTP/1.1\r\nContent-Length: x\r\n\r\n")
    too_large = raw_exchange(
        running, b"POST /v1/users HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"
    )
    assert bad_length.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in bad_length
    assert too_large.startswith(b"HTTP/1.1 413 ")


def test_chunked_bodies_are_read(emulator: StartEmulator) -> None:
    running = emulator()
    request = (
        b"POST /v1/users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: Bearer ak_sandbox\r\nContent-Type: application/json\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n5\r\n{"id"\r\n6\r\n: "u"}\r\n0\r\n\r\n'
    )
    assert raw_exchange(running, request).startswith(b"HTTP/1.1 201 ")


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_non_loopback_hosts_are_refused(tmp_path: Path, host: str) -> None:
    with pytest.raises(EmulatorError, match="not a loopback address"):
        start_emulator(tmp_path / "e.db", host=host)
    assert not (tmp_path / "e.db").exists()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    check_host(host)


@pytest.mark.parametrize(
    "options",
    [
        {"fail_rate": 1.5},
        {"fail_rate": -0.1},
        {"fail_mode": "sometimes"},
        {"rate_limit": 0},
        {"latency_ms": -1},
        {"visibility_delay_ms": -5},
        {"first_write_race_ms": -1},
        {"sprig_key": ""},
        {"usertour_key": "has space"},
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(EmulatorError):
        EmulatorOptions(**options)


def test_keys_come_from_options_then_environment_then_defaults(tmp_path: Path) -> None:
    environ = {"RECONCILER_SANDBOX_SPRIG_KEY": "env-sprig", "RECONCILER_SANDBOX_USERTOUR_KEY": "e"}
    options = EmulatorOptions(usertour_key="ak_flag")
    with start_emulator(tmp_path / "e.db", options, environ=environ) as running:
        with sprig_client(running, key="env-sprig") as sprig:
            assert sprig.post("/v2/users", json={"userId": "s"}).status_code == 202
        with sprig_client(running) as default_key:
            assert default_key.post("/v2/users", json={"userId": "s"}).status_code == 401
        with usertour_client(running, key="ak_flag") as usertour:
            assert usertour.post("/v1/users", json={"id": "u"}).status_code == 201
        message = listening_message(running)
    assert running.url in message
    assert "env-sprig" not in message and "ak_flag" not in message
    assert "<key from RECONCILER_SANDBOX_SPRIG_KEY>" in message
    assert "<key from --usertour-key>" in message


def test_default_keys_are_shown_for_the_readme(emulator: StartEmulator) -> None:
    message = listening_message(emulator())
    assert f"API-Key {SPRIG_KEY}" in message and f"Bearer {USERTOUR_KEY}" in message


def test_serve_forever_announces_then_stops(tmp_path: Path) -> None:
    announced: list[str] = []
    ready, stopping = threading.Event(), threading.Event()

    def announce(message: str) -> None:
        announced.append(message)
        ready.set()

    thread = threading.Thread(
        target=serve_forever,
        args=(tmp_path / "e.db",),
        kwargs={"announce": announce, "stopping": stopping},
    )
    thread.start()
    try:
        assert ready.wait(10)
        url = announced[0].split("listening on ", 1)[1].split(" ", 1)[0]
        response = httpx.post(
            f"{url}/v2/users",
            json={"userId": "s"},
            headers={"Authorization": f"API-Key {SPRIG_KEY}"},
        )
        assert response.status_code == 202
    finally:
        stopping.set()
        thread.join(10)
    assert not thread.is_alive()
