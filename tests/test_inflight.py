"""plan/inflight.py: the events of writes in flight are held back; what shows is cleared."""

from __future__ import annotations

from reconciler.kinds.sprig import SPRIG
from reconciler.load.journal import InFlight
from reconciler.model import Event, EventStats, LiveUser, UserSpec
from reconciler.plan.inflight import hold_pending
from reconciler.plan.planner import plan_target
from reconciler.planned import TargetPlan

LOGIN1, LOGIN2, SIGNUP = Event("login", 1), Event("login", 2), Event("signup", 1)


def _plan(specs: list[UserSpec], live: dict[str, LiveUser]) -> TargetPlan:
    return plan_target("prod", "sprig", SPRIG.capabilities, specs, live)


def test_a_pending_create_keeps_its_fields_and_loses_the_events_in_flight() -> None:
    spec = UserSpec("u1", attributes={"plan": "pro"}, events=(LOGIN1, LOGIN2, SIGNUP))
    records = {"u1": (InFlight("u1", (LOGIN1, LOGIN2), "r1", 0.0),)}
    held = hold_pending(_plan([spec], {}), records, {}, ["u1"])
    (change,) = held.changes
    assert change.action == "create"
    assert change.upsert.events == (SIGNUP,)
    assert [f.summary for f in change.fields if f.path == ("events",)] == ["signup x1"]
    assert held.pending == ("u1",)
    (warning,) = held.warnings
    assert warning.text.startswith("events login x2 sent 1970-01-01T00:00:00Z by run r1")


def test_an_events_only_pending_user_is_unchanged_with_a_warning() -> None:
    spec = UserSpec("u1", events=(LOGIN1,))
    live = {"u1": LiveUser("u1")}
    records = {"u1": (InFlight("u1", (LOGIN1,), "r1", 0.0),)}
    held = hold_pending(_plan([spec], live), records, live, ["u1"])
    assert held.changes == () and held.unchanged == 1 and held.pending == ("u1",)


def test_writes_the_read_shows_are_seen_not_pending() -> None:
    spec = UserSpec("u1", events=(LOGIN1,))
    live = {"u1": LiveUser("u1", events={"login": EventStats(1, 1, 1)})}
    records = {"u1": (InFlight("u1", (LOGIN1,), "r1", 0.0),)}
    held = hold_pending(_plan([spec], live), records, live, ["u1"])
    assert held.pending == () and held.seen == (("u1", (LOGIN1,)),) and held.warnings == ()


def test_records_of_users_the_plan_did_not_read_are_left_alone() -> None:
    spec = UserSpec("u1", events=(LOGIN1,))
    records = {"u9": (InFlight("u9", (LOGIN1,), "r1", 0.0),)}
    planned = _plan([spec], {})
    assert hold_pending(planned, records, {}, ["u1"]) == planned
