"""A vendor's answer as a plain value, read within limits no real vendor reaches.

Everything a vendor answers is untrusted input, and a vendor is sometimes simply broken: an
answer that never ends, a 300 MB body, a small gzip body that expands to gigabytes, JSON nested
100,000 deep. So the body is read here, and only here, under three limits (README, "Limits"):
a total deadline per request (``deadline.py`` bounds every socket read by it), a cap on the
*decoded* bytes (a compressed body is inflated at most one byte past the cap, never whole), and
a cap on JSON nesting. An answer over a limit is :class:`Unreadable`; the client (http.py) says
what that means for the request that got it.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.errors import ConfigError

#: Decoded bytes of a successful answer. A Usertour page of 100 users with 100 attributes each
#: is about 1 MB; a Sprig user (at most 100 attributes) a few KB.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
#: Decoded bytes kept of an error answer: only an excerpt is ever shown, the rest is not read.
MAX_ERROR_BYTES = 64 * 1024
#: Nesting of a JSON answer. A Usertour user with expanded memberships is 6 deep.
MAX_DEPTH = 64
#: Seconds from connecting to the last byte of one request's answer, retries apart.
DEADLINE = 60.0
#: Characters of a vendor's message quoted in errors and logs.
WORDS = 200


class Unreadable(ValueError):
    """An answer that is not what it claims to be: over a limit, undecodable, not JSON."""


#: Lowers the deadline for a run (tests of slow servers); never raises it past ``DEADLINE``.
DEADLINE_ENV = "RECONCILER_HTTP_DEADLINE"


@dataclass(frozen=True, slots=True)
class AnswerLimits:
    """The limits of one target's answers (tests lower them; runs use the defaults)."""

    deadline: float = DEADLINE
    max_bytes: int = MAX_ANSWER_BYTES
    max_error_bytes: int = MAX_ERROR_BYTES

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AnswerLimits:
        """The defaults, with ``RECONCILER_HTTP_DEADLINE`` (seconds, at most 60) applied."""
        raw = environ.get(DEADLINE_ENV, "").strip()
        if not raw:
            return cls()
        try:
            seconds = float(raw)
        except ValueError:
            seconds = math.nan
        if not 0 < seconds <= DEADLINE:
            raise ConfigError(f"{DEADLINE_ENV} must be a number of seconds in (0, {DEADLINE:g}]")
        return cls(deadline=seconds)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the vendor answered: status, headers (names in lower case) and the decoded body.

    An error answer's body may be cut at ``MAX_ERROR_BYTES`` (``truncated``): it is only
    quoted, never parsed for anything that matters.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes
    truncated: bool = False

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    @property
    def text(self) -> str:
        """The body as text; bytes that are not UTF-8 become U+FFFD (it is only quoted)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON, nested at most ``MAX_DEPTH`` deep; else :class:`Unreadable`."""
        return parse_json(self.body)

    def words(self, text: str | None = None) -> str:
        """``text`` (default: the body) on one line, cut to ``WORDS`` characters: how a
        vendor's message is quoted. Escaping is the printer's job (escape.printable)."""
        return cut(self.text if text is None else text)


