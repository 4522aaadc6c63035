"""Saved plans: the plan checksum, the vendor-neutral request as JSON, and reading a plan file.

The document itself (schemas/plan.schema.json) is built by render/documents.py, with every
other JSON document; the checksum is computed here, from the unmasked plan, because it covers
what is sent, and ``upsert_to_json`` is the one JSON form of a request (checksum and document).

A saved plan is evidence, not instructions: its checksum and digests are unkeyed, so whoever
can edit the file can recompute them. ``apply FILE`` therefore re-derives the plan from the
declarations and the live state and sends that, only when it equals the file (replan.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import ConfigError
from reconciler.model import upsert_to_json
from reconciler.planned import Plan

#: 2: values masked in every plan document; apply re-derives the requests instead of reading them.
FORMAT_VERSION = 2


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def plan_checksum(plan: Plan) -> str:
    """SHA-256 of what apply would do and the live state it assumed; no time, no order noise.

    ``apply --checksum`` re-plans and compares: equal only when the same requests would be
    sent to users in the same live state as the reviewed plan. A pruned target adds its
    deletions, so a plan reviewed without --prune never matches an apply with it (and plans
    without --prune keep the checksums they always had).
    """
    digest = hashlib.sha256(b"[")
    for number, t in enumerate(plan.targets):
        # The bytes of _canonical([[target, provider, [change, ...], deletions?], ...]), fed a
        # change at a time: the whole list at once was a JSON copy of every request.
        digest.update(b"," if number else b"")
        digest.update(b"[" + _canonical(t.target) + b"," + _canonical(t.provider) + b",[")
        for index, c in enumerate(t.changes):
            change = [c.user_id, c.action, upsert_to_json(c.upsert), c.fingerprint]
            digest.update((b"," if index else b"") + _canonical(change))
        digest.update(b"]")
        if t.pruned:
            digest.update(b"," + _canonical([[d.user_id, d.fingerprint] for d in t.deletions]))
        digest.update(b"]")
    digest.update(b"]")
    return digest.hexdigest()


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
    from reconciler.load.yamlload import format_json_path

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
        where = f"{format_json_path(first.path)}: " if first.path else ""
        raise ConfigError(f"{path} is not a reconciler plan file: {where}{first.message}")
    return SavedPlan(document)
