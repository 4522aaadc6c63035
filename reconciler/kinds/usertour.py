"""Usertour's facts, known offline: what it holds, and its wire format for users (pure functions).

Vendor facts relied on (apis/usertour.md): attribute values are JSON numbers, strings, booleans
or lists of strings, and ``null`` deletes one; the email is the attribute ``email`` (a top-level
``email`` is ignored); users have companies and memberships, which a GET expands on request
and an upsert's answer never does (``null``); the first value of an attribute fixes its type
and later values of another type are silently dropped; new users and companies get
``first_seen_at``/``last_seen_at`` from the server. The HTTP side is ``usertour.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from reconciler.kinds.kind import BOOLEAN, INTEGER, LIST, NUMBER, STRING, Capabilities, ProviderKind
from reconciler.model import AttributeValue, Company, LiveUser, Membership, Upsert

#: GET ``{USERS_PATH}/{id}`` reads a user, POST ``{USERS_PATH}`` upserts one, GET lists them.
USERS_PATH = "/v1/users"
#: Largest page the list endpoint serves (``limit`` 1-100).
PAGE_SIZE = 100
#: Express's JSON body parser's default limit ("100kb"): a larger body is answered
#: ``413 {"statusCode": 413, "message": "request entity too large"}`` (seen on the real
#: server: 102,400 bytes accepted, 102,500 refused).
MAX_REQUEST_BYTES = 102_400
#: Significant digits a number keeps (seen on the real server: ``256.35699999999997`` and
#: ``0.1234567890123456789`` come back ``256.357`` and ``0.1234567890123457``; integers
#: that fit 64 bits come back as the nearest double, which JavaScript already made them).
NUMBER_DIGITS = 16
_EMAIL = "email"
#: Definition scopes -> the levels typelock.py locks separately.
_LEVELS = {"user": "user", "company": "company", "companyMembership": "membership"}
_DATA_TYPES = frozenset({"number", "string", "boolean", "list", "datetime"})


#: The types the server gives values besides the capabilities' names (``value_type``).
DATETIME = "datetime"
#: An object value (the server's "Nil" type: stored as sent, only objects may follow it).
OBJECT = "object"
#: A type in the words of a message: "seats is a number in this environment".
WORDS = {
    NUMBER: "a number",
    BOOLEAN: "true/false",
    LIST: "a list",
    DATETIME: "a date-time",
    STRING: "text",
    OBJECT: "an object",
}
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{3})?Z\Z")


def value_type(value: AttributeValue) -> str | None:
    """The type Usertour gives ``value``; None for null (a removal has no type)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, list):
        return LIST
    if isinstance(value, dict):
        return OBJECT
    # A date-time is 20 or 24 characters ending in Z (_DATETIME): most text is not even looked at.
    if (
        isinstance(value, str)
        and len(value) in (20, 24)
        and value[-1] == "Z"
        and (match := _DATETIME.match(value))
    ):
        try:
            year, month, day, hour, minute, second = (int(part) for part in match.groups())
            datetime(year, month, day, hour, minute, second)
        except ValueError:
            return STRING  # 2024-02-30T..., 24:00 or 60 seconds: not an instant, a String
        return DATETIME
    return STRING


def _company(raw: Mapping[str, Any]) -> Company:
    return Company(str(raw["id"]), dict(raw.get("attributes") or {}))


def _membership(raw: Mapping[str, Any], companies: Mapping[str, Company]) -> Membership | None:
    company_raw = raw.get("company")
    company_id = company_raw.get("id") if isinstance(company_raw, dict) else raw.get("companyId")
    if company_id is None:
        return None
    if isinstance(company_raw, dict):
        company = _company(company_raw)
    else:
        company = companies.get(str(company_id), Company(str(company_id)))
    return Membership(company, dict(raw.get("attributes") or {}))


def to_live_user(body: Mapping[str, Any]) -> LiveUser:
    """Usertour's user object -> LiveUser (companies/memberships may be null when not expanded)."""
    attributes = dict(body.get("attributes") or {})
    email = attributes.get(_EMAIL)
    companies = {c.id: c for c in (_company(raw) for raw in body.get("companies") or [])}
    memberships = {}
    for raw in body.get("memberships") or []:
        membership = _membership(raw, companies)
        if membership is not None:
            memberships[membership.company.id] = membership
    return LiveUser(
        str(body["id"]),
        email=email if isinstance(email, str) else None,
        attributes=attributes,
        companies={cid: c.attributes for cid, c in companies.items()},
        memberships=memberships,
        shows_companies=body.get("companies") is not None and body.get("memberships") is not None,
    )


def definition_types(definitions: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str], str]:
    """The environment's type locks by (level, name), from its attribute definitions:
    (scope, codeName, dataType) as ``GET /v1/attribute-definitions`` gives them (scope
    ``user``, ``company``, ``companyMembership``; dataType ``number``, ``string``,
    ``boolean``, ``list``, ``datetime``: ``value_type``'s names). Event attributes and the
    server's random types are left out."""
    return {
        (_LEVELS[scope], name): kind
        for scope, name, kind in definitions
        if scope in _LEVELS and kind in _DATA_TYPES
    }


def request_body(upsert: Upsert) -> dict[str, Any]:
    """The POST /v1/users body; the email goes in ``attributes.email`` (top-level is ignored)."""
    attributes = dict(upsert.attributes)
    if upsert.email is not None:
        attributes[_EMAIL] = upsert.email
    body: dict[str, Any] = {"id": upsert.user_id}
    if attributes:
        body["attributes"] = attributes
    if upsert.companies:
        body["companies"] = [
            {"id": c.id, "attributes": dict(c.attributes)} for c in upsert.companies
        ]
    if upsert.memberships:
        body["memberships"] = [
            {
                "company": {"id": m.company.id, "attributes": dict(m.company.attributes)},
                "attributes": dict(m.attributes),
            }
            for m in upsert.memberships
        ]
    return body


def describe_request(upsert: Upsert) -> dict[str, Any]:
    """The exact request apply sends for this upsert, for saved plans and reviews."""
    return {"method": "POST", "path": USERS_PATH, "body": request_body(upsert)}


USERTOUR = ProviderKind(
    name="usertour",
    capabilities=Capabilities(
        events=False,
        companies=True,
        remove_attributes=True,
        value_types=frozenset({STRING, INTEGER, NUMBER, BOOLEAN, LIST}),
        email_attribute=_EMAIL,
        keeps_float_type=False,
        can_list=True,
        # New users and new companies get both, seeded by the server (apis/usertour.md).
        seeded_attributes=frozenset({"first_seen_at", "last_seen_at"}),
        locks_types=True,
        number_digits=NUMBER_DIGITS,
        max_request_bytes=MAX_REQUEST_BYTES,
    ),
    class_path="reconciler.providers.usertour:UsertourProvider",
    describe_request=describe_request,
    list_page_size=PAGE_SIZE,
)
