"""Sprig (formerly UserLeap) v2: GET /v2/users/{id} to read, POST /v2/users to upsert one user.

Vendor facts relied on (apis/sprig.md): ``Authorization: API-Key <key>``; upserts answer 202
``Accepted`` and are applied asynchronously (a GET right after may 404 or show the old state);
the email is sent as ``emailAddress`` and read back from the attribute ``!email``; events come
back aggregated per name as count, first (createdAt) and latest (updatedAt) timestamps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from reconciler.config import TargetConfig
from reconciler.errors import TargetError
from reconciler.model import EventStats, LiveUser, Upsert
from reconciler.providers import CAPABILITIES
from reconciler.providers.base import Provider
from reconciler.providers.http import (
    ApiClient,
    check_destination,
    fan_out,
    read_api_key,
    user_path,
)
from reconciler.retry import RetryPolicy

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


def to_live_user(user_id: str, body: Mapping[str, Any]) -> LiveUser:
    """Sprig's GET body -> LiveUser."""
    attributes = dict(body.get("attributes") or {})
    email = attributes.get(EMAIL_ATTRIBUTE)
    events = {
        event["event"]: EventStats(
            count=int(event.get("count", 0)),
            first=int(event.get("createdAt", 0)),
            latest=int(event.get("updatedAt", event.get("createdAt", 0))),
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


class SprigProvider(Provider):
    kind = "sprig"
    capabilities = CAPABILITIES["sprig"]
    #: Upserts become visible later: verification must poll (SPEC section 3).
    eventually_consistent = True

    def __init__(
        self, target: TargetConfig, base_url: str, api_key: str, retry: RetryPolicy | None = None
    ) -> None:
        super().__init__(target.name)
        self.parallelism = target.parallelism
        self._api = ApiClient(target, base_url, f"API-Key {api_key}", describe_error, retry)
        self.retry = self._api.retry

    def read_users(
        self, user_ids: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> Mapping[str, LiveUser]:
        found = fan_out(self._read_one, list(user_ids), self.parallelism, progress)
        return {user.id: user for user in found if user is not None}

    def _read_one(self, user_id: str) -> LiveUser | None:
        response = self._api.request("GET", user_path("/v2/users", user_id))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._api.failure(response, f"reading user {user_id}")
        try:
            return to_live_user(user_id, response.json())
        except (ValueError, TypeError, KeyError) as error:
            raise TargetError(self.target, f"unreadable answer for user {user_id}") from error

    def upsert(self, upsert: Upsert) -> LiveUser | None:
        content = json.dumps(request_body(upsert), ensure_ascii=False).encode()
        response = self._api.request(
            "POST", "/v2/users", content=content, headers={"Content-Type": "application/json"}
        )
        if not response.is_success:
            raise self._api.failure(response, f"upserting user {upsert.user_id}")
        return None  # 202 Accepted: the state shows later, the applier polls.

    def close(self) -> None:
        self._api.close()


def from_config(target: TargetConfig, environ: Mapping[str, str]) -> SprigProvider:
    base_url = check_destination(
        target.name, target.base_url or DEFAULT_BASE_URL, OFFICIAL_HOSTS, environ
    )
    key = read_api_key(target, environ)
    return SprigProvider(target, base_url, key, RetryPolicy.from_env(environ))
