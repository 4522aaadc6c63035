"""changes.compare: which users --changed-since plans, from plain Config and Declarations values."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from reconciler.load.changed_users import ChangedUsers, compare, content
from reconciler.load.config import Config
from reconciler.load.declarations import Declarations
from reconciler.model import Company, Event, Membership, Source, UserSpec
from reconciler.settings import TargetConfig

ROOT = Path("/repo")


def config(
    targets: dict[str, TargetConfig] | None = None, sensitive: frozenset[str] = frozenset({"email"})
) -> Config:
    if targets is None:
        targets = {
            "production": TargetConfig("production", "sprig", api_key_env="SPRIG_API_KEY"),
            "onboarding": TargetConfig("onboarding", "usertour", api_key_env="USERTOUR_API_KEY"),
        }
    return Config(
        ROOT / "reconciler.yaml", ROOT, dict(sorted(targets.items())), sensitive=sensitive
    )


def declared(*users: UserSpec) -> Declarations:
    return Declarations(tuple(sorted(users, key=lambda user: user.id)), ())


def user(user_id: str, **fields: object) -> UserSpec:
    spec = UserSpec(user_id, source=Source("users/a.yaml", ("users", 0)))
    return dataclasses.replace(spec, **fields)  # type: ignore[arg-type]


OLD = declared(
    user("1", attributes={"plan": "free"}),
    user("2", attributes={"plan": "pro"}),
    user("3", email="c@example.com", targets=("production",)),
)


def test_nothing_changed_plans_nobody() -> None:
    changes = compare(config(), OLD, config(), OLD)
    assert changes.full_targets == frozenset()
    assert changes.changed == {"onboarding": frozenset(), "production": frozenset()}
    assert changes.removed == ()
    assert changes.left_alone == {"onboarding": (), "production": ()}
    assert changes.users_for("production") == frozenset()


def test_edited_and_added_users_are_planned_on_their_targets() -> None:
    new = declared(
        user("1", attributes={"plan": "team"}),
        user("2", attributes={"plan": "pro"}),
        user("3", email="new@example.com", targets=("production",)),
        user("4", targets=("onboarding",)),
    )
    changes = compare(config(), OLD, config(), new)
    assert changes.changed == {
        "onboarding": frozenset({"1", "4"}),
        "production": frozenset({"1", "3"}),
    }


def test_moving_a_user_to_another_file_is_no_change() -> None:
    moved = declared(
        user("1", attributes={"plan": "free"}, source=Source("users/b.yaml", ("users", 7))),
        *OLD.users[1:],
    )
    assert (
        compare(config(), OLD, config(), moved).changed
        == compare(config(), OLD, config(), OLD).changed
    )


def test_removed_users_are_left_alone_where_they_went() -> None:
    changes = compare(config(), OLD, config(), declared(*OLD.users[:2]))
    assert changes.removed == ("3",)
    assert changes.left_alone == {"onboarding": (), "production": ("3",)}
    assert changes.changed == {"onboarding": frozenset(), "production": frozenset()}


def test_targets_change_plans_the_new_target_and_leaves_the_old_alone() -> None:
    new = declared(*OLD.users[:2], user("3", email="c@example.com", targets=("onboarding",)))
    changes = compare(config(), OLD, config(), new)
    assert changes.changed == {"onboarding": frozenset({"3"}), "production": frozenset()}
    assert changes.left_alone == {"onboarding": (), "production": ("3",)}
    assert changes.removed == ()


def test_widening_targets_plans_only_the_new_target() -> None:
    new = declared(*OLD.users[:2], user("3", email="c@example.com"))  # now every target
    changes = compare(config(), OLD, config(), new)
    assert changes.changed == {"onboarding": frozenset({"3"}), "production": frozenset()}


def test_a_type_change_is_a_change_even_when_python_calls_the_values_equal() -> None:
    for before, after in ((1, True), (1, 1.0), (0, False), ("1", 1)):
        old = declared(user("1", attributes={"seats": before}))
        new = declared(user("1", attributes={"seats": after}))
        assert compare(config(), old, config(), new).changed["production"] == {"1"}, after


def test_attribute_order_is_no_change() -> None:
    old = declared(user("1", attributes={"a": 1, "b": 2}))
    new = declared(user("1", attributes={"b": 2, "a": 1}))
    assert compare(config(), old, config(), new).changed["production"] == frozenset()


def test_every_sent_field_counts() -> None:
    acme = Company("acme", {"name": "Acme"})
    variants = {
        "email": {"email": "x@example.com"},
        "events": {"events": (Event("login", 1626448859836),)},
        "companies": {"companies": ()},
        "memberships": {"memberships": (Membership(acme, {"role": "admin"}),)},
        "company attributes": {"companies": (Company("acme", {"name": "ACME"}),)},
    }
    base = user("1", companies=(acme,))
    for name, fields in variants.items():
        assert content(base) != content(dataclasses.replace(base, **fields)), name  # type: ignore[arg-type]


def test_a_changed_target_is_planned_in_full() -> None:
    old_targets = config().targets
    moved = dataclasses.replace(old_targets["onboarding"], base_url="https://tour.example.com")
    changes = compare(config(), OLD, config({**old_targets, "onboarding": moved}), OLD)
    assert changes.full_targets == {"onboarding"}
    assert changes.reasons == {"onboarding": "base_url changed"}
    assert changes.users_for("onboarding") is None
    assert changes.users_for("production") == frozenset()


def test_speed_settings_are_no_change_of_target() -> None:
    old_targets = config().targets
    faster = dataclasses.replace(old_targets["production"], parallelism=32, rate_limit=50.0)
    changes = compare(config(), OLD, config({**old_targets, "production": faster}), OLD)
    assert changes.full_targets == frozenset()


def test_provider_and_key_changes_and_new_targets_are_full() -> None:
    old_targets = config().targets
    new_targets = {
        "production": dataclasses.replace(old_targets["production"], api_key_env="OTHER_KEY"),
        "onboarding": dataclasses.replace(old_targets["onboarding"], provider="sandbox"),
        "local": TargetConfig("local", "sandbox", path=ROOT / ".reconciler/sandbox.db"),
    }
    changes = compare(config(), OLD, config(new_targets), OLD)
    assert changes.reasons == {
        "production": "api_key_env changed",
        "onboarding": "provider changed",
        "local": "new target",
    }


def test_sensitive_change_plans_every_target_in_full() -> None:
    changes = compare(config(), OLD, config(sensitive=frozenset({"email", "phone"})), OLD)
    assert changes.full_targets == {"production", "onboarding"}


def test_nothing_to_compare_plans_everything() -> None:
    for old_config, old_declarations in ((None, None), (config(), None)):
        changes = compare(old_config, old_declarations, config(), OLD)
        assert changes.full_targets == {"production", "onboarding"}
        assert changes.removed == ()


def test_select_narrows_users_per_target() -> None:
    changes = ChangedUsers(frozenset({"onboarding"}), changed={"production": frozenset({"2"})})
    assert [u.id for u in changes.select("production", OLD.users)] == ["2"]
    assert [u.id for u in changes.select("onboarding", OLD.users)] == ["1", "2", "3"]
    assert changes.select("unknown", OLD.users) == ()
