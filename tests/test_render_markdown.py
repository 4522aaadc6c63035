"""Plan and apply report as Markdown: built from plain values, checked as text."""

from __future__ import annotations

from reconciler.model import Upsert
from reconciler.plan.mask import mask_plan, mask_report
from reconciler.planned import (
    ApplyReport,
    FieldChange,
    Plan,
    PlanWarning,
    TargetPlan,
    UserChange,
    UserOutcome,
)
from reconciler.render.comment import render_markdown
from reconciler.render.markdown import (
    code_span,
    escape_html,
    escape_inline,
    fenced,
    render_apply_markdown,
)
from tests.markdown_check import render

SENSITIVE = frozenset({"email"})
EMAIL = "ada@example.com"


def create(user_id: str, *fields: FieldChange) -> UserChange:
    return UserChange(user_id, "create", fields, Upsert(user_id))


def update(user_id: str, *fields: FieldChange) -> UserChange:
    return UserChange(user_id, "update", fields, Upsert(user_id))


def sample_plan() -> Plan:
    prod = TargetPlan(
        "prod",
        "sprig",
        (
            create(
                "12347",
                FieldChange(("email",), "+", None, EMAIL),
                FieldChange(("attributes", "plan"), "+", None, "enterprise"),
                FieldChange(("events", "login"), "+", summary="x2"),
            ),
            update(
                "12348",
                FieldChange(("attributes", "seats"), "~", 10, 12),
                FieldChange(("attributes", "legacy"), "-", True, None),
            ),
        ),
        unchanged=12,
        warnings=(PlanWarning("12349", "event history differs"),),
    )
    staging = TargetPlan("staging", "usertour", (), unchanged=3)
    return Plan((prod, staging))


def many_users_plan(count: int) -> Plan:
    changes = tuple(
        create(f"user-{n:04d}", FieldChange(("attributes", "plan"), "+", None, "pro" * 20 + str(n)))
        for n in range(count)
    )
    return Plan((TargetPlan("prod", "sprig", changes, unchanged=0),))


def test_first_line_is_the_summary_and_each_target_has_its_counts() -> None:
    text = render_markdown(mask_plan(sample_plan(), SENSITIVE))
    lines = text.splitlines()
    assert lines[0] == "**reconciler plan:** 1 to create, 1 to update, 15 unchanged."
    assert (
        "**<code>prod</code>** (sprig): 1 to create, 1 to update, 12 unchanged, 1 warning" in lines
    )
    assert "**<code>staging</code>** (usertour): 0 to create, 0 to update, 3 unchanged" in lines


def test_each_target_leads_with_its_rollup() -> None:
    text = render_markdown(mask_plan(sample_plan(), SENSITIVE))
    rollup = text.split("**<code>prod</code>**")[1].split("**<code>staging</code>**")[0]
    assert "+ new user — 1 user: 12347" in rollup
    assert '+ attributes.plan = "enterprise" — 1 user: 12347' in rollup
    assert "! attributes.seats: 10 -> 12 — 1 user: 12348" in rollup
    assert "- attributes.legacy (was true) — 1 user: 12348" in rollup
    assert "+ email: set (sensitive, value hidden) — 1 user: 12347" in rollup


def test_each_changed_user_is_a_details_block_with_a_diff() -> None:
    text = render_markdown(mask_plan(sample_plan(), SENSITIVE))
    summary = "<details><summary>user <code>12347</code> on <code>prod</code> (create): "
    fields = "<code>email</code>, <code>attributes.plan</code>, <code>events.login</code>"
    assert summary + fields + "</summary>" in text
    summary = "<details><summary>user <code>12348</code> on <code>prod</code> (update): "
    assert summary + "<code>attributes.seats</code>, <code>attributes.legacy</code>" in text
    assert text.count("<details>") == text.count("</details>") == 2
    diff = '```diff\n+ email: set (sensitive, value hidden)\n+ attributes.plan = "enterprise"\n'
    assert diff in text
    assert "+ events.login: x2" in text
    # ``~`` has no colour in GitHub's diff highlighting; ``!`` does.
    assert "! attributes.seats: 10 -> 12\n" in text
    assert "- attributes.legacy (was true)\n" in text


