"""An import into FILE (``out_path``, ``reconciler import --out FILE``) where users are declared
already: merge, do not duplicate.

Adopting a second target imports users that the first import declared: writing them again would
declare an id twice. Instead each declared user's entry is edited in place (importing/merge.py
says what to add, importing/yamledit.py splices it into the file, comments and order kept), the
users no file declares go to FILE (appended when it is a declaration file, else written as a new
file), and every difference a person must decide is listed with its file:line. This module does
the reading and writing; what changes is decided by the pure modules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import DecisionsLeft, Problem, UnwritableError
from reconciler.escape import printable
from reconciler.importing.importer import (
    ImportOptions,
    ImportResult,
    LeftOut,
    declare_users,
    render_import,
)
from reconciler.importing.merge import EntryEdit, Existing, Finding, Merge, Targets, merge_users
from reconciler.importing.yamledit import edit_file
from reconciler.kinds import CAPABILITIES
from reconciler.load import yamlload
from reconciler.load.config import Config
from reconciler.load.declarations import (
    Declarations,
    check_document,
    check_file,
    load_declarations,
)
from reconciler.load.sources import find_files
from reconciler.load.yamlcore import gc_paused
from reconciler.model import LiveUser
from reconciler.settings import TargetConfig, display_path
from reconciler.usecases.files import write_atomically

#: Users named in one grouped line before "and N more".
SHOWN = 5


@dataclass(slots=True)
class Merged:
    """What a merging import wrote, for the report."""

    merge: Merge
    left_out: tuple[LeftOut, ...]
    #: Files edited in place, with how many of their users changed.
    edited: dict[str, int] = field(default_factory=dict)
    #: Where the new users went (None: there were none).
    new_file: str | None = None
    unchanged: int = 0


def merge_import(
    config: Config,
    target: TargetConfig,
    live_users: Sequence[LiveUser],
    options: ImportOptions,
    out_path: Path,
) -> Merged | None:
    """Merge the live users into the declarations, and write; None when nothing is declared
    (a plain import then writes FILE). Invalid declarations are refused (ValidationError)."""
    files, _ = find_files(config)
    if not files:
        return None
    declarations = load_declarations(config, check_mappings=False)
    if not declarations.users:
        return None
    fields, left_out = declare_users(live_users, options)
    existing = _existing(declarations, {user["id"] for user in fields})
    merge = merge_users(fields, existing, _targets(config, target))
    merged = Merged(merge, left_out)
    merged.unchanged = len(fields) - len(merge.new_users) - len(merge.edits)
    texts = _edited_texts(config, declarations, merge, target, out_path, merged)
    for path, text in texts.items():
        _check(config, path, text)
    fresh = _fresh_file(declarations, merge, live_users, options, out_path)
    if fresh is not None:  # read back by the importer: checked on that reading
        texts[out_path.absolute()] = fresh.text
        merged.new_file = display_path(out_path)
        with gc_paused():
            checked = check_document(fresh.parsed, display_path(out_path), config)
        _refuse(checked.problems)
    for path, text in texts.items():
        write_atomically(path, text)
    return merged


def _targets(config: Config, target: TargetConfig) -> Targets:
    return Targets(
        target.name,
        tuple(config.targets),
        {name: CAPABILITIES[t.provider] for name, t in config.targets.items()},
        {name: t.mapping for name, t in config.targets.items()},
    )


def _existing(declarations: Declarations, ids: set[str]) -> dict[str, Existing]:
    """The declared users among ``ids``, with their entries as written and their files'
    defaults (each file read and located once)."""
    paths = {display_path(path): path for path in declarations.files}
    documents: dict[str, tuple[dict[str, Any], yamlload.Locator]] = {}
    found = {}
    for spec in declarations.users:
        if spec.id not in ids or spec.source is None or spec.source.file not in paths:
            continue
        file, index = spec.source.file, int(spec.source.path[1])
        if file not in documents:
            document = yamlload.load_file(paths[file], file)
            documents[file] = (document.value or {}, document.locator())
        value, locator = documents[file]
        line, _ = locator.locate(("users", index))
        found[spec.id] = Existing(
            spec, value["users"][index], value.get("defaults") or {}, file, index, line
        )
    return found


def _edited_texts(
    config: Config,
    declarations: Declarations,
    merge: Merge,
    target: TargetConfig,
    out_path: Path,
    merged: Merged,
) -> dict[Path, str]:
    """The new text of every declaration file that changes; new users appended to FILE when
    it is one of them."""
    paths = {display_path(path): path for path in declarations.files}
    by_file = defaultdict(list)
    for edit in merge.edits:
        by_file[edit.file].append(edit)
    out = display_path(out_path)
    appended = out in paths and bool(merge.new_users)
    if appended:
        by_file.setdefault(out, [])
    texts = {}
    for file, edits in sorted(by_file.items()):
        text = paths[file].read_text(encoding="utf-8")
        new_users = _pinned(merge.new_users, text, file, target, config) if file == out else []
        defaults_targets = _defaults_targets(text, file, edits)
        texts[paths[file]] = edit_file(text, file, edits, new_users, defaults_targets)
        if edits:
            merged.edited[file] = len(edits)
    if appended:
        merged.new_file = out
    return texts


def _defaults_targets(text: str, file: str, edits: list[EntryEdit]) -> tuple[str, ...] | None:
    """When every user of a file that takes its targets from the file's defaults joins the
    same targets, the defaults say so once (``defaults: {targets: [a, b]}``) instead of each
    entry: the common case of a file one import wrote and the next one merges into. The edits
    of those entries then leave their ``targets:`` alone."""
    document = yamlload.parse_mapping(text, file).value or {}
    if "targets" not in (document.get("defaults") or {}):
        return None
    relying = {i for i, user in enumerate(document.get("users") or []) if "targets" not in user}
    joining = {edit.index: edit.targets for edit in edits if edit.index in relying}
    if not relying or set(joining) != relying or len(set(joining.values())) != 1:
        return None
    (targets,) = set(joining.values())
    if targets is None:
        return None
    for edit in edits:
        if edit.index in relying:
            edit.targets = None
    return targets


def _pinned(
    users: list[dict[str, Any]], text: str, file: str, target: TargetConfig, config: Config
) -> list[dict[str, Any]]:
    """New users for ``target`` alone (``targets: [T]``) when the config has other targets,
    unless the file's defaults say so already."""
    if len(config.targets) == 1:
        return users
    defaults = (yamlload.parse_mapping(text, file).value or {}).get("defaults") or {}
    if defaults.get("targets") == [target.name]:
        return users
    return [{**user, "targets": [target.name]} for user in users]


