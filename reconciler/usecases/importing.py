"""Import: the live users of one target as a declaration file to commit, or merged into the
declarations that exist (import_merge.py).

It only reads (GET); ``importer`` turns the users into YAML, checked here once more with the
validator that plan runs, so that what is written plans to no change. The text holds real
emails: it is returned or written where the request says, and goes into no note or log.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import (
    ConfigError,
    ReconcilerError,
    TargetError,
    UnwritableError,
    ValidationError,
)
from reconciler.escape import printable
from reconciler.importing.importer import ImportOptions, ImportResult, LeftOut, render_import
from reconciler.kinds import CAPABILITIES
from reconciler.kinds.kind import Capabilities
from reconciler.load.config import Config, load_config
from reconciler.load.declarations import FileResult, check_document, load_declarations
from reconciler.load.sources import find_files
from reconciler.load.workspace import select_targets
from reconciler.load.yamlcore import gc_paused
from reconciler.model import LiveUser
from reconciler.plan.liveread import read_live
from reconciler.providers import open_provider
from reconciler.settings import TargetConfig, display_path
from reconciler.usecases import import_merge
from reconciler.usecases.files import write_atomically
from reconciler.usecases.requests import ImportRequest
from reconciler.usecases.runtime import Runtime

#: Where ``reconciler schema users --out schemas/users.schema.json`` puts the schema in a repo.
SCHEMA_FILE = Path("schemas", "users.schema.json")
#: Ids shown in one message before "and N more".
SHOWN_IDS = 5

log = logging.getLogger("reconciler")


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import did."""

    #: The declaration file, when the request has no ``out_path`` (else it was written).
    text: str | None
    #: What to tell the person: what was left out, where the users went, what to check next
    #: (ids, fields, files and counts: never a value).
    report: tuple[str, ...]
    #: The import finished, but ends in error: users asked for were not found (the others were
    #: written), or differences between targets are left to decide.
    problem: ReconcilerError | None = None


def import_users(request: ImportRequest, runtime: Runtime) -> Imported:
    """Read the users, render them, check the text as plan would, write it (or return it)."""
    config = load_config(request.config_path, runtime.environ)
    (target,) = select_targets(config, [request.target])
    target = request.overrides.target(target)
    capabilities = _capabilities(target, request, runtime)
    _note_no_inverse(target, runtime)
    wanted, out_path = request.wanted, request.out_path
    live_users = _read(target, wanted, runtime)
    schema_ref, schema = _schema_ref(config, out_path)
    options = ImportOptions(
        target=target.name,
        provider=target.provider,
        capabilities=capabilities,
        include_system=request.include_system,
        with_events=request.with_events,
        pin_target=len(config.targets) > 1,
        schema_ref=schema_ref,
        mapping=target.mapping,
    )
    if wanted is not None and not live_users:  # a typo must not replace --out with nothing
        raise TargetError(target.name, f"none of the users asked for was found: {_some(wanted)}")
    if out_path is not None:
        merged = import_merge.merge_import(config, target, live_users, options, out_path)
        if merged is not None:  # users were declared already: merged into their files
            lines = [*left_out_lines(merged.left_out), *import_merge.report(merged, target)]
            problem = _not_found(target, wanted, live_users, out_path)
            return Imported(None, tuple(lines), problem or import_merge.decisions_left(merged))
    # Rendering and checking only build values (the text, its reading): a collection between
    # the steps would scan every one of them again, and did (a fifth of the checks' time).
    with gc_paused():
        result = render_import(live_users, options)
        checked = _check_declarations(result, config, out_path)
    if out_path is not None:
        write_atomically(out_path, result.text)
    report = _report(result, target, config, out_path, schema, checked)
    problem = _not_found(target, wanted, live_users, out_path)
    return Imported(result.text if out_path is None else None, tuple(report), problem)


def _capabilities(target: TargetConfig, request: ImportRequest, runtime: Runtime) -> Capabilities:
    """What the target holds; every user where it cannot list fails here, before any key is
    read."""
    capabilities = CAPABILITIES[target.provider]
    if request.wanted is None and not capabilities.can_list:
        why = capabilities.cannot_list_because or "it cannot list its users"
        raise ConfigError(
            f"target {target.name} ({target.provider}): {why}: name the users with --user ID "
            "or --ids-from FILE"
        )
    if request.with_events and not capabilities.events:
        runtime.note(f"Note: target {target.name} records no events: --with-events adds none.")
    return capabilities


def _note_no_inverse(target: TargetConfig, runtime: Runtime) -> None:
    """A dropped attribute has no inverse: the target never holds it, so it cannot be read."""
    dropped = [rule.name for rule in target.mapping.rules if rule.drop]
    if dropped:
        runtime.note(
            f"Note: target {target.name}'s mapping drops {', '.join(map(printable, dropped))}: "
            "the target never holds it, so import cannot declare it (import another target)."
        )


