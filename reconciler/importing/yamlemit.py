"""The YAML ``reconciler import`` writes: PyYAML's emitter, told how the project reads scalars.

Two readers must agree on every value written: reconciler's YAML 1.2 loader (``yamlcore``) and
the YAML 1.1 tools others run on committed files (``yaml.safe_load``, Ansible, go-yaml v2), for
which ``NO``, ``on`` and ``y`` are booleans, ``2024-01-01`` is a date, ``12:30`` the integer 750
and ``1_000`` a thousand. So a scalar is written plain only when both resolve its text to the
same tag (:meth:`ImportDumper.resolve`); PyYAML's emitter then quotes the rest and whatever YAML
syntax needs quoting. What is quoted is double-quoted with reconciler.escape's escapes (YAML's
too): no line break, control or invisible character is written raw into a file people review.

Layout is the examples' house style: block style down to a depth (``force``), then a collection
on one line (``{id: acme, attributes: {name: Acme}}``) where that line stays within WIDTH.
"""

from __future__ import annotations

import functools
import io
import re
import sys
from collections.abc import Mapping
from typing import Any

import yaml
from yaml.emitter import ScalarAnalysis
from yaml.events import ScalarEvent
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from reconciler.escape import printable
from reconciler.load.yamlcore import BOOL, INT, SEQ, STR, resolve_plain

#: Lines longer than this are written in block style instead of ``{a: 1, b: 2}``.
WIDTH = 100
#: libyaml refuses an implicit key longer than 1024 characters; stay well below.
MAX_KEY = 1000
#: The tag of plain text that reconciler and YAML 1.1 read differently: it matches no value.
_MISREAD = "tag:reconciler,2024:misread"
#: YAML 1.1 booleans that PyYAML's own resolver leaves out (go-yaml v2 reads them).
_YAML11_BOOLS = frozenset({"y", "Y", "n", "N"})
#: The tags of the scalars ``housestyle`` writes itself.
STR_TAG, INT_TAG, BOOL_TAG = STR, INT, BOOL
#: Text that PyYAML's analysis allows plain in block and flow context alike, known without
#: running it (most ids and emails): printable ASCII with no indicator, space or leading
#: ``-``/``.``; none of ``analyze_scalar``'s flags is set by these characters where they are.
#: tests/test_housestyle.py checks it against the analysis.
_PLAIN_ANYWHERE_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+/-]*\Z")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


class ImportDumper(yaml.SafeDumper):
    """SafeDumper writing what both reconciler's loader and YAML 1.1 read back unchanged."""

    def __init__(self, stream: io.StringIO) -> None:
        super().__init__(
            stream, default_flow_style=False, width=sys.maxsize, allow_unicode=True, sort_keys=False
        )

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """YAML 1.1's tag (PyYAML's resolver) where reconciler's loader reads the same, else
        one that no value has, so that the text is quoted (or the number tagged)."""
        if kind is not ScalarNode or not implicit[0]:
            # Quoted text is text to both; collections are collections.
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call,no-any-return]
        return _plain_tag(value, implicit)

    def resolve_uncached(self, value: str, implicit: tuple[bool, bool]) -> str:
        yaml11: str = super().resolve(ScalarNode, value, implicit)  # type: ignore[no-untyped-call]
        same = resolve_plain(value) == yaml11 and value not in _YAML11_BOOLS
        return yaml11 if same else _MISREAD

    def ignore_aliases(self, data: Any) -> bool:
        return True  # no &anchors: each value is written where it is

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # a list indented under its key, as the examples

    def analyze_scalar(self, scalar: str) -> ScalarAnalysis:
        return _analysis(scalar)

    def analyze_uncached(self, scalar: str) -> ScalarAnalysis:
        analysis = super().analyze_scalar(scalar)
        if not scalar.isprintable():  # line breaks, tabs, controls, bidi, zero-width: escaped
            analysis.allow_flow_plain = analysis.allow_block_plain = False
            analysis.allow_single_quoted = analysis.allow_block = False
        return analysis

    def choose_scalar_style(self) -> str:
        style = super().choose_scalar_style()
        return '"' if style == "'" else style  # one quoting style: double quotes

    def check_simple_key(self) -> bool:
        """``key: value`` up to MAX_KEY, not PyYAML's 128; keys are one line (escaped)."""
        if not isinstance(self.event, ScalarEvent):
            return super().check_simple_key()
        if self.analysis is None:
            self.analysis = self.analyze_scalar(self.event.value)
        return len(self.analysis.scalar) <= MAX_KEY

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        self.write_indicator(_quoted(text), True)  # on one line: never folded


# An import writes the same names and values thousands of times (5,000 users: 100,000
# scalars), and PyYAML's pure-Python emitter spent a fifth of the run analysing and resolving
# each one again. Both are functions of the text alone (the analysis reads only allow_unicode,
# always True here; the resolver only its class's tables), so they are remembered by text.
@functools.lru_cache(maxsize=1 << 16)
def _analysis(scalar: str) -> ScalarAnalysis:
    """What the emitter needs to know of ``scalar``; the emitter only reads it."""
    return _prototype().analyze_uncached(scalar)


@functools.lru_cache(maxsize=1 << 16)
def _plain_tag(value: str, implicit: tuple[bool, bool]) -> str:
    return _prototype().resolve_uncached(value, implicit)