def _fresh_file(
    declarations: Declarations,
    merge: Merge,
    live_users: Sequence[LiveUser],
    options: ImportOptions,
    out_path: Path,
) -> ImportResult | None:
    """FILE as a new file of the new users, when it is not a declaration file already."""
    if not merge.new_users or out_path.absolute() in set(declarations.files):
        return None
    new_ids = {user["id"] for user in merge.new_users}
    return render_import([u for u in live_users if u.id in new_ids], options)


def _check(config: Config, path: Path, text: str) -> None:
    """Each written file validates as plan will read it, before any is written."""
    data = text.encode("utf-8")
    _refuse(check_file(path, display_path(path), config, read=lambda _path: data).problems)


def _refuse(problems: Sequence[Problem]) -> None:
    if problems:
        shown = "; ".join(str(problem) for problem in problems[:3])
        raise UnwritableError(f"the merged YAML does not validate ({shown}); please report")


def report(merged: Merged, target: TargetConfig) -> list[str]:
    """What was merged where, what was left undeclared, what is left to decide."""
    merge = merged.merge
    lines = []
    for file, count in sorted(merged.edited.items()):
        lines.append(f"Merged {_users(count)} from target {target.name} into {file}.")
    if merged.new_file is not None:
        lines.append(f"Added {_users(len(merge.new_users))} to {merged.new_file}.")
    if merged.unchanged:
        lines.append(f"{_users(merged.unchanged)} declared already as target {target.name} holds.")
    lines.extend(_undeclared_lines(merge.findings))
    for finding in merge.decisions:
        where = f"{finding.file}:{finding.line}: " if finding.file else ""
        lines.append(
            f"To decide: {where}user {printable(finding.user_id)}: {finding.field}: "
            f"{finding.reason}"
        )
    return lines


def decisions_left(merged: Merged) -> DecisionsLeft | None:
    """The error that ends a merge with differences a person must decide (exit 1)."""
    count = len(merged.merge.decisions)
    if not count:
        return None
    return DecisionsLeft(
        f"{count} difference{'s' if count != 1 else ''} between the targets to decide (listed "
        "above; the declarations keep their values): everything else was merged"
    )


def _undeclared_lines(findings: Sequence[Finding]) -> list[str]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for finding in findings:
        if finding.outcome == "undeclared":
            groups[(finding.field, finding.reason)].append(finding.user_id)
    lines = []
    for (field_name, reason), ids in sorted(groups.items()):
        shown = ", ".join(map(printable, ids[:SHOWN]))
        more = f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
        lines.append(
            f"Left undeclared: {field_name} of {_users(len(ids))} ({shown}{more}): {reason}"
        )
    return lines


def _users(count: int) -> str:
    return f"{count} user{'' if count == 1 else 's'}"
