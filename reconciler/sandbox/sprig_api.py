"""Sprig's v2 user API, emulated: ``POST /v2/users`` and ``GET /v2/users/{userId}``.

Facts come from apis/sprig.md and the vendor pages in seeds/000-002. Where Sprig documents
nothing, the choice made here is said in a comment at the place it matters.
"""

from __future__ import annotations

import hmac
import re
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from reconciler.model import Event, Upsert
from reconciler.sandbox.store import StoredUser, UserStore
from reconciler.sandbox.vendor import Handler, VendorApi
from reconciler.sandbox.visibility import DelayedWrites
from reconciler.sandbox.wire import (
    MalformedJSON,
    Request,
    Response,
    json_response,
    path_param,
    text_response,
    unstorable,
)

#: The store namespace of the emulated Sprig environment (one key, one environment).
NAMESPACE = "sprig"
#: Sprig's SDKs keep a visitor's email in this attribute; GET shows it there.
EMAIL_ATTRIBUTE = "!email"
#: "Attributes limited to total of 100 values" (seeds/000).
MAX_ATTRIBUTES = 100
#: Deliberately loose: one @, no spaces, a dot in the domain. Sprig's own rule is undocumented.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: The latest instant a JavaScript Date holds, in Unix ms (timestamps beyond it are refused).
MAX_TIMESTAMP = 8_640_000_000_000_000
#: Visitor ids are stable per user id, so GET answers the same ``id`` every time.
_VISITOR_IDS = uuid.UUID("0d6c7f3e-7a51-4d0c-9a2e-5b1f0c3e8a77")


class InvalidUpsert(ValueError):
    """A body Sprig answers with 400 ``{"error": message}``."""


class SprigApi(VendorApi):
    """The Sprig environment that one API key opens, over the store's ``sprig`` namespace."""

    name = "sprig"
    prefix = "/v2/"
    auth_scheme = "API-Key"

    def __init__(self, store: UserStore, key: str, visibility_delay_ms: int = 0) -> None:
        self._store = store
        self._key = key.encode("utf-8")
        self._writes = DelayedWrites(self._apply, visibility_delay_ms / 1000)
        # Serialises the attribute-cap check with the write it allows.
        self._lock = threading.Lock()

    def route(self, request: Request) -> Handler | None:
        if request.path == "/v2/users":
            return self._upsert if request.method == "POST" else None
        user_id = path_param(request.path, "/v2/users/")
        if user_id is not None and request.method == "GET":
            return lambda _request: self._get(user_id)
        return None

    def not_found(self, request: Request) -> Response:
        return text_response(404, "Not Found")

    def authenticate(self, request: Request) -> Response | None:
        scheme, _, key = (request.header("authorization") or "").partition(" ")
        if scheme == "API-Key" and hmac.compare_digest(key.encode("utf-8"), self._key):
            return None
        # Sprig documents no status for a missing or wrong key; 401 with its usual error body is
        # the conventional answer, and clients must treat any 401/403 as "check the key".
        return json_response(401, {"error": "Unauthorized"})

    def too_many_requests(self, retry_after: int | None) -> Response:
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        return json_response(429, {"error": "Too Many Requests"}, headers)

    def failure(self, status: int) -> Response:
        if status == 429:
            return self.too_many_requests(None)
        if status == 502:
            return text_response(502, "Bad Gateway")  # a proxy's answer: Sprig's was lost
        # "Something went wrong on Sprig's side. These are very rare :)" (seeds/000).
        return json_response(status, {"error": "Internal Server Error"})

    def flush(self) -> None:
        self._writes.flush()

    def close(self) -> None:
        self._writes.close()

    def _upsert(self, request: Request) -> Response:
        """Validate, then accept with 202 ``Accepted``; the write is applied asynchronously."""
        try:
            upsert = parse_upsert(request.json())
        except MalformedJSON as exc:
            return json_response(400, {"error": f"Invalid JSON body: {exc} at {exc.position}"})
        except InvalidUpsert as exc:
            return json_response(400, {"error": str(exc)})
        with self._lock:
            count = self._attribute_count(upsert)
            if count > MAX_ATTRIBUTES:
                message = f"a user has at most {MAX_ATTRIBUTES} attributes; this gives it {count}"
                return json_response(400, {"error": message})
            self._writes.submit(NAMESPACE, upsert)
        return text_response(202, "Accepted")

    def _attribute_count(self, upsert: Upsert) -> int:
        """Attributes the user would have once this and every pending write are applied.

        Sprig's own ``!`` attributes (``!email``) are not counted: the cap is on the
        attributes a customer defines, which is what reconciler validates offline.
        """
        names = set(upsert.attributes)
        stored = self._store.get_user(NAMESPACE, upsert.user_id)
        if stored is not None:
            names.update(stored.attributes)
        for pending in self._writes.pending(NAMESPACE, upsert.user_id):
            names.update(pending.attributes)
        return sum(1 for name in names if not name.startswith("!"))

    def _apply(self, namespace: str, upsert: Upsert) -> None:
        self._store.upsert(namespace, upsert)

    def _get(self, user_id: str) -> Response:
        user = self._store.get_user(NAMESPACE, user_id)
        if user is None:
            return text_response(404, "Not Found")
        return json_response(200, user_document(user))


