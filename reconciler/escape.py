"""The one escaping step for text that came from a repository or a vendor, before it is printed.

CI publishes what reconciler prints, and a CI log is a command channel: GitHub Actions runs a line
that starts with ``::`` (``::add-mask::``, ``::error ...``, ``::stop-commands::``) or ``##[``,
terminals obey ANSI/OSC escape sequences, and bidi overrides make a line read differently from
what it holds. Ids, attribute names and values, event names, file names and vendor messages are
all chosen by a pull request's author or by a vendor, so every line we print passes through
:func:`printable`: no line break, control, format (bidi, zero-width, tag) or separator character
survives raw, so nothing we print can start a line of its own or hide what it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

#: Not printable: everything ``str.isprintable`` refuses (C0/C1 controls, DEL, line and
#: paragraph separators, format characters such as bidi overrides and zero-width joiners, odd
#: spaces, unassigned code points). ASCII space is printable.
_SUSPECT = re.compile(r"[^\x20-\x7e]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: What GitHub Actions reads as a workflow command at the start of a line (after blanks).
_COMMAND_START = re.compile(r"^(\s*)(::|##\[)")
#: In JSON text only characters beyond ASCII can be raw: ``json.dumps`` escapes C0 itself, and a
#: line break outside a string is the document's own layout.
_JSON_SUSPECT = re.compile(r"[^\x00-\x7e]")


def escape_char(char: str) -> str:
    """One character as a visible escape: ``\\n``, ``\\x1b``, ``\\u202e``, ``\\U000e0041``
    (the escapes of YAML's double-quoted scalars and of Python, read the same by both)."""
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _visible(match: re.Match[str]) -> str:
    char = match[0]
    return char if char.isprintable() else escape_char(char)


def printable(text: str) -> str:
    """``text`` on one line with every character that is not printable escaped, and a leading
    ``::`` or ``##[`` defused (``\\x3a:``, ``\\x23#[``): it can neither start a workflow command
    nor move the cursor nor reorder or hide what a reader sees."""
    escaped = _SUSPECT.sub(_visible, text)
    return _COMMAND_START.sub(_defuse, escaped)


def _defuse(match: re.Match[str]) -> str:
    blanks, start = match[1], match[2]
    return blanks + ("\\x3a:" if start == "::" else "\\x23#[")


def _json_escape(match: re.Match[str]) -> str:
    char = match[0]
    if char.isprintable():
        return char
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    high, low = divmod(code - 0x10000, 0x400)
    return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"


def json_chunks(document: Any, **options: Any) -> Iterator[str]:
    """:func:`json_text` piece by piece, for documents too large to hold twice as text (the
    apply report of 20,000 users): the same characters, escaped the same way."""
    import json  # here: printing a line (every command, --help) needs no JSON

    for chunk in json.JSONEncoder(ensure_ascii=False, **options).iterencode(document):
        yield _JSON_SUSPECT.sub(_json_escape, chunk)


def json_text(document: Any, **options: Any) -> str:
    """``json.dumps`` whose output holds no raw unprintable character: JSON escapes C0 itself;
    the others (C1, separators, bidi, zero-width) are written as ``\\uXXXX``, which a parser
    reads back as the same string."""
    import json

    text = json.dumps(document, ensure_ascii=False, **options)
    return _JSON_SUSPECT.sub(_json_escape, text)
