"""Usertour's v1 user API, emulated: upsert, get, list and delete users, delete memberships.

Facts come from apis/usertour.md and Usertour's open-source server; values, validation and
type locking live in usertour_values.py, this module is the HTTP dialect: routes, the
``{"error": {code, message, doc_url}}`` envelope, auth codes and NestJS's own bodies.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from reconciler.model import Company, Membership, Upsert
from reconciler.sandbox.store import StoredUser, UserStore
from reconciler.sandbox.usertour_values import (
    EXPANDABLE,
    Invalid,
    TypeLocks,
    UpsertRequest,
    internal_id,
    iso_ms,
    parse_upsert,
    user_object,
)
from reconciler.sandbox.vendor import Handler, VendorApi
from reconciler.sandbox.wire import (
    MalformedJSON,
    Request,
    Response,
    json_response,
    path_param,
    text_response,
)

#: The store namespace of the emulated Usertour environment (one key, one environment).
NAMESPACE = "usertour"
#: Every error envelope links the docs (OpenAPIExceptionFilter's fallback).
DOC_URL = "https://docs.usertour.io"
#: Attributes Usertour seeds on a new user; not declared by anyone, so never managed.
SEEDED_ATTRIBUTES = ("first_seen_at", "last_seen_at")


def error(
    status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = ()
) -> Response:
    """Usertour's error envelope."""
    body = {"error": {"code": code, "message": message, "doc_url": DOC_URL}}
    return json_response(status, body, headers)


def nest_error(status: int, message: str, reason: str) -> Response:
    """NestJS's own body, used where Usertour's filter never runs (body parser, unknown route)."""
    return json_response(status, {"statusCode": status, "message": message, "error": reason})


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class UsertourApi(VendorApi):
    """The Usertour environment that one API key opens, over the store's ``usertour`` namespace."""

    name = "usertour"
    prefix = "/v1/"
    auth_scheme = "Bearer"

    def __init__(self, store: UserStore, key: str, clock: Callable[[], int] = _now_ms) -> None:
        self._store = store
        self._key = key.encode("utf-8")
        self._clock = clock
        # "Is this user new?" and the write that seeds first_seen_at form one step.
        self._lock = threading.Lock()
        self._types: dict[str, Any] = {}

    def route(self, request: Request) -> Handler | None:
        path, method = request.path, request.method
        if path in ("/v1/users", "/v1/users/"):  # Express routing ignores a trailing slash
            return {"POST": self._upsert, "GET": self._list}.get(method)
        if path == "/v1/company-memberships" and method == "DELETE":
            return self._delete_membership
        user_id = path_param(path, "/v1/users/")
        if user_id is None:
            return None
        if method == "GET":
            return lambda request: self._get(user_id, request)
        if method == "DELETE":
            return lambda _request: self._delete(user_id)
        return None

    def not_found(self, request: Request) -> Response:
        return nest_error(404, f"Cannot {request.method} {request.target}", "Not Found")

    def preflight(self, request: Request) -> Response | None:
        """Express's JSON body parser runs before any guard: malformed JSON is a 400 in
        NestJS's format even without a key. In strict mode only objects and arrays parse."""
        try:
            body = request.json()
        except MalformedJSON as exc:
            return nest_error(400, _node_json_message(request.body, exc.position), "Bad Request")
        if not isinstance(body, (dict, list)):
            return nest_error(400, _node_json_message(request.body, 0), "Bad Request")
        return None

    def authenticate(self, request: Request) -> Response | None:
        """``Authorization: Bearer ak_...``: missing or another scheme is 401 E1010; a key
        that opens no environment is 403 E1000. The scheme is case-sensitive, as in the
        server's guard (``authHeader.split(' ')``)."""
        parts = (request.header("authorization") or "").split(" ")
        if parts[0] != "Bearer" or len(parts) < 2 or not parts[1]:
            return error(401, "E1010", "Missing API key")
        if not hmac.compare_digest(parts[1].encode("utf-8"), self._key):
            return error(403, "E1000", "Invalid API key provided")
        return None

    def too_many_requests(self, retry_after: int | None) -> Response:
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        return error(429, "E1013", "Too many requests", headers)

    def failure(self, status: int) -> Response:
        if status == 429:
            return self.too_many_requests(None)
        if status == 502:
            return text_response(502, "Bad Gateway")  # a proxy's answer: Usertour's was lost
        if status == 503:
            return error(503, "E1014", "Service unavailable")
        return error(status, "E0000", "An unexpected error occurred")

    def _upsert(self, request: Request) -> Response:
        """Create or merge a user; 201 with the user object, companies and memberships null
        (the service answers ``getUser`` without expand)."""
        try:
            upsert = parse_upsert(request.json())
        except Invalid as exc:
            return error(400, exc.code, str(exc))
        with self._lock:
            user = self._write(upsert)
        return json_response(201, user_object(user))

    def _write(self, request: UpsertRequest) -> StoredUser:
        """Seed a new user's first/last seen, claim attribute types, keep what matches them."""
        seeds: dict[str, Any] = {}
        if self._store.get_user(NAMESPACE, request.id) is None:
            now = iso_ms(self._clock())
            seeds = dict.fromkeys(SEEDED_ATTRIBUTES, now)
        companies = request.companies or ()
        memberships = request.memberships or ()
        locks = TypeLocks()
        locks.propose("user", seeds)
        locks.propose("user", request.attributes)
        for company in (*companies, *(m.company for m in memberships)):
            locks.propose("company", company.attributes)
        for membership in memberships:
            locks.propose("membership", membership.attributes)
        locked = self._claim_types(locks.proposals)
        attributes = {**seeds, **request.attributes}
        kept = locks.keep("user", attributes, locked)
        email = kept.get("email")
        upsert = Upsert(
            request.id,
            kept,
            email if isinstance(email, str) else None,
            companies=tuple(_company(c, locks, locked) for c in companies),
            memberships=tuple(_membership(m, locks, locked) for m in memberships),
        )
        return self._store.upsert(NAMESPACE, upsert)

    def _claim_types(self, proposals: Mapping[str, str]) -> Mapping[str, Any]:
        """Claim types for names not seen yet; a claimed type never changes, so it is cached
        and most upserts need no transaction for it (the caller holds ``_lock``)."""
        unknown = {key: kind for key, kind in proposals.items() if key not in self._types}
        if unknown:
            self._types.update(self._store.setdefault_meta(NAMESPACE, unknown))
        return self._types

    def _get(self, user_id: str, request: Request) -> Response:
        try:
            expand = _expand(request.query)
        except Invalid as exc:
            return error(400, exc.code, str(exc))
        user = self._store.get_user(NAMESPACE, user_id)
        if user is None:
            return error(404, "E1001", "User not found")
        return json_response(200, user_object(user, expand))

    def _list(self, request: Request) -> Response:
        """A page in creation order; ``next`` is a relative URL keeping the other parameters.

        ``previous`` is always null: the store pages forwards only, and reconciler never
        walks backwards. A cursor is the creation sequence of the last user of the page.
        """
        query = request.query
        try:
            limit, expand = _limit(query), _expand(query)
            _order_by(query)
            email, company_id = _single(query, "email"), _single(query, "companyId")
            page = self._store.list_users(
                NAMESPACE,
                limit=limit,
                after=_single(query, "cursor"),
                email=email,
                company_id=company_id,
            )
        except Invalid as exc:
            return error(400, exc.code, str(exc))
        except ValueError:
            return error(400, "E1007", "Invalid cursor parameter")
        # The store's email index is never cleared when attributes.email is deleted with
        # null: filtering on the attribute itself keeps the answer right.
        users = [u for u in page.users if email is None or u.attributes.get("email") == email]
        next_url = None
        if page.next_cursor is not None:
            next_url = _page_url(request, page.next_cursor, limit)
        results = [user_object(user, expand) for user in users]
        return json_response(200, {"results": results, "next": next_url, "previous": None})

    def _delete(self, user_id: str) -> Response:
        if not self._store.delete_user(NAMESPACE, user_id):
            return error(404, "E1001", "User not found")
        return json_response(200, {"id": user_id, "object": "user", "deleted": True})

    def _delete_membership(self, request: Request) -> Response:
        user_id = _single(request.query, "userId") or ""
        company_id = _single(request.query, "companyId") or ""
        if not user_id or not company_id:
            name = "companyId" if user_id else "userId"
            return error(400, "E1017", f"{name} should not be empty")
        if not self._store.delete_membership(NAMESPACE, user_id, company_id):
            return error(404, "E1003", "Company membership not found")
        membership_id = internal_id("membership", user_id, company_id)
        return json_response(
            200, {"id": membership_id, "object": "company_membership", "deleted": True}
        )


