"""Plain values between the HTTP plumbing (server.py) and the vendor emulations.

The vendor modules never see a socket: they take a ``Request`` and return a ``Response``, so
they are tested with literals and the one place that writes to a socket stays small.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

#: Media types whose bodies Express and most APIs parse as JSON.
_JSON_TYPES = ("application/json",)


class MalformedJSON(ValueError):
    """The body is not JSON; ``position`` is the character offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as received. ``target`` is the path and query exactly as sent."""

    method: str
    target: str
    #: Header names lower-cased (HTTP names are case-insensitive).
    headers: Mapping[str, str]
    body: bytes = b""

    @property
    def path(self) -> str:
        """The path, still percent-encoded: ``/v2/users/a%2Fb`` has three segments."""
        return self.target.split("?", 1)[0]

    @property
    def query(self) -> dict[str, list[str]]:
        """Query parameters, each with every value it was given, in order."""
        _, _, query = self.target.partition("?")
        return parse_qs(query, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def is_json(self) -> bool:
        """Whether the body is declared as JSON: body parsers (Express's included) only parse
        such bodies, so a client that forgets the Content-Type sends an empty object."""
        media_type = (self.header("content-type") or "").split(";", 1)[0].strip().lower()
        return media_type in _JSON_TYPES or media_type.endswith("+json")

    def json(self) -> Any:
        """The body as JSON, ``{}`` when it is empty or not declared as JSON.

        Raises MalformedJSON for invalid JSON, including ``NaN`` and ``Infinity``, which
        Python accepts but JavaScript servers (both vendors) refuse.
        """
        if not self.is_json or not self.body.strip():
            return {}
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedJSON("Invalid UTF-8 in JSON body", exc.start) from None
        try:
            return json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise MalformedJSON(exc.msg, exc.pos) from None


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"Unexpected token {name[0]}", name, 0)


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response; ``encode`` renders it as the single buffer the server writes."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, *, close: bool) -> bytes:
        """Status line, headers and body in one buffer.

        Why one buffer: a response written as headers then body leaves the body waiting for
        the client's delayed ACK (about 40 ms on Linux) on every keep-alive request.
        """
        reason = _reason(self.status)
        lines = [f"HTTP/1.1 {self.status} {reason}", f"Content-Length: {len(self.body)}"]
        if self.content_type is not None:
            lines.append(f"Content-Type: {self.content_type}")
        lines += [f"{name}: {value}" for name, value in self.headers]
        if close:
            lines.append("Connection: close")
        head = "\r\n".join(lines) + "\r\n\r\n"
        return head.encode("latin-1") + self.body


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def json_response(status: int, value: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A JSON response, compact like Express's ``res.json``.

    Text that UTF-8 cannot encode (a lone surrogate, which JSON's ``\\ud800`` escape can
    carry into a request) is answered escaped instead of breaking the answer.
    """
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:
        body = json.dumps(value, separators=(",", ":")).encode("ascii")
    return Response(status, body, "application/json; charset=utf-8", headers)


def text_response(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A plain-text response (Sprig answers ``Accepted`` and ``Not Found`` as plain text)."""
    return Response(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers)


#: Characters JSON can escape that text columns (SQLite's JSON functions, PostgreSQL) cannot
#: hold: NUL and lone UTF-16 surrogates.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: Any, where: str = "body") -> str | None:
    """What and where the first string (or key) no database can store is, or None."""
    if isinstance(value, str):
        found = _UNSTORABLE.search(value)
        if found is None:
            return None
        what = "a NUL character" if found.group() == "\x00" else "a lone surrogate"
        return f"{where} holds {what} (\\u{ord(found.group()):04x}), which cannot be stored"
    if isinstance(value, dict):
        for key in value:
            if _UNSTORABLE.search(key):
                return unstorable(key, f"a key of {where}")
        pairs: list[tuple[str, Any]] = [(f"{where}.{key}", item) for key, item in value.items()]
    elif isinstance(value, list):
        pairs = [(f"{where}[{index}]", item) for index, item in enumerate(value)]
    else:
        return None
    return next((problem for path, item in pairs if (problem := unstorable(item, path))), None)


def path_param(path: str, prefix: str) -> str | None:
    """The percent-decoded segment after ``prefix`` when exactly one non-empty segment follows.

    ``/v2/users/a%2Fb`` gives ``a/b``: an encoded slash is data, a real slash is a separator,
    as in Express (Usertour) and the id routes of Sprig. Returns None for no match or for
    bytes that are not UTF-8 (Express answers those with an error, never a user).
    """
    if not path.startswith(prefix):
        return None
    segment = path[len(prefix) :]
    if not segment or "/" in segment:
        return None
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        return None
