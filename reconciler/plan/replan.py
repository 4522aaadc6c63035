"""``apply FILE``: a saved plan is evidence to compare with, never the source of a request.

A plan file's checksum and digests are unkeyed: whoever can edit the file (a CI artifact) can
recompute them, so nothing in it can be trusted to say what to send. apply re-derives the plan
from the declarations and the live state, with the file's selection, renders it as the same
document, and sends the re-derived requests only when the two documents agree on every target,
user, action, request, fingerprint and deletion, and the checksums (which cover the values the
document masks) are equal. Pure: two documents in, the differences out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Ids named per difference in a message before "and N more".
SHOWN_IDS = 5
#: Per target: the parts compared as wholes (a user's change and a deletion are keyed by id).
_TARGET_PARTS = ("provider", "summary", "warnings")


@dataclass(frozen=True, slots=True)
class Differences:
    """How a saved plan differs from the plan apply re-derived now."""

    #: "user u1 changed on target prod": the live user is not what the plan was computed from.
    stale: list[str] = field(default_factory=list)
    #: Anything else: targets, users, requests or counts that the file claims and apply would not.
    other: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.stale or self.other)

    def message(self, planfile: str) -> str:
        """One line for RefusedError: what differs, then what to do."""
        if self.other:
            what = "; ".join(self.other + self.stale)
            return (
                f"{planfile} does not match the plan apply derives now from the declarations and "
                f"the live state ({what}); run plan again. Nothing was sent."
            )
        return (
            f"stale plan: {'; '.join(self.stale)} since the plan; run plan again. Nothing was sent."
        )


def compare(saved: Mapping[str, Any], derived: Mapping[str, Any]) -> Differences:
    """Every difference between a saved plan document and the re-derived one."""
    found = Differences()
    saved_targets = {target["target"]: target for target in saved["targets"]}
    derived_targets = {target["target"]: target for target in derived["targets"]}
    if saved_targets.keys() != derived_targets.keys():
        found.other.append(
            f"targets: the file plans {_names(saved_targets)}, "
            f"apply would plan {_names(derived_targets)}"
        )
    for name in sorted(saved_targets.keys() & derived_targets.keys()):
        _compare_target(name, saved_targets[name], derived_targets[name], found)
    if not found and saved["checksum"] != derived["checksum"]:
        found.other.append(
            "checksum: the file's is not the re-derived plan's (a masked value was edited?)"
        )
    return found


def _compare_target(
    name: str, saved: Mapping[str, Any], derived: Mapping[str, Any], found: Differences
) -> None:
    before = len(found.stale) + len(found.other)
    _compare_users(name, "changes", saved["changes"], derived["changes"], found)
    saved_prune, derived_prune = saved.get("prune"), derived.get("prune")
    if (saved_prune is None) != (derived_prune is None):
        found.other.append(f"target {name}: pruned in one plan only")
    elif saved_prune is not None and derived_prune is not None:
        if saved_prune["listed"] != derived_prune["listed"]:
            found.other.append(f"target {name}: listed users differ")
        deletions = (saved_prune["deletions"], derived_prune["deletions"])
        _compare_users(name, "deletions", *deletions, found)
    if len(found.stale) + len(found.other) > before:
        return  # counts and warnings follow from the users' differences: those say more
    for part in _TARGET_PARTS:
        if saved.get(part) != derived.get(part):
            found.other.append(f"target {name}: {part} differs")


def _compare_users(
    target: str,
    section: str,
    saved: Sequence[Mapping[str, Any]],
    derived: Sequence[Mapping[str, Any]],
    found: Differences,
) -> None:
    """Changes (or deletions) by user id: which users, then each user's whole entry."""
    saved_users = {entry["user_id"]: entry for entry in saved}
    derived_users = {entry["user_id"]: entry for entry in derived}
    only_saved = sorted(saved_users.keys() - derived_users.keys())
    only_derived = sorted(derived_users.keys() - saved_users.keys())
    if only_saved:
        # Edited into the file, or the live user changed since so that nothing is left to do.
        found.other.append(f"target {target}: {section} only in the file: users {_ids(only_saved)}")
    if only_derived:
        found.other.append(
            f"target {target}: {section} missing from the file: users {_ids(only_derived)}"
        )
    edited: list[str] = []
    parts: set[str] = set()
    for user_id in sorted(saved_users.keys() & derived_users.keys()):
        entry, now = saved_users[user_id], derived_users[user_id]
        if entry["fingerprint"] != now["fingerprint"]:
            found.stale.append(f"user {user_id} changed on target {target}")
        elif entry != now:
            edited.append(user_id)
            parts.update(key for key in entry.keys() | now.keys() if entry.get(key) != now.get(key))
    if edited:
        which = ", ".join(sorted(parts))
        found.other.append(f"target {target}: {section} differ ({which}) for users {_ids(edited)}")


def _names(targets: Iterable[str]) -> str:
    return ", ".join(sorted(targets)) or "none"


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    more = len(ids) - SHOWN_IDS
    return f"{shown} and {more} more" if more > 0 else shown
