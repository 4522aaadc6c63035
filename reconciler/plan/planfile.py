"""Saved plans: Plan -> JSON document (schemas/plan.schema.json), checksums and input digests.

The document is what ``plan --format json`` prints and what ``plan --out`` writes: the same
bytes but the creation time, sensitive values masked in both. It holds, per target and user,
the action, the request apply would send and the fingerprint of the live state it was computed
from; never an API key, never an undeclared live value (fingerprints are digests), never a
sensitive value (a saved plan is a CI artifact).

A saved plan is evidence, not instructions: its checksum and digests are unkeyed, so whoever
can edit the file can recompute them. ``apply FILE`` therefore re-derives the plan from the
declarations and the live state and sends that, only when it equals the file (replan.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler import __version__
from reconciler.errors import ConfigError
from reconciler.model import (
    FieldChange,
    Plan,
    PlanScope,
    TargetPlan,
    Upsert,
    UserChange,
)
from reconciler.providers import describe_request

#: 2: values masked in every plan document; apply re-derives the requests instead of reading them.
FORMAT_VERSION = 2


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def upsert_to_json(upsert: Upsert) -> dict[str, Any]:
    """The vendor-neutral request, as plain JSON (round-trips through ``upsert_from_json``)."""
    return {
        "user_id": upsert.user_id,
        "attributes": dict(upsert.attributes),
        "email": upsert.email,
        "events": [{"event": e.name, "timestamp": e.timestamp} for e in upsert.events],
        "companies": [{"id": c.id, "attributes": dict(c.attributes)} for c in upsert.companies],
        "memberships": [
            {
                "company": {"id": m.company.id, "attributes": dict(m.company.attributes)},
                "attributes": dict(m.attributes),
            }
            for m in upsert.memberships
        ],
    }


def plan_checksum(plan: Plan) -> str:
    """SHA-256 of what apply would do and the live state it assumed; no time, no order noise.

    ``apply --checksum`` re-plans and compares: equal only when the same requests would be
    sent to users in the same live state as the reviewed plan. A pruned target adds its
    deletions, so a plan reviewed without --prune never matches an apply with it (and plans
    without --prune keep the checksums they always had).
    """
    content = []
    for t in plan.targets:
        entry: list[Any] = [
            t.target,
            t.provider,
            [[c.user_id, c.action, upsert_to_json(c.upsert), c.fingerprint] for c in t.changes],
        ]
        if t.pruned:
            entry.append([[d.user_id, d.fingerprint] for d in t.deletions])
        content.append(entry)
    return hashlib.sha256(_canonical(content)).hexdigest()


def inputs_digest(config_path: Path, files: Iterable[Path]) -> str:
    """SHA-256 over reconciler.yaml and every declaration file (names and bytes)."""
    digest = hashlib.sha256()
    for path in [config_path, *sorted(files)]:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _field_json(change: FieldChange) -> dict[str, Any]:
    return {
        "field": change.field,
        "path": list(change.path),
        "symbol": change.symbol,
        "old": change.old,
        "new": change.new,
        "summary": change.summary,
    }


def _change_json(change: UserChange, provider: str) -> dict[str, Any]:
    return {
        "user_id": change.user_id,
        "action": change.action,
        "fields": [_field_json(f) for f in change.fields],
        "upsert": upsert_to_json(change.upsert),
        "request": describe_request(provider, change.upsert),
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


def _target_json(target: TargetPlan) -> dict[str, Any]:
    deletes = len(target.deletions) if target.pruned else None
    document = {
        "target": target.target,
        "provider": target.provider,
        "summary": _summary_json(target.creates, target.updates, target.unchanged, deletes),
        "changes": [_change_json(c, target.provider) for c in target.changes],
        "warnings": [{"user_id": w.user_id, "message": w.message} for w in target.warnings],
    }
    if target.pruned:
        document["prune"] = _prune_json(target)
    if target.withheld:  # absent when nothing is left out: such plans keep their bytes
        document["not_sent"] = [
            {"what": w.what, "users": w.users, "reason": w.reason} for w in target.withheld
        ]
    return document


def plan_document(
    masked: Plan,
    *,
    checksum: str,
    digest: str,
    created_at: str,
    selection: Mapping[str, Any],
) -> dict[str, Any]:
    """The masked plan (mask.py) as a JSON document; ``checksum`` is the unmasked plan's
    (:func:`plan_checksum`), which covers what is sent."""
    plan = masked
    return {
        "format_version": FORMAT_VERSION,
        "reconciler_version": __version__,
        "created_at": created_at,
        "digest": digest,
        "checksum": checksum,
        "selection": dict(selection),
        "summary": _summary_json(
            plan.creates, plan.updates, plan.unchanged, plan.deletes if plan.pruned else None
        ),
        "targets": [_target_json(t) for t in plan.targets],
        **({"scope": _scope_json(plan.scope)} if plan.scope is not None else {}),
    }


def _scope_json(scope: PlanScope) -> dict[str, Any]:
    """A --changed-since plan says what it left out (absent from full plans: same bytes)."""
    return {
        "changed_since": scope.rev,
        "commit": scope.commit,
        "planned_users": scope.planned,
        "declared_users": scope.declared,
        "left_alone": [{"target": t, "user_id": u} for t, u in scope.left_alone],
        "full_targets": [{"target": t, "reason": r} for t, r in scope.full_targets],
        "warnings": list(scope.warnings),
    }


@dataclass(frozen=True, slots=True)
class SavedPlan:
    """A plan file read back: what a reviewer saw, to compare with, never what is sent."""

    document: Mapping[str, Any]

    @property
    def digest(self) -> str:
        return str(self.document["digest"])

    @property
    def selection(self) -> Mapping[str, Any]:
        return dict(self.document["selection"])

    @property
    def shard(self) -> tuple[int, int] | None:
        text = self.selection.get("shard")
        if text is None:
            return None
        index, count = (int(part) for part in str(text).split("/"))
        return index, count

    @property
    def revision(self) -> str | None:
        """What --changed-since compared with: the commit it named, so that a branch that moved
        since (``origin/main`` after the merge) re-derives the same plan."""
        scope = self.document.get("scope")
        if scope is not None:
            return str(scope["commit"] or scope["changed_since"])
        changed_since = self.selection.get("changed_since")
        return None if changed_since is None else str(changed_since)


def read_saved_plan(path: Path) -> SavedPlan:
    """Parse and schema-check a plan file (its content is still only a claim: see replan.py)."""
    from reconciler.load.schemas import check
    from reconciler.load.yamlload import format_path

    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read plan file {path}: {error.strerror}") from error
    try:
        document = json.loads(data)
    except ValueError:
        document = None
    if not isinstance(document, dict) or "format_version" not in document:
        raise ConfigError(
            f"{path} is not a reconciler plan file; save one with `reconciler plan --out FILE`"
        )
    version = document.get("format_version")
    if version is not None and version != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: plan format {version} is not the format of this version "
            f"({FORMAT_VERSION}): run reconciler plan --out again"
        )
    issues = check("plan", document)
    if issues:
        first = issues[0]
        where = f"{format_path(first.path)}: " if first.path else ""
        raise ConfigError(f"{path} is not a reconciler plan file: {where}{first.message}")
    return SavedPlan(document)
