"""Where a declared value is written (``users/vip.yaml:7``), for the values a plan masks.

A reviewer cannot see a sensitive value in the pull-request comment, but can check that the
line the comment names is the one the pull request meant to change. The value is in the user's
entry or, when the entry does not write it, in its file's ``defaults``; a field that is not an
email or attribute (a company's) points at the user's entry. A file whose positions the load
kept (a partial plan's changed files) is not parsed again; others are read again, bounded like
the first read, only for the masked fields of a plan.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from reconciler.load import yamlload
from reconciler.load.declarations import Declarations
from reconciler.load.sources import reader
from reconciler.load.yamlevents import event_lines
from reconciler.model import FieldPath, JsonPath
from reconciler.settings import display_path

#: (user id, field path) -> ``file:line``.
Positions = dict[tuple[str, FieldPath], str]


def declared_at(declarations: Declarations, wanted: Iterable[tuple[str, FieldPath]]) -> Positions:
    """``file:line`` of each (user id, field path) of ``wanted`` that a declaration holds."""
    wanted = list(wanted)
    ids = {user_id for user_id, _ in wanted}
    sources = {user.id: user.source for user in declarations.users if user.id in ids}
    paths = {display_path(path): path for path in declarations.files}
    by_file: dict[str, list[tuple[str, FieldPath, JsonPath]]] = {}
    for user_id, field in wanted:
        source = sources.get(user_id)
        if source is not None and source.file in paths:
            by_file.setdefault(source.file, []).append((user_id, field, source.path))
    found: Positions = {}
    for file, fields in by_file.items():
        wanted_paths = {path for _, field, entry in fields for path in _tried(entry, field)}
        # A partial plan kept the nodes of the files it checked: no parse again.
        kept = declarations.locators.get(file)
        lines = _lines(paths[file], wanted_paths) if kept is None else _found(kept, wanted_paths)
        for user_id, field, entry in fields:
            line = next((lines[p] for p in _tried(entry, field) if p in lines), None)
            if line is not None:
                found[user_id, field] = f"{file}:{line}"
    return found


def _tried(entry: JsonPath, field: FieldPath) -> list[JsonPath]:
    """The entry's own value, else the file's defaults, else the entry itself."""
    written = field if field[0] in ("email", "attributes") else ()
    return [(*entry, *written), ("defaults", *written), entry] if written else [entry]


def _lines(path: Path, wanted: set[JsonPath]) -> dict[JsonPath, int]:
    """The line of each of ``wanted`` the file holds: from its parser's events (a file of
    10,000 users composed into nodes to find 2,000 emails weighed ~80 MB), or from its nodes
    when the events cannot say (anchors, aliases, merge keys) or the file cannot be read."""
    try:
        data = reader(None)(path)
    except (OSError, ValueError):  # changed since it was read: no position
        return {}
    lines = event_lines(data, wanted)
    if lines is not None:
        return lines
    return _found(_locator(data), wanted)


def _found(locator: yamlload.Locator, wanted: set[JsonPath]) -> dict[JsonPath, int]:
    return {p: position[0] for p in wanted if (position := locator.find(p)) is not None}


def _locator(data: bytes) -> yamlload.Locator:
    try:
        return yamlload.Locator.from_data(data)
    except (ValueError, yaml.YAMLError):
        return yamlload.Locator(None)
