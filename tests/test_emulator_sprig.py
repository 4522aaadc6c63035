"""The emulated Sprig v2 API, driven over real HTTP on 127.0.0.1 (apis/sprig.md)."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from reconciler.sandbox.store import UserStore
from tests.e2e.emulator import StartEmulator, sprig_client

pytest_plugins = ("tests.e2e.emulator",)

ODD_IDS = ["a/b", "../x", "x?y#z", "100%", "with space", "a+b", "ünïcødé", "日本語", "%2F"]


def user_path(user_id: str) -> str:
    return f"/v2/users/{quote(user_id, safe='')}"


def poll(fetch: Any, until: Any, timeout: float = 10.0) -> httpx.Response:
    """Call ``fetch`` until ``until(response)``; fail after ``timeout`` (never a timing assert)."""
    deadline = time.monotonic() + timeout
    while True:
        response = fetch()
        if until(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.01)


def test_upsert_answers_202_accepted_in_plain_text(emulator: StartEmulator) -> None:
    with sprig_client(emulator()) as sprig:
        response = sprig.post("/v2/users", json={"userId": "12347"})
    assert response.status_code == 202
    assert response.text == "Accepted"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "authorization",
    [None, "API-Key wrong", "Bearer sprig-sandbox-key", "api-key sprig-sandbox-key", "API-Key"],
)
def test_a_missing_or_wrong_key_is_401(emulator: StartEmulator, authorization: str | None) -> None:
    running = emulator()
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=running.url, headers=headers) as client:
        posted = client.post("/v2/users", json={"userId": "u"})
        fetched = client.get("/v2/users/u")
    for response in (posted, fetched):
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized"}


def test_get_shows_the_visitor_with_email_as_bang_email(emulator: StartEmulator) -> None:
    body = {
        "userId": "12347",
        "emailAddress": "ada@example.com",
        "attributes": {"plan": "enterprise", "seats": 12, "customer": True},
    }
    with sprig_client(emulator()) as sprig:
        assert sprig.post("/v2/users", json=body).status_code == 202
        first = sprig.get("/v2/users/12347")
        second = sprig.get("/v2/users/12347")
    assert first.status_code == 200
    visitor = first.json()
    assert visitor["externalUserId"] == "12347"
    assert visitor["attributes"] == {
        "plan": "enterprise",
        "seats": 12,
        "customer": True,
        "!email": "ada@example.com",
    }
    assert "events" not in visitor  # Userv2: minItems 1, not required
    assert isinstance(visitor["createdAt"], int)
    uuid.UUID(visitor["id"])
    assert second.json()["id"] == visitor["id"]  # stable per user


def test_unknown_user_is_404_plain_text(emulator: StartEmulator) -> None:
    with sprig_client(emulator()) as sprig:
        response = sprig.get("/v2/users/nobody")
    assert response.status_code == 404
    assert response.text == "Not Found"


def test_attributes_merge(emulator: StartEmulator) -> None:
    with sprig_client(emulator()) as sprig:
        sprig.post("/v2/users", json={"userId": "u", "attributes": {"a": "1", "b": 2}})
        sprig.post("/v2/users", json={"userId": "u", "attributes": {"b": 3, "c": False}})
        attributes = sprig.get("/v2/users/u").json()["attributes"]
    assert attributes == {"a": "1", "b": 3, "c": False}


def test_events_aggregate_per_name(emulator: StartEmulator) -> None:
    first = [{"event": "login", "timestamp": 2000}, {"event": "signup", "timestamp": 1000}]
    second = [{"event": "login", "timestamp": 1500}, {"event": "login", "timestamp": 3000}]
    with sprig_client(emulator()) as sprig:
        sprig.post("/v2/users", json={"userId": "u", "events": first})
        sprig.post("/v2/users", json={"userId": "u", "events": second})
        events = sprig.get("/v2/users/u").json()["events"]
    assert events == [
        {"event": "login", "count": 3, "createdAt": 1500, "updatedAt": 3000},
        {"event": "signup", "count": 1, "createdAt": 1000, "updatedAt": 1000},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({}, "userId is required"),
        ({"userId": 12347}, "userId must be a non-empty string"),
        ({"userId": ""}, "userId must be a non-empty string"),
        ({"userId": "u", "attributes": ["a"]}, "attributes must be an object"),
        ({"userId": "u", "attributes": {"seats": 1.5}}, "attributes.seats must be"),
        ({"userId": "u", "attributes": {"seats": 12.0}}, "attributes.seats must be"),
        ({"userId": "u", "attributes": {"gone": None}}, "cannot be deleted"),
        ({"userId": "u", "attributes": {"tags": ["a"]}}, "attributes.tags must be"),
        ({"userId": "u", "attributes": {"o": {"a": 1}}}, "attributes.o must be"),
        ({"userId": "u", "emailAddress": "not-an-email"}, "emailAddress must be a valid"),
        ({"userId": "u", "emailAddress": 5}, "emailAddress must be a valid"),
        ({"userId": "u", "events": {"event": "x"}}, "events must be an array"),
        ({"userId": "u", "events": ["login"]}, "events[0] must be an object"),
        ({"userId": "u", "events": [{"timestamp": 1}]}, "events[0].event must be"),
        ({"userId": "u", "events": [{"event": "", "timestamp": 1}]}, "events[0].event must be"),
        ({"userId": "u", "events": [{"event": "x"}]}, "events[0].timestamp must be"),
        ({"userId": "u", "events": [{"event": "x", "timestamp": 1.5}]}, "timestamp must be"),
        ({"userId": "u", "events": [{"event": "x", "timestamp": "1"}]}, "timestamp must be"),
        ({"userId": "u", "events": [{"event": "x", "timestamp": True}]}, "timestamp must be"),
    ],
)
def test_invalid_bodies_are_400_with_an_error_and_store_nothing(
    emulator: StartEmulator, body: Any, message: str
) -> None:
    with sprig_client(emulator()) as sprig:
        response = sprig.post("/v2/users", json=body)
        assert response.status_code == 400
        assert message in response.json()["error"]
        assert sprig.get("/v2/users/u").status_code == 404


def test_malformed_json_is_400(emulator: StartEmulator) -> None:
    headers = {"Content-Type": "application/json"}
    with sprig_client(emulator()) as sprig:
        response = sprig.post("/v2/users", content=b'{"userId": ', headers=headers)
        nan = sprig.post(
            "/v2/users", content=b'{"userId": "u", "attributes": {"x": NaN}}', headers=headers
        )
    assert response.status_code == 400
    assert "Invalid JSON" in response.json()["error"]
    assert nan.status_code == 400


def test_a_body_not_declared_as_json_is_not_parsed(emulator: StartEmulator) -> None:
    with sprig_client(emulator()) as sprig:
        response = sprig.post("/v2/users", content=b'{"userId": "u"}')
    assert response.status_code == 400
    assert response.json() == {"error": "userId is required"}


def test_unknown_keys_are_ignored_even_email(emulator: StartEmulator) -> None:
    """The docs' example writes ``email``; only ``emailAddress`` sets ``!email``."""
    with sprig_client(emulator()) as sprig:
        body = {"userId": "u", "email": "ada@example.com", "extra": 1}
        assert sprig.post("/v2/users", json=body).status_code == 202
        assert sprig.get("/v2/users/u").json()["attributes"] == {}


