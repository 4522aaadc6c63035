"""`--markdown-limit N`: the Markdown plan stays within N characters and stays valid Markdown.

CI shards share one pull-request comment, so each gets a share of its budget; reconciler drops
whole user blocks from the end (saying how many) instead of anyone cutting the text mid-block.
The result is rendered with GitHub's engine (cmarkgfm) and checked for open fences and
``<details>``.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.conftest import Run
from tests.markdown_check import assert_well_formed

CHECKSUM = re.compile(r"^Plan checksum: `?([0-9a-f]{64})`?$", re.MULTILINE)


def bulk(repo: Path, count: int) -> None:
    lines = ["users:"]
    for n in range(count):
        lines += [f'  - id: "u{n:03d}"', "    attributes:"]
        lines += [
            f"      note_{k}: text of note {k} of u{n:03d} with ``` and <details> in it"
            for k in range(6)
        ]
    (repo / "users" / "bulk.yaml").write_text("\n".join(lines) + "\n")


def test_plan_stays_within_the_limit_as_valid_markdown(example_repo: Path, run: Run) -> None:
    bulk(example_repo, 150)
    text = run("plan", cwd=example_repo)
    [checksum] = CHECKSUM.findall(text.stdout)
    for limit in (2_000, 9_000, 30_000):
        shown = run(
            "plan", "--format", "markdown", "--markdown-limit", str(limit), cwd=example_repo
        )
        assert shown.code == 0, shown.stderr
        assert len(shown.stdout) <= limit
        assert re.search(r"_… [\d,]+ more users not shown \(comment size limit\);", shown.stdout)
        assert CHECKSUM.findall(shown.stdout) == [checksum]  # the same plan, shown in part
        assert_well_formed(shown.stdout, ["Plan checksum:", checksum, "more users not shown"])


def test_the_default_is_one_comment_and_small_plans_are_whole(example_repo: Path, run: Run) -> None:
    whole = run("plan", "--format", "markdown", cwd=example_repo)
    limited = run("plan", "--format", "markdown", "--markdown-limit", "8000", cwd=example_repo)
    assert whole.stdout == limited.stdout and "not shown" not in whole.stdout
    bulk(example_repo, 400)
    default = run("plan", "--format", "markdown", cwd=example_repo)
    assert 60_000 < len(default.stdout) <= 65_000 and "not shown" in default.stdout


def test_apply_takes_the_limit_too(example_repo: Path, run: Run) -> None:
    bulk(example_repo, 100)
    applied = run(
        "apply", "--yes", "--format", "markdown", "--markdown-limit", "3000", cwd=example_repo
    )
    assert applied.code == 0, applied.stderr
    plan = applied.stdout[: applied.stdout.index("Plan checksum:")]
    assert len(plan) < 3000 and "more users not shown" in plan
    assert "Apply complete: 105 applied, 0 failed." in applied.stdout


def test_a_limit_too_small_for_the_summary_is_a_usage_error(example_repo: Path, run: Run) -> None:
    refused = run("plan", "--format", "markdown", "--markdown-limit", "100", cwd=example_repo)
    assert refused.code == 1
    assert "'--markdown-limit': 100 is not in the range x>=2000" in refused.stderr
