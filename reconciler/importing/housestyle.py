"""The house style ``reconciler import`` writes, laid out here and not by PyYAML's emitter.

An import writes the same few shapes thousands of times (a mapping of names to scalars, lists
and mappings), and PyYAML's pure-Python emitter spent two thirds of an import's CPU walking
its state machine for each user. The layout of those shapes is simple and fixed (what
``yamlemit.ImportDumper`` writes: block mappings, lists indented under their key, ``{a: b}``
and ``[a, b]`` on one line), so it is written here directly; what is hard, how each scalar is
written, is still decided by PyYAML's own analysis and resolver (``yamlemit.scalar_forms``,
remembered by text), so quoting stays exactly PyYAML's.

Anything outside those shapes (a scalar that needs a ``!!tag``, a key longer than
``yamlemit.MAX_KEY`` or not text, a type PyYAML would refuse or represent otherwise) goes
through PyYAML as before (:class:`_Unusual`): the same bytes, only slower. tests/test_housestyle.py
checks both paths give the same bytes on awkward values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.importing import yamlemit
from reconciler.importing.yamlemit import MAX_KEY, WIDTH

#: What one scalar is written as: in block context (a value, a list item) and in flow context.
Forms = tuple[str, str]


class _Unusual(Exception):
    """A value this layout does not write: PyYAML's emitter writes the whole of it instead."""


def block_lines(
    mapping: Mapping[str, Any], indent: int, force: Mapping[str, int], default: int
) -> list[str]:
    """``mapping`` in block style at ``indent``: the value of ``key`` stays in block style
    ``force.get(key, default)`` levels deep; deeper, a collection that fits goes on one line
    (WIDTH). The lines of ``yamlemit.block_lines``, byte for byte."""
    try:
        if mapping.__class__ is not dict or not mapping:
            raise _Unusual
        lines: list[str] = []
        for key, value in mapping.items():
            _entry(key, value, indent, force.get(key, default), lines)
    except _Unusual:
        return yamlemit.block_lines(mapping, indent, force, default)
    pad = " " * indent
    return [pad + line for line in lines]


def flow_text(value: list[Any] | dict[str, Any]) -> str:
    """A list or mapping on one line (``[a, b]``, ``{plan: pro}``), whatever its width."""
    try:
        return _flow(value)
    except _Unusual:
        return yamlemit.flow_text(value)


def scalar(value: str | int | float) -> str:
    """One scalar as written inside ``[...]``, the strictest place."""
    try:
        return _forms(value)[1]
    except _Unusual:
        return yamlemit.scalar(value)


def key_fits(name: str) -> bool:
    """Whether ``name`` written as a key stays within MAX_KEY (``yamlemit.key_fits``)."""
    return len(name) * 10 + 2 <= MAX_KEY or len(scalar(name)) <= MAX_KEY


def _entry(key: Any, value: Any, indent: int, force: int, lines: list[str]) -> None:
    """``key: value`` at column 0 (the caller indents), ``key`` at ``indent`` in the file."""
    written = _key(key, block=True)
    if value.__class__ is not dict and value.__class__ is not list:
        lines.append(f"{written}: {_forms(value)[0]}")
        return
    if not value:
        lines.append(f"{written}: {'{}' if value.__class__ is dict else '[]'}")
        return
    if force <= 0:  # one line when it fits: its width as yamlemit._line_width measures it
        flow = _flow(value)
        if indent + len(_forms(key)[1]) + 2 + len(flow) <= WIDTH:
            lines.append(f"{written}: {flow}")
            return
    lines.append(f"{written}:")
    nested = _block(value, indent + 2, force - 1)
    lines.extend("  " + line for line in nested)


def _block(value: dict[str, Any] | list[Any], indent: int, force: int) -> list[str]:
    """A non-empty collection in block style at column 0, placed at ``indent`` in the file."""
    lines: list[str] = []
    if value.__class__ is dict:
        for key, child in value.items():
            _entry(key, child, indent, force, lines)
        return lines
    for item in value:
        if item.__class__ is not dict and item.__class__ is not list:
            lines.append(f"- {_forms(item)[0]}")
            continue
        flow = _flow(item) if force <= 0 or not item else ""
        if not item or (flow and indent + 2 + len(flow) <= WIDTH):
            lines.append(f"- {flow}")
            continue
        # PyYAML writes a block collection's first line after the dash, the rest under it.
        nested = _block(item, indent + 2, force - 1)
        lines.append("- " + nested[0])
        lines.extend("  " + line for line in nested[1:])
    return lines


def _flow(value: Any) -> str:
    """``value`` in flow style: ``{k: v, k: v}``, ``[a, b]``, a scalar's flow form."""
    cls = value.__class__
    if cls is dict:
        return (
            "{" + ", ".join(f"{_key(k, block=False)}: {_flow(v)}" for k, v in value.items()) + "}"
        )
    if cls is list:
        return "[" + ", ".join(map(_flow, value)) + "]"
    return _forms(value)[1]


def _key(key: Any, *, block: bool) -> str:
    """A mapping key as PyYAML writes a simple key: text as a value in the same context."""
    if key.__class__ is not str or len(key) > MAX_KEY:
        raise _Unusual  # PyYAML writes ``? key``, or a key of another type
    return _forms(key)[0 if block else 1]


def _forms(value: Any) -> Forms:
    """How a scalar is written in block and in flow context (text, int, bool alone)."""
    cls = value.__class__
    if cls is str:
        forms = yamlemit.scalar_forms(yamlemit.STR_TAG, value)
    elif cls is int:
        forms = yamlemit.scalar_forms(yamlemit.INT_TAG, str(value))
    elif cls is bool:
        forms = yamlemit.scalar_forms(yamlemit.BOOL_TAG, "true" if value else "false")
    else:
        raise _Unusual  # a float's text is PyYAML's representer's business
    if forms is None:
        raise _Unusual  # written with a tag (``!!int "1"``): PyYAML's emitter
    return forms