def test_more_than_100_attributes_after_merge_is_400(emulator: StartEmulator) -> None:
    sixty = {f"a{i}": i for i in range(60)}
    forty = {f"b{i}": i for i in range(40)}
    with sprig_client(emulator()) as sprig:
        sprig.post("/v2/users", json={"userId": "u", "attributes": sixty})
        # 100 exactly, and !email is Sprig's own: not counted.
        full = {"userId": "u", "attributes": forty, "emailAddress": "a@b.io"}
        assert sprig.post("/v2/users", json=full).status_code == 202
        assert (
            sprig.post("/v2/users", json={"userId": "u", "attributes": {"a1": 5}}).status_code
            == 202
        )
        over = sprig.post("/v2/users", json={"userId": "u", "attributes": {"one_more": 1}})
        assert over.status_code == 400
        assert "at most 100 attributes" in over.json()["error"]
        assert len(sprig.get("/v2/users/u").json()["attributes"]) == 101  # 100 + !email


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_percent_encoded_ids_are_data_not_path(emulator: StartEmulator, user_id: str) -> None:
    with sprig_client(emulator()) as sprig:
        assert sprig.post("/v2/users", json={"userId": user_id}).status_code == 202
        response = sprig.get(user_path(user_id))
    assert response.status_code == 200
    assert response.json()["externalUserId"] == user_id


