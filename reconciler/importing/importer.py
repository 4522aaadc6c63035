"""Live users -> declaration YAML (``reconciler import``). Pure: no disk, no network.

The file must plan to *no change* right after it is written, so every choice here mirrors how the
planner compares (``planner.diff_user``) and what validation accepts (``targetcheck``):

- the email is the ``email:`` field; the attribute the target keeps it in (Usertour ``email``,
  Sprig ``!email``) is that field, never an attribute (validation refuses it as one);
- a value a declaration cannot hold (a float on Sprig, an object, NaN, ``null``, which would
  *remove* the attribute) is left out: undeclared attributes are unmanaged, so no change either;
- Usertour lists a user's companies as memberships too: a user whose memberships carry their
  own attributes is written with ``memberships:``, any other with ``companies:`` (not both);
- values are written so that reconciler's YAML 1.2 loader, and YAML 1.1 tools too, read back
  exactly them: ``"NO"``, ``"01234"``, ``"12"``, ``"12:30"`` and ``"2024-03-20T08:30:00.000Z"``
  are quoted, so they stay strings everywhere (``yamlemit``).

The text is read back with reconciler's own loader before it is returned: a value that would
read back differently is a bug that stops the import, never a silently wrong file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import UnwritableError
from reconciler.escape import printable
from reconciler.importing.housestyle import block_lines, key_fits, scalar
from reconciler.importing.yamlemit import MAX_KEY
from reconciler.kinds.kind import BOOLEAN, INTEGER, LIST, NUMBER, STRING, Capabilities
from reconciler.kinds.values import normalise
from reconciler.load import yamlload
from reconciler.load.targetcheck import (
    EMAIL_RE,  # validation's own rule, not a copy
    TYPE_NAMES,
    holds,
    timestamp_problem,
    unprintable,
)
from reconciler.load.yamlcore import NUL, SAFE_INTEGER
from reconciler.mapping import NO_MAPPING, TargetMapping
from reconciler.model import LiveUser, Membership, format_path

_TYPE_WORDS = {
    STRING: "text",
    INTEGER: "an integer",
    NUMBER: "a decimal number",
    BOOLEAN: "true/false",
    LIST: "a list",
}
#: How deep a user's fields stay in block style: memberships as in the examples, one line for
#: the company and one for the membership's own attributes.
_USER_FORCE = {"memberships": 2}
#: ``skip(field, reason)``: note a value the file leaves out.
Skip = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What to import from one target, and how to label the file."""

    target: str
    provider: str
    capabilities: Capabilities
    #: Also the attributes the server or the vendor owns (seeded ones; Sprig's ``!`` names,
    #: written as comments because a declaration may not hold them).
    include_system: bool = False
    #: Events as one entry per name at its latest timestamp (see ``reconciler import --help``,
    #: usecases/importing.py).
    with_events: bool = False
    #: Write ``defaults: {targets: [target]}``: the config has other targets, which the
    #: imported users must not go to.
    pin_target: bool = False
    #: The modeline's ``$schema`` (relative to the file, or a URL); None writes none.
    schema_ref: str | None = None
    #: The target's ``mapping:``, read backwards: renamed back, joined strings split.
    mapping: TargetMapping = NO_MAPPING


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A live value the file does not declare, and why (no value: it may be personal data)."""

    user_id: str
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The file's text, how many users it declares, and what was left out of it."""

    text: str
    users: int
    left_out: tuple[LeftOut, ...]
    #: The text as reconciler's loader read it back (equal to the values written): what the
    #: declaration checks run on, so that the text is parsed once.
    parsed: yamlload.Document = field(repr=False, compare=False)


@dataclass(slots=True)
class _Declared:
    """One user as it will be written: its declaration fields and comment lines."""

    fields: dict[str, Any]
    comments: list[str] = field(default_factory=list)


