"""Usertour's ``GET /v1/users`` paging rules, emulated: limit, expand, and the next/previous URLs.

Facts come from the real server (tests/contract/usertour_session.json, recorded from its
source at f9f8065f1): ``common/openapi/pagination.ts`` builds ``next`` and ``previous`` with
``URLSearchParams`` from the request's own URL, so their shape (parameter order, ``expand%5B%5D``,
a ``limit`` the client never sent) is the server's, and a client must follow them as given.
Pure functions: the store queries stay in usertour_api.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote_plus, unquote_plus

#: Values of ``expand`` (Usertour's ExpandType enum).
EXPANDABLE = ("companies", "memberships", "memberships.company")
#: ``limit`` when the client sends none (the service's default).
DEFAULT_LIMIT = 20
#: A decimal literal as JavaScript's ``Number()`` reads it from a query string.
_JS_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")

Query = dict[str, list[str]]
#: A parameter to put into a built URL: one value, or a list sent as ``name[]=...`` each.
Param = tuple[str, "str | list[str]"]


class InvalidQuery(ValueError):
    """A query Usertour refuses with 400 E1017 (class-validator's message)."""


@dataclass(frozen=True, slots=True)
class Limit:
    """The page size and how ``limit`` is written back into next/previous (``toString()``)."""

    size: int
    text: str


def js_number(text: str) -> float:
    """``Number(text)``: blank is 0, hex/octal/binary literals and Infinity are numbers,
    anything else that is not a decimal literal is NaN."""
    text = text.strip()
    if not text:
        return 0.0
    if _JS_DECIMAL.fullmatch(text):
        return float(text)
    if text.lstrip("+-") == "Infinity":
        return -math.inf if text.startswith("-") else math.inf
    try:
        return float(int(text, 0)) if text[:2].lower() in ("0x", "0o", "0b") else math.nan
    except ValueError:
        return math.nan


def _js_text(number: float) -> str:
    """A number as JavaScript's ``toString()`` writes it (integers without ``.0``)."""
    return str(int(number)) if number.is_integer() else repr(number)


def parse_limit(query: Query) -> Limit:
    """``@IsNumber() @Min(1) @Max(100)`` after implicit conversion, default 20.

    The server reports the last failing constraint: ``limit=ten`` (NaN fails all three) and
    ``limit=1&limit=2`` (an array is NaN) read "must not be greater than 100". A fraction
    passes; the page then holds its integer part.
    """
    values = query.get("limit")
    if not values:
        return Limit(DEFAULT_LIMIT, str(DEFAULT_LIMIT))
    number = js_number(values[0]) if len(values) == 1 else math.nan
    message = None
    if not number >= 1:
        message = "limit must not be less than 1"
    if not number <= 100:
        message = "limit must not be greater than 100"
    if message is not None:
        raise InvalidQuery(message)
    return Limit(int(number), _js_text(number))


def parse_expand(query: Query) -> tuple[frozenset[str], Param | None]:
    """``expand[]=a&expand[]=b`` or ``expand=a``, each an ExpandType (no comma splitting).

    Also returns how the server writes expand back into next/previous: an array (``expand[]``
    sent, or ``expand`` twice) is rewritten as ``expand[]=...`` at the end; a single
    ``expand=a`` is kept in place.
    """
    plain, bracketed = query.get("expand", []), query.get("expand[]", [])
    values = [*bracketed, *plain]
    for value in values:
        if value not in EXPANDABLE:
            allowed = ", ".join(EXPANDABLE)
            message = f"each value in expand must be one of the following values: {allowed}"
            raise InvalidQuery(message)
    if not values:
        return frozenset(), None
    param: Param = ("expand", values) if bracketed or len(plain) > 1 else ("expand", values[0])
    return frozenset(values), param


def check_filters(query: Query) -> bool:
    """``orderBy`` is an enum of createdAt/-createdAt (the first one sets the order: True
    for newest first); ``email`` must look like one."""
    orders = [*query.get("orderBy", ()), *query.get("orderBy[]", ())]
    for value in orders:
        if value not in ("createdAt", "-createdAt"):
            raise InvalidQuery(
                "each value in orderBy must be one of the following values: createdAt, -createdAt"
            )
    for email in query.get("email", ()):
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise InvalidQuery("email must be an email")
    return bool(orders) and orders[0] == "-createdAt"


def build_url(target: str, params: Sequence[Param]) -> str:
    """``buildUrl`` of pagination.ts: the request's path and query without ``cursor``, each
    param set in place (or appended), list params rewritten as ``name[]`` at the end."""
    path, _, query = target.partition("?")
    pairs = [_split_pair(piece) for piece in query.split("&") if piece]
    pairs = [(name, value) for name, value in pairs if name != "cursor"]
    for name, value in params:
        if isinstance(value, list):
            pairs = [(n, v) for n, v in pairs if n not in (name, f"{name}[]")]
            pairs += [(f"{name}[]", item) for item in value]
        else:
            pairs = _set(pairs, name, value)
    text = "&".join(f"{_form(name)}={_form(value)}" for name, value in pairs)
    return f"{path}?{text}" if text else path


def _split_pair(piece: str) -> tuple[str, str]:
    name, _, value = piece.partition("=")
    return unquote_plus(name), unquote_plus(value)


def _set(pairs: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    """``URLSearchParams.set``: the first pair of that name takes the value, the others go."""
    if not any(n == name for n, _ in pairs):
        return [*pairs, (name, value)]
    result, done = [], False
    for n, v in pairs:
        if n != name:
            result.append((n, v))
        elif not done:
            result.append((n, value))
            done = True
    return result


def _form(text: str) -> str:
    """application/x-www-form-urlencoded as URLSearchParams writes it (``~`` escaped too)."""
    return quote_plus(text, safe="*").replace("~", "%7E")
