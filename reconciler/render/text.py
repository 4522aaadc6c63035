"""Plan and apply report -> human text, in Terraform's vocabulary: ``+`` create, ``~`` update,
``-`` remove.

Pure: returns (symbol, line) pairs, and :func:`styled` makes them one string, coloured only
when the caller says so; the CLI decides where it goes. It renders the plan and report it is
handed: sensitive values were masked before (plan/mask.py) and print as ``(sensitive)``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import click

from reconciler.escape import printable
from reconciler.model import AttributeValue, Masked
from reconciler.planned import (
    ApplyReport,
    ChangedSince,
    FieldChange,
    Plan,
    PlanWarning,
    TargetPlan,
    UserDeletion,
)

if TYPE_CHECKING:
    from reconciler.render.view import PlanView

_COLOURS = {"+": "green", "~": "yellow", "-": "red", "!": "magenta"}


def show_value(value: AttributeValue) -> str:
    """JSON, so that types are visible: ``"12"`` is not ``12`` and ``"true"`` is not ``true``;
    a masked value is ``(sensitive)``, unquoted."""
    if isinstance(value, Masked):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def warning_message(warning: PlanWarning) -> str:
    """``seats is a number ...; the server would drop text "2" (it keeps ...)``; a masked value
    is left out (``... would drop text (it keeps ...)``), the words around it stay."""
    if warning.path is None or isinstance(warning.value, Masked):
        return warning.text + warning.rest
    return f"{warning.text} {show_value(warning.value)}{warning.rest}"


def describe_field(change: FieldChange) -> str:
    """One diff line: ``+ attributes.plan = "pro"``, ``~ attributes.seats: 10 -> 12``."""
    if change.summary is not None:
        return f"{change.symbol} {change.field}: {change.summary}"
    if change.symbol == "+":
        return f"+ {change.field} = {show_value(change.new)}"
    if change.symbol == "-":
        return f"- {change.field} (was {show_value(change.old)})"
    return f"~ {change.field}: {show_value(change.old)} -> {show_value(change.new)}"


def summary_counts(creates: int, updates: int, unchanged: int, deletes: int | None = None) -> str:
    """``1 to create, 2 to update, 3 unchanged``; a pruned plan (``deletes`` given) also says
    ``N to delete``, in Terraform's order: add, change, destroy."""
    if deletes is None:
        return f"{creates} to create, {updates} to update, {unchanged} unchanged"
    return f"{creates} to create, {updates} to update, {deletes} to delete, {unchanged} unchanged"


def target_counts(target_plan: TargetPlan) -> str:
    deletes = len(target_plan.deletions) if target_plan.pruned else None
    return summary_counts(target_plan.creates, target_plan.updates, target_plan.unchanged, deletes)


def plan_counts(plan: Plan) -> str:
    deletes = plan.deletes if plan.pruned else None
    return summary_counts(plan.creates, plan.updates, plan.unchanged, deletes)


def deletion_details(deletion: UserDeletion) -> str:
    """`` (email: (sensitive))`` or ``""``: the email helps a reviewer recognise the user."""
    details = []
    if deletion.email is not None:
        details.append(f"email: {show_value(deletion.email)}")
    if deletion.note is not None:
        details.append(deletion.note)
    return f" ({'; '.join(details)})" if details else ""


def describe_deletion(deletion: UserDeletion) -> str:
    """``- user u8 will be deleted (email: (sensitive))``."""
    return f"- user {deletion.user_id} will be deleted{deletion_details(deletion)}"


def _target_lines(target_plan: TargetPlan) -> Iterable[tuple[str, str]]:
    """(symbol, line) pairs for one target block; the symbol picks the colour."""
    counts = target_counts(target_plan)
    yield "", f"Target {target_plan.target} ({target_plan.provider}): {counts}"
    for change in target_plan.changes:
        symbol = "+" if change.action == "create" else "~"
        yield symbol, f"  {symbol} user {change.user_id}"
        for field_change in change.fields:
            yield field_change.symbol, f"      {describe_field(field_change)}"
    for deletion in target_plan.deletions:
        yield "-", f"  {describe_deletion(deletion)}"
    for warning in target_plan.warnings:
        yield "!", f"  ! user {warning.user_id}: {warning_message(warning)}"
    for line in withheld_lines(target_plan):
        yield "", f"  {line}"


def withheld_lines(target_plan: TargetPlan) -> list[str]:
    """Once per target, what the plan will not send there and why (every format says it)."""
    return [
        f"Not sent to {target_plan.target}: the {w.what} of {w.users} "
        f"user{'s' if w.users != 1 else ''} ({w.reason})."
        for w in target_plan.withheld
    ]


def render_text(plan: Plan) -> list[tuple[str, str]]:
    """The whole (masked) plan as (symbol, line) pairs, ending with Terraform's summary."""
    return list(text_lines(plan))


def text_lines(plan: Plan) -> Iterator[tuple[str, str]]:
    """:func:`render_text`'s pairs one at a time: a 100k-user plan has a million lines, and
    :func:`styled` needs only one chunk of them at once."""
    for target_plan in plan.targets:
        yield from _target_lines(target_plan)
        yield "", ""
    if not plan.has_changes:
        yield "", "No changes. The targets match the declarations."
    yield "", f"Plan: {plan_counts(plan)}."
    if plan.changed_since is not None:
        yield from (("", line) for line in changed_since_lines(plan.changed_since))


