"""Usertour v1 over HTTP: GET /v1/users/{id} (companies and memberships expanded), POST /v1/users.

Vendor facts relied on (apis/usertour.md): ``Authorization: Bearer``; errors in an envelope
``{"error": {"code", "message"}}`` (NestJS's own shape for malformed JSON); upserts answer 201
(the docs say 200: any 2xx is fine) with the user, companies and memberships never expanded
(``null``); values of another type than an attribute's first are silently dropped (the plan
predicts it, typelock.py; the applier notices it by comparing the answer); only ``404 E1001``
is a missing user, and ``.``/``..`` ids must be sent encoded. What Usertour holds and its wire
format are its kind's (``reconciler/kinds/usertour.py``, known offline).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconciler.errors import ListingBroken, TargetError
from reconciler.kinds import usertour as usertour_kind
from reconciler.kinds.usertour import PAGE_SIZE
from reconciler.model import ListedPage, LiveUser, Upsert
from reconciler.providers.answers import Answer, Unreadable
from reconciler.providers.http import user_path
from reconciler.providers.rest import HttpProvider
from reconciler.quoting import excerpt

#: Every attribute's data type and scope (the environment's type locks), paged like users.
DEFINITIONS_PATH = "/v1/attribute-definitions"
#: Memberships carry internal company ids; only the expanded company tells its external id.
EXPAND = [
    ("expand[]", "companies"),
    ("expand[]", "memberships"),
    ("expand[]", "memberships.company"),
]


#: Page sizes of the walks a complete listing takes (see ``list_pages``): the first is the
#: largest page; the others move the boundaries (sizes far apart, so that few boundaries of
#: two walks land on neighbouring users). Two walks usually prove it.
WALK_SIZES = (PAGE_SIZE, 93, 81)


def _cursor(next_url: Any) -> str | None:
    """The cursor in a list answer's ``next`` (None: the last page). Only the cursor is
    taken: ``next`` is relative to the server's own path, which differs from ``base_url``
    when Usertour is served under a prefix."""
    if not next_url:
        return None
    cursors = parse_qs(urlsplit(str(next_url)).query).get("cursor")
    if not cursors:
        raise ValueError(f"no cursor in {next_url!r}")
    return cursors[0]


@dataclass(slots=True)
class _Walk:
    """What one walk of the listing learnt: the ``createdAt`` of each page boundary."""

    boundaries: set[str] = field(default_factory=set)


def describe_error(response: Answer) -> str:
    """``403 E1000 Invalid API key provided``; NestJS bodies and plain text as they come (an
    excerpt: a vendor's message is never printed whole)."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status} {response.words()}".strip()
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        words = response.words(f"{error.get('code', '')} {error.get('message', '')}")
        return f"{response.status} {words}".strip()
    if isinstance(body, dict) and "message" in body:
        message = body["message"]
        text = "; ".join(map(str, message)) if isinstance(message, list) else str(message)
        return f"{response.status} {response.words(text)}"
    return f"{response.status} {response.words()}"


def error_code(response: Answer) -> str | None:
    """The code of Usertour's error envelope (``E1001``), None for any other body."""
    try:
        body = response.json()
    except ValueError:
        return None
    return _envelope_code(body)


def _envelope_code(body: Any) -> str | None:
    """The code of an error envelope in a parsed body, None for any other value."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def missing_user(response: Answer) -> bool:
    """Only ``404 {"error": {"code": "E1001"}}`` is a missing user. A route the server does not
    have is NestJS's ``404 {"message": "Cannot GET …", "statusCode": 404}`` (a wrong base_url
    path): reading it as "absent" would plan every user as new."""
    return error_code(response) == "E1001"


def _parsed(response: Answer) -> Any:
    """The body as JSON, or the :class:`Unreadable` saying why it is not (raised by whoever
    needed it: an error answer's body need not be JSON)."""
    try:
        return response.json()
    except Unreadable as error:
        return error


class UsertourProvider(HttpProvider):
    kind = usertour_kind.USERTOUR
    auth_scheme = "Bearer"
    users_path = usertour_kind.USERS_PATH
    read_params = EXPAND
    default_base_url = "https://api.usertour.io"
    official_hosts = ("api.usertour.io",)
    key_words = ("USERTOUR",)
    self_hosted = True  # Usertour is open source: a company may run its own server
    describe_error = staticmethod(describe_error)
    missing_user = staticmethod(missing_user)

    @staticmethod
    def to_live_user(user_id: str, body: Any) -> LiveUser:
        """Usertour's answer names its user (``id``), as each user of a list page does."""
        return usertour_kind.to_live_user(body)

    def answered(self, response: Answer, upsert: Upsert) -> LiveUser | None:
        """Usertour answers with the user, but never expands companies or memberships
        (``companies: null``). Verification compares what the answer shows (attributes,
        email: what the server may have dropped); an upsert that sent companies or
        memberships is read back with one expanded GET, since the server may have dropped
        values there too (types lock per name). One that did not send them did not touch
        them: they need no second request. An answer that is not the user sent (HTML, empty,
        another user) is that user's failure, not a write Usertour accepted."""
        try:
            user = usertour_kind.to_live_user(response.json())
        except (ValueError, TypeError, KeyError, AttributeError):
            user = None
        if user is None or user.id != upsert.user_id:
            raise self.not_the_vendors(response, upsert, "the user, as Usertour answers")
        if upsert.companies or upsert.memberships:
            return None
        return user

    def delete_user(self, user_id: str) -> bool:
        """``DELETE /v1/users/{id}``: permanent, events too. A 404 means it was already gone,
        so a delete whose answer was lost is simply sent again."""
        path = user_path(self.users_path, user_id)
        response = self._api.request("DELETE", path)
        if response.status == 404:
            if missing_user(response):
                return False
            raise self.wrong_route("DELETE", path, response)
        if not response.is_success:
            raise self._api.failure(response, f"deleting user {user_id}")
        return True

    def attribute_types(self) -> Mapping[tuple[str, str], str] | None:
        """``GET /v1/attribute-definitions`` page by page: every attribute's data type and
        scope, the environment's type locks, without reading any user. None when the server
        has no such route (an older Usertour): the forecast then knows the users read only."""
        definitions: list[tuple[str, str, str]] = []
        cursor: str | None = None
        while True:
            params = [("limit", str(PAGE_SIZE)), *([("cursor", cursor)] if cursor else [])]
            response = self._api.request("GET", DEFINITIONS_PATH, params=params)
            if response.status == 404:
                return None
            if response.status != 200:
                raise self._api.failure(response, "listing attribute definitions")
            try:
                body = response.json()
                definitions += [
                    (str(d["scope"]), str(d["codeName"]), str(d["dataType"]))
                    for d in body["results"]
                ]
                cursor = _cursor(body.get("next"))
            except (ValueError, TypeError, KeyError, AttributeError) as error:
                message = "unreadable answer listing attribute definitions"
                raise TargetError(self.target, message) from error
            if cursor is None:
                return usertour_kind.definition_types(definitions)

    def list_pages(self, complete: bool = False) -> Iterator[ListedPage]:
        """Walk ``GET /v1/users?limit=100`` (expanded like a GET) until ``next`` is null.

        The cursor orders by ``createdAt`` alone, so a user created in the same millisecond as
        a page's last user may be skipped (apis/usertour.md); a user is skipped only at such a
        boundary. ``complete``: walk again with other page sizes (their boundaries fall
        elsewhere) until no millisecond is a boundary of every walk: then every user was shown
        by one of them. After WALK_SIZES the last page says why it is not proved (``unproven``).
        """
        risky: set[str] | None = None
        for number, size in enumerate(WALK_SIZES if complete else WALK_SIZES[:1], 1):
            walk = _Walk()
            for page in self._walk(size, walk):
                if not page.last:
                    yield page
            risky = walk.boundaries if risky is None else risky & walk.boundaries
            if not complete or not risky or number == len(WALK_SIZES):
                break
            yield dataclasses.replace(page, last=False)
        why = None
        if complete and risky:
            why = (
                f"users created in the same millisecond as a page's last user may have been "
                f"skipped ({len(risky)} such millisecond(s) in each of {len(WALK_SIZES)} walks)"
            )
        yield dataclasses.replace(page, last=True, unproven=why)

    def _walk(self, size: int, walk: _Walk) -> Iterator[ListedPage]:
        """One walk of the listing, ``size`` users a page; ``walk`` gathers the ``createdAt``
        of each page's last user followed by a cursor. Only the cursor is taken from ``next``:
        it is a URL relative to the server's own path, which differs from ``base_url`` when
        Usertour is served under a prefix. Each request is sent only when the caller takes
        the next page, so a reader may stop early."""
        cursor: str | None = None
        while True:
            params = [*self.read_params, ("limit", str(size))]
            if cursor is not None:
                params.append(("cursor", cursor))
            response = self._api.request("GET", self.users_path, params=params)
            body = _parsed(response)  # once: the error code, then the page, are read from it
            if cursor is not None and _envelope_code(body) == "E1007":
                raise ListingBroken(
                    self.target,
                    f"listing users: {describe_error(response)} (a user was deleted while "
                    "the listing was read; run again)",
                )
            if response.status == 404:  # the list route has no "not found" of its own
                raise self.wrong_route("GET", self.users_path, response)
            if response.status != 200:
                raise self._api.failure(response, "listing users")
            users, cursor, last_created = self._page(body)
            if cursor is not None and last_created is not None:
                walk.boundaries.add(last_created)
            yield ListedPage(tuple(users), last=cursor is None)
            if cursor is None:
                return

    def _page(self, body: Any) -> tuple[list[LiveUser], str | None, str | None]:
        """The users of one list page (its parsed body, or why it did not parse), the cursor
        of the next (None on the last page) and the ``createdAt`` of the page's last user."""
        try:
            if isinstance(body, Unreadable):
                raise body
            results = body["results"]
            page = [usertour_kind.to_live_user(raw) for raw in results]
            next_url = body.get("next")
            last = results[-1] if results else {}
            created = last.get("createdAt", last.get("created_at"))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            why = f": {error}" if isinstance(error, Unreadable) else ""
            raise TargetError(self.target, f"unreadable answer listing users{why}") from error
        created_at = str(created) if created is not None else None
        try:
            return page, _cursor(next_url), created_at
        except ValueError:
            raise TargetError(
                self.target, f"listing users: no cursor in next={excerpt(str(next_url))}"
            ) from None
