"""What the target's server would do to a declared user on the wire, known offline.

Two facts of a kind (``Capabilities``), measured on the real Usertour server:

- ``max_request_bytes``: a request body over the limit is refused whole (413), so a user whose
  upsert would exceed it can never be created: an error, before anything is sent. The size is
  that of the request apply sends to create the user (the kind's ``describe_request``, encoded
  as the HTTP providers encode it), the largest request it can need.
- ``number_digits``: a number is kept to so many significant digits (``0.30000000000000004``
  comes back ``0.3``). The plan compares at that precision, so nothing drifts; validate warns,
  since the value stored is not the one written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from reconciler.kinds.kind import ProviderKind
from reconciler.kinds.values import kept_digits
from reconciler.model import Company, Event, JsonPath, Membership, Upsert

#: ``json.dumps(value, ensure_ascii=False)``, as the HTTP providers encode a body, without
#: building an encoder per call.
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def request_bytes(kind: ProviderKind, user: Mapping[str, Any]) -> int:
    """Bytes of the body that creates ``user`` (a declaration with defaults merged)."""
    events = user.get("events")
    companies = user.get("companies")
    memberships = user.get("memberships")
    upsert = Upsert(
        user["id"],
        dict(user.get("attributes") or {}),
        user.get("email"),
        events=tuple(Event(e["event"], e["timestamp"]) for e in events) if events else (),
        companies=tuple(_company(c) for c in companies) if companies else (),
        memberships=tuple(
            Membership(_company(m["company"]), dict(m.get("attributes") or {})) for m in memberships
        )
        if memberships
        else (),
    )
    text = _ENCODE(kind.describe_request(upsert)["body"])
    # ASCII text is as many bytes as characters (isascii is a flag: no look at the text).
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _company(company: Mapping[str, Any]) -> Company:
    return Company(company["id"], dict(company.get("attributes") or {}))


def too_large(kind: ProviderKind, label: str, user: Mapping[str, Any]) -> str | None:
    """Why target ``label`` would refuse this user's request as too large, or None."""
    limit = kind.capabilities.max_request_bytes
    if limit is None:
        return None
    size = request_bytes(kind, user)
    if size <= limit:
        return None
    return (
        f"the request that creates this user would be {size:,} bytes, but target {label} "
        f"accepts at most {limit:,} (larger bodies are refused with 413): shorten its values"
    )


def rounded_numbers(user: Mapping[str, Any], digits: int) -> Iterator[tuple[JsonPath, float]]:
    """(path, value) of each number a target keeping ``digits`` significant digits would
    store differently, at every level (attributes of the user, companies, memberships)."""
    maps: list[tuple[JsonPath, Any]] = [(("attributes",), user.get("attributes"))]
    for position, company in enumerate(user.get("companies") or ()):
        maps.append((("companies", position, "attributes"), company.get("attributes")))
    for position, membership in enumerate(user.get("memberships") or ()):
        prefix: JsonPath = ("memberships", position)
        maps.append(((*prefix, "company", "attributes"), membership["company"].get("attributes")))
        maps.append(((*prefix, "attributes"), membership.get("attributes")))
    for prefix, attributes in maps:
        for name, value in (attributes or {}).items():
            if isinstance(value, float) and kept_digits(value, digits) != value:
                yield (*prefix, name), value


def rounding_warning(digits: int, label: str) -> str:
    """The warning for a number the target would round (the value is not quoted: validate's
    output is a CI log)."""
    return (
        f"warning: target {label} keeps {digits} significant digits of a number and would "
        f"store this one rounded: write it with at most {digits} (the plan compares at the "
        "target's precision, so it shows no change either way)"
    )
