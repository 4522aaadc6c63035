"""What importing one target adds to declared users: pure rules, no files."""

from __future__ import annotations

from typing import Any

from reconciler.importing.merge import Existing, Targets, merge_users
from reconciler.kinds import CAPABILITIES
from reconciler.mapping import AttributeRule, TargetMapping
from reconciler.model import Company, UserSpec

TARGETS = ("local", "onboarding", "research")
PROVIDERS = {"local": "sandbox", "onboarding": "usertour", "research": "sprig"}


def _targets(target: str, **mappings: TargetMapping) -> Targets:
    capabilities = {name: CAPABILITIES[PROVIDERS[name]] for name in TARGETS}
    return Targets(target, TARGETS, capabilities, mappings)


def _existing(spec: UserSpec, defaults: dict[str, Any] | None = None) -> dict[str, Existing]:
    return {spec.id: Existing(spec, {"id": spec.id}, defaults or {}, "users/a.yaml", 0, 3)}


def test_a_new_user_and_a_user_declared_alike() -> None:
    spec = UserSpec("u1", attributes={"plan": "pro"}, targets=("onboarding",))
    merge = merge_users(
        [{"id": "u1", "attributes": {"plan": "pro"}}, {"id": "u2"}],
        _existing(spec),
        _targets("onboarding"),
    )
    assert merge.edits == [] and merge.findings == []
    assert merge.new_users == [{"id": "u2"}]


def test_joining_adds_the_target_and_what_no_other_target_receives() -> None:
    spec = UserSpec("u1", attributes={"plan": "pro"}, targets=("research",))
    live = {"id": "u1", "attributes": {"plan": "pro"}, "companies": [{"id": "acme"}]}
    (edit,) = merge_users([live], _existing(spec), _targets("onboarding")).edits
    assert edit.targets == ("onboarding", "research") and not edit.everywhere
    assert edit.fields == {"companies": [{"id": "acme"}]}  # Sprig holds no companies


def test_what_another_target_would_receive_is_left_undeclared() -> None:
    spec = UserSpec("u1", targets=("local",))
    live = {"id": "u1", "attributes": {"step": 2}, "companies": [{"id": "acme"}]}
    merge = merge_users([live], _existing(spec), _targets("onboarding"))
    assert merge.edits[0].fields == {} and merge.edits[0].attributes == {}
    assert [(f.field, f.outcome) for f in merge.findings] == [
        ("attributes.step", "undeclared"),
        ("companies", "undeclared"),  # the sandbox holds companies too
    ]


def test_a_drop_on_the_other_target_lets_the_attribute_in() -> None:
    spec = UserSpec("u1", targets=("research",))
    drop = TargetMapping((AttributeRule("step", drop=True),))
    live = {"id": "u1", "attributes": {"step": 2}}
    (edit,) = merge_users([live], _existing(spec), _targets("onboarding", research=drop)).edits
    assert edit.attributes == {"step": 2}


def test_every_target_removes_targets_unless_the_defaults_narrow() -> None:
    spec = UserSpec("u1", targets=("local", "research"))
    (edit,) = merge_users([{"id": "u1"}], _existing(spec), _targets("onboarding")).edits
    assert edit.everywhere
    narrowed = _existing(spec, defaults={"targets": ["research"]})
    (edit,) = merge_users([{"id": "u1"}], narrowed, _targets("onboarding")).edits
    assert not edit.everywhere and edit.targets == TARGETS


def test_differences_are_decisions_never_choices() -> None:
    spec = UserSpec(
        "u1",
        email="a@example.com",
        attributes={"plan": "pro", "seats": 3},
        companies=(Company("acme", {"name": "Acme"}),),
        targets=("local",),
    )
    live = {
        "id": "u1",
        "email": "b@example.com",
        "attributes": {"plan": "pro", "seats": "3"},  # a string is not the integer
        "companies": [{"id": "acme", "attributes": {"name": "Acme"}}],
    }
    merge = merge_users([live], _existing(spec), _targets("onboarding"))
    assert [(f.field, f.outcome, f.line) for f in merge.findings] == [
        ("attributes.seats", "decide", 3),
        ("email", "decide", 3),
    ]
    assert merge.edits[0].attributes == {} and merge.edits[0].fields == {}
