"""The command line: the ``reconciler`` group of commands, and the entry point that owns exits.

Each command lives in its own module (``validate_cmd``, ``plan_cmd``, ``apply_cmd``,
``import_cmd``, ``schema``, ``sandbox``): flags in, one request value built from them
(requests.py), a few library calls, output out. This is the only module that exits: library code
raises typed errors (errors.py) and ``main`` turns them into one-line messages and the exit codes
of SPEC section 4 (exits.py).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from reconciler import __version__
from reconciler.cli.exits import EXIT_OK, HANDLED, exit_code_of, report
from reconciler.cli.hints import hinted
from reconciler.cli.lazy import Lazy, LazyGroup

if TYPE_CHECKING:
    from reconciler.usecases.runtime import Runtime

#: Each command's module, imported only when the command runs (lazy.py), and the first
#: paragraph of its help, which ``reconciler --help`` shortens to list it.
COMMANDS = {
    "apply": Lazy(
        "reconciler.cli.apply_cmd:apply",
        "Show the plan, ask, then send only the needed upserts and verify what stuck.",
    ),
    "import": Lazy(
        "reconciler.cli.import_cmd:import_command",
        "Write the live users of one target as a declaration file, ready to commit.",
    ),
    "plan": Lazy(
        "reconciler.cli.plan_cmd:plan",
        "Read the live users and show what apply would change. Sends only GET requests.",
    ),
    "sandbox": Lazy(
        "reconciler.cli.sandbox_cmd:sandbox",
        "The local sandbox: an HTTP emulator of the Sprig and Usertour APIs.",
    ),
    "schema": Lazy(
        "reconciler.cli.schema:schema",
        "Print the JSON Schema of declaration files (users), reconciler.yaml (config) or saved"
        " plans (plan), exactly as this version of reconciler checks with it.",
    ),
    "validate": Lazy(
        "reconciler.cli.validate_cmd:validate",
        "Check reconciler.yaml and every declaration file, offline.",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="reconciler")
def cli() -> None:
    """Keep end-user profiles in Sprig and Usertour equal to what YAML files declare.

    \b
    Typical loop:
      reconciler validate            # offline checks, no network
      reconciler plan                # read live users, show what would change
      reconciler apply               # show the plan, ask, send only the needed upserts

    Exit codes: 0 ok, 1 error or invalid, 2 changes pending (plan --detailed-exitcode),
    3 refused (safety guard, no confirmation, another apply holds the target), 4 applied but
    not visible yet within apply's --wait (Sprig; run plan later), 5 events held back for want
    of evidence that an earlier write is not on its way (README: Exactly once), 130
    interrupted.
    """


def main(argv: list[str] | None = None, runtime: Runtime | None = None) -> None:
    """Console-script entry point: runs the CLI and owns every exit code.

    ``runtime`` is the one seam for running the CLI inside another program (the tests' harness,
    tests/cli_process.py): the use cases get it instead of the process's (console.runtime)."""
    arguments = sys.argv[1:] if argv is None else argv
    try:
        try:
            # Without standalone mode click returns Exit's code instead of exiting (--help).
            code = cli.main(
                args=arguments, prog_name="reconciler", standalone_mode=False, obj=runtime
            )
        except click.NoSuchOption as unknown:
            raise hinted(unknown, arguments) from None
    except HANDLED as error:
        report(error)
        sys.exit(exit_code_of(error))
    sys.exit(code if isinstance(code, int) else EXIT_OK)
