"""The emulated Sprig answers as the vendor's OpenAPI document says, whatever valid body comes.

Validated with openapi-core against sprig_openapi.json (the vendor's pages 000 and 002). The
requests reconciler's provider sends are checked in tests/e2e/test_sprig_openapi.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core import OpenAPI

from reconciler.sandbox.app import EmulatorApp
from reconciler.sandbox.options import DEFAULT_SPRIG_KEY, EmulatorOptions, resolve_keys
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.wire import Request, Response
from tests.contract.sprig_openapi import (
    deduplicated,
    request_problem,
    response_problem,
    vendor_document,
)

HEADERS = {"authorization": f"API-Key {DEFAULT_SPRIG_KEY}", "content-type": "application/json"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorApp]:
    options = EmulatorOptions()
    path = tmp_path_factory.mktemp("sprig") / "emulator.db"
    emulator = EmulatorApp(UserStore(path), options, resolve_keys(options, environ={}))
    yield emulator
    emulator.close()


def _send(app: EmulatorApp, method: str, target: str, body: bytes = b"") -> Response:
    return app.handle(Request(method, target, HEADERS, body))


def _checked(app: EmulatorApp, method: str, target: str, body: bytes = b"") -> Response:
    """Send, then validate the answer against the document; return it."""
    response = _send(app, method, target, body)
    problem = response_problem((method, target, body), response.status, response.body,
                               response.content_type)  # fmt: skip
    assert problem is None, (response.status, response.body[:300], problem)
    return response


def test_the_vendor_document_loads_once_its_tags_are_unique() -> None:
    """OpenAPI wants tag names unique; the vendor repeats V1 (newer validators refuse it:
    "Duplicate tag name 'V1'"). De-duplicated, it loads and validates."""
    document = vendor_document()
    assert [tag["name"] for tag in document["tags"]].count("V1") == 3
    assert [tag["name"] for tag in deduplicated(document)["tags"]] == ["V1", "users", "events"]
    assert deduplicated(document)["paths"] == document["paths"]
    OpenAPI.from_dict(deduplicated(document))


def test_a_user_without_events_has_no_events_key(app: EmulatorApp) -> None:
    """Userv2's ``events`` has minItems 1: an empty list would break the vendor's schema."""
    _checked(app, "POST", "/v2/users", json.dumps({"userId": "quiet"}).encode())
    app.flush()
    user = json.loads(_checked(app, "GET", "/v2/users/quiet").body)
    assert "events" not in user and user["externalUserId"] == "quiet"
    body = {"userId": "busy", "events": [{"event": "login", "timestamp": 1626448859836}]}
    _checked(app, "POST", "/v2/users", json.dumps(body).encode())
    app.flush()
    busy = json.loads(_checked(app, "GET", "/v2/users/busy").body)
    assert [e["event"] for e in busy["events"]] == ["login"]


def test_an_integral_float_timestamp_is_the_integer_a_javascript_server_reads(
    app: EmulatorApp,
) -> None:
    body = {"userId": "floaty", "events": [{"event": "login", "timestamp": 1626448859836.0}]}
    assert _checked(app, "POST", "/v2/users", json.dumps(body).encode()).status == 202
    app.flush()
    [event] = json.loads(_checked(app, "GET", "/v2/users/floaty").body)["events"]
    assert event["createdAt"] == 1626448859836


def test_a_lone_surrogate_breaks_neither_the_user_nor_the_request_log(app: EmulatorApp) -> None:
    _checked(
        app, "POST", "/v2/users", json.dumps({"userId": "sur", "attributes": {"a": "ok"}}).encode()
    )
    for body in (
        '{"userId": "sur", "attributes": {"a": "\\ud800"}}',
        '{"userId": "sur", "attributes": {"\\udfff": "x"}}',
        '{"userId": "sur", "emailAddress": "a\\ud83d@example.com"}',
        '{"userId": "sur", "events": [{"event": "\\ud800", "timestamp": 1}]}',
    ):
        refused = _checked(app, "POST", "/v2/users", body.encode())
        assert refused.status == 400 and b"lone surrogate" in refused.body
    _checked(app, "POST", "/v2/users", b'{"userId": "\\ud800"}')
    app.flush()
    assert json.loads(_checked(app, "GET", "/v2/users/sur").body)["attributes"] == {"a": "ok"}
    log = _send(app, "GET", "/_sandbox/requests")
    assert log.status == 200
    assert any(entry["body"] == {"userId": "\ud800"} for entry in json.loads(log.body))


_TEXT = st.text(max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
_EVENT = st.fixed_dictionaries(
    {}, optional={"event": _TEXT, "timestamp": st.integers(), "other": _JSON}
)
_BODY = st.fixed_dictionaries(
    {"userId": _TEXT},
    optional={
        "attributes": st.dictionaries(_TEXT, _JSON, max_size=4),
        "emailAddress": _TEXT,
        "events": st.lists(_EVENT, max_size=3),
        "extra": _JSON,
    },
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=_BODY)
def test_schema_valid_bodies_get_documented_answers_never_500(
    app: EmulatorApp, body: dict[str, Any]
) -> None:
    """Any body the vendor's schema accepts is answered 202 or 400, both as documented, and
    the user reads back as documented."""
    if "attributeName" in body.get("attributes", {}):
        body["attributes"]["attributeName"] = "a string, as the schema says"
    sent = json.dumps(body).encode()
    assert request_problem("POST", "/v2/users", sent, "application/json", "API-Key") is None
    response = _checked(app, "POST", "/v2/users", sent)
    assert response.status in (202, 400)
    app.flush()
    if body["userId"] and "/" not in body["userId"]:
        from urllib.parse import quote

        _checked(app, "GET", f"/v2/users/{quote(body['userId'], safe='')}")
