"""Usertour's values: request validation, attribute types and their locking, response objects.

Facts come from apis/usertour.md and Usertour's open-source server (``apps/server/src/openapi``):
class-validator DTOs whose first message becomes the ``E1017`` error, ``getAttributeType``
deciding a value's type, and ``mapBizUserToUser`` shaping the user object.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from reconciler.model import Company, Membership
from reconciler.sandbox.store import StoredUser

#: A DateTime string (``isValidISO8601`` of @usertour/helpers): milliseconds optional.
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{3})?Z")
#: Integers a JavaScript number holds exactly; beyond them the server rounds (a double).
_EXACT = 2**53
#: Below this ``JSON.stringify`` writes an integral double as digits, from it in e-notation.
_JS_DIGITS = 10**21
#: Integers below this (64 bits) are read exactly, then made the nearest double.
_WORD = 2**64
#: Significant digits the server keeps of any other number.
NUMBER_DIGITS = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Internal ids (memberships, and a membership's companyId/userId) are opaque database ids in
#: Usertour, not the external ids a client sent; stable UUIDs stand in for them.
_INTERNAL_IDS = uuid.UUID("6f0d7b52-52c8-4d8f-a1f6-2b7c9e0d4a13")


class Invalid(ValueError):
    """A request Usertour refuses with 400; ``code`` is its error code (E1017 validation)."""

    def __init__(self, message: str, code: str = "E1017") -> None:
        super().__init__(message)
        self.code = code


class Unstorable(ValueError):
    """A valid request the server's database cannot hold: it answers 500 E0000."""


@dataclass(frozen=True, slots=True)
class UpsertRequest:
    """A validated ``POST /v1/users`` body; None means "not sent"."""

    id: str
    attributes: Mapping[str, Any]
    companies: tuple[Company, ...] | None
    memberships: tuple[Membership, ...] | None


def parse_upsert(body: Any) -> UpsertRequest:
    """Validate like the UpsertUserRequestDto: properties in declaration order, first problem
    only. Unknown top-level keys are ignored (so an email must be ``attributes.email``).

    ``companies`` and ``memberships`` may come together: the service processes both lists.
    """
    if not isinstance(body, dict):
        body = {}
    user_id = _non_blank(_as_text(body.get("id")), "id must be a non-empty string")
    attributes = _optional_object(body.get("attributes"), "attributes")
    companies = _companies(body.get("companies"))
    memberships = _memberships(body.get("memberships"))
    return UpsertRequest(user_id, attributes or {}, companies, memberships)


def storable(request: UpsertRequest) -> UpsertRequest:
    """The request, unless it holds text the real server's PostgreSQL cannot store (a NUL or a
    lone surrogate, in an id, a name or a value): the whole upsert then fails with 500 E0000
    and writes nothing (seen on it). One difference: the server checks only the values that
    survive type locking; the emulator checks them all."""
    companies = [*(request.companies or ()), *(m.company for m in request.memberships or ())]
    maps = [request.attributes, *(c.attributes for c in companies)]
    maps += [m.attributes for m in request.memberships or ()]
    texts = _strings([request.id, *(c.id for c in companies), maps])
    if any("\x00" in text or _has_surrogate(text) for text in texts):
        raise Unstorable("text the database cannot hold")
    return request


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield key
            yield from _strings(item)


def _as_text(value: Any) -> Any:
    """A number or boolean id as JavaScript's ``String()`` writes it (the real server takes
    ``{"id": 12345}`` as the user ``"12345"`` and ``true`` as ``"true"``); others as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = js_value(value)
        return str(number) if number is not None else value
    return value


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _non_blank(value: Any, message: str) -> str:
    """``@IsString() @Matches(/\\S/)``: the server reports the last failing constraint, so a
    missing, non-string or whitespace-only id all read "... must be a non-empty string"."""
    if not isinstance(value, str) or not re.search(r"\S", value):
        raise Invalid(message)
    return value


def _optional_object(value: Any, where: str) -> dict[str, Any] | None:
    """``@IsOptional() @IsObject()``: null and absent pass, arrays are not objects."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(f"{where} must be an object")
    return {name: js_value(item) for name, item in value.items()}


def js_value(value: Any) -> Any:
    """A JSON value as the real server stores it (seen on it, tests/contract).

    One number type, a double: 12.0 arrives as 12; an integer that fits 64 bits becomes the
    nearest double (9007199254740993 is kept as 9007199254740992); any other number keeps
    16 significant digits (``0.30000000000000004`` is kept as 0.3, 1.2345678901234568e+23
    as 1.234567890123457e+23); one beyond the doubles (``1e400``) is kept as null. Written
    back as digits below 10^21 and in e-notation from there, like ``JSON.stringify``.
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number: int | float
        if isinstance(value, int) and abs(value) < _WORD:
            number = value if abs(value) <= _EXACT else float(value)
        else:
            try:
                double = float(value)
            except OverflowError:  # an integer literal beyond the doubles
                return None
            if not math.isfinite(double):
                return None
            number = float(f"{double:.{NUMBER_DIGITS}g}")
        if isinstance(number, float) and number.is_integer() and abs(number) < _JS_DIGITS:
            return int(number)
        return number
    if isinstance(value, list):
        return [js_value(item) for item in value]
    if isinstance(value, dict):
        return {name: js_value(item) for name, item in value.items()}
    return value


def _items(value: Any, where: str) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise Invalid(f"{where} must be an array")
    for item in value:
        if not isinstance(item, dict):
            raise Invalid(f"each value in nested property {where} must be either object or array")
    return value


def _company(value: Any, where: str) -> Company:
    if not isinstance(value, dict):
        raise Invalid(f"nested property {where} must be either object or array")
    company_id = _non_blank(value.get("id"), f"{where}.company id must be a non-empty string")
    attributes = _optional_object(value.get("attributes"), f"{where}.attributes")
    return Company(company_id, attributes or {})


def _companies(value: Any) -> tuple[Company, ...] | None:
    items = _items(value, "companies")
    if items is None:
        return None
    return tuple(_company(item, f"companies.{index}") for index, item in enumerate(items))


def _memberships(value: Any) -> tuple[Membership, ...] | None:
    items = _items(value, "memberships")
    if items is None:
        return None
    memberships = []
    for index, item in enumerate(items):
        where = f"memberships.{index}"
        if item.get("company") is None:
            # The real server validates no company here and fails writing it: 500 E0000.
            raise Unstorable(f"{where}: a membership without a company")
        company = _company(item.get("company"), f"{where}.company")
        attributes = _optional_object(item.get("attributes"), f"{where}.attributes") or {}
        memberships.append(Membership(company, attributes))
    return tuple(memberships)


def value_type(value: Any) -> str | None:
    """Usertour's ``getAttributeType``: number, string, DateTime, boolean, list, or "nil" for
    an object (stored as sent, and only objects may follow it). None for null (a delete)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "datetime" if is_datetime(value) else "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "nil"
    return None


