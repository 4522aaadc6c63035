"""Usertour's values: request validation, attribute types and their locking, response objects.

Facts come from apis/usertour.md and Usertour's open-source server (``apps/server/src/openapi``):
class-validator DTOs whose first message becomes the ``E1017`` error, ``getAttributeType``
deciding a value's type, and ``mapBizUserToUser`` shaping the user object.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from reconciler.model import Company, Membership
from reconciler.sandbox.store import StoredUser

#: The only string Usertour's v1 takes as a DateTime (apis/usertour.md).
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Internal ids (memberships, and a membership's companyId/userId) are opaque database ids in
#: Usertour, not the external ids a client sent; stable UUIDs stand in for them.
_INTERNAL_IDS = uuid.UUID("6f0d7b52-52c8-4d8f-a1f6-2b7c9e0d4a13")
#: Values of ``expand`` (Usertour's ExpandType enum).
EXPANDABLE = ("companies", "memberships", "memberships.company")


class Invalid(ValueError):
    """A request Usertour refuses with 400; ``code`` is its error code (E1017 validation)."""

    def __init__(self, message: str, code: str = "E1017") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class UpsertRequest:
    """A validated ``POST /v1/users`` body; None means "not sent"."""

    id: str
    attributes: Mapping[str, Any]
    companies: tuple[Company, ...] | None
    memberships: tuple[Membership, ...] | None


def parse_upsert(body: Any) -> UpsertRequest:
    """Validate like the UpsertUserRequestDto: properties in declaration order, first problem
    only. Unknown top-level keys are ignored (so an email must be ``attributes.email``)."""
    if not isinstance(body, dict):
        body = {}
    user_id = body.get("id")
    if not isinstance(user_id, str):
        raise Invalid("id must be a string")
    attributes = _optional_object(body.get("attributes"), "attributes")
    companies = _companies(body.get("companies"))
    memberships = _memberships(body.get("memberships"))
    # Checked by the service after the DTO: any two sent lists, even empty ones ([] is truthy).
    if companies is not None and memberships is not None:
        raise Invalid("Only one of companies or memberships can be set")
    return UpsertRequest(user_id, attributes or {}, companies, memberships)


def _optional_object(value: Any, where: str) -> dict[str, Any] | None:
    """``@IsOptional() @IsObject()``: null and absent pass, arrays are not objects."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(f"{where} must be an object")
    return {name: _js_number(item) for name, item in value.items()}


def _js_number(value: Any) -> Any:
    """JavaScript has one number type: 12.0 arrives as 12 and is answered as 12."""
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        return int(value)
    if isinstance(value, list):
        return [_js_number(item) for item in value]
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
    if not isinstance(value.get("id"), str):
        raise Invalid(f"{where}.id must be a string")
    attributes = _optional_object(value.get("attributes"), f"{where}.attributes")
    return Company(value["id"], attributes or {})


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
        company = _company(item.get("company"), f"{where}.company")
        attributes = _optional_object(item.get("attributes"), f"{where}.attributes") or {}
        memberships.append(Membership(company, attributes))
    return tuple(memberships)


def value_type(value: Any) -> str | None:
    """Usertour's ``getAttributeType``: number, string, DateTime, boolean or list.

    None for objects (Usertour's "Nil" type): the emulator never stores them, which also keeps
    the store's JSON merge from merging into them.
    """
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "datetime" if is_datetime(value) else "string"
    if isinstance(value, list):
        return "list"
    return None


def is_datetime(value: str) -> bool:
    """A string exactly like ``2024-03-20T08:30:00.000Z`` naming a real instant."""
    if not _DATETIME.fullmatch(value):
        return False
    try:
        datetime.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
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


def user_object(user: StoredUser, expand: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The v1 user object (``mapBizUserToUser``); companies and memberships only when expanded,
    else null. Company and membership creation times are not stored: ``createdAt`` is null."""
    memberships = None
    if "memberships" in expand or "memberships.company" in expand:
        with_company = "memberships.company" in expand
        memberships = [
            _membership_object(user.id, membership, with_company)
            for _, membership in sorted(user.memberships.items())
        ]
    companies = None
    if "companies" in expand:
        companies = [_company_object(m.company) for _, m in sorted(user.memberships.items())]
    return {
        "id": user.id,
        "object": "user",
        "attributes": dict(user.attributes),
        "createdAt": iso_ms(user.created_at),
        "companies": companies,
        "memberships": memberships,
    }


def _company_object(company: Company) -> dict[str, Any]:
    return {
        "id": company.id,
        "object": "company",
        "attributes": dict(company.attributes),
        "createdAt": None,
    }


def _membership_object(user_id: str, membership: Membership, with_company: bool) -> dict[str, Any]:
    """``companyId`` and ``userId`` are internal ids in Usertour, not the external ones: only
    ``expand[]=memberships.company`` tells which company a membership belongs to."""
    company_id = membership.company.id
    value: dict[str, Any] = {
        "id": internal_id("membership", user_id, company_id),
        "object": "company_membership",
        "attributes": dict(membership.attributes),
        "createdAt": None,
        "companyId": internal_id("company", company_id),
        "userId": internal_id("user", user_id),
    }
    if with_company:
        value["company"] = _company_object(membership.company)
    return value