def user_document(user: StoredUser) -> dict[str, Any]:
    """A stored user as ``GET /v2/users/{userId}`` shows it (seeds/001 and 002).

    Events are aggregated per name; the list is sorted by name so answers are reproducible.
    """
    document: dict[str, Any] = {
        "id": str(uuid.uuid5(_VISITOR_IDS, user.id)),
        "createdAt": user.created_at,
        "externalUserId": user.id,
        "attributes": dict(user.attributes),
    }
    # The vendor's schema (Userv2) says ``events`` has minItems 1 and is not required: a user
    # without events has no ``events`` key, never an empty list.
    if user.events:
        document["events"] = [
            {"event": name, "count": s.count, "createdAt": s.first, "updatedAt": s.latest}
            for name, s in sorted(user.events.items())
        ]
    return document


def parse_upsert(body: Any) -> Upsert:
    """A ``POST /v2/users`` body -> the store's Upsert, or InvalidUpsert with Sprig's message.

    Unknown top-level keys are ignored, as the OpenAPI schema does not forbid them. That
    includes ``email``, which the docs' own example writes (seeds/000) although the schema and
    every integration use ``emailAddress``: a client that sends ``email`` gets no ``!email``,
    which reading the user back shows, as it would on Sprig.
    """
    if not isinstance(body, dict):
        raise InvalidUpsert("the request body must be a JSON object")
    problem = unstorable(body)
    if problem is not None:
        # JSON can escape them, Sprig's database (like Usertour's, which answers 500) cannot
        # hold them; Sprig's answer is undocumented: refused, nothing stored, a clear 400.
        raise InvalidUpsert(problem)
    user_id = body.get("userId")
    if user_id is None:
        raise InvalidUpsert("userId is required")
    if not isinstance(user_id, str) or not user_id:
        raise InvalidUpsert("userId must be a non-empty string")
    attributes = _parse_attributes(body.get("attributes"))
    email = _parse_email(body.get("emailAddress"))
    if email is not None:
        attributes[EMAIL_ATTRIBUTE] = email
    events = _parse_events(body.get("events"))
    return Upsert(user_id, attributes, email, events)


def _parse_attributes(attributes: Any) -> dict[str, Any]:
    """ "attributeValue must be a string, int, or bool" (seeds/001).

    Floats are refused even when integral (12.0): JSON from Python keeps the ``.0`` and the
    client must not rely on Sprig reading it as 12. ``null`` is refused because Sprig cannot
    delete attributes (apis/sprig.md); lists and objects are not among the allowed types.
    """
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise InvalidUpsert("attributes must be an object")
    for name, value in attributes.items():
        if value is None:
            raise InvalidUpsert(f"attributes.{name} is null: attributes cannot be deleted")
        if not isinstance(value, (str, int)):  # bool is an int
            kind = "a decimal number" if isinstance(value, float) else type(value).__name__
            raise InvalidUpsert(
                f"attributes.{name} must be a string, an integer or a boolean, not {kind}"
            )
    return dict(attributes)


def _js_integer(value: Any) -> int | None:
    """An integer as a JavaScript server reads JSON: ``1626448859836.0`` is 1626448859836 (one
    number type; the schema's ``integer`` allows it too). None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _parse_email(email: Any) -> str | None:
    if email is None:
        return None
    if not isinstance(email, str) or not _EMAIL.fullmatch(email):
        raise InvalidUpsert("emailAddress must be a valid email address")
    return email


def _parse_events(events: Any) -> tuple[Event, ...]:
    """``[{event: string, timestamp: Unix ms}]``. Whether a name is "already being tracked in
    Sprig" (seeds/000) cannot be known here: every name is accepted."""
    if events is None:
        return ()
    if not isinstance(events, list):
        raise InvalidUpsert("events must be an array")
    parsed = []
    for index, event in enumerate(events):
        if not isinstance(event, Mapping):
            raise InvalidUpsert(f"events[{index}] must be an object with event and timestamp")
        name, timestamp = event.get("event"), _js_integer(event.get("timestamp"))
        if not isinstance(name, str) or not name:
            raise InvalidUpsert(f"events[{index}].event must be a non-empty string")
        if timestamp is None or not 0 <= timestamp <= MAX_TIMESTAMP:
            raise InvalidUpsert(f"events[{index}].timestamp must be a Unix time in milliseconds")
        parsed.append(Event(name, timestamp))
    return tuple(parsed)