def declare_users(
    live_users: Iterable[LiveUser], options: ImportOptions
) -> tuple[list[dict[str, Any]], tuple[LeftOut, ...]]:
    """Each live user's declaration fields (sorted by id), and what was left out: what
    ``import`` merges into existing declarations (importing/merge.py)."""
    left_out: list[LeftOut] = []
    declared = _declared(live_users, options, left_out)
    return [user.fields for user in declared], tuple(left_out)


def _declared(
    live_users: Iterable[LiveUser], options: ImportOptions, left_out: list[LeftOut]
) -> list[_Declared]:
    declared: list[_Declared] = []
    for live in sorted(live_users, key=lambda user: user.id):
        problem = _id_problem(live.id)
        if problem:
            left_out.append(LeftOut(live.id, "id", f"{problem}: the whole user is left out"))
            continue
        declared.append(_declare(live, options, left_out))
    return declared


def render_import(live_users: Iterable[LiveUser], options: ImportOptions) -> ImportResult:
    """The declaration file for ``live_users``: sorted by id, keys in a fixed order."""
    left_out: list[LeftOut] = []
    declared = _declared(live_users, options, left_out)
    document: dict[str, Any] = {}
    if options.pin_target:
        document["defaults"] = {"targets": [options.target]}
    document["users"] = [user.fields for user in declared]
    text = _document_text(document, declared, options)
    parsed = _check_round_trip(text, document)
    return ImportResult(text, len(declared), tuple(left_out), parsed)


# --- live user -> declaration fields -------------------------------------------------------


def _declare(live: LiveUser, options: ImportOptions, left_out: list[LeftOut]) -> _Declared:
    """One user's fields in schema order: id, email, attributes, events, companies/memberships."""
    user = _Declared({"id": live.id})

    def skip(path: str, reason: str) -> None:
        path = printable(path)  # names come from the target: no control characters out
        left_out.append(LeftOut(live.id, path, reason))
        user.comments.append(f"# not imported: {path}: {reason}")

    caps = options.capabilities
    email_attribute = caps.email_attribute
    if live.email is not None:
        if _is_email(live.email):
            user.fields["email"] = live.email
        else:
            skip("email", "not an email address a declaration accepts")
    elif email_attribute is not None and email_attribute in live.attributes:
        skip("email", "not text")
    attributes = _attributes(live, options, skip, user.comments)
    if attributes:
        user.fields["attributes"] = attributes
    if options.with_events and caps.events:
        events = _events(live, skip)
        if events:
            user.fields["events"] = events
    if caps.companies:
        # The server seeds first_seen_at/last_seen_at on new companies too: left out alike.
        seeded = frozenset() if options.include_system else caps.seeded_attributes
        _companies(live, _Kept(caps, seeded, skip), user.fields)
    return user


def _attributes(
    live: LiveUser, options: ImportOptions, skip: Skip, comments: list[str]
) -> dict[str, Any]:
    """The declarable user attributes; the vendor's own names are dropped or commented."""
    caps = options.capabilities
    kept: dict[str, Any] = {}
    system: list[str] = []
    for name in sorted(live.attributes):
        if name == caps.email_attribute:
            continue  # the email: field
        reserved = caps.reserved_prefix is not None and name.startswith(caps.reserved_prefix)
        if reserved or name in caps.seeded_attributes:
            if not options.include_system:
                continue
            if reserved:  # a declaration may not name it: shown, not declared
                value = live.attributes[name]
                system.append(f"#   {scalar(name)}: {json.dumps(value, ensure_ascii=True)}")
                continue
        # As plans compare it: a JSON target's 12.0 is the integer 12 (JavaScript says 12).
        value = normalise(live.attributes[name], caps)
        reason = _value_problem(name, value, caps)
        received = reason or options.mapping.receive_one(name, value)
        if isinstance(received, str):
            skip(format_path(("attributes", name)), received)
        else:
            kept[received[0]] = received[1]
    if system:
        comments.append(
            f"# {options.provider.capitalize()}'s own attributes (declarations cannot hold them):"
        )
        comments.extend(system)
    return dict(sorted(kept.items()))  # renamed back: in the order of the declared names


