"""Edit a declaration file in place: add to existing entries, set ``targets:``, append users.

Every byte that is not edited stays as it was: comments, order, blank lines, quoting, the
house style of the file. The edits are spliced into the text at the positions the parser
reports (line and column of each node), and new values are written by ``yamlemit``, the
emitter that ``import`` writes files with (quoted where YAML 1.1 tools would read them
differently). ruamel.yaml's round trip would re-emit the whole document instead (indentation,
line wrapping and quoting normalised), and quote by its own YAML 1.2 rules; this needs no
dependency. The result is read back with reconciler's own loader and must equal the intended
document exactly, or nothing is written (``UnwritableError``).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import UnwritableError
from reconciler.importing.housestyle import block_lines, flow_text
from reconciler.importing.merge import EntryEdit, same
from reconciler.load import yamlload

#: How deep a user's fields stay in block style (as ``import`` writes them).
USER_FORCE = {"memberships": 2, "targets": 0}


@dataclass(frozen=True, slots=True)
class _Splice:
    """Replace ``text[start:end]`` with ``new`` (an insertion when start == end)."""

    start: int
    end: int
    new: str


class _Text:
    """A file's text with offsets by (line, column), as the parser's marks give them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0]
        self.starts.extend(index + 1 for index, char in enumerate(text) if char == "\n")

    def offset(self, mark: Any) -> int:
        return int(self.starts[mark.line] + mark.column)

    def after_line(self, line: int) -> tuple[int, str]:
        """Where a line inserted after ``line`` starts, and a line break to put first when
        the file does not end with one."""
        if line + 1 < len(self.starts):
            return self.starts[line + 1], ""
        return len(self.text), "" if self.text.endswith("\n") else "\n"


def edit_file(
    text: str,
    file: str,
    edits: Sequence[EntryEdit],
    new_users: Sequence[dict[str, Any]],
    defaults_targets: tuple[str, ...] | None = None,
) -> str:
    """``text`` with ``edits`` applied and ``new_users`` appended to its ``users:``, and the
    ``targets:`` of its ``defaults:`` replaced by ``defaults_targets`` when given."""
    document = yamlload.parse_mapping(text, file, keep_nodes=True)
    root = document.root
    if document.value is None or not isinstance(root, MappingNode):
        raise UnwritableError(f"{file} cannot be read back to merge into it: run validate")
    source = _Text(text)
    users_key, users = _child(root, "users")
    splices: list[_Splice] = []
    if isinstance(users, SequenceNode):
        edits = [_resolved(users.value[edit.index], edit) for edit in edits]
        for edit in edits:
            entry = users.value[edit.index]
            own = document.value["users"][edit.index]
            splices.extend(_entry_splices(source, entry, own, edit))
    if new_users:
        splices.append(_append(source, users_key, users, document.value, new_users))
    if defaults_targets is not None:
        splices.append(_defaults_splice(source, root, defaults_targets))
    edited = _apply(text, splices)
    intended = _intended(document.value, edits, new_users)
    if defaults_targets is not None:
        intended["defaults"]["targets"] = list(defaults_targets)
    _check(edited, file, intended)
    return edited


def _defaults_splice(source: _Text, root: MappingNode, targets: tuple[str, ...]) -> _Splice:
    _, defaults = _child(root, "defaults")
    value = _child(defaults, "targets")[1] if isinstance(defaults, MappingNode) else None
    if value is None:
        raise UnwritableError("the file's defaults have no targets: to replace; please report")
    start, end = source.offset(value.start_mark), source.offset(value.end_mark)
    return _Splice(start, end, flow_text(list(targets)))


def _resolved(entry: Node, edit: EntryEdit) -> EntryEdit:
    """``edit``, keeping ``targets:`` where removing it would break the entry: when it is the
    key on the ``- `` line, or the entry is written on one line."""
    if not edit.everywhere or not isinstance(entry, MappingNode):
        return edit
    key, _ = _child(entry, "targets")
    if key is None or (entry.value[0][0] is not key and not entry.flow_style):
        return edit
    return dataclasses.replace(edit, everywhere=False)


def _child(node: MappingNode, name: str) -> tuple[Node | None, Node | None]:
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.value == name:
            return key, value
    return None, None


def _apply(text: str, splices: list[_Splice]) -> str:
    parts, position = [], 0
    for splice in sorted(splices, key=lambda s: s.start):  # stable: insertions keep their order
        if splice.start < position:
            raise UnwritableError("two edits of one place in a file; please report")
        parts += [text[position : splice.start], splice.new]
        position = splice.end
    return "".join(parts) + text[position:]


def _last_line(node: Node, key: Node | None = None) -> int:
    """The last line that holds some of ``node`` (0-based)."""
    if isinstance(node, ScalarNode):
        if node.value == "" and node.style is None and key is not None:
            return int(key.end_mark.line)  # `key:` with nothing: its mark may be a line below
        if node.style in ("|", ">") and node.end_mark.column == 0:
            return int(node.end_mark.line) - 1
        return int(node.end_mark.line)
    if isinstance(node, CollectionNode) and (node.flow_style or not node.value):
        return int(node.end_mark.line)
    if isinstance(node, MappingNode):
        last_key, last_value = node.value[-1]
        return _last_line(last_value, last_key)
    assert isinstance(node, SequenceNode)
    return _last_line(node.value[-1])


