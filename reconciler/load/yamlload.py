"""Reading YAML files into plain values and located Problems, and finding positions again.

The dialect itself (YAML 1.2 core, no ambiguous numbers, safe tags) is in ``yamlcore``. Positions
are not kept while loading, to stay fast on big repositories: a file with problems is composed
again and :class:`Locator` maps a JSON path such as ``("users", 3, "attributes", "plan")`` back to
line:column. The cyclic garbage collector is paused while a file is read: it would otherwise
rescan the growing node graph again and again (4x slower on 10k users).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml import MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from reconciler.errors import Problem
from reconciler.load.confine import read_bounded
from reconciler.load.yamlcore import (
    BOOL,
    EXPANSION_FACTOR,
    EXPANSION_SLACK,
    FLOAT,
    INT,
    MERGE,
    NULL,
    STR,
    TEXT_SLACK,
    Builder,
    Composer,
    TooDeep,
    gc_paused,
    text_over,
)
from reconciler.model import JsonPath
from reconciler.quoting import EXCERPT_CHARS

_SIMPLE_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


@dataclass
class Document:
    """One parsed YAML file: its top-level mapping when usable, and every problem found."""

    file: str
    value: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    #: The text, kept to locate paths on demand (positions are not recorded while loading).
    data: bytes | str = field(default=b"", repr=False)
    #: The node graph, only when the caller asked to keep it.
    root: Node | None = field(default=None, repr=False)
    #: The mapping built despite problems in its values (a refused ``01234`` is kept as the
    #: text written, a duplicate key's second value dropped), so that a validator can still
    #: check the rest of the file: one run reports every problem. Never to be used as data.
    partial: dict[str, Any] | None = field(default=None, repr=False)

    def locator(self) -> Locator:
        """A Locator for this file, composing it again unless the nodes were kept."""
        return Locator(self.root) if self.root is not None else Locator.from_data(self.data)


def compose(data: bytes | str, file: str) -> tuple[Node | None, list[Problem]]:
    """Parse one YAML document into nodes (with positions); syntax errors become Problems."""
    try:
        with gc_paused():
            return Composer(data).get_single_node(), []
    except TooDeep as error:
        mark = error.node.start_mark if error.node is not None else None
        return None, [_problem_at(file, mark, str(error))]
    except MarkedYAMLError as error:
        return None, [_syntax_problem(file, data, error)]
    except ReaderError as error:
        return None, [_reader_problem(file, data, error)]


def parse_mapping(
    data: bytes | str,
    file: str,
    *,
    prepare: Callable[[Node], list[Problem]] | None = None,
    keep_nodes: bool = False,
) -> Document:
    """Read a file that must hold one YAML mapping (reconciler.yaml, a declaration file).

    ``prepare`` may rewrite scalar nodes before values are built (``${VAR}`` expansion).
    """
    root, problems = compose(data, file)
    document = Document(file, None, problems, data, root if keep_nodes else None)
    if problems:
        return document
    if root is None or (isinstance(root, ScalarNode) and root.tag == NULL):
        where = root.start_mark if root is not None else None
        document.problems.append(_problem_at(file, where, "the file is empty"))
    elif not isinstance(root, MappingNode):
        # Never the value itself: a file named by mistake (a key, .netrc) would be printed.
        message = f"the file must hold a mapping (key: value lines), found {_kind(root)}"
        document.problems.append(_problem_at(file, root.start_mark, message))
    else:
        document.problems.extend(prepare(root) if prepare is not None else ())
        value, construct_problems = construct(root, file)
        document.problems.extend(construct_problems or _text_problems(root, data, file))
        document.value = None if document.problems else value
        document.partial = value if isinstance(value, dict) else None
    return document


def _kind(node: Node) -> str:
    """What a node is, in the words of the schema's messages, without its text."""
    if isinstance(node, SequenceNode):
        return "a list"
    kinds = {STR: "a string", INT: "a number", FLOAT: "a number", BOOL: "true or false"}
    return kinds.get(node.tag, "a single value")


def load_file(path: Path, file: str, *, keep_nodes: bool = False) -> Document:
    """Read (at most ``confine.MAX_FILE_BYTES``) and parse a file; an unreadable or too large
    file is a Problem like any other."""
    try:
        data = read_bounded(path)
    except OSError as error:
        return Document(file, None, [unreadable(file, error)])
    return parse_mapping(data, file, keep_nodes=keep_nodes)


def unreadable(file: str, error: OSError) -> Problem:
    """``cannot read: <reason>``: the system's reason, or the size limit's message."""
    return Problem(file, None, None, "", f"cannot read: {error.strerror or 'unreadable'}")


