"""Sprig (formerly UserLeap) v2: GET /v2/users/{id} to read, POST /v2/users to upsert one user.

Vendor facts relied on (apis/sprig.md): ``Authorization: API-Key <key>``; upserts answer 202
``Accepted`` and are applied asynchronously (a GET right after may 404 or show the old state);
the email is sent as ``emailAddress`` and read back from the attribute ``!email``; events come
back aggregated per name as count, first (createdAt) and latest (updatedAt) timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from reconciler.model import EventStats, LiveUser, Upsert
from reconciler.providers import CAPABILITIES
from reconciler.providers.rest import HttpProvider

DEFAULT_BASE_URL = "https://api.sprig.com"
OFFICIAL_HOSTS = ("api.sprig.com", "api.userleap.com")
EMAIL_ATTRIBUTE = "!email"


def describe_error(response: httpx.Response) -> str:
    """Sprig's errors in its own words: ``{"error": "..."}`` or a plain-text body."""
    detail = response.text.strip()
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        detail = body["error"]
    return f"{response.status_code} {detail}".strip()


def missing_user(response: httpx.Response) -> bool:
    """A 404 whose body is the plain text ``Not Found`` is a missing user (or one not processed
    yet); any other 404 (JSON, an HTML page, a proxy's text) is not Sprig's answer, so the URL
    is wrong.

    Sprig documents no body that tells a missing user from a route it lacks, and a wrong path
    on Sprig's own host may well answer the same text. Concluding "absent" there is still safe:
    the plan shows users to create, and apply's ``POST /v2/users``, on the same wrong path,
    is refused with a 404 that names the URL (the upsert route never answers "no such user"),
    so nothing is written and no event is recorded through a route that does not exist.
    """
    return response.text.strip() == "Not Found"


def to_live_user(user_id: str, body: Mapping[str, Any]) -> LiveUser:
    """Sprig's GET body -> LiveUser."""
    attributes = dict(body.get("attributes") or {})
    email = attributes.get(EMAIL_ATTRIBUTE)
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
    return {"method": "POST", "path": "/v2/users", "body": request_body(upsert)}


class SprigProvider(HttpProvider):
    kind = "sprig"
    capabilities = CAPABILITIES["sprig"]
    #: Upserts answer 202 and become visible later: verification must poll (SPEC section 3).
    eventually_consistent = True
    auth_scheme = "API-Key"
    users_path = "/v2/users"
    default_base_url = DEFAULT_BASE_URL
    official_hosts = OFFICIAL_HOSTS
    describe_error = staticmethod(describe_error)
    missing_user = staticmethod(missing_user)

    def to_live_user(self, user_id: str, body: Any) -> LiveUser:
        return to_live_user(user_id, body)

    def request_body(self, upsert: Upsert) -> dict[str, Any]:
        return request_body(upsert)


from_config = SprigProvider.from_config
