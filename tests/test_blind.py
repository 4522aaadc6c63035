"""plan/blind.py and the planner's ``blind``: a pull request's plan compares no sensitive value
of a user that exists, yet apply sends only the values that differ (issue 23.5)."""

from __future__ import annotations

from reconciler.kinds import CAPABILITIES
from reconciler.model import Company, FieldPath, LiveUser, Membership, Upsert, UserSpec
from reconciler.plan.blind import COMPARED_AT_APPLY, to_send
from reconciler.plan.planner import diff_user

CAPS = CAPABILITIES["sandbox"]
LIVE = LiveUser(
    "u1",
    attributes={"phone": "1", "role": "x"},
    email="a@x.example",
    companies={"acme": {"revenue": 5, "size": 3}},
    memberships={"acme": Membership(Company("acme", {"revenue": 5}), {"seat": "9"})},
)


def _plan(
    spec: UserSpec, live: LiveUser
) -> tuple[list[tuple[str, str]], Upsert, tuple[FieldPath, ...]]:
    change, _ = diff_user(spec, live, CAPS, frozenset({"email", "phone", "revenue", "seat"}))
    assert change is not None
    lines = [(f.field, f.summary or "") for f in change.fields]
    return lines, change.upsert, change.unsent


def test_equal_and_different_sensitive_values_plan_alike_and_only_the_different_are_sent() -> None:
    declared = {"email": "a@x.example", "attributes": {"phone": "1", "role": "x"}}
    companies = (Company("acme", {"revenue": 5, "size": 3}),)
    memberships = (Membership(Company("acme", {"revenue": 5}), {"seat": "9"}),)
    same = UserSpec("u1", companies=companies, memberships=memberships, **declared)  # type: ignore[arg-type]
    lines, upsert, unsent = _plan(same, LIVE)
    assert lines == [
        ("attributes.phone", COMPARED_AT_APPLY),
        ("email", COMPARED_AT_APPLY),
        ("companies.acme.revenue", COMPARED_AT_APPLY),
        ("memberships.acme.company.revenue", COMPARED_AT_APPLY),
        ("memberships.acme.seat", COMPARED_AT_APPLY),
    ]
    assert to_send(upsert, unsent) is None  # all of it is live already: nothing is sent
    other = LiveUser(
        "u1",
        attributes={"phone": "2", "role": "x"},
        email="b@x.example",
        companies={"acme": {"revenue": 6, "size": 3}},
        memberships={"acme": Membership(Company("acme", {"revenue": 5}), {"seat": "8"})},
    )
    other_lines, other_upsert, other_unsent = _plan(same, other)
    assert (other_lines, other_upsert) == (lines, upsert)  # the plan cannot tell them apart
    sent = to_send(other_upsert, other_unsent)
    assert sent is not None
    assert sent.attributes == {"phone": "1"} and sent.email == "a@x.example"
    assert sent.companies == (Company("acme", {"revenue": 5}),)
    assert sent.memberships == (Membership(Company("acme", {}), {"seat": "9"}),)


def test_a_new_user_and_a_plan_without_base_compare_as_usual() -> None:
    spec = UserSpec("u1", email="a@x.example", attributes={"phone": "1"})
    created, _ = diff_user(spec, None, CAPS, frozenset({"email", "phone"}))
    assert created is not None and all(f.summary is None for f in created.fields)
    unchanged, _ = diff_user(spec, LIVE, CAPS)
    assert unchanged is None


def test_only_values_declared_otherwise_than_at_the_base_are_compared_at_apply() -> None:
    """A value the base revision declared already is readable there: whether the live one
    equals it is ordinary drift, compared as usual; a value the pull request changes is not."""
    base = UserSpec("u1", email="a@x.example", attributes={"phone": "1", "role": "y"})
    spec = UserSpec("u1", email="a@x.example", attributes={"phone": "2", "role": "y"})
    blind = frozenset({"email", "phone"})
    change, _ = diff_user(spec, LIVE, CAPS, blind, base)
    assert change is not None
    assert [(f.field, f.summary) for f in change.fields] == [
        ("attributes.phone", COMPARED_AT_APPLY),
        ("attributes.role", None),  # not sensitive: compared
    ]  # the email is as the base declared it, and live: no line
    new_user, _ = diff_user(spec, LIVE, CAPS, blind, None)  # not declared at the base
    assert new_user is not None
    assert ("email", COMPARED_AT_APPLY) in [(f.field, f.summary) for f in new_user.fields]
