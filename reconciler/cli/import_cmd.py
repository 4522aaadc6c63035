"""`reconciler import --target T`: the live users of one target, as a declaration file to commit.

The use case is usecases/importing.py; here the flags become its request, and what it returns
is printed: the file on stdout (without ``--out``: it holds real emails, so it goes nowhere
else), the report on stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import click

from reconciler.cli import console
from reconciler.cli.arguments import ImportArgs, import_request
from reconciler.cli.options import common_options, parallelism_option
from reconciler.load.config import load_config
from reconciler.render.views.imports import ImportText
from reconciler.usecases.importing import import_users

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


def run_import(args: ImportArgs) -> None:
    """Import (usecases), then the file on stdout (without --out), what happened on stderr,
    and the error it ends with, if any."""
    console.setup_logging(args.verbose)
    request = args.request
    if len(set(args.target_names)) != 1:
        _not_one_target(request.config_path)
    imported = import_users(request, console.runtime())
    console.emit(ImportText().imported(imported.text, imported.report))
    if imported.problem is not None:
        raise imported.problem


# common_options documents --target for commands that take several; import takes exactly one.
for _param in import_command.params:
    if _param.name == "target_names" and isinstance(_param, click.Option):
        _param.help = "The target to import from (required, once)."


def _not_one_target(config_path: Path) -> NoReturn:
    """Exactly one --target: a file is imported from one target, whose users it declares."""
    config = load_config(config_path, console.runtime().environ)
    known = ", ".join(config.targets) or "none"
    raise click.UsageError(
        f"import reads exactly one target: pass --target NAME once (configured: {known})"
    )