def _insert_after(source: _Text, node: Node, lines: list[str]) -> _Splice:
    offset, lead = source.after_line(_last_line(node))
    return _Splice(offset, offset, lead + "\n".join(lines) + "\n")


def _entry_splices(
    source: _Text, entry: Node, own: dict[str, Any], edit: EntryEdit
) -> list[_Splice]:
    """The splices that turn ``entry`` (``own`` as written) into what ``edit`` says."""
    if not isinstance(entry, MappingNode) or entry.flow_style or not entry.value:
        merged = _edited_entry(own, edit)
        return [
            _Splice(
                source.offset(entry.start_mark), source.offset(entry.end_mark), flow_text(merged)
            )
        ]
    indent = int(entry.value[0][0].start_mark.column)
    splices: list[_Splice] = []
    new_fields = dict(edit.fields)
    if edit.attributes:
        _, attributes = _child(entry, "attributes")
        if isinstance(attributes, MappingNode) and attributes.value and not attributes.flow_style:
            column = int(attributes.value[0][0].start_mark.column)
            splices.append(
                _insert_after(source, attributes, block_lines(edit.attributes, column, {}, 0))
            )
        elif attributes is not None:
            merged = {**(own.get("attributes") or {}), **edit.attributes}
            start, end = source.offset(attributes.start_mark), source.offset(attributes.end_mark)
            splices.append(_Splice(start, end, flow_text(merged)))
        else:
            new_fields["attributes"] = edit.attributes
    if edit.targets is not None:
        splices.extend(_targets_splices(source, entry, edit, new_fields))
    if new_fields:
        lines = block_lines(new_fields, indent, USER_FORCE, default=1)
        splices.append(_insert_after(source, entry, lines))
    return splices


def _targets_splices(
    source: _Text, entry: MappingNode, edit: EntryEdit, new_fields: dict[str, Any]
) -> list[_Splice]:
    """Replace the entry's ``targets:`` value, remove the key (every target), or add it."""
    assert edit.targets is not None
    key, value = _child(entry, "targets")
    if key is None or value is None:
        if not edit.everywhere:
            new_fields["targets"] = list(edit.targets)
        return []
    if not edit.everywhere:
        start, end = source.offset(value.start_mark), source.offset(value.end_mark)
        return [_Splice(start, end, flow_text(list(edit.targets)))]
    start = source.starts[key.start_mark.line]
    end, _ = source.after_line(_last_line(value, key))
    return [_Splice(start, end, "")]


def _append(
    source: _Text,
    key: Node | None,
    users: Node | None,
    document: dict[str, Any],
    new_users: Sequence[dict[str, Any]],
) -> _Splice:
    """New entries at the end of ``users:`` (a blank line before each, as import writes)."""
    if isinstance(users, SequenceNode) and users.value and not users.flow_style:
        dash = int(users.start_mark.column)
        return _insert_after(source, users, _entries(new_users, dash))
    every = [*(document.get("users") or []), *new_users]
    if key is not None and users is not None:
        start, end = source.offset(key.end_mark), source.offset(users.end_mark)
        return _Splice(start, end, ":\n" + "\n".join(_entries(every, 2)[1:]))
    offset, lead = source.after_line(len(source.starts) - 1)
    return _Splice(offset, offset, lead + "users:\n" + "\n".join(_entries(every, 2)[1:]) + "\n")


def _entries(users: Sequence[dict[str, Any]], dash: int) -> list[str]:
    lines: list[str] = []
    for user in users:
        user_lines = block_lines(user, dash + 2, USER_FORCE, default=1)
        user_lines[0] = " " * dash + "- " + user_lines[0][dash + 2 :]
        lines += ["", *user_lines]
    return lines


def _edited_entry(own: dict[str, Any], edit: EntryEdit) -> dict[str, Any]:
    entry = copy.deepcopy(own)
    entry.update(copy.deepcopy(edit.fields))
    if edit.attributes:
        entry["attributes"] = {**(entry.get("attributes") or {}), **edit.attributes}
    if edit.everywhere:
        entry.pop("targets", None)
    elif edit.targets is not None:
        entry["targets"] = list(edit.targets)
    return entry


def _intended(
    document: dict[str, Any], edits: Sequence[EntryEdit], new_users: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    intended = copy.deepcopy(document)
    users = intended.get("users") or []
    for edit in edits:
        users[edit.index] = _edited_entry(users[edit.index], edit)
    intended["users"] = [*users, *copy.deepcopy(list(new_users))]
    return intended


def _check(text: str, file: str, intended: dict[str, Any]) -> None:
    """The edited text must read back as exactly the intended document."""
    parsed = yamlload.parse_mapping(text, file)
    if parsed.value is not None and same(intended, parsed.value):
        return
    raise UnwritableError(
        f"merging into {file} would not read back as intended, so it was not changed; "
        "please report (import with --out NEW_FILE meanwhile)"
    )
