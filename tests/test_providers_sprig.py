"""Sprig's translation, unit by unit: the request an upsert becomes, the user an answer becomes,
and one round trip through the emulator (in process) where sending and reading back is the point.
"""

from __future__ import annotations

from reconciler.kinds.sprig import SPRIG, describe_request, request_body, to_live_user
from reconciler.model import Event, EventStats, LiveUser, Upsert
from reconciler.providers import open_provider
from reconciler.providers.sprig import SprigProvider, describe_error
from reconciler.sandbox.app import EmulatorApp
from reconciler.settings import TargetConfig
from tests.e2e.emulator import NOWHERE, SPRIG_KEY, nowhere
from tests.faults import answer_of

pytest_plugins = ("tests.e2e.emulator",)

T1, T2 = 1_700_000_000_000, 1_700_000_500_000


def test_an_upsert_becomes_the_post_body_sprig_documents() -> None:
    upsert = Upsert(
        "u/1",
        {"plan": "pro", "seats": 12, "trial": False},
        email="ana@example.com",
        events=(Event("signed_up", T1), Event("upgraded", T2)),
    )
    assert request_body(upsert) == {
        "userId": "u/1",
        "attributes": {"plan": "pro", "seats": 12, "trial": False},
        "emailAddress": "ana@example.com",  # the schema's name, not the docs' example `email`
        "events": [
            {"event": "signed_up", "timestamp": T1},
            {"event": "upgraded", "timestamp": T2},
        ],
    }


def test_only_what_changes_is_sent() -> None:
    """Sprig merges attributes: keys left out stay as they are, so nothing unchanged is sent."""
    assert request_body(Upsert("u1")) == {"userId": "u1"}
    assert request_body(Upsert("u1", email="a@example.com")) == {
        "userId": "u1",
        "emailAddress": "a@example.com",
    }


def test_describe_request_is_the_post_apply_sends() -> None:
    upsert = Upsert("u1", {"plan": "pro"})
    assert describe_request(upsert) == {
        "method": "POST",
        "path": "/v2/users",
        "body": {"userId": "u1", "attributes": {"plan": "pro"}},
    }
    assert SPRIG.describe_request is describe_request


def test_an_answer_becomes_the_live_user() -> None:
    body = {
        "id": "5a2c-visitor-uuid",
        "externalUserId": None,  # documented as possibly null: the id asked for is the id
        "attributes": {"plan": "pro", "!email": "ana@example.com"},
        "events": [
            {"event": "signed_up", "count": 1, "createdAt": T1, "updatedAt": T1},
            {"event": "upgraded", "count": 3, "createdAt": T1},  # no updatedAt: latest = first
            {"count": 9},  # no name: not an event anyone declared
            "garbage",
        ],
    }
    assert to_live_user("u1", body) == LiveUser(
        "u1",
        email="ana@example.com",
        attributes={"plan": "pro", "!email": "ana@example.com"},
        events={
            "signed_up": EventStats(count=1, first=T1, latest=T1),
            "upgraded": EventStats(count=3, first=T1, latest=T1),
        },
    )


def test_the_email_is_read_from_the_attribute_the_capabilities_name() -> None:
    attribute = SPRIG.capabilities.email_attribute
    assert attribute == "!email"
    assert to_live_user("u1", {"attributes": {attribute: "a@example.com"}}).email == "a@example.com"
    # Not a string (an attacker's answer, or a bug upstream): no email rather than a wrong type.
    assert to_live_user("u1", {"attributes": {attribute: ["a@example.com"]}}).email is None
    assert to_live_user("u1", {}) == LiveUser("u1")


def test_errors_are_quoted_in_sprigs_words() -> None:
    assert describe_error(answer_of(400, json={"error": "invalid email"})) == ("400 invalid email")
    assert describe_error(answer_of(503, text="upstream down\n")) == "503 upstream down"
    other = answer_of(500, content=b'{"message":"x"}')
    assert describe_error(other) == '500 {"message":"x"}'


def test_the_kind_holds_sprigs_facts() -> None:
    assert SprigProvider.kind is SPRIG
    assert SPRIG.eventually_consistent  # 202 Accepted: verification polls
    assert not SPRIG.capabilities.can_list and SPRIG.list_page_size is None
    assert SPRIG.parallelism is None  # the target's own setting


# --- one round trip through the emulator, in this process (emulator_app) -------------------


def test_what_is_sent_is_what_describe_request_shows_and_reads_back(
    emulator_app: EmulatorApp,
) -> None:
    target = TargetConfig("prod", "sprig", base_url=NOWHERE, api_key_env="SPRIG_API_KEY")
    upsert = Upsert(
        "a/b", {"plan": "pro", "seats": 3}, email="a@example.com", events=(Event("signed_up", T1),)
    )
    with open_provider(
        target, {"SPRIG_API_KEY": SPRIG_KEY}, transport=nowhere(emulator_app)
    ) as provider:
        assert isinstance(provider, SprigProvider)
        assert provider.upsert(upsert) is None  # 202: the answer shows no user
        emulator_app.flush()  # Sprig applies upserts later; the emulator when told to
        live = provider.read_users(["a/b"])["a/b"]
    (sent,) = [r for r in emulator_app.requests.snapshot() if r.method == "POST"]
    expected = describe_request(upsert)
    assert (sent.method, sent.path, sent.json()) == (
        expected["method"],
        expected["path"],
        expected["body"],
    )
    assert (live.email, live.attributes["plan"], live.attributes["seats"]) == (
        "a@example.com",
        "pro",
        3,
    )
    assert live.events["signed_up"] == EventStats(count=1, first=T1, latest=T1)
