"""Listing and deleting users through the provider interface (import --all and prune use them)."""

from __future__ import annotations

import pytest

from reconciler.errors import TargetError
from reconciler.providers import open_provider
from reconciler.settings import TargetConfig
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed


def _target(url: str, provider: str) -> TargetConfig:
    variable = "SPRIG_API_KEY" if provider == "sprig" else "USERTOUR_API_KEY"
    return TargetConfig("prod", provider, base_url=url, api_key_env=variable, parallelism=4)


def test_usertour_lists_every_page_with_memberships(emulator: StartEmulator) -> None:
    running = emulator()
    bodies = [{"id": f"u{n:03d}", "attributes": {"n": n}} for n in range(250)]
    bodies[7]["memberships"] = [{"company": {"id": "acme"}, "attributes": {"role": "admin"}}]
    seed(running, "usertour", bodies)
    pages: list[int] = []
    with open_provider(_target(running.url, "usertour"), KEYS) as provider:
        users = provider.list_users(pages.append)
    assert [u.id for u in users] == sorted(b["id"] for b in bodies)
    assert pages == [100, 100, 50]
    assert [r.method for r in running.requests] == ["GET"] * 3
    assert users[7].memberships["acme"].attributes == {"role": "admin"}
    assert users[3].attributes["n"] == 3


def test_usertour_delete_is_safe_to_repeat(emulator: StartEmulator) -> None:
    running = emulator()
    seed(running, "usertour", [{"id": "gone"}, {"id": "kept"}])
    with open_provider(_target(running.url, "usertour"), KEYS) as provider:
        assert provider.delete_user("gone") is True
        assert provider.delete_user("gone") is False
        assert [u.id for u in provider.list_users()] == ["kept"]


def test_sprig_cannot_list_or_delete(emulator: StartEmulator) -> None:
    running = emulator()
    with open_provider(_target(running.url, "sprig"), KEYS) as provider:
        with pytest.raises(TargetError, match="--ids-from"):
            provider.list_users()
        with pytest.raises(TargetError, match="cannot delete"):
            provider.delete_user("x")
    assert running.requests == []