@functools.lru_cache(maxsize=1 << 16)
def scalar_forms(tag: str, text: str) -> tuple[str, str] | None:
    """How ImportDumper writes the scalar ``text`` tagged ``tag``: in block context (a value,
    a list item, a key) and in flow context (inside ``[...]`` or ``{...}``); None when it needs
    a ``!!tag``. PyYAML's choice (``Emitter.choose_scalar_style``, ``process_tag``): plain
    when the plain text resolves to ``tag`` and the analysis allows plain in that context;
    else quoted (double quotes here), which only text needs no tag for. A key is written as a
    value in its context is: the key context only refuses plain text that is empty or
    multiline, which is never plain anyway (empty text reads as null; a line break is
    escaped)."""
    dumper = _prototype()
    plain = tag == dumper.resolve_uncached(text, (True, False))
    if plain and _PLAIN_ANYWHERE_RE.match(text):
        return text, text
    analysis = dumper.analyze_uncached(text)
    block, flow = plain and analysis.allow_block_plain, plain and analysis.allow_flow_plain
    if block and flow:
        return text, text
    if tag != STR_TAG:
        return None
    quoted = _quoted(text)
    return text if block else quoted, text if flow else quoted


@functools.cache
def _prototype() -> ImportDumper:
    return ImportDumper(io.StringIO())


def _quoted(text: str) -> str:
    """A double-quoted scalar; what is not printable is escaped (``\\u2028`` would fold) with
    reconciler.escape's escapes, which are YAML's too."""
    return '"' + printable("".join(_ESCAPES.get(char, char) for char in text)) + '"'


def _emit(node: Node) -> str:
    stream = io.StringIO()
    dumper = ImportDumper(stream)
    try:
        dumper.open()
        dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


def _represent(value: Any) -> Node:
    return ImportDumper(io.StringIO()).represent_data(value)


def scalar(value: str | int | float) -> str:
    """One scalar as written inside ``[...]``, the strictest place: what may be plain there may
    be plain anywhere. For comments that quote a name, and to measure a key."""
    node = _represent([value])
    assert isinstance(node, SequenceNode)
    node.flow_style = True
    return _emit(node)[1:-2]  # "[value]\n"


def flow_text(value: list[Any] | dict[str, Any]) -> str:
    """A list or mapping on one line (``[a, b]``, ``{plan: pro}``), whatever its width: for
    a value that replaces another in place (import merging into an existing file)."""
    node = _represent(value)
    _all_flow(node)
    return _emit(node).rstrip("\n")


def _all_flow(node: Node) -> None:
    if isinstance(node, MappingNode):
        node.flow_style = True
        for key, child in node.value:
            _all_flow(key)
            _all_flow(child)
    elif isinstance(node, SequenceNode):
        node.flow_style = True
        for item in node.value:
            _all_flow(item)


def key_fits(name: str) -> bool:
    """Whether ``name`` written as a key stays within MAX_KEY; only long names are written to
    see (an escape is at most 10 characters, ``\\U000e0041``)."""
    return len(name) * 10 + 2 <= MAX_KEY or len(scalar(name)) <= MAX_KEY


def block_lines(
    mapping: Mapping[str, Any], indent: int, force: Mapping[str, int], default: int
) -> list[str]:
    """``mapping`` in block style at ``indent``: the value of ``key`` stays in block style
    ``force.get(key, default)`` levels deep; deeper, a collection that fits goes on one line."""
    node = _represent(dict(mapping))
    assert isinstance(node, MappingNode)
    for key, value in node.value:
        _place(key, value, indent, force.get(key.value, default))
    return [" " * indent + line for line in _emit(node).split("\n")[:-1]]


def _place(key: Node | None, node: Node, indent: int, force: int) -> None:
    """Flow style for the collection ``node`` (the value of ``key``, or a list item when None)
    once ``force`` is spent and its whole line fits WIDTH; else block, its items placed alike."""
    if not isinstance(node, CollectionNode) or not node.value:
        return  # a scalar, or [] / {}: one line anyway
    node.flow_style = force <= 0 and indent + _line_width(key, node) <= WIDTH
    if node.flow_style:
        return
    if isinstance(node, MappingNode):
        for child_key, child in node.value:
            _place(child_key, child, indent + 2, force - 1)
    else:
        for item in node.value:
            _place(None, item, indent + 2, force - 1)


def _line_width(key: Node | None, node: CollectionNode) -> int:
    """Width of ``key: {...}`` or ``- [...]`` on one line."""
    return _flow_width(node) + (2 if key is None else _flow_width(key) + 2)


def _flow_width(node: Node) -> int:
    """Width of ``node`` in flow style: its scalars as the emitter writes them, joined as it
    joins them (``{k: v, k: v}``, ``[a, b]``), without emitting the whole of it again."""
    if isinstance(node, ScalarNode):
        return _scalar_width(node.tag, node.value)
    if isinstance(node, MappingNode):
        parts = [_flow_width(key) + 2 + _flow_width(value) for key, value in node.value]
    else:
        parts = [_flow_width(item) for item in node.value]
    return 2 + sum(parts) + 2 * max(len(parts) - 1, 0)


@functools.lru_cache(maxsize=4096)
def _scalar_width(tag: str, value: str) -> int:
    """Width of one scalar in flow style (companies, tags and names repeat: cached)."""
    return len(_emit(SequenceNode(SEQ, [ScalarNode(tag, value)], flow_style=True))) - 3