@dataclass(frozen=True, slots=True)
class _Kept:
    """What company and membership attributes keep: what the target holds, minus the names
    its server seeds (unless --include-system), reporting what a declaration cannot hold."""

    caps: Capabilities
    seeded: frozenset[str]
    skip: Skip

    def declarable(self, attributes: Mapping[str, Any], prefix: str) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for name in sorted(attributes):
            if name in self.seeded:
                continue
            value = normalise(attributes[name], self.caps)
            reason = _value_problem(name, value, self.caps)
            if reason:
                self.skip(format_path((prefix, name)), reason)
            else:
                kept[name] = value
        return kept


def _events(live: LiveUser, skip: Skip) -> list[dict[str, Any]]:
    """One entry per name at its latest timestamp: the plan then sends nothing for it."""
    events = []
    for name in sorted(live.events):
        latest = live.events[name].latest
        problem = _name_problem(name) or timestamp_problem(latest)
        if problem:
            skip(format_path(("events", name)), problem)
        else:
            events.append({"event": name, "timestamp": latest})
    return events


def _companies(live: LiveUser, kept: _Kept, fields: dict[str, Any]) -> None:
    """``memberships:`` when a membership has attributes of its own, else ``companies:``."""
    if any(set(m.attributes) - kept.seeded for m in live.memberships.values()):
        memberships = [
            entry
            for company_id in sorted(live.memberships)
            if (entry := _membership(live.memberships[company_id], kept)) is not None
        ]
        if memberships:
            fields["memberships"] = memberships
        return
    companies = []
    for company_id in sorted(live.companies):
        prefix = format_path(("companies", company_id))
        if _company_problem(company_id):
            kept.skip(prefix, f"the company id is {_company_problem(company_id)}")
            continue
        attributes = kept.declarable(live.companies[company_id], prefix)
        companies.append({"id": company_id, **({"attributes": attributes} if attributes else {})})
    if companies:
        fields["companies"] = companies


def _membership(membership: Membership, kept: _Kept) -> dict[str, Any] | None:
    company_id = membership.company.id
    prefix = format_path(("memberships", company_id))
    if _company_problem(company_id):
        kept.skip(prefix, f"the company id is {_company_problem(company_id)}")
        return None
    company: dict[str, Any] = {"id": company_id}
    company_attributes = kept.declarable(membership.company.attributes, f"{prefix}.company")
    if company_attributes:
        company["attributes"] = company_attributes
    entry: dict[str, Any] = {"company": company}
    own = kept.declarable(membership.attributes, prefix)
    if own:
        entry["attributes"] = own
    return entry


def _value_problem(name: str, value: Any, caps: Capabilities) -> str | None:
    """Why a declaration cannot hold this attribute for this target (None: it can)."""
    if not name:
        return "an empty attribute name"
    name_problem = _text_problem(name)
    if name_problem:
        return f"the name is {name_problem}"
    if not key_fits(name):
        return f"a name longer than YAML allows for a key ({MAX_KEY} characters)"
    if value is None:
        return "null, which declared would remove the attribute"
    type_name = TYPE_NAMES.get(value.__class__)
    if type_name is None:
        return "an object, which declarations cannot hold"
    if not holds(caps, type_name):
        return f"{_TYPE_WORDS[type_name]}, which declarations for this target cannot hold"
    if type_name == NUMBER and not math.isfinite(value):
        return "not a finite number"
    if type_name == INTEGER and abs(value) > SAFE_INTEGER:
        return "an integer beyond ±2^53, which JavaScript servers round (declare it quoted)"
    if type_name == LIST:
        if not all(isinstance(item, str) for item in value):
            return "a list of more than text, which declarations cannot hold"
        problems = [p for p in map(_text_problem, value) if p]
        return f"a list holding {problems[0]}" if problems else None
    return _text_problem(value) if type_name == STRING else None


