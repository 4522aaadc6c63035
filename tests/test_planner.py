"""The planner with plain values: no files, no network."""

from __future__ import annotations

from reconciler.kinds import CAPABILITIES
from reconciler.kinds.values import normalise, same_value
from reconciler.load.declarations import targets_users
from reconciler.model import Company, Event, EventStats, LiveUser, Membership, UserSpec, format_path
from reconciler.plan.planner import (
    diff_user,
    plan_target,
    unapplied,
)
from reconciler.planned import FieldChange

SANDBOX = CAPABILITIES["sandbox"]
SPRIG = CAPABILITIES["sprig"]
USERTOUR = CAPABILITIES["usertour"]

LOGIN_1 = 1_626_448_859_836
LOGIN_2 = LOGIN_1 + 60_000
LOGIN_3 = LOGIN_2 + 60_000


def test_absent_user_is_created_with_every_declared_field() -> None:
    spec = UserSpec(
        "u1",
        email="a@example.com",
        attributes={"plan": "enterprise", "seats": 12, "gone": None},
        events=(Event("login", LOGIN_2), Event("login", LOGIN_1)),
    )
    change, warnings = diff_user(spec, None, SANDBOX)
    assert change is not None and change.action == "create"
    assert warnings == []
    assert change.upsert.attributes == {"plan": "enterprise", "seats": 12}
    assert change.upsert.email == "a@example.com"
    # Events are sent oldest first, whatever the declaration order.
    assert change.upsert.events == (Event("login", LOGIN_1), Event("login", LOGIN_2))
    assert FieldChange(("events",), "+", summary="login x2") in change.fields
    assert FieldChange(("attributes", "gone"), "+", new=None) not in change.fields


def test_equal_user_is_unchanged_and_sends_nothing() -> None:
    spec = UserSpec("u1", email="a@example.com", attributes={"plan": "pro", "seats": 3})
    live = LiveUser("u1", email="a@example.com", attributes={"plan": "pro", "seats": 3})
    assert diff_user(spec, live, SANDBOX) == (None, [])


def test_update_changes_only_declared_attributes_and_leaves_unmanaged_alone() -> None:
    spec = UserSpec("u1", attributes={"seats": 12})
    live = LiveUser("u1", attributes={"seats": 10, "first_seen_at": "2024-01-01", "x": 1})
    change, _ = diff_user(spec, live, USERTOUR)
    assert change is not None and change.action == "update"
    assert change.fields == (FieldChange(("attributes", "seats"), "~", old=10, new=12),)
    assert change.upsert.attributes == {"seats": 12}


def test_comparison_is_typed() -> None:
    live = LiveUser("u1", attributes={"flag": 1, "zip": 1234, "ok": "true"})
    spec = UserSpec("u1", attributes={"flag": True, "zip": "1234", "ok": True})
    change, _ = diff_user(spec, live, SANDBOX)
    assert change is not None
    fields = [f.field for f in change.fields]
    assert fields == ["attributes.flag", "attributes.ok", "attributes.zip"]


def test_json_targets_do_not_see_12_point_0_as_a_change_from_12() -> None:
    spec = UserSpec("u1", attributes={"score": 12.0, "ratio": 0.5})
    live = LiveUser("u1", attributes={"score": 12, "ratio": 0.5})
    assert diff_user(spec, live, USERTOUR)[0] is None
    # The sandbox keeps the float type, so there 12.0 and 12 differ.
    assert diff_user(spec, live, SANDBOX)[0] is not None
    assert normalise([1.0, "a"], USERTOUR) == [1, "a"]


def test_json_targets_answering_12_point_0_do_not_show_a_change_forever() -> None:
    live = LiveUser("u1", attributes={"score": 12.0, "tags": [1.0]})
    for declared in (12, 12.0):
        spec = UserSpec("u1", attributes={"score": declared, "tags": [1]})
        assert diff_user(spec, live, USERTOUR)[0] is None
    assert diff_user(UserSpec("u1", attributes={"score": 12}), live, SANDBOX)[0] is not None


