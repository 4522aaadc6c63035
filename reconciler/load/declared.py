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
from reconciler.model import FieldPath, JsonPath
from reconciler.settings import display_path

#: (user id, field path) -> ``file:line``.
Positions = dict[tuple[str, FieldPath], str]


def declared_at(declarations: Declarations, wanted: Iterable[tuple[str, FieldPath]]) -> Positions:
    """``file:line`` of each (user id, field path) of ``wanted`` that a declaration holds."""
    users = {user.id: user for user in declarations.users}
    paths = {display_path(path): path for path in declarations.files}
    locators: dict[str, yamlload.Locator] = {}
    found: Positions = {}
    for user_id, field in wanted:
        source = users[user_id].source if user_id in users else None
        if source is None or source.file not in paths:
            continue
        if source.file not in locators:
            kept = declarations.locators.get(source.file)
            locators[source.file] = kept if kept is not None else _locator(paths[source.file])
        line = _line(locators[source.file], source.path, field)
        if line is not None:
            found[user_id, field] = f"{source.file}:{line}"
    return found


def _locator(path: Path) -> yamlload.Locator:
    try:
        return yamlload.Locator.from_data(reader(None)(path))
    except (OSError, ValueError, yaml.YAMLError):  # changed since it was read: no position
        return yamlload.Locator(None)


def _line(locator: yamlload.Locator, entry: JsonPath, field: FieldPath) -> int | None:
    """The entry's own value, else the file's defaults, else the entry itself."""
    written = field if field[0] in ("email", "attributes") else ()
    tried = [(*entry, *written), ("defaults", *written), entry] if written else [entry]
    for path in tried:
        position = locator.find(path)
        if position is not None:
            return position[0]
    return None
