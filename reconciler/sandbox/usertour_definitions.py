"""Usertour's ``GET /v1/attribute-definitions``, emulated: every attribute's type and scope.

Facts from the real server at f9f8065f1 (``openapi/attribute-definitions``, and seen on it):
an environment starts with built-in definitions (``email``, ``name``, ``first_seen_at``, ...)
whose types are locked from the start, so ``name: 5`` is dropped like any value of another
type; each new name gets a definition with the type of its first value; ``dataType`` is
``number``, ``string``, ``boolean``, ``list`` or ``datetime`` (an object's is ``string``);
``scope`` is ``user``, ``company`` or ``companyMembership`` (the server's event attributes, of
scope ``eventDefinition``, are not emulated). Pages of ``limit`` (1-100, default 20) ordered by
``displayName``, ``next`` keeping ``limit`` and adding ``cursor``. Pure: the store holds the
locks (``type:{scope}:{name}`` keys, usertour_values.TypeLocks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.usertour_listing import InvalidQuery, Limit, Query, parse_limit
from reconciler.sandbox.usertour_values import internal_id

#: The store's keys of type locks start with this.
LOCK_PREFIX = "type:"
#: Definitions every environment starts with (scope, name, type), as the real server seeds
#: them: values of another type are dropped from the first write on.
BUILT_IN: dict[str, str] = {
    "type:user:email": "string",
    "type:user:name": "string",
    "type:user:locale_code": "string",
    "type:user:first_seen_at": "datetime",
    "type:user:last_seen_at": "datetime",
    "type:user:signed_up_at": "datetime",
    "type:company:name": "string",
    "type:company:first_seen_at": "datetime",
    "type:company:last_seen_at": "datetime",
    "type:company:signed_up_at": "datetime",
}
_SCOPES = {"user": "user", "company": "company", "membership": "companyMembership"}
_SCOPE_VALUES = (
    "content, user, company, companyMembership, contentVersion, contentSession, "
    "attributeDefinition, eventDefinition, contentSessionAnswer, question"
)


@dataclass(frozen=True, slots=True)
class DefinitionsPage:
    results: list[dict[str, Any]]
    next_cursor: str | None
    limit: Limit


def definitions_page(locks: Sequence[tuple[str, Any]], query: Query) -> DefinitionsPage:
    """The page ``query`` asks for, of the built-in definitions and the stored ``locks``."""
    limit = parse_limit(query)
    scopes = query.get("scope")
    scope = scopes[-1] if scopes else None
    if scope is not None and scope not in _SCOPE_VALUES.split(", "):
        raise InvalidQuery(f"scope must be one of the following values: {_SCOPE_VALUES}")
    everything = {**BUILT_IN, **dict(locks)}
    definitions = [
        _definition(key, kind)
        for key, kind in everything.items()
        if key.startswith(LOCK_PREFIX) and key.count(":") >= 2
    ]
    shown = [d for d in definitions if scope is None or d["scope"] == scope]
    shown.sort(key=lambda d: (d["displayName"], d["scope"], d["id"]))
    cursors = query.get("cursor")
    cursor = cursors[-1] if cursors else None
    if cursor is not None:
        ids = [d["id"] for d in shown]
        if cursor not in ids:
            raise InvalidQuery("Invalid cursor parameter")
        shown = shown[ids.index(cursor) + 1 :]
    page = shown[: limit.size]
    next_cursor = page[-1]["id"] if len(shown) > limit.size else None
    return DefinitionsPage(page, next_cursor, limit)


def _definition(key: str, kind: str) -> dict[str, Any]:
    _, scope, name = key.split(":", 2)
    return {
        "id": internal_id("attribute", scope, name),
        "object": "attributeDefinition",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "dataType": "string" if kind == "nil" else kind,
        "description": "",
        "displayName": name[:1].upper() + name[1:],
        "codeName": name,
        "scope": _SCOPES.get(scope, scope),
    }