def test_null_removes_a_live_attribute_and_is_a_no_op_when_absent() -> None:
    live = LiveUser("u1", attributes={"legacy": "x"})
    change, _ = diff_user(UserSpec("u1", attributes={"legacy": None}), live, USERTOUR)
    assert change is not None
    assert change.fields == (FieldChange(("attributes", "legacy"), "-", old="x"),)
    assert change.upsert.attributes == {"legacy": None}
    nothing, _ = diff_user(UserSpec("u1", attributes={"other": None}), live, USERTOUR)
    assert nothing is None


def test_only_events_newer_than_the_latest_recorded_are_sent() -> None:
    spec = UserSpec(
        "u1", events=(Event("login", LOGIN_1), Event("login", LOGIN_2), Event("login", LOGIN_3))
    )
    live = LiveUser("u1", events={"login": EventStats(count=2, first=LOGIN_1, latest=LOGIN_2)})
    change, warnings = diff_user(spec, live, SPRIG)
    assert change is not None
    assert change.upsert.events == (Event("login", LOGIN_3),)
    assert change.fields == (FieldChange(("events",), "+", summary="login x1"),)
    assert warnings == []


def test_events_already_recorded_send_nothing() -> None:
    spec = UserSpec("u1", events=(Event("login", LOGIN_1), Event("login", LOGIN_2)))
    live = LiveUser("u1", events={"login": EventStats(count=2, first=LOGIN_1, latest=LOGIN_2)})
    assert diff_user(spec, live, SPRIG) == (None, [])


def test_declared_history_the_target_lacks_is_a_warning_not_a_resend() -> None:
    spec = UserSpec("u1", events=(Event("login", LOGIN_1), Event("login", LOGIN_2)))
    live = LiveUser("u1", events={"login": EventStats(count=1, first=LOGIN_2, latest=LOGIN_2)})
    change, warnings = diff_user(spec, live, SPRIG)
    assert change is None
    assert len(warnings) == 1
    assert "events.login: 2 declared at or before the latest recorded" in warnings[0]
    assert "but the target records 1; events are append-only" in warnings[0]


def test_a_target_holding_more_events_than_declared_is_no_news() -> None:
    """Issue 14: the SDK records events too, and import declares the latest per name: a warning
    on every plan of such unchanged history was noise."""
    spec = UserSpec("u1", events=(Event("login", LOGIN_1), Event("login", LOGIN_2)))
    live = LiveUser("u1", events={"login": EventStats(count=5, first=LOGIN_1, latest=LOGIN_3)})
    assert diff_user(spec, live, SPRIG) == (None, [])


def test_events_are_ignored_on_targets_that_cannot_hold_them() -> None:
    spec = UserSpec("u1", events=(Event("login", LOGIN_1),))
    assert diff_user(spec, LiveUser("u1"), USERTOUR) == (None, [])


def test_companies_compare_by_id_with_declared_attributes_only() -> None:
    spec = UserSpec(
        "u1",
        companies=(
            Company("acme", {"name": "Acme Inc", "size": 10}),
            Company("globex", {"name": "Globex"}),
        ),
    )
    live = LiveUser(
        "u1",
        companies={"acme": {"name": "Acme Inc", "size": 9, "industry": "x"}, "other": {}},
    )
    change, _ = diff_user(spec, live, USERTOUR)
    assert change is not None
    assert change.upsert.companies == (
        Company("acme", {"size": 10}),
        Company("globex", {"name": "Globex"}),
    )
    # A new company is one change per attribute (each masked on its own path).
    assert [f.field for f in change.fields] == ["companies.acme.size", "companies.globex.name"]
    assert change.fields[1] == FieldChange(("companies", "globex", "name"), "+", new="Globex")


