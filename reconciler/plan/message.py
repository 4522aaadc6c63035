"""A vendor's free text (an error message) cleared of sensitive values however it encodes them.

A vendor may echo the request it refused in its own encoding: JSON ``\\u`` escapes, upper case,
URL encoding, HTML entities, a phone without its spaces. Searching the message for the values as
sent misses all of those, so the message is first decoded (repeatedly: an escape inside a URL
encoding), then each value is masked whatever its case, every email-shaped word is masked (the
email is always sensitive, whoever's it is), and what is printed is that decoded, masked text. A
message that still holds the letters and digits of a value (punctuation and case ignored: ``+47
555 12345`` as ``4755512345``) is withheld whole, keeping only its leading HTTP status: a text
that cannot be masked is not shown. Pure; used by the mask step (mask.py) only.

Residual: an encoding not decoded here (base64, a hash) is not recognised; SECURITY.md says so.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import unquote

from reconciler.model import MASK

#: ``\u0061``, ``\U00000061``, ``\u{61}``, ``\x61``: the escapes of JSON, Python and JavaScript.
_ESCAPE_RE = re.compile(
    r"\\(?:u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|u\{([0-9a-fA-F]{1,6})\}|x([0-9a-fA-F]{2}))"
)
#: An email address as a vendor may write one (after decoding).
_EMAIL_RE = re.compile(r"[^\s\"'<>(),;:@\[\]\\]+@[^\s\"'<>(),;:@\[\]\\]+\.[^\s\"'<>(),;:@\[\]\\]+")
#: Decoding rounds: enough for an escape inside a URL encoding inside an entity.
_ROUNDS = 4
#: A value's letters and digits shorter than this are not looked for (too many false alarms).
MIN_SKELETON = 6
_STATUS_RE = re.compile(r"\d{3}\b")


def mask_vendor_text(text: str, values: Iterable[str]) -> str:
    """``text`` decoded, with every value (any case) and every email masked; withheld (but its
    leading status code) when a value's letters and digits are still in it."""
    masked = decode(text)
    for value in sorted(set(values), key=len, reverse=True):
        masked = re.sub(re.escape(value), MASK, masked, flags=re.IGNORECASE)
    masked = _EMAIL_RE.sub(MASK, masked)
    left = skeleton(masked)
    if any(len(shape) >= MIN_SKELETON and shape in left for shape in map(skeleton, values)):
        status = _STATUS_RE.match(text.strip())
        head = f"{status.group(0)} " if status else ""
        return f"{head}(the vendor's message is withheld: it quotes a sensitive value)"
    return masked


def decode(text: str) -> str:
    """``text`` with escapes, URL encoding and HTML entities decoded until nothing changes."""
    for _ in range(_ROUNDS):
        decoded = _ESCAPE_RE.sub(_unescape, html.unescape(unquote(text)))
        if decoded == text:
            break
        text = decoded
    return text


def skeleton(text: str) -> str:
    """The letters and digits of ``text``, case-folded: how a value looks whatever its
    punctuation, spacing and case."""
    return "".join(char for char in text.casefold() if char.isalnum())


def _unescape(match: re.Match[str]) -> str:
    digits = next(group for group in match.groups() if group is not None)
    code = int(digits, 16)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)
