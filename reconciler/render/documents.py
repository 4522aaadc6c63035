"""Every JSON document reconciler prints or saves, built here and nowhere else.

The plan document (schemas/plan.schema.json) is what ``plan --format json`` prints and what
``plan --out`` writes: the same content, keys sorted in the file. It holds, per target and
user, the action, the request apply would send and the fingerprint of the live state it was
computed from; never an API key, never an undeclared live value (fingerprints are digests),
never a sensitive value (a saved plan is a CI artifact). ``apply --format json`` prints it
with apply's outcome; ``validate --format json`` prints the problems.

Pure: a value in (a :class:`~reconciler.render.view.PlanView`, a masked apply report,
problems), a document or its text out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from reconciler import __version__
from reconciler.errors import Problem
from reconciler.escape import json_chunks, json_text
from reconciler.model import upsert_to_json
from reconciler.plan.planfile import FORMAT_VERSION
from reconciler.planned import ApplyReport, ChangedSince, FieldChange, TargetPlan, UserChange
from reconciler.render.text import unconfirmed, warning_message

if TYPE_CHECKING:
    from reconciler.render.view import PlanView, Requests


def plan_json(view: PlanView) -> str:
    """``plan --format json``: the document in the order it is built."""
    return json_text(view.document, indent=2) + "\n"


def saved_plan_json(view: PlanView) -> str:
    """``plan --out FILE``: the same document, keys sorted (what ``apply FILE`` reads back)."""
    return json_text(view.document, indent=2, sort_keys=True) + "\n"


def apply_json(view: PlanView, report: ApplyReport | None) -> str:
    """``apply --format json``: the plan and apply's (masked) outcome; None: nothing to do."""
    return "".join(apply_json_chunks(view, report))


def apply_json_chunks(view: PlanView, report: ApplyReport | None) -> Iterator[str]:
    """:func:`apply_json` in pieces, as it is written: the text of a large plan is never held
    whole (at 20,000 users it was most of apply's memory)."""
    document = {"plan": view.document, "apply": report_document(report)}
    return json_chunks(document, indent=2, sort_keys=True)


def plan_document(view: PlanView) -> dict[str, Any]:
    """The masked plan as a JSON document; ``checksum`` is the unmasked plan's, which covers
    what is sent. Parts a plan does not have (scope, refusals) are absent, not empty: plans
    without them keep their bytes."""
    plan = view.masked
    document: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "reconciler_version": __version__,
        "created_at": view.created_at,
        "digest": view.digest,
        "checksum": view.checksum,
        "selection": dict(view.selection),
        "summary": _summary_json(
            plan.creates, plan.updates, plan.unchanged, plan.deletes if plan.pruned else None
        ),
        "targets": [_target_json(t, view.requests) for t in plan.targets],
        **(
            {"scope": _changed_since_json(plan.changed_since)}
            if plan.changed_since is not None
            else {}
        ),
    }
    if view.refusals:
        document["apply_would_refuse"] = [
            {"guard": r.guard, "message": r.message, "allow": r.allow} for r in view.refusals
        ]
    return document


def _field_json(change: FieldChange) -> dict[str, Any]:
    return {
        "field": change.field,
        "path": list(change.path),
        "symbol": change.symbol,
        "old": change.old,
        "new": change.new,
        "summary": change.summary,
    }


def _change_json(change: UserChange, request: Any) -> dict[str, Any]:
    return {
        "user_id": change.user_id,
        "action": change.action,
        "fields": [_field_json(f) for f in change.fields],
        "upsert": upsert_to_json(change.upsert),
        "request": dict(request),
        "fingerprint": change.fingerprint,
    }


def _summary_json(
    creates: int, updates: int, unchanged: int, deletes: int | None
) -> dict[str, int]:
    summary = {"create": creates, "update": updates, "unchanged": unchanged}
    if deletes is not None:  # only a pruned plan says how many it deletes
        summary["delete"] = deletes
    return summary


def _prune_json(target: TargetPlan) -> dict[str, Any]:
    """What pruning found: the listed count (for the ratio guard) and the users to delete.

    No email or other live value: only ids, digests and the note, which comes from the files.
    """
    return {
        "listed": target.listed,
        "deletions": [
            {"user_id": d.user_id, "fingerprint": d.fingerprint, "note": d.note}
            for d in target.deletions
        ],
    }


def _target_json(target: TargetPlan, requests: Requests) -> dict[str, Any]:
    deletes = len(target.deletions) if target.pruned else None
    changes = [_change_json(c, requests[target.target, c.user_id]) for c in target.changes]
    document = {
        "target": target.target,
        "provider": target.provider,
        "summary": _summary_json(target.creates, target.updates, target.unchanged, deletes),
        "changes": changes,
        "warnings": [
            {"user_id": w.user_id, "message": warning_message(w)} for w in target.warnings
        ],
    }
    if target.pruned:
        document["prune"] = _prune_json(target)
    if target.withheld:  # absent when nothing is left out: such plans keep their bytes
        document["not_sent"] = [
            {"what": w.what, "users": w.users, "reason": w.reason} for w in target.withheld
        ]
    return document


def _changed_since_json(since: ChangedSince) -> dict[str, Any]:
    """A --changed-since plan says what it left out (absent from full plans: same bytes)."""
    return {
        "changed_since": since.rev,
        "commit": since.commit,
        "planned_users": since.planned,
        "declared_users": since.declared,
        "left_alone": [{"target": t, "user_id": u} for t, u in since.left_alone],
        "full_targets": [{"target": t, "reason": r} for t, r in since.full_targets],
        "warnings": list(since.warnings),
    }


def report_document(report: ApplyReport | None) -> dict[str, Any] | None:
    """The apply outcome (field names only, never values); None when nothing was applied."""
    if report is None:
        return None
    unknown = unconfirmed(report)
    return {
        "applied": report.applied,
        "deleted": report.deleted,
        # "outcome unknown" apart from failed, as the text's last line counts them.
        "failed": report.failed - unknown,
        "unconfirmed": unknown,
        "not_visible": report.not_visible,
        "not_sent": report.not_sent,
        **({"held": report.held} if report.held else {}),
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


def validation_json(
    problems: Sequence[Problem],
    left_out: int = 0,
    *,
    valid: bool,
    users: int | None = None,
    files: int | None = None,
) -> str:
    """``{"valid": ..., "problems": [...]}`` of the problems shown, how many were left out,
    and how many users and files were checked if known (render/problems.py picks them)."""
    document: dict[str, Any] = {
        "valid": valid,
        "problems": [_problem_json(problem) for problem in problems],
    }
    if left_out:
        document["problems_not_shown"] = left_out
    if users is not None:
        document["users"] = users
    if files is not None:
        document["files"] = files
    return json_text(document, indent=2)


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "column": problem.column,
        "field": problem.field,
        "message": problem.message,
    }
