"""The YAML dialect: YAML 1.2 core types on libyaml's C parser, refusing anything ambiguous.

User data is full of values that YAML 1.1 (PyYAML's default) silently changes: ``country: NO``
becomes false, ``zip: 01234`` becomes 668, ``12:30:00`` becomes 45000. Here only ``true``/``false``
are booleans, timestamps and times stay the strings written, and numbers that YAML would change
(leading zeros, other bases, ``.inf``) are reported with a request to quote them: what is written
is what is sent. Only standard tags are read; keys are the text written.

Speed: libyaml composes the node graph in C and calls back into Python only for ``resolve`` (a
first-character dispatch) and ``descend/ascend_resolver`` (a depth guard: the C composer recurses
and would crash the interpreter on a 100k-deep file). Values are built by :class:`Builder`, a
small recursive constructor over the nodes, instead of PyYAML's generator-based one.
"""

from __future__ import annotations

import gc
import math
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from yaml import YAMLError
from yaml._yaml import CParser  # libyaml's C parser (PyYAML wheels ship it)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.quoting import excerpt

_CORE = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_CORE + t for t in ("str", "int", "float", "bool", "null"))
MAP, SEQ, MERGE = _CORE + "map", _CORE + "seq", _CORE + "merge"
#: Resolved for plain numbers YAML would change (01234, 0x1F, +49..., .inf): reported, not built.
AMBIGUOUS_NUMBER = "tag:reconciler,2024:ambiguous-number"

#: Deeper than any declaration needs; guards libyaml's recursive composer and ours.
MAX_DEPTH = 64
#: An alias bomb expands to far more values than the file holds; refuse beyond this. The slack
#: lets big files share a block (``attributes: *standard`` on 10k users) without being refused.
EXPANSION_FACTOR, EXPANSION_SLACK = 10, 1_000_000
#: The same bound on text: the characters of every key and scalar, aliases written out, may be
#: EXPANSION_FACTOR times the file's size plus this slack. Counting values alone let one 1 MB
#: string aliased by 300 users through (a 1 MB file that every plan prints as 301 MB).
TEXT_SLACK = 1 << 20

