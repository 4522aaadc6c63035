"""`reconciler import --target T`: the live users of one target, as a declaration file to commit.

The command only reads (GET); ``importer`` turns the users into YAML, checked here once more with
the validator that ``plan`` runs, so that what is written plans to no change. The file holds real
emails: it goes where the user says (``--out`` or stdout) and into no log.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from reconciler.cli import console, import_merge
from reconciler.cli.options import common_options, parallelism_option
from reconciler.cli.requests import ImportRequest, import_request
from reconciler.cli.support import write_atomically
from reconciler.errors import ConfigError, TargetError, UnwritableError, ValidationError
from reconciler.escape import printable
from reconciler.importing.importer import (
    ImportOptions,
    ImportResult,
    LeftOut,
    render_import,
)
from reconciler.load.config import Config, TargetConfig, display_path, load_config
from reconciler.load.declarations import check_file, load_declarations
from reconciler.load.sources import find_files
from reconciler.load.workspace import select_targets
from reconciler.model import LiveUser
from reconciler.plan.liveread import read_live
from reconciler.progress import Progress
from reconciler.providers import CAPABILITIES, Capabilities, open_provider

#: Where ``reconciler schema users --out schemas/users.schema.json`` puts the schema in a repo.
SCHEMA_FILE = Path("schemas", "users.schema.json")
#: Ids shown in one message before "and N more".
SHOWN_IDS = 5

log = logging.getLogger("reconciler")


#: ``reconciler import --help`` (a constant, not the docstring: it is longer than the command).
IMPORT_HELP = """Write the live users of one target as a declaration file, ready to commit.

    Reads (GET only: nothing is sent) and writes the users sorted by id with keys in a fixed
    order, so the same users give the same bytes. Right after an import,
    `reconciler plan --detailed-exitcode` exits 0: no changes.

    \b
    Which users (one of):
      --all              every user (Usertour: page by page; sandbox)
      --user ID          these users; Sprig has no list endpoint, so name them
      --ids-from FILE    here or in FILE, one id per line (- reads stdin)

    Left out unless --include-system, because nobody declares them: the attributes the
    server seeds (first_seen_at, last_seen_at; the latter moves whenever the user is active,
    so declaring it would set it back at every apply) and Sprig's own ! attributes other than
    !email, which is the email: field. With the flag, the seeded ones are declared and Sprig's
    are written as comments (a declaration may not hold them).

    Events only with --with-events: a target records per event name a count and the first and
    latest times, not each occurrence, so the history itself cannot be imported. Each name
    becomes one entry at its latest time, which plan never sends again (it sends only events
    newer than the latest recorded), and does not warn about (a target holding more events
    than declared is no news; only declared events it lacks are).

    Values no declaration can hold (an object, null, a float on Sprig...) are left out, named
    on stderr and in a comment in the file. Users asked for but not found are named on
    stderr; the others are still written, and import exits 1.

    The output holds real emails and attribute values (personal data): it goes only to
    stdout or FILE, never to logs. The file's modeline points, relative to FILE, at the
    nearest schemas/users.schema.json (write one with `reconciler schema users --out
    schemas/users.schema.json`). When the config has other targets, the file sets
    `defaults: {targets: [T]}`.

    With --out, import merges into the declarations that exist (review with git diff): a
    user declared already is edited in place in its file (comments and order kept): what T
    holds that the entry lacks is added when no other target of the user would receive it,
    and T joins the user's targets:. Users no file declares go to FILE (appended when it is
    a declaration file, else written). A value that differs between the targets is listed
    with its file:line for a person to decide (the declaration keeps its value; exit 1). The
    target's mapping: is read backwards first (a string Sprig holds joined is the list).
    Without --out, the users are printed as one new file.

    \b
    Examples:
      reconciler import --target onboarding --all --out users/onboarding.yaml
      reconciler import --target research --user 12347 --user 12348 --with-events
      cut -d, -f1 ids.csv | reconciler import --target research --ids-from - --out users/r.yaml
    """


@click.command("import", help=IMPORT_HELP)
@common_options
@click.option("--all", "import_all", is_flag=True, help="Every user of the target (not Sprig).")
@click.option("--user", "user_ids", multiple=True, metavar="ID", help="This user (repeatable).")
@click.option(
    "--ids-from",
    type=click.File("r", encoding="utf-8-sig"),
    metavar="FILE",
    help="The users whose ids FILE lists, one per line (- reads stdin).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Merge into the declarations: declared users edited in place, new ones into FILE.",
)
@click.option(
    "--include-system",
    is_flag=True,
    help="Also the attributes the server seeds and Sprig's own ! attributes (see above).",
)
@click.option(
    "--with-events", is_flag=True, help="Also events: one entry per name, its latest time."
)
@parallelism_option
def import_command(**flags: Any) -> None:
    """Flags in, one ImportRequest out, then run it (the help text is ``IMPORT_HELP``)."""
    run_import(import_request(flags))


def run_import(request: ImportRequest) -> None:
    """Read the users, render them, check the text as plan would, write it, say what next."""
    console.setup_logging(request.verbose)
    wanted, out_path = request.wanted, request.out_path
    config = load_config(request.config_path, os.environ)
    target = request.overrides.target(_one_target(config, request.target_names))
    capabilities = _capabilities(target, wanted is None, request.with_events)
    _note_no_inverse(target)
    live_users = _read(target, wanted)
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
            for line in left_out_lines(merged.left_out):
                console.note(line)
            import_merge.report(merged, target)
            _check_found(target, wanted, live_users, out_path)
            decisions = import_merge.decisions_left(merged)
            if decisions is not None:
                raise decisions
            return
    result = render_import(live_users, options)
    _check_declarations(result, config, out_path)
    _output(result, out_path)
    _report(result, target, config, out_path, schema)
    _check_found(target, wanted, live_users, out_path)


# common_options documents --target for commands that take several; import takes exactly one.
for _param in import_command.params:
    if _param.name == "target_names" and isinstance(_param, click.Option):
        _param.help = "The target to import from (required, once)."


def _one_target(config: Config, names: Sequence[str]) -> TargetConfig:
    """Exactly one --target: a file is imported from one target, whose users it declares."""
    if len(set(names)) != 1:
        known = ", ".join(config.targets) or "none"
        raise click.UsageError(
            f"import reads exactly one target: pass --target NAME once (configured: {known})"
        )
    (target,) = select_targets(config, names)
    return target


def _capabilities(target: TargetConfig, import_all: bool, with_events: bool) -> Capabilities:
    """What the target holds; --all where it cannot list fails here, before any key is read."""
    capabilities = CAPABILITIES[target.provider]
    if import_all and not capabilities.can_list:
        why = capabilities.cannot_list_because or "it cannot list its users"
        raise ConfigError(
            f"target {target.name} ({target.provider}): {why}: name the users with --user ID "
            "or --ids-from FILE"
        )
    if with_events and not capabilities.events:
        console.note(f"Note: target {target.name} records no events: --with-events adds none.")
    return capabilities


def _note_no_inverse(target: TargetConfig) -> None:
    """A dropped attribute has no inverse: the target never holds it, so it cannot be read."""
    dropped = [rule.name for rule in target.mapping.rules if rule.drop]
    if dropped:
        console.note(
            f"Note: target {target.name}'s mapping drops {', '.join(map(printable, dropped))}: "
            "the target never holds it, so import cannot declare it (import another target)."
        )


def _read(target: TargetConfig, wanted: Sequence[str] | None) -> list[LiveUser]:
    """The live users: every one (--all, listed page by page) or the ones asked for (by GETs,
    or by the page when that is fewer requests: the read strategy of plans)."""
    with ExitStack() as stack:
        provider = stack.enter_context(open_provider(target, os.environ))
        started = time.monotonic()
        whole = wanted is None
        read = read_live(provider, wanted or (), Progress, whole=whole, complete=whole)
        live_users = list(read.listed if read.listed is not None else read.live.values())
        seconds = time.monotonic() - started
    log.info("target %s: %d users read in %.1fs", target.name, len(live_users), seconds)
    return live_users


def _schema_ref(config: Config, out_path: Path | None) -> tuple[str, Path]:
    """The modeline's ``$schema`` (relative to the file's folder) and the schema it means.

    The nearest ``schemas/users.schema.json`` at or above the config's folder (up to the git
    checkout's top), else the one ``reconciler schema users --out`` would write next to
    reconciler.yaml. On stdout, the file is taken to land in the first folder of ``users:``.
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