def is_datetime(value: str) -> bool:
    """``2024-03-20T08:30:00.000Z`` or ``2024-03-20T08:30:00Z`` naming a real instant (the
    server parses it and compares with ``toISOString()``: no 24:00, no 60 seconds)."""
    match = _DATETIME.fullmatch(value)
    if match is None:
        return False
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return False
    return True


class TypeLocks:
    """Usertour's type locking for one upsert: the first type seen for an attribute name in the
    environment is its type for good; values of another type are dropped without an error.

    ``propose`` collects the type each sent value would claim (first one wins within the
    request too); the store claims them atomically (``setdefault_meta``); ``keep`` then filters.
    Users, companies and memberships have separate attribute definitions (``scope``).
    """

    def __init__(self) -> None:
        self.proposals: dict[str, str] = {}

    @staticmethod
    def key(scope: str, name: str) -> str:
        return f"type:{scope}:{name}"

    def propose(self, scope: str, attributes: Mapping[str, Any]) -> None:
        for name, value in attributes.items():
            kind = value_type(value)
            if kind is not None:
                self.proposals.setdefault(self.key(scope, name), kind)

    def keep(
        self, scope: str, attributes: Mapping[str, Any], locked: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The values that stick: ``None`` (delete) always, others when their type is locked."""
        return {
            name: value
            for name, value in attributes.items()
            if value is None or value_type(value) == locked.get(self.key(scope, name))
        }


def iso_ms(ms: int) -> str:
    """Unix milliseconds as JavaScript's ``Date.toISOString()``: ``2024-03-20T08:30:00.000Z``."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def internal_id(*parts: str) -> str:
    """A stable stand-in for one of Usertour's database ids."""
    return str(uuid.uuid5(_INTERNAL_IDS, "\x1f".join(parts)))


#: (user id, company id) -> (membership created, company created), Unix ms.
RelationTimes = Mapping[tuple[str, str], tuple[int, int]]
#: Membership objects are ``object: "companyMembership"`` (OpenApiObjectType).
MEMBERSHIP_OBJECT = "companyMembership"


def user_object(
    user: StoredUser, expand: frozenset[str] = frozenset(), times: RelationTimes | None = None
) -> dict[str, Any]:
    """The v1 user object (``mapBizUserToUser``); companies and memberships only when expanded,
    else null, in the order the user joined them. ``times`` gives their ``createdAt``."""
    times = times or {}

    def joined(item: tuple[str, Membership]) -> tuple[int, str]:
        return (times.get((user.id, item[0]), (0, 0))[0], item[0])

    ordered = sorted(user.memberships.items(), key=joined)
    memberships = None
    if "memberships" in expand or "memberships.company" in expand:
        with_company = "memberships.company" in expand
        memberships = [
            _membership_object(user.id, m, with_company, times.get((user.id, company_id)))
            for company_id, m in ordered
        ]
    companies = None
    if "companies" in expand:
        companies = [
            _company_object(m.company, times.get((user.id, company_id)))
            for company_id, m in ordered
        ]
    return {
        "id": user.id,
        "object": "user",
        "attributes": dict(user.attributes),
        "createdAt": iso_ms(user.created_at),
        "companies": companies,
        "memberships": memberships,
    }


def _company_object(company: Company, times: tuple[int, int] | None) -> dict[str, Any]:
    return {
        "id": company.id,
        "object": "company",
        "attributes": dict(company.attributes),
        "createdAt": iso_ms(times[1]) if times else None,
    }


def _membership_object(
    user_id: str, membership: Membership, with_company: bool, times: tuple[int, int] | None
) -> dict[str, Any]:
    """``companyId`` and ``userId`` are internal ids in Usertour, not the external ones: only
    ``expand[]=memberships.company`` tells which company a membership belongs to."""
    company_id = membership.company.id
    value: dict[str, Any] = {
        "id": internal_id("membership", user_id, company_id),
        "object": MEMBERSHIP_OBJECT,
        "attributes": dict(membership.attributes),
        "createdAt": iso_ms(times[0]) if times else None,
        "companyId": internal_id("company", company_id),
        "userId": internal_id("user", user_id),
    }
    if with_company:
        value["company"] = _company_object(membership.company, times)
    return value
