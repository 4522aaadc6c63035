"""Usertour's translation, unit by unit: the request an upsert becomes, the user an answer
becomes (expanded or not), and one round trip through the emulator (in process).
"""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.kinds.usertour import (
    PAGE_SIZE,
    USERTOUR,
    describe_request,
    request_body,
    to_live_user,
)
from reconciler.model import Company, LiveUser, Membership, Upsert
from reconciler.providers import answers, open_provider
from reconciler.providers.answers import parse_json
from reconciler.providers.usertour import UsertourProvider, describe_error, error_code
from reconciler.sandbox.app import EmulatorApp
from reconciler.settings import TargetConfig
from tests.e2e.emulator import NOWHERE, USERTOUR_KEY, nowhere
from tests.faults import answer_of

pytest_plugins = ("tests.e2e.emulator",)

ACME = Company("acme", {"plan": "enterprise"})


def test_an_upsert_becomes_the_post_body_usertour_documents() -> None:
    upsert = Upsert(
        "u1",
        {"plan": "pro", "ratio": 0.5, "tags": ["a", "b"], "old": None},
        email="ana@example.com",
        companies=(ACME,),
        memberships=(Membership(ACME, {"role": "admin"}),),
    )
    assert request_body(upsert) == {
        "id": "u1",
        # The email goes inside attributes (a top-level email is ignored); None deletes `old`.
        "attributes": {
            "plan": "pro",
            "ratio": 0.5,
            "tags": ["a", "b"],
            "old": None,
            "email": "ana@example.com",
        },
        "companies": [{"id": "acme", "attributes": {"plan": "enterprise"}}],
        "memberships": [
            {
                "company": {"id": "acme", "attributes": {"plan": "enterprise"}},
                "attributes": {"role": "admin"},
            }
        ],
    }


def test_only_what_changes_is_sent() -> None:
    """Usertour merges: omitted attributes, companies and memberships are left as they are."""
    assert request_body(Upsert("u1")) == {"id": "u1"}
    assert request_body(Upsert("u1", email="a@example.com")) == {
        "id": "u1",
        "attributes": {"email": "a@example.com"},
    }


def test_describe_request_is_the_post_apply_sends() -> None:
    upsert = Upsert("u1", {"plan": "pro"})
    assert describe_request(upsert) == {
        "method": "POST",
        "path": "/v1/users",
        "body": {"id": "u1", "attributes": {"plan": "pro"}},
    }
    assert USERTOUR.describe_request is describe_request


def test_an_expanded_answer_becomes_the_live_user() -> None:
    body = {
        "id": "u1",
        "object": "user",
        "attributes": {"plan": "pro", "email": "ana@example.com"},
        "companies": [{"id": "acme", "attributes": {"plan": "enterprise"}}],
        "memberships": [
            {"object": "companyMembership", "company": {"id": "acme"}, "attributes": {"r": 1}},
            # Not expanded: only the id; the company is taken from `companies` when listed.
            {"companyId": "globex", "attributes": {"r": 2}},
            {"attributes": {"r": 3}},  # no company at all: not a membership
        ],
    }
    assert to_live_user(body) == LiveUser(
        "u1",
        email="ana@example.com",
        attributes={"plan": "pro", "email": "ana@example.com"},
        companies={"acme": {"plan": "enterprise"}},
        memberships={
            "acme": Membership(Company("acme"), {"r": 1}),
            "globex": Membership(Company("globex"), {"r": 2}),
        },
        shows_companies=True,
    )


def test_an_answer_that_does_not_expand_shows_no_companies() -> None:
    """The upsert's answer has ``companies: null``: it says nothing about them (not "none")."""
    live = to_live_user({"id": 7, "attributes": {}, "companies": None, "memberships": None})
    assert (live.id, live.companies, live.memberships) == ("7", {}, {})
    assert not live.shows_companies


def test_the_email_is_read_from_the_attribute_the_capabilities_name() -> None:
    attribute = USERTOUR.capabilities.email_attribute
    assert attribute == "email"
    assert to_live_user({"id": "u1", "attributes": {attribute: "a@example.com"}}).email == (
        "a@example.com"
    )
    assert to_live_user({"id": "u1", "attributes": {attribute: 12}}).email is None


def test_errors_are_quoted_in_usertours_words() -> None:
    invalid_key = {"error": {"code": "E1000", "message": "Invalid API key provided"}}
    assert describe_error(answer_of(403, json=invalid_key)) == (
        "403 E1000 Invalid API key provided"
    )
    nest = {"statusCode": 400, "message": ["a must be", "b must be"], "error": "Bad Request"}
    assert describe_error(answer_of(400, json=nest)) == "400 a must be; b must be"
    assert describe_error(answer_of(502, text="Bad Gateway")) == "502 Bad Gateway"
    assert error_code(answer_of(404, json={"error": {"code": "E1001"}})) == "E1001"
    assert error_code(answer_of(404, json={"error": "E1001"})) is None


def test_the_kind_holds_usertours_facts() -> None:
    assert UsertourProvider.kind is USERTOUR
    assert not USERTOUR.eventually_consistent  # the answer is the stored user
    assert USERTOUR.capabilities.can_list and USERTOUR.list_page_size == 100
    assert USERTOUR.capabilities.locks_types and USERTOUR.capabilities.remove_attributes


# --- one round trip through the emulator, in this process (emulator_app) -------------------


def test_what_is_sent_is_what_describe_request_shows_and_reads_back(
    emulator_app: EmulatorApp,
) -> None:
    target = TargetConfig("prod", "usertour", base_url=NOWHERE, api_key_env="USERTOUR_API_KEY")
    upsert = Upsert(
        "a/b",
        {"plan": "pro", "seats": 3},
        email="a@example.com",
        memberships=(Membership(ACME, {"role": "admin"}),),
    )
    with open_provider(
        target, {"USERTOUR_API_KEY": USERTOUR_KEY}, transport=nowhere(emulator_app)
    ) as provider:
        assert isinstance(provider, UsertourProvider)
        # Memberships were sent: the answer cannot show them, so the applier reads back.
        assert provider.upsert(upsert) is None
        live = provider.read_users(["a/b"])["a/b"]
        assert provider.upsert(Upsert("a/b", {"plan": "team"})) == LiveUser(
            "a/b",
            email="a@example.com",
            attributes={**live.attributes, "plan": "team"},
            shows_companies=False,  # companies: null in the answer
        )
    (sent, _second) = [r for r in emulator_app.requests.snapshot() if r.method == "POST"]
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
    assert live.memberships["acme"].attributes == {"role": "admin"}
    assert live.companies["acme"]["plan"] == "enterprise"


def test_each_list_page_is_parsed_once(
    emulator_app: EmulatorApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's body was parsed twice, once to look for a broken cursor's error code and
    again for its users (and walked for depth each time): a fifth of reading a listing."""
    target = TargetConfig("prod", "usertour", base_url=NOWHERE, api_key_env="USERTOUR_API_KEY")
    parsed: list[int] = []

    def counting(body: bytes) -> Any:
        parsed.append(len(body))
        return parse_json(body)

    with open_provider(
        target, {"USERTOUR_API_KEY": USERTOUR_KEY}, transport=nowhere(emulator_app)
    ) as provider:
        for n in range(PAGE_SIZE + 5):
            provider.upsert(Upsert(f"u{n:03d}", {"n": n}))
        monkeypatch.setattr(answers, "parse_json", counting)
        pages = list(provider.list_pages())
    assert len(pages) == 2 and len(pages[0].users) == PAGE_SIZE
    assert len(parsed) == len(pages)
