"""Imported users x the declarations that exist -> what to add where. Pure: no disk, no network.

Adopting two targets means importing both into one repository, where an id may be declared
once. A user already declared is merged into its entry: what the target holds that the entry
lacks is added when no other target of the user would receive it, the target joins the user's
``targets:``, and a value that differs is a *decision*, listed for a person (never chosen here).
Values are compared in declared form: the importer has read them back through the target's
``mapping:`` already, so a list that Sprig holds joined compares equal to Usertour's list.

Rules, for a user imported from target T into an entry whose targets are S (T in S or not):

- a value equal to the declared one (file defaults included): nothing to do;
- a value that differs: a decision (the declaration keeps its value; plan shows the change);
- a field T holds that the entry does not declare: added when no target of S other than T would
  receive it (they cannot hold it, or their mapping drops it), else left undeclared (partial
  ownership: an undeclared attribute is not managed) and said once, with the way to declare it;
- a field the entry declares that T lacks, while T joins S: a decision too (plan would send it
  to T), unless T's mapping drops it;
- a user no file declares: a new entry, for T alone when the config has other targets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.kinds.kind import Capabilities
from reconciler.mapping import NO_MAPPING, TargetMapping
from reconciler.model import UserSpec, format_path

#: The fields a whole value of which is compared (a list of events, companies, memberships),
#: and the capability a target needs to receive it.
_WHOLE_FIELDS = (("events", "events"), ("companies", "companies"), ("memberships", "companies"))


@dataclass(frozen=True, slots=True)
class Existing:
    """A declared user: its declaration with the file's defaults merged, and where it is."""

    spec: UserSpec
    #: The declaration's fields as written in the user's entry (no defaults).
    own: Mapping[str, Any]
    #: The file's ``defaults:``.
    defaults: Mapping[str, Any]
    file: str
    index: int
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Targets:
    """What merging needs to know of the config: the target imported from and every target."""

    target: str
    #: Every configured target name, sorted.
    configured: tuple[str, ...]
    capabilities: Mapping[str, Capabilities]
    mappings: Mapping[str, TargetMapping] = field(default_factory=dict)

    def mapping(self, name: str) -> TargetMapping:
        return self.mappings.get(name, NO_MAPPING)


@dataclass(slots=True)
class EntryEdit:
    """What to change in one existing entry (``users[index]`` of ``file``)."""

    file: str
    index: int
    user_id: str
    #: Top-level fields to add (email, events, companies, memberships).
    fields: dict[str, Any] = field(default_factory=dict)
    #: Attributes to add to the entry's ``attributes:``.
    attributes: dict[str, Any] = field(default_factory=dict)
    #: The entry's new ``targets:`` (None: leave as it is).
    targets: tuple[str, ...] | None = None
    #: ``targets`` is every target and nothing else narrows the user: the key can go.
    everywhere: bool = False

    def __bool__(self) -> bool:
        return bool(self.fields or self.attributes or self.targets is not None)


@dataclass(frozen=True, slots=True)
class Finding:
    """A difference between a target and the declarations, for the report (never a value)."""

    user_id: str
    field: str
    #: ``decide``: a person must choose; ``undeclared``: left out, said how to declare it.
    outcome: str
    reason: str
    file: str | None = None
    line: int | None = None


@dataclass(slots=True)
class Merge:
    """The outcome: edits of existing entries, new users, and the findings to report."""

    edits: list[EntryEdit] = field(default_factory=list)
    new_users: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def decisions(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.outcome == "decide"]


def merge_users(
    imported: Sequence[dict[str, Any]], existing: Mapping[str, Existing], targets: Targets
) -> Merge:
    """Every imported user (declaration fields, declared form) merged into ``existing``."""
    merge = Merge()
    for fields in imported:
        found = existing.get(fields["id"])
        if found is None:
            merge.new_users.append(dict(fields))
            continue
        edit = _merge_user(fields, found, targets, merge.findings)
        if edit:
            merge.edits.append(edit)
    return merge


