"""The sandbox provider: a real SQLite file in tmp_path, seen through the Provider interface."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import ConfigError, TargetError
from reconciler.kinds import CAPABILITIES
from reconciler.kinds.sandbox import SANDBOX
from reconciler.model import Company, Event, EventStats, LiveUser, Membership, Upsert
from reconciler.providers.sandbox import NAMESPACE, SandboxProvider
from reconciler.sandbox.store import UserStore
from reconciler.settings import TargetConfig

T1 = 1_626_448_859_836


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[SandboxProvider]:
    provider = SandboxProvider("local", tmp_path / ".reconciler" / "sandbox.db")
    yield provider
    provider.close()


def test_kind_and_capabilities() -> None:
    assert SandboxProvider.kind is SANDBOX
    assert SANDBOX.name == "sandbox"
    assert SANDBOX.capabilities is CAPABILITIES["sandbox"]


def test_constructing_does_not_touch_the_disk(tmp_path: Path) -> None:
    SandboxProvider("local", tmp_path / "db" / "sandbox.db").close()
    assert not (tmp_path / "db").exists()


def test_upsert_returns_the_user_as_stored(provider: SandboxProvider) -> None:
    upsert = Upsert(
        "12347",
        {"plan": "enterprise", "seats": 12, "ratio": 12.0, "on": True, "tags": ["a"]},
        email="user@test.com",
        events=(Event("login", T1), Event("login", T1 + 1)),
        companies=(Company("acme", {"name": "Acme Inc"}),),
        memberships=(Membership(Company("globex"), {"role": "admin"}),),
    )
    live = provider.upsert(upsert)
    assert live == LiveUser(
        id="12347",
        email="user@test.com",
        attributes={"plan": "enterprise", "seats": 12, "ratio": 12.0, "on": True, "tags": ["a"]},
        events={"login": EventStats(2, T1, T1 + 1)},
        companies={"acme": {"name": "Acme Inc"}, "globex": {}},
        memberships={
            "acme": Membership(Company("acme", {"name": "Acme Inc"}), {}),
            "globex": Membership(Company("globex"), {"role": "admin"}),
        },
    )
    assert type(live.attributes["ratio"]) is float
    assert provider.read_users(["12347"]) == {"12347": live}


def test_read_users_returns_only_known_users(provider: SandboxProvider) -> None:
    assert provider.read_users(["a", "b"]) == {}
    provider.upsert(Upsert("b", {"x": 1}))
    assert set(provider.read_users(iter(["a", "b"]))) == {"b"}


def test_null_removes_an_attribute(provider: SandboxProvider) -> None:
    provider.upsert(Upsert("u1", {"legacy_flag": True, "plan": "pro"}))
    live = provider.upsert(Upsert("u1", {"legacy_flag": None}))
    assert live.attributes == {"plan": "pro"}


def test_list_user_ids_is_sorted(provider: SandboxProvider) -> None:
    for user_id in ["z", "a", "m"]:
        provider.upsert(Upsert(user_id))
    assert provider.list_user_ids() == ["a", "m", "z"]


def test_data_survives_reopening_and_uses_the_sandbox_namespace(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    with SandboxProvider("local", path) as first:
        first.upsert(Upsert("u1", {"x": 1}))
    with SandboxProvider("local", path) as second:
        assert second.read_users(["u1"])["u1"].attributes == {"x": 1}
    with UserStore(path) as store:
        assert store.list_user_ids(NAMESPACE) == ["u1"]


def test_store_errors_name_the_target(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    path.write_bytes(b"not a database" * 100)
    with SandboxProvider("local", path) as provider, pytest.raises(TargetError) as caught:
        provider.read_users(["u1"])
    assert caught.value.target == "local"
    assert "sandbox.db" in str(caught.value)


def test_close_is_idempotent_and_reopens_on_use(tmp_path: Path) -> None:
    provider = SandboxProvider("local", tmp_path / "sandbox.db")
    provider.upsert(Upsert("u1"))
    provider.close()
    provider.close()
    assert set(provider.read_users(["u1"])) == {"u1"}
    provider.close()


def test_from_config(tmp_path: Path) -> None:
    target = TargetConfig(name="local", provider="sandbox", path=tmp_path / "s.db")
    with SandboxProvider.from_config(target, {}) as provider:
        assert isinstance(provider, SandboxProvider)
        assert provider.target == "local"
        assert provider.path == tmp_path / "s.db"
    with pytest.raises(ConfigError, match="local"):
        SandboxProvider.from_config(TargetConfig(name="local", provider="sandbox"), {})