def _check_declarations(result: ImportResult, config: Config, out_path: Path | None) -> None:
    """Validate the text as plan will (schema, targets, value types), before writing it."""
    where = display_path(out_path) if out_path is not None else "<stdout>"
    data = result.text.encode("utf-8")
    path = out_path.absolute() if out_path is not None else config.root / "import.yaml"
    checked = check_file(path, where, config, read=lambda _path: data)
    if checked.problems:
        shown = "; ".join(str(problem) for problem in checked.problems[:3])
        raise UnwritableError(f"the imported YAML does not validate ({shown}); please report")


def _output(result: ImportResult, out_path: Path | None) -> None:
    if out_path is None:
        click.echo(result.text, nl=False)
    else:
        write_atomically(out_path, result.text)


def _report(
    result: ImportResult,
    target: TargetConfig,
    config: Config,
    out_path: Path | None,
    schema: Path,
) -> None:
    """On stderr: what was left out, then where the file went and what to check next."""
    for line in left_out_lines(result.left_out):
        console.note(line)
    users = _plural(result.users)
    if out_path is None:
        console.note(f"Imported {users} from target {target.name}.")
        return
    console.note(f"Imported {users} from target {target.name} into {display_path(out_path)}.")
    if not schema.is_file():
        console.note(
            f"Note: the file's modeline points at {display_path(schema)}, which does not exist: "
            f"reconciler schema users --out {display_path(schema)}"
        )
    files, _ = find_files(config)
    if out_path.absolute() not in {path for path, _ in files}:
        console.note(
            f"Note: users: in {display_path(config.path)} does not cover "
            f"{display_path(out_path)}: plan will not read it."
        )
        return
    try:
        load_declarations(config)
    except ValidationError as invalid:
        count = len(invalid.problems)
        console.note(
            f"Note: the declarations now have {_plural(count, 'problem')} (a user declared in two "
            "files?): run reconciler validate."
        )


def left_out_lines(left_out: Sequence[LeftOut]) -> list[str]:
    """One line per field and reason, naming a few of the users (never a value)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for item in left_out:
        groups.setdefault((item.field, item.reason), []).append(item.user_id)
    lines = []
    for (field, reason), ids in sorted(groups.items()):
        lines.append(f"Not imported: {field} of {_plural(len(ids))} ({_some(ids)}): {reason}")
    return lines


def _check_found(
    target: TargetConfig,
    wanted: Sequence[str] | None,
    live_users: Sequence[LiveUser],
    out_path: Path | None,
) -> None:
    """Users asked for that the target does not have: named, and exit 1 (the rest is written)."""
    if wanted is None:
        return
    found: Mapping[str, LiveUser] = {user.id: user for user in live_users}
    missing = [user_id for user_id in wanted if user_id not in found]
    if missing:
        written = "above" if out_path is None else f"to {display_path(out_path)}"
        raise TargetError(
            target.name,
            f"{len(missing)} of {_plural(len(wanted))} not found: {_some(missing)} "
            f"(the {len(found)} found were written {written})",
        )


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(map(printable, ids[:SHOWN_IDS]))
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def _plural(count: int, word: str = "user") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
