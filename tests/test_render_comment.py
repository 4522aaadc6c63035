"""The pull-request comment a reviewer reads (issue 24 points 1-3, issue 23 point 8): rendered
with GitHub's engine (cmarkgfm) and read as a reviewer does, without expanding anything."""

from __future__ import annotations

import random
import re

import pytest

from reconciler.model import Upsert
from reconciler.plan.mask import mask_plan
from reconciler.planned import FieldChange, Plan, TargetPlan, UserChange
from reconciler.render.comment import render_markdown
from reconciler.render.rollup import compact_ids
from tests.markdown_check import assert_well_formed, outside_details, render, rendered_text

SENSITIVE = frozenset({"email"})
CHECKSUM = "ab" * 32
#: u003 … u025 without u011, u017 and u021: 20 users, not one run.
TWENTY = [f"u{n:03d}" for n in range(3, 26) if n not in (11, 17, 21)]
CSM = FieldChange(("attributes", "csm"), "~", "bob", "alice")


def unwrapped(text: str) -> str:
    """The rollup's id lists on one line each (they wrap at about 100 characters)."""
    return re.sub(r",\n +", ", ", text)


def change(user_id: str, *fields: FieldChange, action: str = "update") -> UserChange:
    return UserChange(user_id, action, fields, Upsert(user_id))  # type: ignore[arg-type]


def defaults_edit() -> Plan:
    """One edit of a file's defaults: the same change for 20 users, on two targets."""
    onboarding = TargetPlan("onboarding", "usertour", tuple(change(u, CSM) for u in TWENTY), 30)
    research = TargetPlan("research", "sprig", tuple(change(u, CSM) for u in TWENTY), 30)
    return mask_plan(Plan((onboarding, research)), SENSITIVE)


def test_a_defaults_edit_names_the_field_at_most_twice_per_target_and_lists_every_id() -> None:
    markdown = render_markdown(defaults_edit(), checksum=CHECKSUM)
    assert_well_formed(markdown, ["Plan checksum:"])
    everything = rendered_text(markdown)
    assert everything.count("attributes.csm") <= 2 * 2
    glance = unwrapped(outside_details(markdown))
    line = '! attributes.csm: "bob" -> "alice" — 20 users: ' + ", ".join(TWENTY)
    assert glance.count(line) == 2  # once per target, at a glance
    for user_id in TWENTY:
        assert re.search(rf"\b{user_id}\b", glance)
    # The 20 users share one collapsed block, which names the field in its summary line.
    assert markdown.count("<details>") == 1
    assert "20 users <code>u003</code>" in markdown
    assert "on <code>onboarding</code>, <code>research</code> (update): " in markdown


def test_a_user_on_two_targets_is_shown_in_one_place() -> None:
    role = FieldChange(("attributes", "role"), "~", "member", "owner")
    email = FieldChange(("email",), "+", None, "vip@example.com")
    onboarding = TargetPlan("onboarding", "usertour", (change("vip-1", role),), 3)
    research = TargetPlan("research", "sprig", (change("vip-1", role, email, action="create"),), 3)
    others = TargetPlan("zeta", "sandbox", tuple(change(f"p{n}", CSM) for n in range(5)), 0)
    markdown = render_markdown(mask_plan(Plan((onboarding, others, research)), SENSITIVE))
    blocks = re.findall(r"<details>.*?</details>", markdown, re.S)
    mine = [block for block in blocks if "vip-1" in block]
    assert len(mine) == 1
    summary = mine[0].split("</summary>")[0]
    assert "<code>onboarding</code> (update), <code>research</code> (create)" in summary
    assert "<code>attributes.role</code>, <code>email</code>" in summary  # the fields, named
    assert "vip@example.com" not in markdown


def test_every_summary_line_names_the_fields() -> None:
    plan = Plan(
        (
            TargetPlan(
                "t",
                "sandbox",
                tuple(
                    change(f"u{n}", FieldChange(("attributes", f"a{n}"), "+", None, n))
                    for n in range(4)
                ),
                0,
            ),
        )
    )
    summaries = re.findall(r"<summary>(.*?)</summary>", render_markdown(plan))
    assert len(summaries) == 4
    for n, summary in enumerate(summaries):
        assert summary.endswith(f": <code>attributes.a{n}</code>")


def expand(token: str) -> list[str]:
    """The ids a rollup piece stands for (``u00001\u2013u00003``: three)."""
    first, _, last = token.partition("\u2013")
    if not last:
        return [first]
    prefix, start = re.fullmatch(r"(.*?)(\d+)", first).groups()  # type: ignore[union-attr]
    end = re.fullmatch(r"(.*?)(\d+)", last)[2]  # type: ignore[index]
    return [f"{prefix}{n:0{len(start)}d}" for n in range(int(start), int(end) + 1)]


def created(ids: list[str]) -> Plan:
    changes = tuple(
        change(
            user_id,
            FieldChange(("email",), "+", None, f"{user_id}@example.com"),
            FieldChange(("attributes", "name"), "+", None, f"Name {user_id}"),
            FieldChange(("attributes", "plan"), "+", None, ["free", "pro"][n % 2]),
            action="create",
        )
        for n, user_id in enumerate(ids)
    )
    return mask_plan(Plan((TargetPlan("prod", "usertour", changes, 0),)), SENSITIVE)


WHERE = "The full plan is in this run's text output (in CI: the job log)."
#: Created users in the bulk tests (20,000 before): whole, their plan's comment is 1.6 MB and
#: 5,000 random 16-digit ids take 90,000 characters, both well over the 59,999 limit.
BULK = 5_000