def _merge_user(
    fields: dict[str, Any], found: Existing, targets: Targets, findings: list[Finding]
) -> EntryEdit:
    spec, target = found.spec, targets.target
    before = spec.targets if spec.targets is not None else targets.configured
    joins = target not in before
    others = [name for name in before if name != target]
    edit = EntryEdit(found.file, found.index, spec.id)

    def note(path: str, outcome: str, reason: str) -> None:
        findings.append(Finding(spec.id, path, outcome, reason, found.file, found.line))

    live_attributes = fields.get("attributes", {})
    declared = spec.attributes
    for name in sorted(live_attributes):
        value, path = live_attributes[name], format_path(("attributes", name))
        if name in declared:
            if not same(declared[name], value):
                note(path, "decide", _differs(target))
            continue
        receivers = [other for other in others if _kept(targets, other, name)]
        if receivers:
            note(path, "undeclared", _left_undeclared(target, receivers, name))
        else:
            edit.attributes[name] = value
    if joins:
        for name in sorted(declared):
            rule = targets.mapping(target).rule(name)
            dropped = rule is not None and rule.drop
            if name not in live_attributes and declared[name] is not None and not dropped:
                note(format_path(("attributes", name)), "decide", _not_held(target, before, name))
    _merge_email(fields, spec, joins, others, target, edit, note)
    for name, feature in _WHOLE_FIELDS:
        _merge_whole(name, feature, fields, spec, others, targets, edit, note)
    if joins:
        edit.targets = tuple(name for name in targets.configured if name in {*before, target})
        # Without the key the user goes everywhere, unless the file's defaults narrow it.
        edit.everywhere = edit.targets == targets.configured and "targets" not in found.defaults
    return edit


def _kept(targets: Targets, name: str, attribute: str) -> bool:
    rule = targets.mapping(name).rule(attribute)
    return rule is None or not rule.drop


def _merge_email(
    fields: dict[str, Any],
    spec: UserSpec,
    joins: bool,
    others: list[str],
    target: str,
    edit: EntryEdit,
    note: Any,
) -> None:
    email = fields.get("email")
    if email is not None and spec.email is not None:
        if email != spec.email:
            note("email", "decide", _differs(target))
    elif email is not None:
        if others:
            note("email", "undeclared", _left_undeclared(target, others, None))
        else:
            edit.fields["email"] = email
    elif spec.email is not None and joins:
        note("email", "decide", _not_held(target, others, None))


def _merge_whole(
    name: str,
    feature: str,
    fields: dict[str, Any],
    spec: UserSpec,
    others: list[str],
    targets: Targets,
    edit: EntryEdit,
    note: Any,
) -> None:
    """Events, companies, memberships: compared whole. Added when no other target of the user
    holds such a field (Sprig has no companies, Usertour no events), else left undeclared."""
    live = fields.get(name)
    if not live:
        return
    declared = getattr(spec, name)
    if declared:
        # Events are history, compared by plan per name (only newer ones are sent): a
        # declared history is never a conflict. Companies compare as the importer writes them.
        if name != "events" and not same(_written(name, declared), live):
            note(name, "decide", _differs(targets.target))
        return
    holders = [o for o in others if getattr(targets.capabilities[o], feature, False)]
    if holders:
        note(name, "undeclared", _left_undeclared(targets.target, holders, None))
    else:
        edit.fields[name] = live


def _written(name: str, declared: Sequence[Any]) -> list[dict[str, Any]]:
    """Declared companies or memberships as the importer writes them (sorted by company id)."""

    def company(value: Any) -> dict[str, Any]:
        attributes = dict(value.attributes)
        return {"id": value.id, **({"attributes": attributes} if attributes else {})}

    if name == "companies":
        return [company(c) for c in sorted(declared, key=lambda c: c.id)]
    return [
        {
            "company": company(m.company),
            **({"attributes": dict(m.attributes)} if m.attributes else {}),
        }
        for m in sorted(declared, key=lambda m: m.company.id)
    ]


def _differs(target: str) -> str:
    return (
        f"target {target} holds another value than the declaration: decide which is right "
        "(plan shows both once the user goes to both targets)"
    )


def _not_held(target: str, before: Sequence[str], name: str | None) -> str:
    fix = f" drop it there (targets.{target}.mapping: {{{name}: drop}})," if name else ""
    return (
        f"declared for {', '.join(before)}, but target {target} does not hold it: plan will "
        f"send it to {target}; keep it,{fix} or remove it"
    )


def _left_undeclared(target: str, receivers: Sequence[str], name: str | None) -> str:
    where = ", ".join(receivers)
    how = (
        f"declare it and add {{{name}: drop}} to the mapping: of {where}"
        if name
        else "declare it if it belongs there too"
    )
    return f"held by {target} only: declaring it would send it to {where} too; {how}"


def same(want: Any, got: Any) -> bool:
    """Equal by value and type all the way down (``True`` is not ``1``)."""
    if type(want) is not type(got):
        return False
    if isinstance(want, dict):
        return want.keys() == got.keys() and all(same(want[k], got[k]) for k in want)
    if isinstance(want, list):
        return len(want) == len(got) and all(map(same, want, got))
    return bool(want == got)