def test_a_real_slash_is_a_separator(emulator: StartEmulator) -> None:
    with sprig_client(emulator()) as sprig:
        sprig.post("/v2/users", json={"userId": "a/b"})
        assert sprig.get("/v2/users/a/b").status_code == 404
        assert sprig.get("/v2/users/a%2Fb").status_code == 200


def test_unknown_routes_are_404(emulator: StartEmulator) -> None:
    with sprig_client(emulator()) as sprig:
        assert sprig.put("/v2/users", json={}).status_code == 404
        assert sprig.get("/v2/users").status_code == 404
        assert sprig.get("/v2/other").text == "Not Found"
        assert sprig.get("/elsewhere").status_code == 404


def test_writes_are_invisible_until_processed(emulator: StartEmulator) -> None:
    """A GET right after the 202 may 404 or show the old state (seeds/001)."""
    running = emulator(visibility_delay_ms=600_000)
    with sprig_client(running) as sprig:
        assert (
            sprig.post("/v2/users", json={"userId": "u", "attributes": {"v": 1}}).status_code == 202
        )
        assert sprig.get("/v2/users/u").status_code == 404
        running.flush()
        assert sprig.get("/v2/users/u").json()["attributes"] == {"v": 1}
        sprig.post("/v2/users", json={"userId": "u", "attributes": {"v": 2}})
        assert sprig.get("/v2/users/u").json()["attributes"] == {"v": 1}  # the old state
        assert sprig.post(f"{running.url}/_sandbox/flush").status_code == 200
        assert sprig.get("/v2/users/u").json()["attributes"] == {"v": 2}


def test_delayed_writes_become_visible_in_order(emulator: StartEmulator) -> None:
    running = emulator(visibility_delay_ms=30)
    with sprig_client(running) as sprig:
        for value in range(1, 6):
            event = {"event": "saved", "timestamp": value}
            body = {"userId": "u", "attributes": {"v": value}, "events": [event]}
            assert sprig.post("/v2/users", json=body).status_code == 202
        shown = poll(
            lambda: sprig.get("/v2/users/u"),
            lambda r: r.status_code == 200 and r.json()["events"][0]["count"] == 5,
        )
    assert shown.json()["attributes"] == {"v": 5}


def test_the_attribute_cap_counts_writes_not_yet_visible(emulator: StartEmulator) -> None:
    running = emulator(visibility_delay_ms=600_000)
    with sprig_client(running) as sprig:
        sprig.post("/v2/users", json={"userId": "u", "attributes": {f"a{i}": i for i in range(70)}})
        over = sprig.post(
            "/v2/users", json={"userId": "u", "attributes": {f"b{i}": i for i in range(31)}}
        )
    assert over.status_code == 400


def test_stopping_applies_accepted_writes(emulator: StartEmulator) -> None:
    running = emulator(visibility_delay_ms=600_000)
    with sprig_client(running) as sprig:
        sprig.post("/v2/users", json={"userId": "u", "attributes": {"kept": True}})
    running.stop()
    with UserStore(running.db_path) as store:
        user = store.get_user("sprig", "u")
    assert user is not None
    assert user.attributes == {"kept": True}