def plan_view_text(view: PlanView, colour: bool) -> Iterator[str]:
    """The text form of a plan as plan and apply print it: the diff, what apply would refuse,
    and the checksum ``apply --checksum`` takes; in pieces, in order (the CLI writes them as
    they come: joined, a 100k-user plan would be held twice, as lines and as one string)."""
    return styled_chunks(_plan_view_lines(view), colour)


def _plan_view_lines(view: PlanView) -> Iterator[tuple[str, str]]:
    yield from text_lines(view.masked)
    yield from (("-", f"Apply would refuse: {r.message}") for r in view.refusals)
    yield "", f"Plan checksum: {view.checksum}"


def changed_since_lines(since: ChangedSince) -> list[str]:
    """What a --changed-since plan did not look at, said in every format: a partial plan that
    looked complete would hide drift."""
    lines = [f"Target {target} planned in full: {reason}." for target, reason in since.full_targets]
    lines += [
        f"User {user_id} is no longer declared for target {target} — left alone."
        for target, user_id in since.left_alone
    ]
    lines += [f"Warning: {warning}" for warning in since.warnings]
    lines.append(
        f"Planned {since.planned:,} of {since.declared:,} users (changed since {since.rev}). "
        "Run a full plan to detect drift."
    )
    return lines


def colour_for(symbol: str) -> str | None:
    """The terminal colour for a line's symbol (the CLI applies it only on a terminal)."""
    return _COLOURS.get(symbol)


def styled(lines: Iterable[tuple[str, str]], colour: bool) -> str:
    """(symbol, line) pairs as one string, each line escaped (reconciler.escape) and coloured
    by its symbol only when asked."""
    return "".join(styled_chunks(lines, colour))


def styled_chunks(lines: Iterable[tuple[str, str]], colour: bool) -> Iterator[str]:
    """:func:`styled`'s string a few thousand lines at a time, each ending with a newline: a
    100k-user plan is a million lines, and a list of them weighs ~5x their text."""
    out: list[str] = []
    for symbol, line in lines:
        style = colour_for(symbol) if colour else None
        line = printable(line)
        out.append(click.style(line, fg=style) if style else line)
        if len(out) == _CHUNK:
            yield "\n".join(out) + "\n"
            out.clear()
    if out:
        yield "\n".join(out) + "\n"


#: Lines joined at a time by :func:`styled`.
_CHUNK = 2048


#: How the text report names each status that is not what the plan wanted.
_VERBS = {"failed": "failed", "unconfirmed": "not confirmed"}


def report_lines(report: ApplyReport) -> list[tuple[str, str]]:
    """Every user that did not apply cleanly, with its reason, then the one-line summary.

    Users left unsent by an interruption are one count, not a line each; a target with no
    outcome (nothing to do there) gets no line.
    """
    lines: list[tuple[str, str]] = [("", "")]
    for outcome in report.problems:
        where = f"user {outcome.user_id} on {outcome.target}"
        if outcome.status in _VERBS:
            lines.append(("-", f"  ! {where} {_VERBS[outcome.status]}: {outcome.message}"))
        elif outcome.status in ("not_visible", "held"):
            lines.append(("~", f"  ! {where}: {outcome.message}"))
        elif outcome.status == "not_stuck":
            lines.append(("-", f"  ! {where}: the target did not keep these values:"))
            for change in outcome.not_stuck:
                lines.append(("-", f"      {describe_field(change)}"))
            if outcome.message:
                lines.append(("-", f"    {outcome.message}"))
    if report.not_sent:
        users = f"{report.not_sent} user{'s' if report.not_sent != 1 else ''}"
        lines.append(("-", f"  ! {users} not sent: apply was interrupted; run apply again"))
    for target, seconds in sorted(report.durations.items()):
        mine = tuple(o for o in report.outcomes if o.target == target)
        if mine:
            counts = _counts(dataclasses.replace(report, outcomes=mine), "not")
            lines.append(("", f"Target {target}: {counts}, in {seconds:.1f}s"))
    lines.append(("", f"Apply complete: {_counts(report, 'failed')}."))
    return lines


def report_text(report: ApplyReport, colour: bool) -> str:
    """apply's (masked) outcome as text: the users that did not apply cleanly, then counts."""
    return styled(report_lines(report), colour)


def unconfirmed(report: ApplyReport) -> int:
    """Users whose outcome is unknown (a lost answer nothing could settle): counted apart
    from the failed ones, which the target refused or did not keep."""
    return sum(1 for o in report.outcomes if o.status == "unconfirmed")


def _counts(report: ApplyReport, failed: str) -> str:
    """``3 applied, 1 failed``; deleted, outcome unknown, not visible yet and not sent only
    when there are any (the usual line stays the same). ``failed``: the word for the failed
    count."""
    unknown = unconfirmed(report)
    parts = [f"{report.applied} applied"]
    parts += [f"{report.deleted} deleted"] if report.deleted else []
    parts.append(f"{report.failed - unknown} {failed}")
    parts += [f"{unknown} outcome unknown"] if unknown else []
    parts += [f"{report.not_visible} not visible yet"] if report.not_visible else []
    parts += [f"{report.not_sent} not sent"] if report.not_sent else []
    parts += [f"{report.held} held back"] if report.held else []
    return ", ".join(parts)