def test_warnings_are_listed_under_their_target() -> None:
    text = render_markdown(mask_plan(sample_plan(), SENSITIVE))
    warnings = "**Warnings on <code>prod</code>**\n- user <code>12349</code>: event history differs"
    assert warnings in text


def test_sensitive_values_never_appear() -> None:
    plan = Plan(
        (
            TargetPlan(
                "prod",
                "sprig",
                (update("u1", FieldChange(("email",), "~", "old@example.com", EMAIL)),),
                unchanged=0,
                warnings=(PlanWarning("u1", "email is a number; would drop", ("email",), EMAIL),),
            ),
        )
    )
    text = render_markdown(mask_plan(plan, SENSITIVE))
    assert EMAIL not in text
    assert "old@example.com" not in text
    assert "! email: changes (sensitive, value hidden)" in text


def test_user_controlled_text_is_escaped() -> None:
    plan = Plan(
        (
            TargetPlan(
                "a|b",
                "sprig",
                (create("<script>", FieldChange(("attributes", "x&y"), "+", None, 1)),),
                unchanged=0,
                warnings=(PlanWarning("a|b", "*bold* <img>"),),
            ),
        )
    )
    text = render_markdown(mask_plan(plan, SENSITIVE))
    html = render(text)
    assert "<script>" not in html
    assert "<img>" not in html
    assert "1 user: &lt;script&gt;" in html  # in the rollup's code block
    assert "<summary>user <code>&lt;script&gt;</code> on <code>a|b</code>" in text
    assert "**<code>a\\|b</code>** (sprig)" in text
    assert "\\*bold\\* &lt;img&gt;" in text


def test_fence_is_longer_than_any_backtick_run_in_values() -> None:
    change = create("u1", FieldChange(("attributes", "note"), "+", None, "a ```` b"))
    text = render_markdown(mask_plan(Plan((TargetPlan("prod", "sprig", (change,), 0),)), SENSITIVE))
    assert '`````diff\n+ attributes.note = "a ```` b"\n`````' in text
    assert '\n+ attributes.note = "a ```` b" — 1 user: u1\n`````' in text
    assert fenced(["x"]) == "```\nx\n```"


