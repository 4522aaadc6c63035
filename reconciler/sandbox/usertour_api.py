"""Usertour's v1 user API, emulated: upsert, get, list and delete users, delete memberships.

Facts come from apis/usertour.md and Usertour's open-source server; values, validation and
type locking live in usertour_values.py, this module is the HTTP dialect: routes, the
``{"error": {code, message, doc_url}}`` envelope, auth codes and NestJS's own bodies.
"""

from __future__ import annotations

import dataclasses
import hmac
import time
from collections.abc import Callable
from typing import Any

from reconciler.sandbox.store import StoredUser, UserPage, UserStore
from reconciler.sandbox.usertour_definitions import LOCK_PREFIX, definitions_page
from reconciler.sandbox.usertour_listing import (
    InvalidQuery,
    Param,
    build_url,
    check_filters,
    parse_expand,
    parse_limit,
)
from reconciler.sandbox.usertour_ties import tied_page
from reconciler.sandbox.usertour_values import (
    MEMBERSHIP_OBJECT,
    Invalid,
    RelationTimes,
    Unstorable,
    internal_id,
    parse_upsert,
    storable,
    user_object,
)
from reconciler.sandbox.usertour_writes import NAMESPACE, FirstWriteRace, UsertourWriter
from reconciler.sandbox.vendor import Handler, VendorApi
from reconciler.sandbox.wire import (
    MalformedJSON,
    Request,
    Response,
    json_response,
    path_param,
    text_response,
)

