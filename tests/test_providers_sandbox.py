"""The sandbox's translation: its request is the vendor-neutral upsert, its stored users become
live users with the companies they are members of; its kind fixes one request in flight."""

from __future__ import annotations

from pathlib import Path

from reconciler.kinds.sandbox import SANDBOX, describe_request
from reconciler.model import Company, Event, EventStats, LiveUser, Membership, Upsert
from reconciler.providers import open_provider
from reconciler.providers.sandbox import SandboxProvider, to_live_user
from reconciler.sandbox.store_rows import StoredUser
from reconciler.settings import TargetConfig

ACME = Company("acme", {"plan": "enterprise"})


def test_describe_request_is_the_vendor_neutral_upsert() -> None:
    upsert = Upsert(
        "u1",
        {"plan": "pro", "old": None},
        email="a@example.com",
        events=(Event("signed_up", 5),),
        companies=(ACME,),
        memberships=(Membership(ACME, {"role": "admin"}),),
    )
    assert describe_request(upsert) == {
        "method": "UPSERT",
        "path": "sandbox",
        "body": {
            "user_id": "u1",
            "attributes": {"plan": "pro", "old": None},
            "email": "a@example.com",
            "events": [{"event": "signed_up", "timestamp": 5}],
            "companies": [{"id": "acme", "attributes": {"plan": "enterprise"}}],
            "memberships": [
                {
                    "company": {"id": "acme", "attributes": {"plan": "enterprise"}},
                    "attributes": {"role": "admin"},
                }
            ],
        },
    }
    assert SANDBOX.describe_request is describe_request


def test_a_stored_user_becomes_the_live_user_with_its_members_companies() -> None:
    stored = StoredUser(
        "u1",
        created_at=1,
        email="a@example.com",
        attributes={"plan": "pro"},
        events={"signed_up": EventStats(2, 5, 9)},
        memberships={"acme": Membership(ACME, {"role": "admin"})},
    )
    assert to_live_user(stored) == LiveUser(
        "u1",
        email="a@example.com",
        attributes={"plan": "pro"},
        events={"signed_up": EventStats(2, 5, 9)},
        companies={"acme": {"plan": "enterprise"}},
        memberships={"acme": Membership(ACME, {"role": "admin"})},
    )


def test_the_kind_fixes_one_request_in_flight_whatever_the_target_says(tmp_path: Path) -> None:
    target = TargetConfig("local", "sandbox", path=tmp_path / "sandbox.db", parallelism=16)
    with open_provider(target, {}) as provider:
        assert isinstance(provider, SandboxProvider)
        assert (provider.kind, provider.parallelism) == (SANDBOX, 1)
        assert provider.capabilities is SANDBOX.capabilities
        assert provider.retry == SANDBOX.retry
        assert not provider.eventually_consistent and provider.list_page_size is None
    assert not (tmp_path / "sandbox.db").exists()  # opening reads nothing yet
