"""What a reviewer reads in CI (issue 24 points 1-3, issue 23 point 8), driven through the CLI
as the example workflow runs it: ``plan --markdown-out`` writes the comment, stdout (the job
log) keeps the whole text plan, the step summary gets its own, larger Markdown, and the note of
a cut comment points at what really holds the rest."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.e2e.conftest import Run
from tests.markdown_check import assert_well_formed, outside_details
from tests.test_render_comment import expand

POINTER = (
    "The full plan is in this run's text output (in CI: the job log); "
    "as JSON in plan.json, the file --out saved."
)


def unwrapped(text: str) -> str:
    return re.sub(r",\n +", ", ", text)


def ci_plan(run: Run, repo: Path, *flags: str) -> tuple[str, str, str, dict[str, object]]:
    """plan as the example workflow runs it: (job log, comment, step summary, plan.json)."""
    summary = repo / "summary.md"
    shown = run(
        "plan",
        "--markdown-out",
        str(repo / "comment.md"),
        "--out",
        str(repo / "plan.json"),
        *flags,
        cwd=repo,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert shown.code == 0, shown.stderr
    comment = (repo / "comment.md").read_text()
    document = json.loads((repo / "plan.json").read_text())
    return shown.stdout, comment, summary.read_text(), document


#: Enough created users that the step summary is cut well past the comment's limit too; the
#: ids are consecutive, so the comment's glance holds them all as ranges (20,000 before: the
#: point is the same at 4,000 against a 20,000-character comment, in a fifth of the time).
BULK = 4_000


def test_a_bulk_create_keeps_every_changed_id_and_a_true_pointer(
    example_repo: Path, run: Run
) -> None:
    ids = [f"u{n:05d}" for n in range(1, BULK + 1)]
    users = [
        {"id": i, "email": f"{i}@example.com", "attributes": {"n": k}} for k, i in enumerate(ids)
    ]
    (example_repo / "users" / "bulk.yaml").write_text(json.dumps({"users": users}))
    log, comment, summary, document = ci_plan(run, example_repo, "--markdown-limit", "20000")
    assert len(comment) <= 20_000
    assert_well_formed(comment, ["Plan checksum:"])
    glance = unwrapped(outside_details(comment))
    [listed] = re.findall(rf"\+ new user — {BULK + 5:,} users: (.*)", glance)
    shown = {i for token in listed.split(", ") for i in expand(token)}
    assert shown == {*ids, "12347", "12348", "12349", "staff-alan", "staff-barbara"}
    # The note points at what holds the rest, and it does: the log, the saved plan.
    assert (
        "more users not shown (comment size limit); every changed user is in the summary" in glance
    )
    assert POINTER in glance
    assert len(re.findall(r"^  \+ user ", log, re.M)) == BULK + 5
    assert f"      + attributes.n = {BULK - 1}" in log
    assert sum(len(t["changes"]) for t in document["targets"]) == BULK + 5  # type: ignore[index]
    # The step summary is its own Markdown (bigger), not the comment again nor the log.
    assert summary.rstrip("\n") != comment.rstrip("\n")
    assert len(comment) < len(summary) <= 250_000
    assert "more users not shown (comment size limit)" in summary  # the bound above is met
    assert POINTER in outside_details(summary)
    assert "example.com" not in comment + summary + log


def test_padding_cannot_hide_a_change_from_any_place_a_reviewer_reads(
    example_repo: Path, run: Run
) -> None:
    """Issue 23 point 8: 40 padding users with long values, and vip-1 becomes an owner."""
    pads = [
        {"id": f"pad-{n:02d}", "attributes": {f"note_{k}": f"{'x' * 400} {n}" for k in range(5)}}
        for n in range(40)
    ]
    vip = {"id": "vip-1", "attributes": {"role": "member"}}
    users_file = example_repo / "users" / "padded.yaml"
    users_file.write_text(json.dumps({"users": [vip]}))
    assert run("apply", "--yes", cwd=example_repo).code == 0
    vip["attributes"] = {"role": "owner"}
    users_file.write_text(json.dumps({"users": [*pads, vip]}))
    change = '! attributes.role: "member" -> "owner" — 1 user: vip-1'
    printed = run("plan", "--format", "markdown", "--markdown-limit", "2000", cwd=example_repo)
    assert change in unwrapped(outside_details(printed.stdout))
    for limit in ("2000", "9000", "60000"):
        log, comment, summary, _ = ci_plan(run, example_repo, "--markdown-limit", limit)
        assert len(comment) <= int(limit)
        assert change in unwrapped(outside_details(comment)), limit
        assert change in unwrapped(outside_details(summary))
        assert '  ~ user vip-1\n      ~ attributes.role: "member" -> "owner"' in log


def test_a_masked_change_says_what_a_reviewer_can_check(example_repo: Path, run: Run) -> None:
    assert run("apply", "--yes", cwd=example_repo).code == 0
    customers = example_repo / "users" / "customers.yaml"
    text = customers.read_text()
    edited = text.replace("ada@example.com", "ada.lovelace@example.com")
    customers.write_text(edited.replace('phone: "+47 555 01234"', 'phone: "+47 555 99999"'))
    line = text.splitlines().index("    email: ada@example.com") + 1
    phone = next(n for n, row in enumerate(text.splitlines(), 1) if "phone:" in row)
    shown = run("plan", "--format", "markdown", cwd=example_repo)
    assert shown.code == 0, shown.stderr
    seen = shown.stdout
    assert (
        f"! email: changes (sensitive, value hidden), declared at users/customers.yaml:{line}"
        in seen
    )
    expected = "! attributes.phone: changes (sensitive, value hidden), declared at users/"
    assert f"{expected}customers.yaml:{phone}" in seen
    assert "(sensitive) -> (sensitive)" not in seen
    for secret in ("lovelace", "ada@", "99999", "01234"):
        assert secret not in seen
