"""Checks a declared user against what its targets can hold, before anything is sent.

Every rule asks ``CAPABILITIES`` (events? companies? value types? removable attributes?), never a
provider's name, so a new provider kind needs no change here. Messages name the target that
refuses a value and suggest ``targets:``, because narrowing a user is usually the fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.escape import escape_char
from reconciler.kinds import CAPABILITIES, KINDS
from reconciler.kinds.kind import BOOLEAN, INTEGER, LIST, NUMBER, STRING, Capabilities, ProviderKind
from reconciler.load import mappingcheck
from reconciler.load.config import Config
from reconciler.load.schemas import describe
from reconciler.load.wirecheck import rounded_numbers, rounding_warning, too_large
from reconciler.mapping import NO_MAPPING, TargetMapping
from reconciler.model import JsonPath
from reconciler.quoting import excerpt
from reconciler.settings import display_path

NULL = "null"
TYPE_NAMES: dict[type, str] = {
    str: STRING,
    int: INTEGER,
    float: NUMBER,
    bool: BOOLEAN,
    list: LIST,
    type(None): NULL,
}
#: What to suggest instead of a value type a target refuses (a float on Sprig: round or quote it).
_ALTERNATIVES = {NUMBER: (STRING, INTEGER), LIST: (STRING,)}
#: Plausible event times: 2000-01-01 .. 2100-01-01 in Unix milliseconds.
MIN_TIMESTAMP_MS, MAX_TIMESTAMP_MS = 946_684_800_000, 4_102_444_800_000
_EMAIL_PART = r"[^\s@.\x00-\x1f\x7f]+"
EMAIL_RE = re.compile(rf"[^\s@\x00-\x1f\x7f]+@(?:{_EMAIL_PART}\.)+{_EMAIL_PART}\Z")

#: (where the problem is, message); ``where`` is a JSON path in the file.
Issue = tuple[JsonPath, str]
Where = Callable[..., JsonPath]


def holds(capabilities: Capabilities, type_name: str) -> bool:
    """Whether a target kind accepts a value of type ``type_name`` (``null`` = removal)."""
    if type_name == NULL:
        return capabilities.remove_attributes
    if type_name == INTEGER:  # "number" means any JSON number
        return bool({INTEGER, NUMBER} & capabilities.value_types)
    return type_name in capabilities.value_types


def _kinds_with(feature: str) -> str:
    kinds = [kind for kind, caps in sorted(CAPABILITIES.items()) if getattr(caps, feature)]
    return " or ".join(kinds)


@dataclass(frozen=True, slots=True)
class TargetSet:
    """What the targets of a user can hold together; built once per distinct ``targets:``."""

    #: The configured targets the user goes to (of ``only``'s, under ``validate --target``).
    names: tuple[str, ...]
    labels: tuple[str, ...]
    unknown: frozenset[str]
    events: bool
    companies: bool
    #: value type -> labels of the targets that refuse it (only types someone refuses).
    rejects: dict[str, tuple[str, ...]]
    company_rejects: dict[str, tuple[str, ...]]
    reserved: tuple[tuple[str, str], ...]
    email_attributes: dict[str, str]
    max_attributes: tuple[int, str] | None
    #: (label, kind) of the targets with a request size limit (wirecheck.py).
    size_limits: tuple[tuple[str, ProviderKind], ...] = ()
    #: (significant digits, label) of the targets that round numbers.
    digits: tuple[tuple[int, str], ...] = ()

    @classmethod
    def of(
        cls, config: Config, names: Sequence[str] | None, only: frozenset[str] | None = None
    ) -> TargetSet:
        """``only``: of the user's targets, these alone (unknown names still count)."""
        known = [
            n
            for n in (config.targets if names is None else names)
            if n in config.targets and (only is None or n in only)
        ]
        caps = [
            (
                f"{name} ({config.targets[name].provider})",
                CAPABILITIES[config.targets[name].provider],
            )
            for name in known
        ]
        limits = [(c.max_attributes, label) for label, c in caps if c.max_attributes is not None]
        return cls(
            names=tuple(known),
            labels=tuple(label for label, _ in caps),
            unknown=frozenset(names or ()) - set(config.targets),
            events=any(c.events for _, c in caps),
            companies=any(c.companies for _, c in caps),
            rejects=_rejects(caps),
            company_rejects=_rejects([(label, c) for label, c in caps if c.companies]),
            reserved=tuple((c.reserved_prefix, label) for label, c in caps if c.reserved_prefix),
            email_attributes={c.email_attribute: lbl for lbl, c in caps if c.email_attribute},
            max_attributes=min(limits) if limits else None,
            size_limits=tuple(
                (label, KINDS[config.targets[name].provider])
                for name, (label, c) in zip(known, caps, strict=True)
                if c.max_request_bytes is not None
            ),
            digits=tuple((c.number_digits, lbl) for lbl, c in caps if c.number_digits),
        )