def _text_problem(text: str) -> str | None:
    """Text a UTF-8 file cannot hold (a lone surrogate, from a JSON ``\\ud800`` escape), or
    that validation refuses (a NUL, which the servers cannot store: yamlcore.NUL_MESSAGE)."""
    if NUL in text:
        return "text holding a NUL character, which declarations cannot hold"
    if text.isascii():  # known without a look at the characters; ASCII is UTF-8 already
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text that is not valid Unicode"
    return None


def _id_problem(user_id: str) -> str | None:
    """Why an id cannot be declared (validation refuses empty, blank and unprintable ids)."""
    if not user_id.strip():
        return "empty" if not user_id else "blank (only whitespace)"
    if unprintable(user_id):
        return "holding an unprintable character"
    return _text_problem(user_id)


def _name_problem(name: str) -> str | None:
    """Why an event name cannot be declared: validated like ids (``targetcheck.unprintable``)."""
    if not name:
        return "an empty name"
    if unprintable(name):
        return "an unprintable character in the name"
    return _text_problem(name)


def _company_problem(company_id: str) -> str | None:
    if not company_id.strip():
        return "empty" if not company_id else "blank (only whitespace)"
    return _text_problem(company_id)


def _is_email(email: str) -> bool:
    """What validation accepts as ``email:`` (targetcheck's rule, so the file validates)."""
    return len(email) <= 254 and EMAIL_RE.match(email) is not None


# --- declaration fields -> YAML text --------------------------------------------------------


def _document_text(
    document: dict[str, Any], declared: list[_Declared], options: ImportOptions
) -> str:
    """The whole file: modeline, a header, defaults, then one block per user."""
    lines = []
    if options.schema_ref is not None:
        lines += [f"# yaml-language-server: $schema={options.schema_ref}", "#"]
    count = f"{len(declared)} user{'s' if len(declared) != 1 else ''}"
    lines += [
        f"# Imported from target {options.target} ({options.provider}) by `reconciler import`: "
        f"{count}.",
        "# It holds real emails and attribute values: review it before you commit it.",
    ]
    if "defaults" in document:
        lines += ["defaults:", *block_lines(document["defaults"], 2, {}, default=0)]
    if not declared:
        return "\n".join([*lines, "", "users: []", ""])
    lines += ["", "users:"]
    for position, user in enumerate(declared):
        if position:
            lines.append("")
        user_lines = block_lines(user.fields, 4, _USER_FORCE, default=1)
        user_lines[0] = "  - " + user_lines[0][4:]
        lines += user_lines
        lines += ["    " + comment for comment in user.comments]
    return "\n".join(lines) + "\n"


# --- the safety net -------------------------------------------------------------------------


def _check_round_trip(text: str, document: dict[str, Any]) -> yamlload.Document:
    """Read the text back with reconciler's loader: it must give exactly ``document``."""
    parsed = yamlload.parse_mapping(text, "import")
    if parsed.value is not None and same(document, parsed.value):
        return parsed
    read_back = parsed.value["users"] if parsed.value else []
    wrong = [w["id"] for w, g in zip(document["users"], read_back, strict=False) if not same(w, g)]
    where = f" (user {wrong[0]!r})" if wrong else "; ".join(map(str, parsed.problems[:3]))
    raise UnwritableError(f"the imported YAML would not read back as the live values{where}")


def same(want: Any, got: Any) -> bool:
    """Equal by value and type all the way down (``True`` is not ``1``, ``1`` is not ``1.0``)."""
    if type(want) is not type(got):
        return False
    if isinstance(want, dict):
        return list(want) == list(got) and all(same(want[k], got[k]) for k in want)
    if isinstance(want, list):
        return len(want) == len(got) and all(map(same, want, got))
    return bool(want == got)