def cut(text: str, limit: int = WORDS) -> str:
    """``text`` with its blanks collapsed, cut to ``limit`` characters (``...`` says so)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def parse_json(body: bytes) -> Any:
    """JSON nested at most ``MAX_DEPTH`` deep, or :class:`Unreadable` saying why.

    The standard parser recurses once per level and raises RecursionError near 1,000 levels;
    that is caught here, and anything deeper than ``MAX_DEPTH`` is refused too, so no code that
    walks a value (planner, renderers, json.dumps) meets a nesting it cannot handle.
    """
    try:
        value = json.loads(body)
    except RecursionError:
        raise Unreadable(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise Unreadable("not JSON") from error
    if not text_within(body, MAX_DEPTH) and _deeper_than(value, MAX_DEPTH):
        raise Unreadable(f"JSON nested deeper than {MAX_DEPTH} levels")
    return value


#: Every byte but the four brackets and the quote: what is left of a text is its structure.
_NOT_STRUCTURE = bytes(set(range(256)) - set(b'[]{}"'))
_BRACKETS = bytes.maketrans(b"{}", b"[]")


def text_within(body: bytes, limit: int) -> bool:
    r"""Whether the text of ``body``, JSON that parsed, nests at most ``limit`` lists or
    objects deep, counted on the bytes at C speed (a listing page's walk in Python was a fifth
    of reading it). The value parsed from the text nests no deeper than the text (a duplicate
    key drops a value, never adds one), so True proves the value within the limit; False (or
    a text in UTF-16/32, where an ASCII byte may be half a character) leaves the value to be
    walked.

    In UTF-8 JSON a backslash appears only in strings, each one starting an escape: pairs
    ``\\`` go first, then ``\"``, and every quote left opens or closes a string. Of the
    brackets (both kinds made one) and quotes, two quotes side by side go (a string without
    brackets, or nothing between two strings), then what is left between quotes: brackets
    in text. Each round of deleting ``[]`` then removes the innermost level.
    """
    if not json.detect_encoding(body).startswith("utf-8"):
        return False
    if b"\\" in body:
        body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = body.translate(_BRACKETS, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in brackets:
        brackets = b"".join(brackets.split(b'"')[::2])
    for _ in range(limit):
        if not brackets:
            return True
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):  # not balanced: not what json.loads accepted
            return False
        brackets = inner
    return not brackets


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` lists or objects (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        item, level = stack.pop()
        if level > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return False


class _Identity:
    def decode(self, data: bytes, room: int) -> bytes:
        return data[:room]

    def flush(self, room: int) -> bytes:
        return b""


class _Inflate:
    """gzip or deflate, inflated at most ``room`` bytes at a time: a bomb stops at the cap."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    def decode(self, data: bytes, room: int) -> bytes:
        try:
            out = self._zlib.decompress(data, room)
        except zlib.error:
            if self._started or self._wbits != zlib.MAX_WBITS:
                raise
            # "deflate" is zlib-wrapped by the standard, raw by some servers (as httpx reads it).
            self._wbits = -zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(self._wbits)
            out = self._zlib.decompress(data, room)
        self._started = True
        return out

    def flush(self, room: int) -> bytes:
        tail = self._zlib.unconsumed_tail
        return self._zlib.decompress(tail, room) if tail else self._zlib.flush()[:room]


#: What the client asks for (``Accept-Encoding``): the encodings decoded here, within the cap.
ACCEPT_ENCODING = "gzip, deflate"


def _decoder(encoding: str) -> _Identity | _Inflate:
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return _Identity()
    if name in ("gzip", "x-gzip"):
        return _Inflate(16 + zlib.MAX_WBITS)
    if name == "deflate":
        return _Inflate(zlib.MAX_WBITS)
    raise Unreadable(f"a body in Content-Encoding {cut(encoding, 40)!r}, which was not asked for")


def decode_body(
    status: int, headers: Mapping[str, str], chunks: Iterable[bytes], limits: AnswerLimits
) -> tuple[bytes, bool]:
    """The decoded body from the raw ``chunks``, and whether it was cut (error answers only).

    A successful answer over ``limits.max_bytes`` is :class:`Unreadable`; an error answer is
    kept up to ``limits.max_error_bytes`` and the rest is not read. ``chunks`` enforces the
    deadline between reads (the caller's generator).
    """
    error = status >= 400
    cap = limits.max_error_bytes if error else limits.max_bytes
    decoder = _decoder(headers.get("content-encoding", ""))
    body = bytearray()
    try:
        for chunk in chunks:
            body += decoder.decode(chunk, cap + 1 - len(body))
            if len(body) > cap:
                break
        else:
            body += decoder.flush(cap + 1 - len(body))
    except zlib.error as problem:
        raise Unreadable("a compressed body that does not decompress") from problem
    if len(body) <= cap:
        return bytes(body), False
    if error:
        return bytes(body[:cap]), True
    raise Unreadable(f"an answer larger than {size(cap)}")


def size(count: int) -> str:
    """``8 MiB``, ``64 KiB``, ``100 bytes``: a limit as README names it."""
    for unit, name in ((1024 * 1024, "MiB"), (1024, "KiB")):
        if count >= unit and count % unit == 0:
            return f"{count // unit} {name}"
    return f"{count} bytes"
