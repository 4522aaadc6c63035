"""Sprig's facts, known offline: what it holds, and its wire format for users (pure functions).

Vendor facts relied on (apis/sprig.md): attributes are strings, integers or booleans, at most
100 per user, and cannot be deleted; ``!``-prefixed names are Sprig's own; the email is sent as
``emailAddress`` and read back from the attribute ``!email``; events are append-only history,
read back aggregated per name as count, first (createdAt) and latest (updatedAt) timestamps;
upserts answer 202 and are applied later. No list endpoint. The HTTP side is ``sprig.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds.kind import BOOLEAN, INTEGER, STRING, Capabilities, ProviderKind
from reconciler.model import EventStats, LiveUser, Upsert

#: GET ``{USERS_PATH}/{id}`` reads a user, POST ``{USERS_PATH}`` upserts one.
USERS_PATH = "/v2/users"
_EMAIL = "!email"


def to_live_user(user_id: str, body: Mapping[str, Any]) -> LiveUser:
    """Sprig's GET body -> LiveUser (the body's ``externalUserId`` may be null: the id asked)."""
    attributes = dict(body.get("attributes") or {})
    email = attributes.get(_EMAIL)
    events = {
        event["event"]: EventStats(
            count=int(event.get("count", 0)),
            first=int(event.get("createdAt", 0)),
            latest=int(event.get("updatedAt") or event.get("createdAt") or 0),
        )
        for event in body.get("events") or []
        if isinstance(event, dict) and "event" in event
    }
    return LiveUser(
        user_id,
        email=email if isinstance(email, str) else None,
        attributes=attributes,
        events=events,
    )


def request_body(upsert: Upsert) -> dict[str, Any]:
    """The POST /v2/users body: only what changes (Sprig merges attributes)."""
    body: dict[str, Any] = {"userId": upsert.user_id}
    if upsert.attributes:
        body["attributes"] = dict(upsert.attributes)
    if upsert.email is not None:
        body["emailAddress"] = upsert.email
    if upsert.events:
        body["events"] = [{"event": e.name, "timestamp": e.timestamp} for e in upsert.events]
    return body


def describe_request(upsert: Upsert) -> dict[str, Any]:
    """The exact request apply sends for this upsert, for saved plans and reviews."""
    return {"method": "POST", "path": USERS_PATH, "body": request_body(upsert)}


SPRIG = ProviderKind(
    name="sprig",
    capabilities=Capabilities(
        events=True,
        companies=False,
        remove_attributes=False,
        value_types=frozenset({STRING, INTEGER, BOOLEAN}),
        max_attributes=100,
        reserved_prefix="!",
        email_attribute=_EMAIL,
        keeps_float_type=False,
        can_list=False,
        cannot_list_because=(
            "Sprig has no list endpoint and no delete (its only removal is the GDPR purge, "
            "which reconciler never sends)"
        ),
    ),
    class_path="reconciler.providers.sprig:SprigProvider",
    describe_request=describe_request,
    # Upserts answer 202 and become visible later: verification must poll (SPEC section 3).
    eventually_consistent=True,
    # Sprig documents no bound on its processing delay; writes show within seconds, minutes at
    # worst. An hour is the bound reconciler relies on (README, "Exactly once").
    settles_within=3600.0,
)