def _company(company: Company, locks: TypeLocks, locked: Mapping[str, Any]) -> Company:
    return Company(company.id, locks.keep("company", company.attributes, locked))


def _membership(membership: Membership, locks: TypeLocks, locked: Mapping[str, Any]) -> Membership:
    company = _company(membership.company, locks, locked)
    return Membership(company, locks.keep("membership", membership.attributes, locked))


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _limit(query: dict[str, list[str]]) -> int:
    """``@Type(() => Number) @IsInt() @Min(1) @Max(100)``, default 20."""
    values = query.get("limit")
    if not values:
        return 20
    if len(values) > 1 or not values[0].strip().lstrip("-").isdigit():
        raise Invalid("limit must be an integer number")
    limit = int(values[0])
    if limit < 1:
        raise Invalid("limit must not be less than 1")
    if limit > 100:
        raise Invalid("limit must not be greater than 100")
    return limit


def _expand(query: dict[str, list[str]]) -> frozenset[str]:
    """``expand[]=companies&expand[]=memberships`` (or ``expand=...``), each an ExpandType."""
    values = [*query.get("expand", ()), *query.get("expand[]", ())]
    for value in values:
        if value not in EXPANDABLE:
            allowed = ", ".join(EXPANDABLE)
            raise Invalid(f"each value in expand must be one of the following values: {allowed}")
    return frozenset(values)


def _order_by(query: dict[str, list[str]]) -> None:
    """Only the default order is emulated; ``-createdAt`` is refused rather than ignored."""
    for value in (*query.get("orderBy", ()), *query.get("orderBy[]", ())):
        if value != "createdAt":
            raise Invalid(f"orderBy {value!r} is not supported by the sandbox emulator")


def _page_url(request: Request, cursor: str, limit: int) -> str:
    """Usertour's ``buildUrl``: the request's own path and query, cursor and limit replaced."""
    kept = [
        (name, value)
        for name, values in request.query.items()
        if name not in ("cursor", "limit")
        for value in values
    ]
    return f"{request.path}?{urlencode([*kept, ('cursor', cursor), ('limit', str(limit))])}"


def _node_json_message(body: bytes, position: int) -> str:
    """The message Node's JSON.parse gives, which body-parser passes through."""
    text = body.decode("utf-8", errors="replace")
    if position >= len(text.rstrip()):
        return "Unexpected end of JSON input"
    return f"Unexpected token {text[position]} in JSON at position {position}"