def construct(root: Node, file: str) -> tuple[Any, list[Problem]]:
    """Build plain values from nodes; every offending node is reported, not just the first."""
    builder = Builder()
    with gc_paused():
        value, size = builder.node(root)
    if size > EXPANSION_FACTOR * builder.real_nodes + EXPANSION_SLACK:
        message = (
            f"aliases expand this file to {size} values from {builder.real_nodes} written: "
            "refusing it (an alias bomb?); write the values out or use fewer nested aliases"
        )
        return None, [_problem_at(file, root.start_mark, message)]
    paths = _paths_to([node for node, _ in builder.problems], root) if builder.problems else {}
    problems = [
        _problem_at(file, node.start_mark, message, paths.get(id(node)))
        for node, message in builder.problems
    ]
    return value, problems


#: An anchor (``&name``) and an alias (``*name``) as they start a node; a file without both
#: cannot expand, and is not measured.
_ANCHOR_RE, _ALIAS_RE = (
    re.compile(rb"(?:^|[\s,\[{:-])&[^\s]"),
    re.compile(rb"(?:^|[\s,\[{:-])\*[^\s]"),
)


def _text_problems(root: Node, data: bytes | str, file: str) -> list[Problem]:
    """Refuse a file whose aliases expand its text beyond EXPANSION_FACTOR times its size
    (plus TEXT_SLACK), at the key of the largest repeated value."""
    # No "&" or no "*" at all (a memchr) says as much as the patterns, which try every position.
    if isinstance(data, str):
        if "&" not in data or "*" not in data:
            return []
        raw = data.encode("utf-8")
    elif b"&" not in data or b"*" not in data:
        return []
    else:
        raw = data
    if not (_ANCHOR_RE.search(raw) and _ALIAS_RE.search(raw)):
        return []
    limit = EXPANSION_FACTOR * len(raw) + TEXT_SLACK
    over = text_over(root, limit)
    if over is None:
        return []
    node, size = over
    message = (
        f"aliases expand this file's text beyond {limit:,} characters ({EXPANSION_FACTOR} times "
        f"its {len(raw):,} bytes, and 1 MiB): refusing it. The value here is {size:,} "
        "characters, repeated through aliases (*name); write it once, or shorten it"
    )
    path = _paths_to([node], root).get(id(node))
    return [_problem_at(file, node.start_mark, message, path)]


def format_json_path(path: JsonPath) -> str:
    """``("users", 3, "attributes", "plan")`` -> ``users[3].attributes.plan``; odd keys quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _SIMPLE_KEY_RE.match(part) and len(part) <= EXCERPT_CHARS:
            text += f".{part}" if text else part
        else:
            text += f"[{_quoted_key(part)}]"
    return text


def _quoted_key(key: str) -> str:
    """A key from the file as a JSON string: cut when long, escaped when not printable."""
    if len(key) > EXCERPT_CHARS:
        key = key[: EXCERPT_CHARS - 3] + "..."
    return json.dumps(key, ensure_ascii=not key.isprintable())


def _problem_at(file: str, mark: Any, message: str, path: JsonPath | None = None) -> Problem:
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return Problem(file, line, column, format_json_path(path) if path else "", message)


def _syntax_problem(file: str, data: bytes | str, error: MarkedYAMLError) -> Problem:
    """libyaml's wording, with a hint for the usual causes (tabs, several documents)."""
    mark = error.problem_mark or error.context_mark
    problem = error.problem or "invalid YAML"
    if problem.startswith("exceeded maximum nesting depth"):
        # Newer libyaml (bundled with PyYAML 6.0.4) has a nesting limit of its own that can
        # refuse before our composer's: one message, whichever libyaml parsed the file.
        return _problem_at(file, mark, str(TooDeep(None)))
    if error.context == "expected a single document in the stream":
        return _problem_at(file, mark, "a second YAML document (---): keep one document per file")
    if problem == "found undefined alias":
        name = _text_from(data, mark).split()[0] if mark is not None else ""
        return _problem_at(file, mark, f"alias {name} refers to no anchor (&name) above it")
    if mark is not None and _text_from(data, mark).startswith("\t"):
        problem += " (a tab: YAML indents with spaces only)"
    elif _is_indentation(error) and mark is not None and error.context_mark is not None:
        return _problem_at(file, mark, _indentation_message(error))
    elif error.context:
        problem = f"{problem} ({error.context})"
    started = error.context_mark
    if mark is not None and started is not None and started.line != mark.line:
        # An unclosed quote or bracket fails at the end of the file; where it opened is the
        # line to fix, so that is where the problem is reported.
        problem += f"; it starts here and is still open at line {mark.line + 1}"
        mark = started
    return _problem_at(file, mark, f"invalid YAML: {problem}")


