"""Usertour's type inference and the drops plan predicts from it (issue 13 bug 5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.kinds import CAPABILITIES
from reconciler.kinds.usertour import _DATETIME, DATETIME, value_type
from reconciler.model import MASK, Company, LiveUser, Membership, UserSpec
from reconciler.plan.mask import mask_plan
from reconciler.plan.planner import plan_target
from reconciler.planned import Plan
from reconciler.render.text import warning_message


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (12, "number"),
        (1.5, "number"),
        (True, "boolean"),
        (["a"], "list"),
        ("2024-03-20T08:30:00.000Z", "datetime"),
        ("2024-03-20T08:30:00Z", "datetime"),
        ("2024-02-30T08:30:00Z", "string"),  # not a date
        ("2024-03-20T24:00:00Z", "string"),
        ("2024-03-20T08:30:60Z", "string"),
        ({"a": 1}, "object"),
        ("2024-03-20T08:30:00.00Z", "string"),
        ("2024-03-20T08:30:00+01:00", "string"),
        ("2024-03-20", "string"),
        ("12", "string"),
        (None, None),
    ],
)
def test_value_type_is_the_servers(value: Any, kind: str | None) -> None:
    assert value_type(value) == kind


def _datetime_by_the_pattern(text: str) -> str:
    """value_type's rule for text, applied to any text (no shortcut on its length)."""
    match = _DATETIME.match(text)
    if not match:
        return "string"
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return "string"
    return DATETIME


@given(
    st.text(st.sampled_from("0123456789\u0663-T:.Zz +\n"), max_size=26)
    | st.sampled_from(["2024-03-20T08:30:00Z", "2024-03-20T08:30:00.000Z"]).map(
        lambda text: text.replace("0", "\u0660")  # the pattern's \\d is any Unicode digit
    )
)
def test_text_is_typed_by_the_pattern_alone(text: str) -> None:
    """value_type looks at the pattern only for 20 or 24 characters ending in Z, the only
    texts it can match: every other text is a string without a look."""
    assert value_type(text) == _datetime_by_the_pattern(text)


def test_plan_warns_of_drops_shown_by_any_live_user_and_masks_sensitive_values() -> None:
    usertour = CAPABILITIES["usertour"]
    live = {
        "u1": LiveUser(
            "u1",
            attributes={"seats": 3, "pin": "1234"},
            memberships={"acme": Membership(Company("acme", {"size": 10}), {"role": "admin"})},
            companies={"acme": {"size": 10}},
        )
    }
    desired = [
        UserSpec("u1", attributes={"seats": 3, "pin": 1234}),
        UserSpec("u2", attributes={"seats": "2"}, companies=(Company("acme", {"size": "10"}),)),
        UserSpec("u3", memberships=(Membership(Company("acme"), {"role": True}),)),
    ]
    planned = plan_target("prod", "usertour", usertour, desired, live)
    # The planner knows nothing of ``sensitive``: each warning holds its value at its path...
    assert (planned.warnings[0].path, planned.warnings[0].value) == (("attributes", "pin"), 1234)
    assert "a number 1234 (it keeps" in warning_message(planned.warnings[0])
    # ... and the mask step masks it there, as it masks a field change.
    [plan] = mask_plan(Plan((planned,)), {"pin"}).targets
    assert plan.warnings[0].value is MASK
    env = "in this Usertour environment; the server would drop"
    assert [(w.user_id, warning_message(w).split(" (it keeps")[0]) for w in plan.warnings] == [
        ("u1", f"attributes.pin is text {env} a number"),
        ("u2", f'attributes.seats is a number {env} text "2"'),
        ("u2", f'companies.acme.size is a number {env} text "10"'),
        ("u3", f"memberships.acme.role is text {env} true/false true"),
    ]
    sandbox = plan_target("local", "sandbox", CAPABILITIES["sandbox"], desired, live)
    assert sandbox.warnings == ()
