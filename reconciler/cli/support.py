"""The CLI's helpers around plan and apply: the --checksum flag, the question, and the job's
step summary CI shows.

The terminal side of the use cases (usecases/): what they are handed (a confirmation, a way
to stop) and how what they return is written out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from reconciler.errors import RefusedError
from reconciler.planned import Plan

#: Shortest checksum prefix apply --checksum accepts (48 bits: no accidental match).
MIN_CHECKSUM = 12


def checksum_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--checksum SHA is 12 to 64 hex digits (the ``Plan checksum:`` line, or its start): a
    typo is a usage error of its own, not "the plan changed"."""
    if value is None:
        return None
    wanted = value.strip().lower()
    if not MIN_CHECKSUM <= len(wanted) <= 64 or any(c not in "0123456789abcdef" for c in wanted):
        what = "not hexadecimal" if len(wanted) >= MIN_CHECKSUM else "too short"
        raise click.BadParameter(
            f"{value!r} is {what}: give the 64 hex digits of the plan's `Plan checksum:` line, "
            f"or at least its first {MIN_CHECKSUM}",
        )
    return wanted


def step_summary(markdown: Callable[[], str]) -> None:
    """On GitHub Actions, append to the job's summary page too (rendered only there)."""
    from reconciler.cli.console import runtime

    summary = runtime().environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as file:
            file.write(markdown().rstrip("\n") + "\n\n")


def confirm(the_plan: Plan) -> bool:
    """Ask like Terraform does: only the exact answer "yes" applies."""
    if not sys.stdin.isatty():
        raise RefusedError("apply needs a confirmation and there is no terminal: pass --yes")
    count = sum(len(t.changes) for t in the_plan.targets)
    what = f"Apply these changes to {count} user{'s' if count != 1 else ''}"
    if the_plan.deletes:
        what += f" and delete {the_plan.deletes} user{'s' if the_plan.deletes != 1 else ''}"
    answer = click.prompt(
        f"{what}? Only 'yes' applies",
        default="",
        show_default=False,
        err=True,
    )
    return bool(answer.strip() == "yes")
