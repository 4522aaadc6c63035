"""A small YAML emitter for the files reconciler writes (``reconciler import``).

Why not ``yaml.safe_dump``: it writes YAML 1.1, where ``NO`` and ``on`` are booleans, so it would
quote what reconciler's YAML 1.2 loader reads as text and leave plain what the loader refuses
(``01234``, ``+49 555``); and it cannot keep the house style of the examples (block style per
user, short collections on one line). Each scalar is written plain only when the loader reads it
back as the same text; the importer still reads the whole file back to be sure.
"""

from __future__ import annotations

from typing import Any

from reconciler.escape import printable
from reconciler.load.yamlcore import STR, resolve_plain

#: Lines longer than this are written in block style instead of ``{a: 1, b: 2}``.
WIDTH = 100
#: Characters that start a YAML indicator: a plain scalar cannot begin with them.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
#: Characters that end a plain scalar inside ``[...]`` / ``{...}``; quoted everywhere, so that
#: one rule serves block and flow style.
_FLOW_INDICATORS = frozenset(",[]{}")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def block(value: Any, indent: int, force: int) -> list[str]:
    """A mapping or sequence in block style at ``indent``; ``force`` > 0 keeps nested
    collections in block style too (a user's attributes, events, companies)."""
    lines: list[str] = []
    if isinstance(value, dict):
        for name, item in value.items():
            lines += entry(f"{_key(name)}:", item, indent, force)
        return lines
    for item in value:
        if isinstance(item, dict) and item and (force > 0 or not _fits(indent + 2, item)):
            nested = block(item, indent + 2, force - 1)
            nested[0] = " " * indent + "- " + nested[0][indent + 2 :]
            lines += nested
        else:
            lines += entry("-", item, indent, force)
    return lines


def entry(head: str, value: Any, indent: int, force: int) -> list[str]:
    """``head value`` on one line when it fits, else ``head`` and the value's block below."""
    line = " " * indent + head
    collection = isinstance(value, (dict, list)) and bool(value)
    if not collection or (force <= 0 and _fits(len(line) + 1, value)):
        return [f"{line} {_flow(value)}"]
    return [line, *block(value, indent + 2, force - 1)]


def _fits(column: int, value: Any) -> bool:
    return column + len(_flow(value)) <= WIDTH


def _flow(value: Any) -> str:
    """A value on one line: ``[a, b]``, ``{id: acme, attributes: {name: Acme}}``, a scalar."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_flow, value)) + "]"
    return scalar(value)


def _key(name: str) -> str:
    return scalar(name)


def scalar(value: Any) -> str:
    """One scalar, written so that reconciler's loader reads back this exact value and type.

    Text stays plain only when the loader would take it for text (not ``NO``-is-fine but
    ``12``, ``true``, ``null``, ``01234``, ``.inf``, ``<<`` are not) and nothing in it means
    something to YAML; anything else is double-quoted with escapes.
    """
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float: 0.1, 1e+16
    if not isinstance(value, str):
        raise TypeError(f"not a scalar: {type(value).__name__}")
    return value if _plain_safe(value) else _quoted(value)


def _plain_safe(text: str) -> bool:
    """Whether ``text`` written plain reads back as the same text, in block and flow style."""
    if not text or text != text.strip(" ") or not text.isprintable():
        return False  # isprintable: no newline, tab, control, odd space or line separator
    if text[0] in _INDICATORS or _FLOW_INDICATORS.intersection(text):
        return False
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    return resolve_plain(text) == STR


def _quoted(text: str) -> str:
    """A double-quoted scalar; what is not printable is escaped (``\\u2028`` would fold) with
    reconciler.escape's escapes, which are YAML's too."""
    return '"' + printable("".join(_ESCAPES.get(char, char) for char in text)) + '"'