def _rejects(targets: list[tuple[str, Capabilities]]) -> dict[str, tuple[str, ...]]:
    refused = {
        type_name: tuple(label for label, caps in targets if not holds(caps, type_name))
        for type_name in sorted(set(TYPE_NAMES.values()))
    }
    return {type_name: labels for type_name, labels in refused.items() if labels}


class UserChecker:
    """The checks beyond the schema for one user with its file's defaults merged in.

    Issue paths point where a value is written: the user's own entry, or the file's defaults.
    """

    def __init__(self, config: Config, only: frozenset[str] | None = None) -> None:
        self.config = config
        #: validate --target: what a target can hold is checked for these targets alone.
        self.only = only
        self._sets: dict[tuple[str, ...] | None, TargetSet] = {}
        self._mapped: dict[tuple[str, ...] | None, list[tuple[TargetSet, TargetMapping]]] = {}
        self.config_file = display_path(config.path)

    def target_set(self, names: Sequence[str] | None) -> TargetSet:
        key = tuple(names) if names is not None else None
        if key not in self._sets:
            self._sets[key] = TargetSet.of(self.config, names, self.only)
        return self._sets[key]

    def check(self, user: dict[str, Any], declared: dict[str, Any], index: int) -> list[Issue]:
        """Issues of ``user`` (merged), whose own entry ``declared`` is ``users[index]``."""
        issues: list[Issue] = []
        names = user.get("targets")
        targets = self.target_set(names)

        def where(*parts: str | int) -> JsonPath:
            return _where(declared, index, parts)

        for position, name in enumerate(names or ()):
            if name in targets.unknown:
                issues.append((where("targets", position), self._unknown_target(name)))
        _check_identity(user, where, issues)
        if self.only is not None and not targets.labels:
            return issues  # validate --target: the user goes to none of the selected targets
        _check_fields(user, targets, where, issues)
        attributes = user.get("attributes") or {}
        for group, mapping in self.mapped_sets(names):
            self._check_attributes(attributes, group, mapping, where, issues)
        for position, event in enumerate(user.get("events") or ()):
            message = timestamp_problem(event["timestamp"])
            if message:
                issues.append((where("events", position, "timestamp"), message))
        if targets.company_rejects:
            _check_company_values(user, targets.company_rejects, where, issues)
        for label, kind in targets.size_limits:
            message = too_large(kind, label, user)
            if message:
                issues.append((("users", index), message))
        return issues

    def mapped_sets(self, names: Sequence[str] | None) -> list[tuple[TargetSet, TargetMapping]]:
        """The user's targets grouped by their ``mapping:``: each group receives the same
        attribute values. Without mappings, one group: the user's TargetSet itself."""
        key = tuple(names) if names is not None else None
        if key not in self._mapped:
            targets = self.target_set(names)
            groups: dict[TargetMapping, list[str]] = {}
            for name in targets.names:
                groups.setdefault(self.config.targets[name].mapping, []).append(name)
            if set(groups) <= {NO_MAPPING}:
                self._mapped[key] = [(targets, NO_MAPPING)]
            else:
                self._mapped[key] = [
                    (TargetSet.of(self.config, group, self.only), mapping)
                    for mapping, group in groups.items()
                ]
        return self._mapped[key]

    def _check_attributes(
        self,
        attributes: dict[str, Any],
        targets: TargetSet,
        mapping: TargetMapping,
        where: Where,
        issues: list[Issue],
    ) -> None:
        """The attributes as ``mapping`` sends them, against what these targets hold; a
        problem is located where the declared attribute is written."""
        if not mapping:
            _check_values(attributes, targets.rejects, where, ("attributes",), issues)
            _check_names(attributes, targets, where, issues)
            return

        def where_sent(*parts: str | int) -> JsonPath:
            if len(parts) > 1 and parts[0] == "attributes":
                return where("attributes", mapping.origin(str(parts[1])), *parts[2:])
            return where(*parts)

        sent = mapping.send(attributes)
        _check_values(sent, targets.rejects, where_sent, ("attributes",), issues)
        _check_names(sent, targets, where_sent, issues)
        label = ", ".join(targets.labels)
        issues.extend(mappingcheck.user_issues(attributes, mapping, label, self.config_file, where))

    def warnings(self, user: dict[str, Any], declared: dict[str, Any], index: int) -> list[Issue]:
        """What is allowed but not kept as written: numbers a target rounds."""
        targets = self.target_set(user.get("targets"))
        if not targets.digits:
            return []
        digits, label = min(targets.digits)
        return [
            (_where(declared, index, path), rounding_warning(digits, label))
            for path, _ in rounded_numbers(user, digits)
        ]

    def _unknown_target(self, name: str) -> str:
        known = sorted(self.config.targets)
        import difflib  # only this problem needs it: a valid repository does not load it

        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"configured: {', '.join(known)}"
        return f"unknown target {excerpt(name)} ({hint})"


