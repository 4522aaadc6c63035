"""Each renderer of plan and apply (text, Markdown, JSON) as a pure function of a value.

The views here are built by hand, with no workspace, file, provider or clock behind them: what
a renderer prints follows from the value alone. present_plan, the one step that builds the
value, is checked apart (it masks, describes requests from the masked upsert, forecasts)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema

from reconciler.apply.applier import ApplyReport, UserOutcome
from reconciler.kinds import CAPABILITIES
from reconciler.load.config import Config
from reconciler.load.schemas import load_schema
from reconciler.model import MASK, LiveUser, Upsert, UserSpec
from reconciler.plan.guards import Limits, Refusal
from reconciler.plan.planfile import plan_checksum
from reconciler.plan.planner import plan_target
from reconciler.planned import FieldChange, Plan, PlanWarning, TargetPlan, UserChange
from reconciler.render.documents import apply_json, plan_json, saved_plan_json
from reconciler.render.text import warning_message
from reconciler.render.view import PlanView
from reconciler.usecases.present import present_plan
from tests.rendered import render_plan, render_report

REQUEST = {"method": "UPSERT", "path": "sandbox", "body": {"user_id": "u1"}}
REFUSAL = Refusal("max_changes", "1 change exceeds max_changes 0", "--max-changes 1")


def _plan() -> Plan:
    change = UserChange(
        "u1",
        "create",
        (
            FieldChange(("attributes", "plan"), "+", None, "pro"),
            FieldChange(("email",), "+", None, MASK),
        ),
        Upsert("u1", {"plan": "pro"}, email=MASK),
    )
    return Plan((TargetPlan("local", "sandbox", (change,), unchanged=2),))


def _view(refusals: tuple[Refusal, ...] = ()) -> PlanView:
    return PlanView(
        masked=_plan(),
        checksum="c" * 64,
        digest="d" * 64,
        created_at="2026-01-02T03:04:05Z",
        selection={"targets": [], "users": [], "shard": None},
        refusals=refusals,
        requests={("local", "u1"): REQUEST},
    )


def test_plan_text_is_the_diff_refusals_and_checksum() -> None:
    text = render_plan(_view((REFUSAL,)), "text", colour=False)
    assert text.splitlines() == [
        "Target local (sandbox): 1 to create, 0 to update, 2 unchanged",
        "  + user u1",
        '      + attributes.plan = "pro"',
        "      + email = (sensitive)",
        "",
        "Plan: 1 to create, 0 to update, 2 unchanged.",
        "Apply would refuse: 1 change exceeds max_changes 0",
        f"Plan checksum: {'c' * 64}",
    ]


def test_plan_text_is_coloured_only_when_asked() -> None:
    assert "\x1b[" not in render_plan(_view(), "text", colour=False)
    assert "\x1b[32m  + user u1\x1b[0m" in render_plan(_view(), "text", colour=True)


def test_plan_markdown_keeps_under_its_limit_and_says_the_refusal() -> None:
    markdown = render_plan(_view((REFUSAL,)), "markdown", colour=False)
    assert markdown.startswith("**reconciler plan:** 1 to create, 0 to update, 2 unchanged.")
    assert "- **Apply would refuse:** 1 change exceeds max\\_changes 0" in markdown
    assert markdown.endswith(f"Plan checksum: `{'c' * 64}`\n")
    full = render_plan(_view(), "markdown", colour=False)
    short = render_plan(_view(), "markdown", colour=False, markdown_limit=len(full) - 1)
    assert len(short) < len(full) and "1 more user not shown" in short


def test_plan_json_is_the_schema_document_of_the_view() -> None:
    view = _view((REFUSAL,))
    document = json.loads(plan_json(view))
    jsonschema.validate(document, load_schema("plan"))
    assert document == view.document
    assert (document["digest"], document["checksum"]) == ("d" * 64, "c" * 64)
    assert document["created_at"] == "2026-01-02T03:04:05Z"
    [change] = document["targets"][0]["changes"]
    assert change["request"] == REQUEST
    assert change["upsert"]["email"] == "(sensitive)"
    assert document["apply_would_refuse"] == [
        {"guard": "max_changes", "message": REFUSAL.message, "allow": "--max-changes 1"}
    ]
    assert "apply_would_refuse" not in _view().document  # absent, not empty: same bytes


def test_the_document_is_built_once_per_view() -> None:
    view = _view()
    assert view.document is view.document
    assert json.loads(saved_plan_json(view)) == json.loads(plan_json(view))
    assert saved_plan_json(view) != plan_json(view)  # the file's keys are sorted
    assert list(json.loads(saved_plan_json(view))) == sorted(view.document)


def test_apply_text_lists_problems_then_counts() -> None:
    report = ApplyReport(
        (
            UserOutcome("local", "u1", "applied"),
            UserOutcome("local", "u2", "failed", message="400: bad"),
            UserOutcome("local", "u3", "skipped"),
        ),
        durations={"local": 1.25},
    )
    assert render_report(report, colour=False).splitlines() == [
        "",
        "  ! user u2 on local failed: 400: bad",
        "  ! 1 user not sent: apply was interrupted; run apply again",
        "Target local: 1 applied, 1 not, 1 not sent, in 1.2s",
        "Apply complete: 1 applied, 1 failed, 1 not sent.",
    ]


def test_outcome_unknown_is_counted_apart_from_failed() -> None:
    """Issue 21: a user whose answer was lost and could not be settled is not a failure the
    target reported; the last line and the JSON count it apart."""
    report = ApplyReport(
        (
            UserOutcome("t", "u1", "applied"),
            UserOutcome("t", "u2", "failed", message="400: bad"),
            UserOutcome("t", "u3", "unconfirmed", message="outcome unknown, re-run apply later"),
        ),
        durations={"t": 2.0},
    )
    lines = render_report(report, colour=False).splitlines()
    assert lines[-2:] == [
        "Target t: 1 applied, 1 not, 1 outcome unknown, in 2.0s",
        "Apply complete: 1 applied, 1 failed, 1 outcome unknown.",
    ]
    counts = json.loads(apply_json(_view(), report))["apply"]
    assert (counts["applied"], counts["failed"], counts["unconfirmed"]) == (1, 1, 1)


def test_apply_json_holds_the_plan_and_field_names_only() -> None:
    not_kept = (FieldChange(("attributes", "plan"), "~", "free", "pro"),)
    report = ApplyReport((UserOutcome("local", "u1", "not_stuck", not_stuck=not_kept),))
    document = json.loads(apply_json(_view(), report))
    assert document["plan"] == _view().document
    assert document["apply"]["problems"] == [
        {
            "target": "local",
            "user_id": "u1",
            "status": "not_stuck",
            "message": None,
            "fields": ["attributes.plan"],
        }
    ]
    assert '"pro"' not in json.dumps(document["apply"])
    assert json.loads(apply_json(_view(), None))["apply"] is None


def test_present_plan_masks_once_and_describes_the_masked_request(tmp_path: Path) -> None:
    change = UserChange(
        "u1",
        "create",
        (FieldChange(("email",), "+", None, "ada@example.com"),),
        Upsert("u1", email="ada@example.com"),
    )
    plan = Plan((TargetPlan("local", "sandbox", (change,), unchanged=0),))
    config = Config(tmp_path / "reconciler.yaml", tmp_path, {})
    view = present_plan(plan, config, "d" * 64, {}, Limits(max_changes=0), created_at="then")
    assert "ada@example.com" not in plan_json(view)
    assert view.requests["local", "u1"]["body"]["email"] == "(sensitive)"
    assert view.checksum == plan_checksum(plan)  # the unmasked plan's: it covers what is sent
    assert [r.guard for r in view.refusals] == ["max_changes"]
    assert present_plan(plan, config, "d" * 64, {}).refusals == ()


def test_a_sensitive_value_the_server_would_drop_is_in_no_format(tmp_path: Path) -> None:
    """The typelock warning quotes the declared value; listed sensitive, it is masked by its
    path (no text search) and left out of the plan's text, Markdown and JSON alike."""
    live = {"u1": LiveUser("u1", attributes={"pin": "text-held"})}
    desired = [UserSpec("u1", attributes={"pin": 48151623, "plan": 42})]
    locked = LiveUser("u2", attributes={"plan": "free"})  # "plan" holds text: 42 is dropped
    planned = plan_target(
        "prod", "usertour", CAPABILITIES["usertour"], desired, live, seen=[*live.values(), locked]
    )
    assert [w.path for w in planned.warnings] == [("attributes", "pin"), ("attributes", "plan")]
    config = Config(tmp_path / "reconciler.yaml", tmp_path, {}, sensitive=frozenset({"pin"}))
    view = present_plan(Plan((planned,)), config, "d" * 64, {})
    formats = [render_plan(view, kind, colour=False) for kind in ("text", "markdown", "json")]
    for rendered in formats:
        assert "48151623" not in rendered
        assert "attributes.pin is text in this Usertour environment" in rendered
    assert "would drop a number 42 (it keeps" in formats[0]  # what is not sensitive still shows


def test_a_warning_shows_its_value_unless_masked() -> None:
    quoted = PlanWarning("u1", "pin would drop text", ("attributes", "pin"), "12", " (kept)")
    assert warning_message(quoted) == 'pin would drop text "12" (kept)'
    assert warning_message(dataclasses.replace(quoted, value=MASK)) == "pin would drop text (kept)"
    assert warning_message(PlanWarning("u1", "event history differs")) == "event history differs"
