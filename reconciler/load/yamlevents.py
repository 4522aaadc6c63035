"""Lines of a few JSON paths of a YAML file, read from libyaml's events: no node is kept.

``Locator`` (yamlload.py) composes the whole file into nodes, which is right for an error
message or two; locating a plan's masked values (load/declared.py) may ask for thousands of
paths in a file of 10,000 users, whose nodes weigh ~8 KB a user. The events give the same
positions (a mapping member: its key; a list item: the item) as long as no node is shared:
anchors, aliases and merge keys make this answer None, and the caller composes instead.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from yaml import YAMLError
from yaml._yaml import CParser  # libyaml's C parser (PyYAML wheels ship it)
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    DocumentStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceStartEvent,
)

from reconciler.load.yamlcore import MAX_DEPTH
from reconciler.model import JsonPath

#: The merge key: its members belong to the mapping it is written in (only nodes can say).
MERGE_KEY = "<<"


@dataclass(slots=True)
class _Open:
    """A mapping or list being read: its path (None: nothing wanted below it)."""

    path: JsonPath | None
    mapping: bool
    #: Lists: the next item's index. Mappings: the value awaited, after its key was read.
    index: int = 0
    value_path: JsonPath | None = None
    awaiting_value: bool = False
    keys: set[str] = field(default_factory=set)


class _Shared(Exception):
    """The file shares or merges nodes, or is not one plain document: compose it instead."""


def event_lines(data: bytes | str, wanted: Collection[JsonPath]) -> dict[JsonPath, int] | None:
    """1-based line of each of ``wanted`` the file holds; {} when it cannot be parsed; None
    when only its composed nodes can say (``yamlload.Locator``)."""
    prefixes = {path[:end] for path in wanted for end in range(len(path) + 1)}
    found: dict[JsonPath, int] = {}
    try:
        _walk(CParser(data), set(wanted), prefixes, found)
    except _Shared:
        return None
    except (YAMLError, ValueError):
        return {}  # as a file that no longer composes: no position
    return found


def _walk(
    parser: CParser, wanted: set[JsonPath], prefixes: set[JsonPath], found: dict[JsonPath, int]
) -> None:
    stack: list[_Open] = []
    documents = 0
    while (event := parser.get_event()) is not None:
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise _Shared
        elif isinstance(event, CollectionEndEvent):
            stack.pop()
        elif isinstance(event, AliasEvent) or (
            isinstance(event, NodeEvent) and event.anchor is not None
        ):
            raise _Shared
        elif isinstance(event, NodeEvent):
            path = _place(stack, event, wanted, prefixes, found)
            if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise _Shared
                tracked = path if path in prefixes else None
                stack.append(_Open(tracked, isinstance(event, MappingStartEvent)))


def _place(
    stack: list[_Open],
    event: NodeEvent,
    wanted: set[JsonPath],
    prefixes: set[JsonPath],
    found: dict[JsonPath, int],
) -> JsonPath | None:
    """The path of the node ``event`` starts (None: not tracked), recording wanted lines."""
    if not stack:
        return ()
    parent = stack[-1]
    if parent.mapping and parent.awaiting_value:
        parent.awaiting_value = False
        return parent.value_path
    if parent.mapping:
        if not isinstance(event, ScalarEvent) or event.tag is not None:
            raise _Shared  # a key that is a collection, or tagged: rare; nodes decide
        if event.value == MERGE_KEY:
            raise _Shared
        parent.awaiting_value = True
        parent.value_path = None
        if parent.path is not None and event.value not in parent.keys:
            parent.keys.add(event.value)  # a repeated key: the first one is the one found
            parent.value_path = (*parent.path, event.value)
            _record(parent.value_path, event, wanted, found)
        return None
    index, parent.index = parent.index, parent.index + 1
    if parent.path is None:
        return None
    path = (*parent.path, index)
    _record(path, event, wanted, found)
    return path


def _record(
    path: JsonPath, event: NodeEvent, wanted: set[JsonPath], found: dict[JsonPath, int]
) -> None:
    if path in wanted and event.start_mark is not None:
        found[path] = event.start_mark.line + 1