def _where(declared: dict[str, Any], index: int, parts: tuple[str | int, ...]) -> JsonPath:
    """Where a merged value is written: under the user, or under the file's defaults."""
    name = parts[0]
    if name == "attributes" and len(parts) > 1:
        own = declared.get("attributes")
        written_here = isinstance(own, dict) and parts[1] in own
    else:
        written_here = name in declared
    return ("users", index, *parts) if written_here else ("defaults", *parts)


def unprintable(text: str) -> str | None:
    """Why a name (an id, an event name) cannot be used, or None: every character must be
    printable (no control, format such as a bidi override or zero-width joiner, or separator),
    because names are printed in plans and CI logs and sent in URLs and bodies."""
    if text.isprintable():  # the whole string at C speed: the usual case, every id of a file
        return None
    for char in text:
        if not char.isprintable() and char != " ":
            return f"holds an unprintable character {escape_char(char)} (U+{ord(char):04X})"
    return None


def blank_id(what: str) -> str:
    """Why a blank id is refused whatever the target (the real Usertour server: 400 E1017)."""
    return f"the {what} is blank (only whitespace), which the servers refuse: write the real id"


def _check_identity(user: dict[str, Any], where: Where, issues: list[Issue]) -> None:
    problem = unprintable(user["id"])
    if problem:
        issues.append((where("id"), f"the id {problem}"))
    elif not user["id"].strip():
        issues.append((where("id"), blank_id("id")))
    for position, event in enumerate(user.get("events") or ()):
        problem = unprintable(event["event"])
        if problem:
            issues.append((where("events", position, "event"), f"the event name {problem}"))
    for position, company in enumerate(user.get("companies") or ()):
        if not company["id"].strip():
            issues.append((where("companies", position, "id"), blank_id("company id")))
    for position, membership in enumerate(user.get("memberships") or ()):
        if not membership["company"]["id"].strip():
            path = where("memberships", position, "company", "id")
            issues.append((path, blank_id("company id")))
    email = user.get("email")
    if email is not None and (len(email) > 254 or not EMAIL_RE.match(email)):
        # The value is not quoted: even a mistyped email is personal data.
        message = "is not an email address (like name@example.com)"
        issues.append((where("email"), message))


_FIELD_FEATURES = (("events", "events"), ("companies", "companies"), ("memberships", "companies"))


def _check_fields(
    user: dict[str, Any], targets: TargetSet, where: Where, issues: list[Issue]
) -> None:
    """Events need a target that holds events; companies and memberships one with companies."""
    labels = ", ".join(targets.labels)
    for name, feature in _FIELD_FEATURES:
        if user.get(name) and not getattr(targets, feature):
            who = f"none of this user's targets ({labels}) can hold {name}"
            if not labels:
                who = f"this user has no known target to hold {name}"
            message = (
                f"{who}; {name} go to {_kinds_with(feature)} targets: "
                "add one to targets:, or remove them"
            )
            issues.append((where(name), message))
    if user.get("companies") and user.get("memberships"):
        message = "companies and memberships cannot both be set (Usertour takes one of them)"
        issues.append((where("memberships"), message + ": declare the companies as memberships"))