_INT_RE = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_OTHER_NUMBER_RE = re.compile(
    r"[-+]?(?:0o[0-7]+|0x[0-9a-fA-F]+|\.(?:inf|Inf|INF))\Z|\.(?:nan|NaN|NAN)\Z"
)
_LEADING_ZERO_RE = re.compile(r"[-+]?0[0-9]")
_NULLS = frozenset({"null", "Null", "NULL", "~"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


def _resolve_number(value: str) -> str:
    """Tag a plain scalar that starts like a number; ambiguous spellings are flagged, not read."""
    if _INT_RE.match(value) or _FLOAT_RE.match(value):
        if value[0] == "+" or _LEADING_ZERO_RE.match(value):
            return AMBIGUOUS_NUMBER
        return INT if _INT_RE.match(value) else FLOAT
    return AMBIGUOUS_NUMBER if _OTHER_NUMBER_RE.match(value) else STR


def _resolve_null(value: str) -> str:
    return NULL if value in _NULLS else STR


def _resolve_bool(value: str) -> str:
    return BOOL if value in _BOOLS else STR


#: First character of a plain scalar -> resolver; anything else is a string without a regex.
_FIRST_CHAR: dict[str, Callable[[str], str]] = {c: _resolve_number for c in "0123456789+-."}
_FIRST_CHAR.update({c: _resolve_null for c in "nN~"})
_FIRST_CHAR.update({c: _resolve_bool for c in "tTfF"})
_FIRST_CHAR["<"] = lambda value: MERGE if value == "<<" else STR


class TooDeep(YAMLError):
    """Raised from the composer's callback: nesting beyond MAX_DEPTH."""

    def __init__(self, node: Node | None) -> None:
        super().__init__(f"nesting deeper than {MAX_DEPTH} levels")
        self.node = node


def _resolve(kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
    """The tag of a node libyaml composes: YAML 1.2 core rules, first character first."""
    if kind is ScalarNode:
        if not implicit[0]:  # quoted, block literal or tagged `!`: text as written
            return STR
        if not value:
            return NULL
        resolver = _FIRST_CHAR.get(value[0])
        return STR if resolver is None else resolver(value)
    return SEQ if kind is SequenceNode else MAP


def resolve_plain(value: str) -> str:
    """The tag a plain (unquoted) scalar with this text gets: for text rewritten before building."""
    return _resolve(ScalarNode, value, (True, False))


class Composer(CParser):
    """libyaml's C parser and composer with YAML 1.2 core resolution and a depth guard.

    The C composer calls ``descend_resolver`` before each node and ``ascend_resolver`` after
    it; the stack of open parents gives the depth. ``ascend_resolver`` is the list's own C
    ``pop``, one Python call less per node.
    """

    resolve = staticmethod(_resolve)

    def __init__(self, data: bytes | str) -> None:
        super().__init__(data)
        self._open: list[Node | None] = []
        self.ascend_resolver = self._open.pop

    def descend_resolver(self, parent: Node | None, index: object) -> None:
        open_nodes = self._open
        open_nodes.append(parent)
        if len(open_nodes) > MAX_DEPTH:
            raise TooDeep(parent)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: a node graph only grows while it is read, so scanning it is waste."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_IN_PROGRESS = object()


class _TextOver(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


def text_over(root: Node, limit: int) -> tuple[Node, int] | None:
    """Where the text of ``root`` with every alias written out passes ``limit`` characters: the
    key (or list item) of the largest value inside the part that passed it, and that value's
    size; None when it stays within. Each shared node is measured once (a memo by identity),
    so measuring costs the nodes written, not the expansion."""
    sizes: dict[int, int] = {}

    def size(node: Node) -> int:
        if node.__class__ is ScalarNode:
            return len(node.value)
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = 0  # a cycle is the builder's problem to report: count it once
        total = 0
        for child in _children(node):
            total += size(child)
            if total > limit:
                raise _TextOver(child)
        sizes[id(node)] = total
        return total

    try:
        size(root)
    except _TextOver as over:
        return _largest(over.node, sizes)
    return None


def _children(node: Node) -> list[Node]:
    if node.__class__ is SequenceNode:
        return cast(list[Node], node.value)
    return [part for pair in node.value for part in pair]


def _largest(node: Node, sizes: dict[int, int]) -> tuple[Node, int]:
    """Down from ``node`` to the key (or list item) whose value is the largest, for the message:
    the alias to shorten, rather than the list that holds it."""

    def measured(child: Node) -> int:
        return len(child.value) if child.__class__ is ScalarNode else sizes.get(id(child), 0)

    where = node
    while node.__class__ is not ScalarNode and node.value:
        if node.__class__ is SequenceNode:
            node = max(node.value, key=measured)
            where = node
        else:
            where, node = max(node.value, key=lambda pair: measured(pair[1]))
    return where, measured(node)


class Builder:
    """Nodes -> dict/list/str/int/float/bool/None. Shared (aliased) nodes are built once.

    Sizes are counted as if aliases were expanded, to refuse alias bombs before anything
    downstream walks the expansion.
    """

    def __init__(self) -> None:
        self.problems: list[tuple[Node, str]] = []
        self.real_nodes = 0
        self._memo: dict[Node, Any] = {}

    def node(self, node: Node) -> tuple[Any, int]:
        if node.__class__ is ScalarNode:
            return self.scalar(node), 1
        memo = self._memo.get(node)
        if memo is _IN_PROGRESS:
            self.problems.append((node, "an alias refers to a value that contains it (a cycle)"))
            return None, 1
        if memo is not None:
            return memo  # type: ignore[no-any-return]
        self._memo[node] = _IN_PROGRESS
        self.real_nodes += 1 + len(node.value)
        built: tuple[Any, int]
        if node.__class__ is MappingNode:
            built = self.mapping(node)
        else:
            built = self.sequence(cast(SequenceNode, node))
        self._memo[node] = built
        return built

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag is STR:
            if NUL in node.value:
                self.problems.append((node, NUL_MESSAGE))
            return node.value
        build = _SCALARS.get(tag)
        if build is None:
            self.problems.append((node, _tag_message(tag, "a value")))
            return node.value
        value, message = build(node.value)
        if message:
            self.problems.append((node, message))
        return value

    def sequence(self, node: SequenceNode) -> tuple[list[Any], int]:
        if node.tag != SEQ:
            self.problems.append((node, _tag_message(node.tag, "a list")))
        items: list[Any] = []
        size = 1
        for item in node.value:
            if item.__class__ is ScalarNode and item.tag is STR and NUL not in item.value:
                items.append(item.value)
                size += 1
            else:
                value, item_size = self.node(item)
                items.append(value)
                size += item_size
        return items, size

    def mapping(self, node: MappingNode) -> tuple[dict[str, Any], int]:
        if node.tag != MAP:
            self.problems.append((node, _tag_message(node.tag, "a mapping")))
        result: dict[str, Any] = {}
        size = 1
        merge: Node | None = None
        for key_node, value_node in node.value:
            key = self.key(key_node)
            if key is None:
                continue
            if key_node.tag is MERGE and merge is None:
                merge = value_node
                continue
            if key in result or key_node.tag is MERGE:
                first = next(k for k, _ in node.value if k.value == key and k is not key_node)
                message = (
                    f"duplicate key {excerpt(str(key))} (first at line {first.start_mark.line + 1})"
                )
                self.problems.append((key_node, message))
                continue
            plain = value_node.__class__ is ScalarNode and value_node.tag is STR
            if plain and NUL not in value_node.value:
                result[key] = value_node.value
                size += 2
            else:
                value, value_size = self.node(value_node)
                result[key] = value
                size += 1 + value_size
        if merge is not None:
            return self.merge(merge, result, size)
        return result, size

    def key(self, node: Node) -> str | None:
        """A mapping key is the text written (``on:``, ``123:`` are string keys).

        Keys are interned: 100k users repeat the same few names, and one shared string each
        saves memory here and in every pickle between processes.
        """
        if node.__class__ is not ScalarNode:
            self.problems.append((node, "a key must be plain text, not a list or mapping"))
            return None
        if node.tag not in _KEY_TAGS:
            self.problems.append((node, _tag_message(node.tag, "a key")))
            return None
        if NUL in node.value:
            self.problems.append((node, NUL_MESSAGE))
        return sys.intern(node.value)

    def merge(self, merge: Node, explicit: dict[str, Any], size: int) -> tuple[dict[str, Any], int]:
        """``<<: *base`` or ``<<: [*a, *b]``: keys written here win, then earlier sources."""
        sources = merge.value if isinstance(merge, SequenceNode) else [merge]
        merged: dict[str, Any] = {}
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                message = "'<<' merges a mapping or a list of mappings (usually *aliases)"
                self.problems.append((source, message))
                continue
            value, source_size = self.node(source)
            if isinstance(value, dict):
                merged.update(value)
            size += source_size
        merged.update(explicit)
        return merged, size


#: The NUL character: only a double-quoted escape (``"\0"``, ``"\x00"``, ``"\u0000"``) makes one.
NUL = "\x00"
#: PostgreSQL text cannot hold NUL: the real Usertour server answers 500 E0000 to every
#: request that carries one, in an id, an attribute name or a value (apis/usertour.md).
NUL_MESSAGE = (
    "holds a NUL character (\\0), which servers that keep text in PostgreSQL cannot store "
    "(the real Usertour server answers 500 to every such request): remove it"
)


#: Integers JavaScript (Usertour's server, Sprig's SDKs) holds exactly: |n| <= 2^53.
#: Beyond, ``9007199254740993`` would be stored as ``...992`` and plan would fight it forever.
SAFE_INTEGER = 2**53
#: Digits of SAFE_INTEGER: a longer integer is refused before ``int()`` (which refuses more
#: than 4,300 digits with a ValueError, and is quadratic below that).
_SAFE_DIGITS = len(str(SAFE_INTEGER))


# Messages name the field (the caller adds file, line and column), never the value written: a
# value may be personal data (``phone: +4755501234``), and validate's output is a CI log.


def _build_int(text: str) -> tuple[Any, str | None]:
    if not _INT_RE.match(text):
        return text, "!!int needs a decimal integer"
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) <= _SAFE_DIGITS and abs(value := int(text)) <= SAFE_INTEGER:
        return value, None
    return text, (
        "an integer beyond ±2^53 (9007199254740992), which JavaScript servers round; "
        "quote it to keep it exact, as a string"
    )


def _build_float(text: str) -> tuple[Any, str | None]:
    if not _FLOAT_RE.match(text):
        return text, "!!float needs a decimal number"
    value = float(text)
    if math.isinf(value):
        return text, (
            "a number too large (it would load as infinity, "
            "which JSON cannot carry); quote it to keep it as written"
        )
    return value, None


def _build_bool(text: str) -> tuple[Any, str | None]:
    if text in _BOOLS:
        return _BOOLS[text], None
    return text, "!!bool needs true or false"


def _build_null(text: str) -> tuple[Any, str | None]:
    if not text or text in _NULLS:
        return None, None
    return text, "!!null needs null or ~ (or nothing)"


def _ambiguous_number(text: str) -> tuple[Any, str | None]:
    """Explain why a plain number-like value is refused and how to keep it as written."""
    quote = "quote it (in double quotes) to keep it as written"
    if text.lstrip("+-").startswith((".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN")):
        return text, f"infinity or NaN cannot be sent; {quote}"
    if text.lstrip("+-").startswith(("0x", "0o")):
        return text, f"a number in another base (0x, 0o); {quote}, or write it in decimal"
    if text.startswith("+"):
        return text, f"a number would lose its leading '+'; {quote}"
    return text, f"a number would lose its leading zero; {quote}"


_SCALARS: dict[str, Callable[[str], tuple[Any, str | None]]] = {
    STR: lambda text: (text, None),
    INT: _build_int,
    FLOAT: _build_float,
    BOOL: _build_bool,
    NULL: _build_null,
    AMBIGUOUS_NUMBER: _ambiguous_number,
    MERGE: lambda text: (text, None),  # a plain `<<` that is a value, not a key
}
_KEY_TAGS = frozenset(_SCALARS)


def _tag_message(tag: str, what: str) -> str:
    shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
    return (
        f"the tag {shown} is not allowed on {what}: only plain data is read "
        "(strings, numbers, true/false, null, lists, mappings)"
    )