def test_memberships_compare_company_and_membership_attributes() -> None:
    declared = Membership(Company("acme", {"name": "Acme"}), {"role": "admin"})
    live_same = LiveUser("u1", memberships={"acme": declared})
    assert diff_user(UserSpec("u1", memberships=(declared,)), live_same, USERTOUR)[0] is None
    live_other = LiveUser(
        "u1", memberships={"acme": Membership(Company("acme", {"name": "Acme"}), {"role": "user"})}
    )
    change, _ = diff_user(UserSpec("u1", memberships=(declared,)), live_other, USERTOUR)
    assert change is not None
    assert change.fields == (
        FieldChange(("memberships", "acme", "role"), "~", old="user", new="admin"),
    )
    assert change.upsert.memberships == (Membership(Company("acme", {}), {"role": "admin"}),)


def test_email_change_and_unchanged() -> None:
    live = LiveUser("u1", email="old@example.com")
    change, _ = diff_user(UserSpec("u1", email="new@example.com"), live, SPRIG)
    assert change is not None
    assert change.fields == (FieldChange(("email",), "~", "old@example.com", "new@example.com"),)
    assert diff_user(UserSpec("u1"), live, SPRIG)[0] is None


def test_plan_target_counts_and_sorts() -> None:
    desired = [
        UserSpec("b", attributes={"x": 1}),
        UserSpec("a", attributes={"x": 1}),
        UserSpec("c", attributes={"x": 2}),
    ]
    live = {"a": LiveUser("a", attributes={"x": 1}), "c": LiveUser("c", attributes={"x": 1})}
    target_plan = plan_target("local", "sandbox", SANDBOX, desired, live)
    assert [c.user_id for c in target_plan.changes] == ["b", "c"]
    assert (target_plan.creates, target_plan.updates, target_plan.unchanged) == (1, 1, 1)


def test_targets_narrow_users() -> None:
    users = [UserSpec("a"), UserSpec("b", targets=("onboarding",))]
    assert [u.id for u in targets_users(users, "local")] == ["a"]
    assert [u.id for u in targets_users(users, "onboarding")] == ["a", "b"]


def test_unapplied_reports_values_the_target_dropped() -> None:
    spec = UserSpec("u1", attributes={"seats": "twelve", "plan": "pro"})
    after = LiveUser("u1", attributes={"seats": 10, "plan": "pro"})
    assert unapplied(spec, after, USERTOUR) == (
        FieldChange(("attributes", "seats"), "~", old=10, new="twelve"),
    )
    stuck = LiveUser("u1", attributes={"seats": "twelve", "plan": "pro"})
    assert unapplied(spec, stuck, USERTOUR) == ()
    assert unapplied(spec, None, USERTOUR) is None


def test_helpers() -> None:
    assert format_path(("attributes", "plan")) == "attributes.plan"
    assert format_path(("attributes", "a.b")) == 'attributes["a.b"]'
    assert not same_value(True, 1)
    assert same_value(["a", 1], ["a", 1])
    assert not same_value(["a", 1], ["a", True])


def test_unapplied_ignores_companies_an_answer_does_not_show() -> None:
    """Usertour's upsert answer has ``companies: null``: that is not "no companies"."""
    caps = CAPABILITIES["usertour"]
    spec = UserSpec("u1", attributes={"plan": "pro"}, companies=(Company("acme", {"n": 1}),))
    shown = LiveUser("u1", attributes={"plan": "pro"}, shows_companies=False)
    assert unapplied(spec, shown, caps) == ()
    dropped = LiveUser("u1", attributes={}, shows_companies=False)
    assert [f.field for f in unapplied(spec, dropped, caps) or ()] == ["attributes.plan"]
    expanded = LiveUser("u1", attributes={"plan": "pro"})
    assert [f.field for f in unapplied(spec, expanded, caps) or ()] == ["companies.acme.n"]
