"""Usertour v1: GET /v1/users/{id} (companies and memberships expanded), POST /v1/users.

Vendor facts relied on (apis/usertour.md): ``Authorization: Bearer``; errors in an envelope
``{"error": {"code", "message"}}`` (NestJS's own shape for malformed JSON); upserts answer 201
(the docs say 200: any 2xx is fine) with the user; the email is the attribute ``email``;
``null`` deletes an attribute; the first value of an attribute fixes its type and later values
of another type are silently dropped, which the applier notices by comparing the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from reconciler.model import Company, LiveUser, Membership, Upsert
from reconciler.providers import CAPABILITIES
from reconciler.providers.rest import HttpProvider

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


class UsertourProvider(HttpProvider):
    kind = "usertour"
    capabilities = CAPABILITIES["usertour"]
    auth_scheme = "Bearer"
    users_path = "/v1/users"
    read_params = EXPAND
    default_base_url = DEFAULT_BASE_URL
    official_hosts = OFFICIAL_HOSTS
    describe_error = staticmethod(describe_error)

    def to_live_user(self, user_id: str, body: Any) -> LiveUser:
        return to_live_user(body)

    def request_body(self, upsert: Upsert) -> dict[str, Any]:
        return request_body(upsert)

    def answered(self, response: httpx.Response, upsert: Upsert) -> LiveUser | None:
        """Usertour answers with the user, which is what verification compares; the answer
        does not expand companies or memberships, so a user carrying them is read back."""
        if upsert.companies or upsert.memberships:
            return None
        return self.parse(response, upsert.user_id)


from_config = UsertourProvider.from_config
