"""Quoting text from the repository inside a message: escaped, and never more than an excerpt.

Messages end up in CI logs, annotations and pull-request comments, so a value quoted from a
declaration file is shown as a Python literal (newlines, control characters, ANSI and bidi
sequences become visible escapes, so no line can start with a workflow command) and cut to a
few dozen characters: enough to find the value, never a way to print a whole file. Content of a
file that is not a declaration file, and the value of an environment variable, are never quoted
at all: their callers say what kind of value was found instead.
"""

from __future__ import annotations

#: Characters of a quoted value; longer values are cut, and the cut is shown.
EXCERPT_CHARS = 40
#: Characters of a quoted path (a ``users:`` entry, a sandbox ``path:``): they run longer.
PATH_CHARS = 120


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``'a value'`` escaped like a Python literal; ``'the first part...'`` when longer."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[: limit - 3] + "...")
