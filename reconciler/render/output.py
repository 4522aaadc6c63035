"""What plan and apply print in each --format, as strings. Pure: the CLI decides where to write.

Text is for people, markdown for pull-request comments and step summaries, json for programs
(the saved-plan document of schemas/plan.schema.json, with sensitive values masked).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import click

from reconciler.apply.engine import Workspace, digest
from reconciler.escape import json_text, printable
from reconciler.model import ApplyReport, Plan
from reconciler.plan.guards import Limits, Refusal, limits_of, refusals
from reconciler.plan.mask import mask_plan, mask_report
from reconciler.plan.planfile import plan_checksum, plan_document
from reconciler.render.markdown import COMMENT_LIMIT, render_markdown
from reconciler.render.text import colour_for, describe_field, render_text


def styled(lines: Iterable[tuple[str, str]], colour: bool) -> str:
    """(symbol, line) pairs as one string, coloured by symbol only when asked."""
    out = []
    for symbol, line in lines:
        style = colour_for(symbol) if colour else None
        line = printable(line)
        out.append(click.style(line, fg=style) if style else line)
    return "".join(f"{line}\n" for line in out)


@dataclass
class PlanView:
    """One plan, with what every format needs: the masked plan, digest, selection, checksum.

    Every format renders :attr:`masked` (mask.py, run once here); only the checksum is taken
    from the unmasked plan, because it covers what is sent."""

    plan: Plan
    workspace: Workspace
    selection: Mapping[str, Any]
    #: The guards of this run (apply's overrides included); None: reconciler.yaml's safety.
    limits: Limits | None = None
    created_at: str = field(
        default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    )

    @functools.cached_property
    def checksum(self) -> str:
        return plan_checksum(self.plan)

    @functools.cached_property
    def masked(self) -> Plan:
        """The plan every format shows: sensitive values replaced by ``(sensitive)``."""
        return mask_plan(self.plan, self.workspace.config.sensitive)

    def masked_report(self, report: ApplyReport) -> ApplyReport:
        """apply's report as every format shows it (values and vendor messages masked)."""
        return mask_report(report, self.plan, self.workspace.config.sensitive)

    @functools.cached_property
    def digest(self) -> str:
        """Read the inputs once however many formats are written (stdout, --out, summary)."""
        return digest(self.workspace)

    @functools.cached_property
    def refusals(self) -> list[Refusal]:
        """What apply would refuse, forecast by plan in every format (not a surprise on merge)."""
        return refusals(self.plan, self.limits or limits_of(self.workspace.config))

    def document(self) -> dict[str, Any]:
        """The plan document of ``--format json`` and ``plan --out`` (values masked)."""
        document = plan_document(
            self.masked,
            checksum=self.checksum,
            digest=self.digest,
            created_at=self.created_at,
            selection=self.selection,
        )
        if self.refusals:  # absent when apply would go ahead: such plans keep their bytes
            document["apply_would_refuse"] = [
                {"guard": r.guard, "message": r.message, "allow": r.allow} for r in self.refusals
            ]
        return document

    def render(self, output_format: str, colour: bool, markdown_limit: int = COMMENT_LIMIT) -> str:
        """The plan in one format; markdown stays under ``markdown_limit`` characters."""
        if output_format == "json":
            return json_text(self.document(), indent=2) + "\n"
        if output_format == "markdown":
            refused = [r.message for r in self.refusals]
            markdown = render_markdown(
                self.masked,
                checksum=self.checksum,
                refusals=refused,
                limit=markdown_limit - 1,
            )
            return markdown + "\n"  # the newline is within the limit too
        lines = render_text(self.masked)
        lines += [("-", f"Apply would refuse: {r.message}") for r in self.refusals]
        lines.append(("", f"Plan checksum: {self.checksum}"))
        return styled(lines, colour)


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
        elif outcome.status == "not_visible":
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
        mine = ApplyReport(tuple(o for o in report.outcomes if o.target == target))
        if mine.outcomes:
            lines.append(("", f"Target {target}: {_counts(mine, 'not')}, in {seconds:.1f}s"))
    lines.append(("", f"Apply complete: {_counts(report, 'failed')}."))
    return lines


def _counts(report: ApplyReport, failed: str) -> str:
    """``3 applied, 1 failed``; deleted, not visible yet and not sent only when there are any
    (the usual line stays the same). ``failed``: the word for the failed count."""
    parts = [f"{report.applied} applied"]
    parts += [f"{report.deleted} deleted"] if report.deleted else []
    parts.append(f"{report.failed} {failed}")
    parts += [f"{report.not_visible} not visible yet"] if report.not_visible else []
    parts += [f"{report.not_sent} not sent"] if report.not_sent else []
    return ", ".join(parts)


def report_json(report: ApplyReport | None) -> dict[str, Any] | None:
    """The apply outcome for --format json (field names only, never values)."""
    if report is None:
        return None
    return {
        "applied": report.applied,
        "deleted": report.deleted,
        "failed": report.failed,
        "not_visible": report.not_visible,
        "not_sent": report.not_sent,
        "problems": [
            {
                "target": o.target,
                "user_id": o.user_id,
                "status": o.status,
                "message": o.message,
                "fields": [c.field for c in o.not_stuck],
            }
            for o in report.problems
        ],
    }