def _check_values(
    values: dict[str, Any],
    rejects: dict[str, tuple[str, ...]],
    where: Where,
    prefix: tuple[str | int, ...],
    issues: list[Issue],
) -> None:
    """Each value against the types some target refuses (a float or a null on Sprig)."""
    if not rejects:
        return
    for name, value in values.items():
        type_name = TYPE_NAMES[value.__class__]
        if type_name in rejects:
            issues.append((where(*prefix, name), refusal(value, type_name, rejects[type_name])))


def _check_company_values(
    user: dict[str, Any], rejects: dict[str, tuple[str, ...]], where: Where, issues: list[Issue]
) -> None:
    """Company and membership attributes, against the targets that hold companies."""
    for position, company in enumerate(user.get("companies") or ()):
        values = company.get("attributes") or {}
        _check_values(values, rejects, where, ("companies", position, "attributes"), issues)
    for position, membership in enumerate(user.get("memberships") or ()):
        prefix = ("memberships", position)
        company_values = membership["company"].get("attributes") or {}
        _check_values(company_values, rejects, where, (*prefix, "company", "attributes"), issues)
        values = membership.get("attributes") or {}
        _check_values(values, rejects, where, (*prefix, "attributes"), issues)


def refusal(value: Any, type_name: str, labels: tuple[str, ...]) -> str:
    """Why these targets refuse ``value``, what to write instead, and that targets: narrows."""
    who = f"target {labels[0]}" if len(labels) == 1 else f"targets {', '.join(labels)}"
    if type_name == NULL:
        return (
            f"{who} cannot remove attributes (null); drop the key, or limit this user with targets:"
        )
    kinds = {label.rsplit("(", 1)[-1].rstrip(")") for label in labels}
    refusing = [CAPABILITIES[k] for k in sorted(kinds) if k in CAPABILITIES]
    alternatives = _ALTERNATIVES.get(type_name, (STRING,))
    options = [k for k in alternatives if all(holds(c, k) for c in refusing)]
    instead = f"use a {' or '.join(options)}, or " if options else ""
    if type_name == LIST:  # the same list may suit the other targets: join it for these alone
        instead += "join it into a string with a mapping: in reconciler.yaml, or "
    return f"{who} cannot hold {describe(value)}; {instead}limit this user with targets:"


def _check_names(
    attributes: dict[str, Any], targets: TargetSet, where: Where, issues: list[Issue]
) -> None:
    """Vendor-reserved names, the attribute the target keeps the email in, the count limit."""
    for name in attributes:
        label = targets.email_attributes.get(name)
        if label is not None:
            message = (
                f"{excerpt(name)} is where target {label} keeps the email: use the email: field"
            )
            issues.append((where("attributes", name), message))
            continue
        for prefix, owner in targets.reserved:
            if name.startswith(prefix):
                message = (
                    f"names starting with {prefix!r} are reserved by target {owner}: rename it"
                )
                issues.append((where("attributes", name), message))
    limit = targets.max_attributes
    if limit is not None and len(attributes) > limit[0]:
        message = (
            f"{len(attributes)} attributes (defaults included), "
            f"but target {limit[1]} holds at most {limit[0]}"
        )
        issues.append((where("attributes"), message))


def timestamp_problem(timestamp: int) -> str | None:
    """Events are Unix milliseconds; seconds (10 digits) are the usual mistake."""
    if MIN_TIMESTAMP_MS <= timestamp < MAX_TIMESTAMP_MS:
        return None
    if MIN_TIMESTAMP_MS // 1000 <= timestamp < MAX_TIMESTAMP_MS // 1000:
        return (
            f"{timestamp} looks like Unix seconds: timestamps are milliseconds (multiply by 1000)"
        )
    if MIN_TIMESTAMP_MS * 1000 <= timestamp < MAX_TIMESTAMP_MS * 1000:
        return f"{timestamp} looks like microseconds: timestamps are milliseconds (divide by 1000)"
    return f"{timestamp} is not a plausible time in Unix milliseconds (years 2000 to 2100)"