#: libyaml's contexts for a line indented unlike the block it is in.
_BLOCKS = {"while parsing a block mapping": "mapping", "while parsing a block collection": "list"}


def _is_indentation(error: MarkedYAMLError) -> bool:
    """A line whose indentation fits neither the block above it nor its parent: libyaml then
    expected a key, a ``-`` or the end of the block, and found something else."""
    problem = error.problem or ""
    expected = problem.startswith(("did not find expected", "expected <block end>"))
    return expected and error.context in _BLOCKS


def _indentation_message(error: MarkedYAMLError) -> str:
    block = _BLOCKS[str(error.context)]
    started = error.context_mark.line + 1 if error.context_mark is not None else "?"
    like = (
        "the keys above it"
        if block == "mapping"
        else "the other keys of its entry (a new entry: '- ' in the column of the others)"
    )
    return (
        f"invalid YAML: this line is indented unlike the {block} it belongs to (which starts "
        f"at line {started}): indent it exactly like {like}, with spaces"
    )


def _text_from(data: bytes | str, mark: Any) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text[mark.index : mark.index + 80]


def _reader_problem(file: str, data: bytes | str, error: ReaderError) -> Problem:
    """libyaml reports a byte offset for unreadable characters; users need line:column."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    before = raw[: error.position]
    line_start = before.rfind(b"\n") + 1
    line = before.count(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", "replace")) + 1
    code = (
        error.character
        if isinstance(error.character, int)
        else ord(str(error.character)[:1] or "?")
    )
    reason = error.reason or "unreadable input"
    if "utf-8" in reason.lower() and code >= 0x80:
        message = (
            f"the file is not UTF-8 (byte 0x{code:02x} here; saved as Latin-1 or Windows-1252?): "
            "save it as UTF-8 (your editor's encoding setting, or iconv -f latin1 -t utf-8)"
        )
        return Problem(file, line, column, "", message)
    message = f"{reason} (0x{code:02x} here): remove it, or write it as an escape in double quotes"
    return Problem(file, line, column, "", message)


def _paths_to(targets: list[Node], root: Node) -> dict[int, JsonPath]:
    """JSON paths of some nodes, found by one walk (only runs for a file with problems)."""
    wanted = {id(node) for node in targets}
    found: dict[int, JsonPath] = {}
    seen: set[int] = set()
    stack: list[tuple[Node, JsonPath]] = [(root, ())]
    while stack and len(found) < len(wanted):
        node, path = stack.pop()
        if id(node) in wanted and id(node) not in found:
            found[id(node)] = path
        if id(node) in seen or isinstance(node, ScalarNode):
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))
            continue
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode):
                stack.append((value_node, (*path, key_node.value)))
                stack.append((key_node, (*path, key_node.value)))
            else:  # a complex key has no path of its own: point at its mapping
                stack.append((key_node, path))
    return found


class Locator:
    """Maps JSON paths of a parsed file to 1-based (line, column), for messages only."""

    def __init__(self, root: Node | None) -> None:
        self.root = root

    @classmethod
    def from_data(cls, data: bytes | str) -> Locator:
        return cls(compose(data, "")[0])

    def find(self, path: JsonPath) -> tuple[int, int] | None:
        """Position of ``path`` when the file has it, else None (no fallback to an ancestor)."""
        node, mark = self.root, None
        for part in path:
            found = _child(node, part) if node is not None else None
            if found is None:
                return None
            mark, node = found
        return (mark.line + 1, mark.column + 1) if mark is not None else None

    def locate(self, path: JsonPath) -> tuple[int, int]:
        """Position of the key (mapping member) or item (list entry) at ``path``.

        A path that does not exist (a missing required key) falls back to its nearest ancestor.
        """
        node, mark = self.root, self.root.start_mark if self.root is not None else None
        for part in path:
            found = _child(node, part) if node is not None else None
            if found is None:
                break
            mark, node = found
        return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _child(node: Node, part: str | int) -> tuple[Any, Node] | None:
    if isinstance(node, SequenceNode) and isinstance(part, int):
        if 0 <= part < len(node.value):
            item = node.value[part]
            return item.start_mark, item
        return None
    if not isinstance(node, MappingNode):
        return None
    merges: list[Node] = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            continue
        if key_node.tag == MERGE:
            merges = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        elif key_node.value == str(part):
            return key_node.start_mark, value_node
    for source in merges:
        found = _child(source, part)
        if found is not None:
            return found
    return None


def locate(source: bytes | str | Path, path: JsonPath) -> tuple[int, int]:
    """Line and column of ``path`` in a YAML text or file; (1, 1) when nothing can be read."""
    if isinstance(source, Path):
        try:
            source = source.read_bytes()
        except OSError:
            return 1, 1
    return Locator.from_data(source).locate(path)