def test_escape_helpers() -> None:
    assert escape_html('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert escape_inline("a|b_c*d`e") == "a\\|b\\_c\\*d\\`e"
    assert escape_inline("line\nbreak") == "line\\\\nbreak"
    assert code_span("abc") == "`abc`"
    assert code_span("a`b") == "``a`b``"


def test_checksum_and_note_come_last() -> None:
    text = render_markdown(
        mask_plan(sample_plan(), SENSITIVE), checksum="ab12", note="[run](https://x/1)"
    )
    assert text.endswith("[run](https://x/1)\n\nPlan checksum: `ab12`")


def test_title_is_escaped_into_the_summary_line() -> None:
    text = render_markdown(mask_plan(sample_plan(), SENSITIVE), title="plan <prod>")
    assert text.startswith("**plan &lt;prod&gt;:** 1 to create")


def test_no_changes_says_so() -> None:
    plan = Plan((TargetPlan("prod", "sprig", (), unchanged=4),))
    text = render_markdown(mask_plan(plan, SENSITIVE))
    assert "No changes. The targets match the declarations." in text
    assert "<details>" not in text


def test_long_plan_is_cut_below_the_limit_with_a_note() -> None:
    plan = many_users_plan(200)
    full = render_markdown(mask_plan(plan, SENSITIVE), checksum="ab12")
    limit = 8_000
    assert len(full) > limit
    text = render_markdown(mask_plan(plan, SENSITIVE), checksum="ab12", limit=limit)
    assert len(text) <= limit
    shown = text.count("<details>")
    assert 0 < shown < 200
    note = f"_… {200 - shown} more users not shown (comment size limit); every changed user is "
    assert note + "in the summary above. The full plan: `reconciler plan` (text)" in text
    # The summary, the rollup and the checksum are always kept; blocks are cut whole.
    assert text.startswith("**reconciler plan:** 200 to create")
    assert "+ new user — 200 users: user-0000, user-0001, " in text
    assert "user-0198, user-0199\n" in text
    assert text.endswith("Plan checksum: `ab12`")
    assert text.count("<details>") == text.count("</details>")
    assert "<code>user-0000</code>" in text
    assert "<code>user-0199</code>" not in text


def test_cut_at_every_limit_stays_below_it() -> None:
    plan = many_users_plan(30)
    full_length = len(render_markdown(mask_plan(plan, SENSITIVE)))
    for limit in range(600, full_length + 10, 97):
        assert len(render_markdown(mask_plan(plan, SENSITIVE), limit=limit)) <= limit


def test_a_heading_without_its_users_is_dropped() -> None:
    first = TargetPlan("a", "sprig", (create("u1", FieldChange(("x",), "+", None, 1)),), 0)
    second = TargetPlan("b", "sprig", many_users_plan(20).targets[0].changes, 0)
    plan = Plan((first, second))
    rollup = render_markdown(mask_plan(plan, SENSITIVE), limit=600)
    limit = len(rollup) + 100
    text = render_markdown(mask_plan(plan, SENSITIVE), limit=limit)
    assert not text.rstrip("_").endswith("(click to expand)**")
    assert "**Changes by user**" not in text
    assert "21 more users not shown" in text


def test_same_plan_same_bytes() -> None:
    assert render_markdown(mask_plan(sample_plan(), SENSITIVE)) == render_markdown(
        mask_plan(sample_plan(), SENSITIVE)
    )


def test_apply_report_lists_every_problem_masked() -> None:
    report = ApplyReport(
        (
            UserOutcome("prod", "u1", "applied"),
            UserOutcome("prod", "u2", "failed", message=f"400: {EMAIL} is invalid"),
            UserOutcome(
                "prod",
                "u3",
                "not_stuck",
                not_stuck=(FieldChange(("email",), "~", "a@b.io", EMAIL),),
            ),
            UserOutcome("staging", "<u4>", "unconfirmed", message="not visible on the target"),
        )
    )
    # u2's request carried the email: the vendor's echo of it is masked (mask.mask_report).
    change = UserChange("u2", "update", (), Upsert("u2", email=EMAIL))
    sent = TargetPlan("prod", "sprig", (change,), 0)
    text = render_apply_markdown(mask_report(report, Plan((sent,)), SENSITIVE))
    assert text.startswith("**reconciler apply:** 1 applied, 1 failed, 1 not kept, 1 unconfirmed.")
    assert "| <code>prod</code> | 1 | 1 | 1 | 0 |" in text
    assert "| <code>staging</code> | 0 | 0 | 0 | 1 |" in text
    assert (
        "- **failed**: user <code>u2</code> on <code>prod</code>: 400: (sensitive) is invalid"
        in text
    )
    assert "  ```diff\n  ! email: (sensitive) -> (sensitive)\n  ```" in text
    assert "**unconfirmed**: user <code>&lt;u4&gt;</code> on <code>staging</code>" in text
    assert EMAIL not in text
    assert "a@b.io" not in text


def test_apply_report_without_problems() -> None:
    report = ApplyReport((UserOutcome("prod", "u1", "applied"),))
    text = render_apply_markdown(mask_report(report, Plan(()), SENSITIVE))
    assert text.startswith("**reconciler apply:** 1 applied.")
    assert "Not applied" not in text


def test_long_apply_report_is_cut() -> None:
    outcomes = tuple(UserOutcome("prod", f"u{n}", "failed", message="x" * 100) for n in range(100))
    text = render_apply_markdown(
        mask_report(ApplyReport(outcomes), Plan(()), SENSITIVE), limit=3_000
    )
    assert len(text) <= 3_000
    assert "more users not shown (step summary size limit)" in text
