"""Each declaration file's checked result, remembered by content: what lets ``plan
--changed-since`` skip parsing the files a change did not touch.

A partial plan plans only the users of the changed files, yet its output needs the others:
their ids (a changed file may declare one again), their companies' values and attribute types
(a changed file may contradict them), which attribute names they send to each target (a
``mapping:`` rule must name one), how many users go to each target ("Planned 1 of N users"),
and their warnings. That is a small summary of a file, kept here after the file was checked
once, under a key made of the file's bytes (SHA-256), its name, the part of reconciler.yaml the
checks read (targets' providers and mappings), the selection of targets checked, this
reconciler's loader and schema, and Python's version: any change to any of them is another key,
so an entry is never used for other bytes or other rules.

Entries live in the user's cache folder (``schemacache.folder()``), never in the repository (a
pull request controls that), written atomically, readable by the owner only, and signed with
this user's key for this key: an entry planted, corrupted, truncated or copied from another
file's name does not verify and is ignored (the file is parsed, as without a cache). A summary
only stands for users that are never planned: ``changed_since`` asks for summaries of the files
whose bytes equal the base revision's, and those users are left out of the comparison.

``RECONCILER_NO_CACHE=1`` turns it off; a folder that cannot be written only makes runs slower.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from reconciler import __version__
from reconciler.errors import Problem
from reconciler.load import schemacache, schemas
from reconciler.load.config import Config
from reconciler.load.crosscheck import CompanyValue, TypedName
from reconciler.model import Source, UserSpec

#: Bumped whenever what a summary holds changes.
_FORMAT = 1
#: A summary of a 10 MB file (the largest declaration file loaded) is far below this.
_MAX_ENTRY_BYTES = 64 << 20
#: The modules and schema whose rules decide a file's checked result.
_RULES = ("load", "kinds", "providers", "mapping.py", "model.py", "settings.py")

#: (targets the users go to, None: every target) -> attribute names they declare.
Names = list[tuple[tuple[str, ...] | None, list[str]]]


@dataclass(frozen=True, slots=True)
class SummaryUser(UserSpec):
    """A user known only by its id, targets and place, from a file's summary: never planned
    (its attributes are not known), only counted and looked up by id."""


class Checked(Protocol):
    """What checking one file gives (``declarations.FileResult``), as kept here."""

    users: list[tuple[int, dict[str, Any]]]
    companies: list[CompanyValue]
    types: list[TypedName]
    warnings: list[Problem]


@dataclass(slots=True)
class Recalled:
    """A file's result as remembered: its users' fields (a whole result), or, for a
    summary, its users as ``SummaryUser`` and the attribute names they declare."""

    users: list[tuple[int, dict[str, Any]]]
    companies: list[CompanyValue]
    types: list[TypedName]
    warnings: list[Problem]
    summarised: list[tuple[int, UserSpec]] = field(default_factory=list)
    names: Names = field(default_factory=list)


def enabled(environ: Mapping[str, str]) -> bool:
    """Whether summaries are read and written (``RECONCILER_NO_CACHE`` unset or empty)."""
    return not environ.get("RECONCILER_NO_CACHE")


def key(data: bytes, file: str, config: Config, only: frozenset[str] | None) -> str:
    """The entry's key: everything a file's checked result depends on."""
    material = {
        "format": _FORMAT,
        "rules": _rules_digest(),
        "file": file,
        "bytes": hashlib.sha256(data).hexdigest(),
        "targets": [
            [name, target.provider, repr(target.mapping)] for name, target in config.targets.items()
        ],
        "only": sorted(only) if only is not None else None,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def recall(entry_key: str, file: str, summarised: bool) -> Recalled | None:
    """The result remembered under ``entry_key``, or None (absent, not ours, not readable):
    a summary (``summarised``: its users are ``SummaryUser``), else the whole checked result
    (each user's fields, as ``check_file`` gives them)."""
    data = _read(entry_key, "summary" if summarised else "checked")
    if data is None:
        return None
    try:
        return _result(data, file, summarised)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def remember(entry_key: str, result: Checked, summarised: bool) -> None:
    """Keep ``result`` (of a file that checked clean) under ``entry_key``: as a summary, or
    whole. A value marshal cannot write, or a folder that cannot be written: nothing kept."""
    checks = {
        "companies": [(c.path, c.company, c.name, c.value, c.targets) for c in result.companies],
        "types": [(t.path, t.target, t.level, t.name, t.type_name) for t in result.types],
        "warnings": [(p.line, p.column, p.field, p.message) for p in result.warnings],
    }
    if not summarised:
        _write(entry_key, "checked", {"users": result.users, **checks})
        return
    users = [(index, fields["id"], _targets(fields)) for index, fields in result.users]
    _write(entry_key, "summary", {"users": users, "names": names_of(result.users), **checks})


def _result(data: dict[str, Any], file: str, summarised: bool) -> Recalled:
    result = Recalled(
        [],
        [
            CompanyValue(file, tuple(path), company, name, value, tuple(targets))
            for path, company, name, value, targets in data["companies"]
        ],
        [TypedName(file, tuple(path), *rest) for path, *rest in data["types"]],
        [Problem(file, *fields) for fields in data["warnings"]],
    )
    if not summarised:
        result.users = [(int(index), dict(fields)) for index, fields in data["users"]]
        return result
    for index, user_id, targets in data["users"]:
        source = Source(file, ("users", index))
        result.summarised.append((index, SummaryUser(str(user_id), targets=targets, source=source)))
    result.names = [(targets, list(names)) for targets, names in data["names"]]
    return result


def _targets(fields: dict[str, Any]) -> tuple[str, ...] | None:
    """The user's ``targets:``, each once, as ``UserSpec.targets`` holds them."""
    targets = fields.get("targets")
    return tuple(dict.fromkeys(targets)) if targets is not None else None


def _read(entry_key: str, kind: str) -> dict[str, Any] | None:
    """An entry's values, when it is signed for ``entry_key`` (only then is it unmarshalled:
    marshal is not meant for data someone else wrote) and names that key inside too."""
    body = schemacache.load_signed(_name(entry_key, kind), entry_key, _MAX_ENTRY_BYTES)
    if body is None:
        return None
    try:
        data = marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None
    return data if isinstance(data, dict) and data.get("key") == entry_key else None


def _write(entry_key: str, kind: str, data: dict[str, Any]) -> None:
    """Write an entry; one holding a value marshal cannot write is not written."""
    try:
        body = marshal.dumps({"key": entry_key, **data})
    except ValueError:
        return
    schemacache.store_signed(_name(entry_key, kind), entry_key, body)


def names_of(users: list[tuple[int, dict[str, Any]]]) -> Names:
    """The attribute names ``users`` (merged with defaults) declare, per set of targets."""
    grouped: dict[tuple[str, ...] | None, set[str]] = {}
    for _, user in users:
        grouped.setdefault(_targets(user), set()).update(user.get("attributes") or {})
    return [(targets, sorted(names)) for targets, names in grouped.items()]


def _name(entry_key: str, kind: str) -> str:
    return f"{kind}-{entry_key}.marshal"


_rules: list[str] = []


def _rules_digest() -> str:
    """SHA-256 of this reconciler's checking code and schemas (once per process): an edited
    loader, even without a new version number, never reads a summary the old one wrote."""
    if not _rules:
        package = Path(__file__).resolve().parent.parent
        digest = hashlib.sha256(f"{__version__}\0{sys.version}".encode())
        paths = []
        for name in _RULES:
            where = package / name
            paths.extend(sorted(where.rglob("*.py")) if where.is_dir() else [where])
        paths.append(schemas.schema_path("users"))
        for path in paths:
            try:
                digest.update(f"{path.name}\0".encode())
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"?")
        _rules.append(digest.hexdigest())
    return _rules[0]