def test_a_bulk_create_keeps_every_changed_id_and_a_true_pointer() -> None:
    ids = [f"u{n:05d}" for n in range(1, BULK + 1)]
    markdown = render_markdown(created(ids), checksum=CHECKSUM, limit=59_999, where=WHERE)
    assert len(markdown) <= 59_999
    assert_well_formed(markdown, ["Plan checksum:", CHECKSUM])
    glance = unwrapped(outside_details(markdown))
    [listed] = re.findall(rf"\+ new user — {BULK:,} users: (.*)", glance)
    assert [i for token in listed.split(", ") for i in expand(token)] == ids
    assert f"+ attributes.name ({BULK:,} different values) — {BULK:,} users" in glance
    assert f"+ email: set (sensitive, value hidden) — {BULK:,} users" in glance
    note = re.search(r"… ([\d,]+) more users not shown \(comment size limit\); (.*)", glance)
    assert note is not None
    assert note[2] == f"every changed user is in the summary above. {WHERE}"


def test_when_even_the_ids_cannot_fit_the_comment_says_so_and_where_they_are() -> None:
    rng = random.Random(7)
    ids = sorted(f"{rng.getrandbits(64):016x}" for _ in range(BULK))
    markdown = render_markdown(created(ids), checksum=CHECKSUM, limit=59_999, where=WHERE)
    assert len(markdown) <= 59_999
    assert_well_formed(markdown, ["Plan checksum:", CHECKSUM])
    glance = outside_details(markdown)
    assert "every changed user is in the summary above" not in glance
    assert f"Part of this summary is cut: the comment cannot hold it. {WHERE}" in glance
    assert re.search(r"… and [\d,]+ more \(see the note below\)", glance)


def padded(padding: int, fields: int = 6) -> Plan:
    """Issue 23 point 8's attacker: ``padding`` users with long distinct values, and the one
    change that matters, vip-1 becoming an owner, sorted last."""
    pads = tuple(
        change(
            f"pad-{n:03d}",
            *(
                FieldChange(("attributes", f"note_{k}"), "+", None, f"{'x' * 300} {n}")
                for k in range(fields)
            ),
            action="create",
        )
        for n in range(padding)
    )
    vip = change("vip-1", FieldChange(("attributes", "role"), "~", "member", "owner"))
    return mask_plan(Plan((TargetPlan("prod", "usertour", (*pads, vip), 0),)), SENSITIVE)


def test_padding_never_pushes_a_change_out_of_the_comment() -> None:
    plan = padded(40)
    whole = len(render_markdown(plan, checksum=CHECKSUM))
    assert whole > 60_000
    for limit in range(2_000, whole + 1_000, 1_500):
        markdown = render_markdown(plan, checksum=CHECKSUM, limit=limit)
        assert len(markdown) <= limit
        glance = unwrapped(outside_details(markdown))
        assert '! attributes.role: "member" -> "owner" — 1 user: vip-1' in glance, limit
        assert_well_formed(markdown, ["Plan checksum:"])


@pytest.mark.parametrize("fields", [400, 1_500])
def test_padding_with_many_fields_still_keeps_every_id_and_says_what_is_cut(fields: int) -> None:
    plan = padded(40, fields=fields)
    markdown = render_markdown(plan, checksum=CHECKSUM, limit=20_000, where=WHERE)
    assert len(markdown) <= 20_000
    glance = outside_details(markdown)
    assert "vip-1" in glance
    assert re.search(r"pad-000\u2013pad-039|pad-000, pad-001", glance)
    if "more field changes not shown" in glance:
        assert f"Part of this summary is cut: the comment cannot hold it. {WHERE}" in glance
    else:
        assert "attributes.role" in glance


def test_a_masked_change_says_it_changes_and_where_it_is_declared() -> None:
    email = FieldChange(("email",), "~", "old@example.com", "new@example.com")
    phone = FieldChange(("attributes", "phone"), "+", None, "+47 555 12345")
    plan = Plan((TargetPlan("prod", "usertour", (change("vip-1", email, phone),), 0),))
    masked = mask_plan(plan, {"email", "phone"})
    declared_at = {("vip-1", ("email",)): "users/vip.yaml:7"}
    markdown = render_markdown(masked, declared_at=declared_at)
    text = rendered_text(markdown)
    assert "! email: changes (sensitive, value hidden), declared at users/vip.yaml:7" in text
    assert "+ attributes.phone: set (sensitive, value hidden)" in text
    glance = outside_details(markdown)  # the rollup says it too, where it is one place
    assert (
        "! email: changes (sensitive, value hidden), declared at users/vip.yaml:7 — 1 user: vip-1"
        in glance
    )
    assert "(sensitive) -> (sensitive)" not in text
    for secret in ("old@example.com", "new@example.com", "555"):
        assert secret not in markdown


def test_ranges_are_only_for_runs_and_leave_nothing_out() -> None:
    assert compact_ids(["u2", "u1", "u3", "u5", "x", "u07", "u08", "u09"]) == [
        "u07\u2013u09",
        "u1\u2013u3",
        "u5",
        "x",
    ]
    assert compact_ids(["a1", "a2"]) == ["a1", "a2"]
    assert compact_ids(["a1", "a2", "a3"], ranges=False) == ["a1", "a2", "a3"]


def test_html_of_the_comment_has_no_tag_from_an_id() -> None:
    plan = Plan((TargetPlan("prod", "sandbox", (change("<img src=x>", CSM),), 0),))
    html = render(render_markdown(mask_plan(plan, SENSITIVE)))
    assert "<img" not in html