def _read(target: TargetConfig, wanted: Sequence[str] | None, runtime: Runtime) -> list[LiveUser]:
    """The live users: every one (listed page by page) or the ones asked for (by GETs, or by
    the page when that is fewer requests: the read strategy of plans)."""
    with ExitStack() as stack:
        opened = open_provider(
            target, runtime.environ, transport=runtime.transport, clock=runtime.clock
        )
        provider = stack.enter_context(opened)
        started = runtime.clock.monotonic()
        whole = wanted is None
        read = read_live(provider, wanted or (), runtime.steps, whole=whole, complete=whole)
        live_users = list(read.listed if read.listed is not None else read.live.values())
        seconds = runtime.clock.monotonic() - started
    log.info("target %s: %d users read in %.1fs", target.name, len(live_users), seconds)
    return live_users


def _schema_ref(config: Config, out_path: Path | None) -> tuple[str, Path]:
    """The modeline's ``$schema`` (relative to the file's folder) and the schema it means.

    The nearest ``schemas/users.schema.json`` at or above the config's folder (up to the git
    checkout's top), else the one ``reconciler schema users --out`` would write next to
    reconciler.yaml. Without ``out_path``, the file is taken to land in the first folder of
    ``users:``.
    """
    folder = out_path.absolute().parent if out_path is not None else _users_folder(config)
    schema = config.root / SCHEMA_FILE
    for above in (config.root, *config.root.parents):
        if (above / SCHEMA_FILE).is_file():
            schema = above / SCHEMA_FILE
            break
        if (above / ".git").exists():
            break
    return Path(os.path.relpath(schema, folder)).as_posix(), schema


def _users_folder(config: Config) -> Path:
    for source in config.users:
        path = config.root / source
        if not set("*?[").intersection(source) and (source.endswith("/") or path.is_dir()):
            return path
    return config.root


def _check_declarations(result: ImportResult, config: Config, out_path: Path | None) -> FileResult:
    """Validate the text as plan will (schema, targets, value types), before writing it: the
    text as the importer read it back, not parsed again."""
    where = display_path(out_path) if out_path is not None else "<stdout>"
    checked = check_document(result.parsed, where, config)
    if checked.problems:
        shown = "; ".join(str(problem) for problem in checked.problems[:3])
        raise UnwritableError(f"the imported YAML does not validate ({shown}); please report")
    return checked


def _report(
    result: ImportResult,
    target: TargetConfig,
    config: Config,
    out_path: Path | None,
    schema: Path,
    checked: FileResult,
) -> list[str]:
    """What was left out, then where the file went and what to check next. The declarations
    are checked as a whole again, with the file written taken as checked already."""
    lines = left_out_lines(result.left_out)
    users = _plural(result.users)
    if out_path is None:
        return [*lines, f"Imported {users} from target {target.name}."]
    lines.append(f"Imported {users} from target {target.name} into {display_path(out_path)}.")
    if not schema.is_file():
        lines.append(
            f"Note: the file's modeline points at {display_path(schema)}, which does not exist: "
            f"reconciler schema users --out {display_path(schema)}"
        )
    files, _ = find_files(config)
    if out_path.absolute() not in {path for path, _ in files}:
        lines.append(
            f"Note: users: in {display_path(config.path)} does not cover "
            f"{display_path(out_path)}: plan will not read it."
        )
        return lines
    try:
        load_declarations(config, checked={out_path.absolute(): checked})
    except ValidationError as invalid:
        count = len(invalid.problems)
        lines.append(
            f"Note: the declarations now have {_plural(count, 'problem')} (a user declared in two "
            "files?): run reconciler validate."
        )
    return lines


def left_out_lines(left_out: Sequence[LeftOut]) -> list[str]:
    """One line per field and reason, naming a few of the users (never a value)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for item in left_out:
        groups.setdefault((item.field, item.reason), []).append(item.user_id)
    lines = []
    for (field, reason), ids in sorted(groups.items()):
        lines.append(f"Not imported: {field} of {_plural(len(ids))} ({_some(ids)}): {reason}")
    return lines


def _not_found(
    target: TargetConfig,
    wanted: Sequence[str] | None,
    live_users: Sequence[LiveUser],
    out_path: Path | None,
) -> TargetError | None:
    """Users asked for that the target does not have, named (the rest is written)."""
    if wanted is None:
        return None
    found: Mapping[str, LiveUser] = {user.id: user for user in live_users}
    missing = [user_id for user_id in wanted if user_id not in found]
    if not missing:
        return None
    written = "above" if out_path is None else f"to {display_path(out_path)}"
    return TargetError(
        target.name,
        f"{len(missing)} of {_plural(len(wanted))} not found: {_some(missing)} "
        f"(the {len(found)} found were written {written})",
    )


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(map(printable, ids[:SHOWN_IDS]))
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def _plural(count: int, word: str = "user") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
