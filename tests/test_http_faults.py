"""A broken or hostile vendor, through the real providers and client (issue 21): every failure
ends as the project's own error, by meaning, within the limits; nothing from httpx gets out.

The vendor is ``tests.faults.FaultTransport`` (in process) mounted on a loopback URL, or a
``HostileServer`` (a real socket) where only the socket can show it: a status line dripped.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.errors import ConfigError, LostAnswer, NotSent, TargetError
from reconciler.model import Upsert
from reconciler.providers.answers import MAX_ANSWER_BYTES, AnswerLimits, Unreadable, parse_json
from reconciler.providers.rest import HttpProvider
from reconciler.providers.sprig import SprigProvider
from reconciler.providers.usertour import UsertourProvider
from reconciler.retry import RetryPolicy
from reconciler.settings import TargetConfig
from tests.faults import (
    FaultTransport,
    Handler,
    HostileServer,
    dripping,
    gzip_bomb,
    nested,
    raising,
    serving,
)

URL = "http://127.0.0.1:9"
#: Quick retries: what is retried is retried, without waiting for it.
QUICK = RetryPolicy(max_attempts=3, base=0.001, cap=0.001, deadline=30.0)
USER = b'{"attributes": {"plan": "pro"}, "events": []}'


def open_at(
    url: str,
    kind: type[HttpProvider] = SprigProvider,
    limits: AnswerLimits | None = None,
    retry: RetryPolicy = QUICK,
    parallelism: int = 1,
    transport: httpx.BaseTransport | None = None,
) -> HttpProvider:
    target = TargetConfig(
        "prod", kind.kind.name, base_url=url, api_key_env="K", parallelism=parallelism
    )
    return kind(target, url, "secret-key", retry, limits, transport=transport)


@contextmanager
def opened(*handlers: Handler, **options: Any) -> Iterator[tuple[FaultTransport, HttpProvider]]:
    """The real provider (``open_at(URL, **options)``) over a FaultTransport of ``handlers``."""
    transport = FaultTransport(*handlers)
    with open_at(URL, transport=transport, **options) as provider:
        yield transport, provider


# --- 1. a total deadline per request -------------------------------------------------------


def test_a_body_dripped_one_byte_at_a_time_ends_at_the_deadline_without_retry() -> None:
    with (
        opened(dripping(USER * 100, every=0.05), limits=AnswerLimits(deadline=0.3)) as (
            transport,
            provider,
        ),
        pytest.raises(TargetError, match=r"no complete answer within 0\.3s") as caught,
    ):
        provider.read_users(["u1"])
    assert not isinstance(caught.value, LostAnswer)
    assert len(transport.requests) == 1  # the same server would be as slow again


def test_a_status_line_dripped_over_a_real_socket_ends_at_the_deadline() -> None:
    """httpx's read timeout bounds each read: a byte every 0.1 s never trips it. The deadline
    bounds every socket read of the request (deadline.py), headers included."""
    head = b""
    drip = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with (
        HostileServer(head, drip, every=0.1, give_up=8.0) as server,
        open_at(server.url, limits=AnswerLimits(deadline=1.0)) as provider,
        pytest.raises(TargetError, match=r"no complete answer within 1s"),
    ):
        provider.read_users(["u1"])
    assert server.connections == 1


def test_a_write_that_runs_out_of_time_is_a_lost_answer() -> None:
    with (
        opened(dripping(b"Accepted", every=0.2, status=202), limits=AnswerLimits(deadline=0.3)) as (
            _transport,
            provider,
        ),
        pytest.raises(LostAnswer) as caught,
    ):
        provider.upsert(Upsert("u1", {"plan": "pro"}))
    assert caught.value.answered and caught.value.status == 202


# --- 2. a cap on decoded bytes -------------------------------------------------------------


def test_an_answer_over_the_cap_is_unreadable_and_not_read_whole() -> None:
    with (
        opened(serving(200, b"x" * 5000), limits=AnswerLimits(max_bytes=1000)) as (
            transport,
            provider,
        ),
        pytest.raises(TargetError, match=r"unreadable answer \(an answer larger"),
    ):
        provider.read_users(["u1"])
    assert len(transport.requests) == 1


def test_a_gzip_bomb_is_inflated_no_further_than_the_cap() -> None:
    """64 MiB of zeros in 64 KB of gzip: reading it stops one byte past the 8 MiB cap."""
    with opened(gzip_bomb(64 * 1024 * 1024)) as (_transport, provider):
        tracemalloc.start()
        try:
            with pytest.raises(TargetError, match="larger than 8 MiB"):
                provider.read_users(["u1"])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * MAX_ANSWER_BYTES  # httpx alone would hold all 64 MiB


def test_an_error_body_is_quoted_as_an_excerpt_only() -> None:
    with (
        opened(serving(400, '{"error": "' + "no " * 3_000_000 + '"}')) as (_transport, provider),
        pytest.raises(TargetError) as caught,
    ):
        provider.upsert(Upsert("u1", {"plan": "pro"}))
    message = str(caught.value)
    assert message.startswith("target prod: upserting user u1: 400 ")
    assert len(message) < 300 and message.endswith("...")


# --- 3. a cap on nesting -------------------------------------------------------------------


def test_json_nested_100000_deep_is_an_unreadable_answer_not_a_recursion_error() -> None:
    with (
        opened(serving(200, nested(100_000))) as (_transport, provider),
        pytest.raises(TargetError, match="unreadable answer for user u1: JSON nested"),
    ):
        provider.read_users(["u1"])


def test_json_nested_past_the_cap_but_parseable_is_refused_too() -> None:
    with (
        opened(serving(200, b'{"attributes": ' + nested(200) + b"}")) as (_transport, provider),
        pytest.raises(TargetError, match="deeper than 64 levels"),
    ):
        provider.read_users(["u1"])


# --- 4. one boundary: every lower-level error, by meaning ----------------------------------

#: Errors after which nothing was sent: retried, then the target's TargetError (not lost).
NOT_SENT = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]
#: Errors after which the request may have been processed.
SENT = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
    httpx.DecodingError,
    httpx.TooManyRedirects,
    OSError,
    ValueError,
    RuntimeError,
]


@pytest.mark.parametrize("error", NOT_SENT + SENT, ids=lambda e: e.__name__)
def test_no_error_from_below_escapes_a_read(error: type[Exception]) -> None:
    with opened(raising(error)) as (transport, provider), pytest.raises(TargetError) as caught:
        provider.read_users(["u1", "u2"])
    assert not isinstance(caught.value, LostAnswer)
    assert len(transport.requests) >= 1


@pytest.mark.parametrize("error", SENT, ids=lambda e: e.__name__)
def test_a_write_that_may_have_been_processed_is_a_lost_answer(error: type[Exception]) -> None:
    with opened(raising(error)) as (transport, provider), pytest.raises(LostAnswer) as caught:
        provider.upsert(Upsert("u1", {"plan": "pro"}))
    assert len(transport.requests) == 1  # never resent blindly
    assert not caught.value.answered and caught.value.status is None


@pytest.mark.parametrize("error", NOT_SENT, ids=lambda e: e.__name__)
def test_a_write_that_never_left_is_retried_then_fails_plainly(error: type[Exception]) -> None:
    with opened(raising(error), serving(202, "Accepted")) as (transport, provider):
        assert provider.upsert(Upsert("u1", {"plan": "pro"})) is None
    assert len(transport.requests) == 2


def test_a_body_that_claims_gzip_and_is_not_is_a_lost_answer_to_a_write() -> None:
    """httpx.DecodingError escaped the client before (issue 21): for a POST that the server
    answered, an unreadable answer is exactly a lost answer."""
    with (
        opened(serving(202, b"Accepted", {"Content-Encoding": "gzip"})) as (_transport, provider),
        pytest.raises(LostAnswer, match="does not decompress") as caught,
    ):
        provider.upsert(Upsert("u1", {"plan": "pro"}))
    assert caught.value.answered and caught.value.status == 202
    with (
        opened(serving(200, USER, {"Content-Encoding": "gzip"})) as (_, provider),
        pytest.raises(TargetError, match="unreadable answer"),
    ):
        provider.read_users(["u1"])


def test_an_encoding_that_was_not_asked_for_is_unreadable() -> None:
    with (
        opened(serving(200, USER, {"Content-Encoding": "br"})) as (transport, provider),
        pytest.raises(TargetError, match="Content-Encoding 'br'"),
    ):
        provider.read_users(["u1"])
    assert transport.requests[0].headers["Accept-Encoding"] == "gzip, deflate"


def test_gzip_and_deflate_answers_are_read() -> None:
    import gzip
    import zlib

    raw_deflate = zlib.compressobj(wbits=-15)
    bodies = [
        serving(200, gzip.compress(USER), {"Content-Encoding": "gzip"}),
        serving(200, zlib.compress(USER), {"Content-Encoding": "deflate"}),
        serving(
            200, raw_deflate.compress(USER) + raw_deflate.flush(), {"Content-Encoding": "deflate"}
        ),
    ]
    for body in bodies:
        with opened(body) as (_, provider):
            assert provider.read_users(["u1"])["u1"].attributes == {"plan": "pro"}


# --- 5. outcomes with their true names -----------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"", b"<html>Welcome to nginx</html>", b"Accepted but not really", b"{}"]
)
def test_a_sprig_success_whose_body_is_not_sprigs_is_that_users_failure(body: bytes) -> None:
    with (
        opened(serving(200, body)) as (_transport, provider),
        pytest.raises(TargetError, match="not counted as applied") as caught,
    ):
        provider.upsert(Upsert("u1", {"plan": "pro"}))
    assert not isinstance(caught.value, LostAnswer)


def test_sprigs_accepted_is_accepted() -> None:
    with opened(serving(202, "Accepted")) as (_transport, provider):
        assert provider.upsert(Upsert("u1", {"plan": "pro"})) is None


@pytest.mark.parametrize(
    "body", [b"", b"<html>502</html>", b'{"id": "someone-else", "attributes": {}}', b"[]"]
)
def test_a_usertour_success_that_is_not_the_user_sent_is_that_users_failure(body: bytes) -> None:
    with (
        opened(serving(201, body), kind=UsertourProvider) as (_transport, provider),
        pytest.raises(TargetError, match="not counted as applied"),
    ):
        provider.upsert(Upsert("u1", {"plan": "pro"}))


def test_a_lost_answer_carries_the_status_and_the_vendors_words() -> None:
    """What apply needs to say "refused by the server (500 ...)" (the real Usertour answers
    500 E0000 to a NUL character, every time)."""
    refusal = '{"error": {"code": "E0000", "message": "Internal \\u001b[31m error"}}'
    with (
        opened(serving(500, refusal), kind=UsertourProvider) as (_transport, provider),
        pytest.raises(LostAnswer) as caught,
    ):
        provider.upsert(Upsert("u1", {"plan": "a\0b"}))
    lost = caught.value
    assert (lost.answered, lost.status) == (True, 500)
    assert lost.detail == "500 E0000 Internal \\x1b[31m error"  # escaped for printing


def test_an_untrusted_certificate_is_said_at_once_and_never_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = httpx.ConnectError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    with (
        opened(raising(refused), parallelism=4) as (transport, provider),
        pytest.raises(TargetError, match="certificate is not trusted") as caught,
    ):
        provider.read_users([f"u{n}" for n in range(20)])
    assert "not retried" in str(caught.value)
    assert len(transport.requests) <= 4  # at most those already in flight
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_an_unreachable_target_is_said_once_and_fails_fast(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Connection refused on every attempt: one warning line for the target, not one per
    request and retry; once the target is given up, the other requests fail at once."""
    policy = RetryPolicy(max_attempts=10, base=0.01, cap=0.02, deadline=0.3)
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    with (
        opened(raising(refused), retry=policy, parallelism=8) as (transport, provider),
        pytest.raises(TargetError, match="connection refused"),
    ):
        provider.read_users([f"u{n}" for n in range(200)])
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "trying again for up to 0.3s" in warnings[0]
    assert len(transport.requests) < 200


