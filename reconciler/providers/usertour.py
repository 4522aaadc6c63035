"""Usertour v1: GET /v1/users/{id} (companies and memberships expanded), POST /v1/users.

Vendor facts relied on (apis/usertour.md): ``Authorization: Bearer``; errors in an envelope
``{"error": {"code", "message"}}`` (NestJS's own shape for malformed JSON); upserts answer 201
(the docs say 200: any 2xx is fine) with the user; the email is the attribute ``email``;
``null`` deletes an attribute; the first value of an attribute fixes its type and later values
of another type are silently dropped, which the applier notices by comparing the answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import httpx

from reconciler.config import TargetConfig
from reconciler.errors import TargetError
from reconciler.model import Company, LiveUser, Membership, Upsert
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

DEFAULT_BASE_URL = "https://api.usertour.io"
OFFICIAL_HOSTS = ("api.usertour.io",)
EMAIL_ATTRIBUTE = "email"
#: Memberships carry internal company ids; only the expanded company tells its external id.
EXPAND = [
    ("expand[]", "companies"),
    ("expand[]", "memberships"),
    ("expand[]", "memberships.company"),
]


def describe_error(response: httpx.Response) -> str:
    """``403 E1000 Invalid API key provided``; NestJS bodies and plain text as they come."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text.strip()}".strip()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{response.status_code} {error.get('code', '')} {error.get('message', '')}".strip()
    if isinstance(body, dict) and "message" in body:
        message = body["message"]
        text = "; ".join(map(str, message)) if isinstance(message, list) else str(message)
        return f"{response.status_code} {text}"
    return f"{response.status_code} {response.text.strip()}"


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
    email = attributes.get(EMAIL_ATTRIBUTE)
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
    )


def request_body(upsert: Upsert) -> dict[str, Any]:
    """The POST /v1/users body; the email goes in ``attributes.email`` (top-level is ignored)."""
    attributes = dict(upsert.attributes)
    if upsert.email is not None:
        attributes[EMAIL_ATTRIBUTE] = upsert.email
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
    return {"method": "POST", "path": "/v1/users", "body": request_body(upsert)}


class UsertourProvider(Provider):
    kind = "usertour"
    capabilities = CAPABILITIES["usertour"]
    eventually_consistent = False

    def __init__(
        self, target: TargetConfig, base_url: str, api_key: str, retry: RetryPolicy | None = None
    ) -> None:
        super().__init__(target.name)
        self.parallelism = target.parallelism
        self._api = ApiClient(target, base_url, f"Bearer {api_key}", describe_error, retry)
        self.retry = self._api.retry

    def read_users(
        self, user_ids: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> Mapping[str, LiveUser]:
        found = fan_out(self._read_one, list(user_ids), self.parallelism, progress)
        return {user.id: user for user in found if user is not None}

    def _read_one(self, user_id: str) -> LiveUser | None:
        response = self._api.request("GET", user_path("/v1/users", user_id), params=EXPAND)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._api.failure(response, f"reading user {user_id}")
        return self._parse(response, user_id)

    def _parse(self, response: httpx.Response, user_id: str) -> LiveUser:
        try:
            return to_live_user(response.json())
        except (ValueError, TypeError, KeyError) as error:
            raise TargetError(self.target, f"unreadable answer for user {user_id}") from error

    def upsert(self, upsert: Upsert) -> LiveUser | None:
        content = json.dumps(request_body(upsert), ensure_ascii=False).encode()
        response = self._api.request(
            "POST", "/v1/users", content=content, headers={"Content-Type": "application/json"}
        )
        if not response.is_success:
            raise self._api.failure(response, f"upserting user {upsert.user_id}")
        if upsert.companies or upsert.memberships:
            return None  # the answer need not expand them: the applier reads the user back
        return self._parse(response, upsert.user_id)

    def close(self) -> None:
        self._api.close()


def from_config(target: TargetConfig, environ: Mapping[str, str]) -> UsertourProvider:
    base_url = check_destination(
        target.name, target.base_url or DEFAULT_BASE_URL, OFFICIAL_HOSTS, environ
    )
    key = read_api_key(target, environ)
    return UsertourProvider(target, base_url, key, RetryPolicy.from_env(environ))