#: Express's JSON body parser's limit ("100kb"), as on the real server.
MAX_REQUEST_BYTES = 102_400
#: Every error envelope links the docs (OpenAPIExceptionFilter's fallback).
DOC_URL = "https://docs.usertour.io"


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

    def __init__(
        self,
        store: UserStore,
        key: str,
        clock: Callable[[], int] = _now_ms,
        *,
        race_window_ms: int = 0,
        listing_ties: int = 0,
    ) -> None:
        self._store = store
        self._key = key.encode("utf-8")
        self._writer = UsertourWriter(store, clock, race_window_ms)
        #: Users to a millisecond for the real cursor's ties (usertour_ties.py); 0: none.
        self._ties = listing_ties

    def route(self, request: Request) -> Handler | None:
        path, method = request.path, request.method
        if path in ("/v1/users", "/v1/users/"):  # Express routing ignores a trailing slash
            return {"POST": self._upsert, "GET": self._list}.get(method)
        if path == "/v1/company-memberships" and method == "DELETE":
            return self._delete_membership
        if path in ("/v1/attribute-definitions", "/v1/attribute-definitions/") and method == "GET":
            return self._attribute_definitions
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
        NestJS's format even without a key. In strict mode only objects and arrays parse.
        A JSON body over the parser's limit is refused first, with 413 (seen on the server)."""
        if request.is_json and len(request.body) > MAX_REQUEST_BYTES:
            return json_response(413, {"statusCode": 413, "message": "request entity too large"})
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
            upsert = storable(parse_upsert(request.json()))
        except Invalid as exc:
            return error(400, exc.code, str(exc))
        except Unstorable:
            return error(500, "E0000", "An unexpected error occurred")
        try:
            user = self._writer.upsert(upsert)
        except FirstWriteRace:
            return error(500, "E0000", "An unexpected error occurred")
        return json_response(201, user_object(user))

    def _get(self, user_id: str, request: Request) -> Response:
        try:
            expand, _ = parse_expand(request.query)
        except InvalidQuery as exc:
            return error(400, "E1017", str(exc))
        user = self._store.get_user(NAMESPACE, user_id)
        if user is None:
            return error(404, "E1001", "User not found")
        return json_response(200, user_object(user, expand, self._times([user], expand)))

    def _list(self, request: Request) -> Response:
        """A page in creation order (newest first for orderBy=-createdAt), with next/previous
        URLs built like the server's.

        A cursor is the creation sequence of the last user of the previous page; like the
        server's (a database id), it stops working once that user is deleted (400 E1007).
        """
        query = request.query
        try:
            limit, (expand, expand_param) = parse_limit(query), parse_expand(query)
            newest_first = check_filters(query)
        except InvalidQuery as exc:
            return error(400, "E1017", str(exc))
        cursor = _single(query, "cursor") or None
        filters: dict[str, Any] = {
            "email": _single(query, "email"),
            "company_id": _single(query, "companyId"),
            "newest_first": newest_first,
        }
        if cursor is not None and not self._store.has_cursor(NAMESPACE, cursor):
            return error(400, "E1007", "Invalid cursor parameter")
        if self._ties and not newest_first:
            return self._tied_list(request, limit.size, cursor, filters, expand, expand_param)
        page = self._store.list_users(NAMESPACE, limit=limit.size, after=cursor, **filters)
        if cursor is not None and not page.users:
            return error(400, "E1007", "Invalid cursor parameter")
        params: list[Param] = [("limit", limit.text), *([expand_param] if expand_param else [])]
        next_url = None
        if page.next_cursor is not None:
            next_url = build_url(request.target, [("cursor", page.next_cursor), *params])
        previous = None
        if cursor is not None:
            previous = self._previous_url(request.target, page, limit.size, params, filters)
        # The store's email index is never cleared when attributes.email is deleted with
        # null: filtering on the attribute itself keeps the answer right.
        email = filters["email"]
        users = [u for u in page.users if email is None or u.attributes.get("email") == email]
        times = self._times(users, expand)
        results = [user_object(user, expand, times) for user in users]
        return json_response(200, {"results": results, "next": next_url, "previous": previous})

    def _tied_list(
        self,
        request: Request,
        size: int,
        cursor: str | None,
        filters: dict[str, Any],
        expand: frozenset[str],
        expand_param: Param | None,
    ) -> Response:
        """A page as the real cursor gives it when users tie on createdAt (usertour_ties.py).
        In this mode ``previous`` is left out (null), and only the listing answers the tied
        ``createdAt`` (a GET of one user answers its own)."""
        rows = self._store.list_rows(
            NAMESPACE, email=filters["email"], company_id=filters["company_id"]
        )
        after = int(cursor) if cursor is not None else None
        page = tied_page(rows, after, size, self._ties)
        stored = self._store.get_users(NAMESPACE, page.ids)
        users = [
            dataclasses.replace(stored[user_id], created_at=page.created_at[user_id])
            for user_id in page.ids
        ]
        times = self._times(users, expand)
        params: list[Param] = [("limit", str(size)), *([expand_param] if expand_param else [])]
        next_url = None
        if page.next_cursor is not None:
            next_url = build_url(request.target, [("cursor", page.next_cursor), *params])
        results = [user_object(user, expand, times) for user in users]
        return json_response(200, {"results": results, "next": next_url, "previous": None})

    def _attribute_definitions(self, request: Request) -> Response:
        """``GET /v1/attribute-definitions``: the type each attribute name is locked to,
        per scope, paged like every v1 list (usertour_definitions.py)."""
        locks = self._store.meta_items(NAMESPACE, LOCK_PREFIX)
        try:
            page = definitions_page(locks, request.query)
        except InvalidQuery as exc:
            return error(400, "E1017", str(exc))
        next_url = None
        if page.next_cursor is not None:
            params: list[Param] = [("cursor", page.next_cursor), ("limit", page.limit.text)]
            next_url = build_url(request.target, params)
        body = {"results": page.results, "next": next_url, "previous": None}
        return json_response(200, body)

    def _previous_url(
        self,
        target: str,
        page: UserPage,
        size: int,
        params: list[Param],
        filters: dict[str, Any],
    ) -> str | None:
        """pagination.ts: the ``size`` users before this page; the first page's URL has no
        cursor. Otherwise the cursor is the previous page's *first* user, as the server
        writes it (following it skips that user: the server's own off-by-one)."""
        before = self._store.user_cursor(NAMESPACE, page.users[0].id)
        cursors = self._store.cursors_before(NAMESPACE, before, limit=size, **filters)
        if not cursors:
            return None
        if len(cursors) < size or self._store.first_cursor(NAMESPACE, **filters) == cursors[0]:
            return build_url(target, params)
        return build_url(target, [("cursor", cursors[0]), *params])

    def _times(self, users: list[StoredUser], expand: frozenset[str]) -> RelationTimes:
        """Creation times of the users' memberships and companies, read only when shown."""
        if not expand:
            return {}
        return self._store.relation_times(NAMESPACE, [user.id for user in users])

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
            200, {"id": membership_id, "object": MEMBERSHIP_OBJECT, "deleted": True}
        )


def _single(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _node_json_message(body: bytes, position: int) -> str:
    """The message Node's JSON.parse gives, which body-parser passes through."""
    text = body.decode("utf-8", errors="replace")
    if position >= len(text.rstrip()):
        return "Unexpected end of JSON input"
    return f"Unexpected token {text[position]} in JSON at position {position}"