# --- stopping: the run was interrupted -----------------------------------------------------


def test_a_stopping_provider_sends_nothing() -> None:
    with opened(serving(202, "Accepted")) as (transport, provider):
        provider.stop_sending()
        with pytest.raises(NotSent):
            provider.upsert(Upsert("u1", {"plan": "pro"}))
        with pytest.raises(NotSent):
            provider.read_users(["u1"])
    assert transport.requests == []


def test_stopping_ends_a_retry_pause_at_once() -> None:
    """A 429 asking for an hour: the pause waits on ``stopping``, so a signal ends it."""
    slow = RetryPolicy(max_attempts=3, base=3600, cap=3600, deadline=7200)
    with opened(serving(429, "slow down", {"Retry-After": "3600"}), retry=slow) as (
        transport,
        provider,
    ):
        outcome: list[BaseException] = []

        def read() -> None:
            try:
                provider.read_users(["u1"])
            except BaseException as error:
                outcome.append(error)

        reader = threading.Thread(target=read)
        reader.start()
        while not transport.requests:
            threading.Event().wait(0.01)
        provider.stop_sending()
        reader.join(timeout=30)
        assert not reader.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], NotSent)
    assert len(transport.requests) == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_real_self_signed_certificate_fails_at_once(tmp_path: Path) -> None:
    """A TLS server on 127.0.0.1 whose certificate no CA signed: one connection, one error."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=x"]
    subprocess.run(
        ["openssl", *request, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    connections: list[int] = []
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            connections.append(1)
            with contextlib.suppress(OSError), context.wrap_socket(connection, server_side=True):
                pass

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    url = f"https://127.0.0.1:{listener.getsockname()[1]}"
    try:
        with (
            open_at(url, parallelism=4) as provider,
            pytest.raises(TargetError, match="certificate is not trusted") as caught,
        ):
            provider.read_users([f"u{n}" for n in range(10)])
    finally:
        done.set()
        server.join(timeout=5)
        listener.close()
    assert "not retried" in str(caught.value)
    assert len(connections) <= 4  # those in flight at once; none retried


# --- the limits, as values -----------------------------------------------------------------


def test_the_deadline_can_be_lowered_from_the_environment_never_raised() -> None:
    assert AnswerLimits.from_env({}) == AnswerLimits()
    assert AnswerLimits.from_env({"RECONCILER_HTTP_DEADLINE": "2.5"}).deadline == 2.5
    for wrong in ("0", "61", "soon", "nan"):
        with pytest.raises(ConfigError, match="RECONCILER_HTTP_DEADLINE"):
            AnswerLimits.from_env({"RECONCILER_HTTP_DEADLINE": wrong})


def test_scalars_and_shallow_json_parse_as_json() -> None:
    assert parse_json(b"12") == 12
    assert parse_json(b'{"a": [[1]]}') == {"a": [[1]]}
    assert parse_json(nested(64)) == parse_json(nested(64))
    with pytest.raises(Unreadable, match="deeper than 64"):
        parse_json(nested(65))
    with pytest.raises(Unreadable, match="not JSON"):
        parse_json(b"<html>")


def test_an_unreadable_ca_bundle_is_a_target_error_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """httpx loads the CA bundle when the client is made: from SSL_CERT_FILE when set (httpx
    0.28 on; 0.27 skips a missing file, so the client then simply opens)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    try:
        open_at("https://api.sprig.com").close()
    except TargetError as error:
        assert "cannot load the CA certificates" in str(error)
        assert "missing.pem" not in str(error)
