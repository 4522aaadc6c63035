"""`reconciler validate [FILES]`: check reconciler.yaml and the declaration files, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler.cli import console
from reconciler.cli.exits import EXIT_ERROR
from reconciler.cli.options import common_options
from reconciler.cli.validate_args import ValidateArgs, validate_request
from reconciler.errors import ValidationError
from reconciler.render.views import VALIDATE_FORMS
from reconciler.render.views.validate import validate_view
from reconciler.usecases import validating


@click.command()
@common_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(VALIDATE_FORMS),
    default=VALIDATE_FORMS[0],
    show_default=True,
    help="github: ::error annotations on the pull request's lines; json: for programs.",
)
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate(**flags: Any) -> None:
    """Check reconciler.yaml and every declaration file, offline.

    Reports every problem at once as file:line:col: field: message. Sends no request and needs
    no API key. With --target T, what a target can hold is checked for T alone.

    With FILES (what pre-commit passes: the changed *.yaml files, relative to the current
    folder), checks reconciler.yaml and only those FILES that are declaration files of it
    (covered by its users:); any other file is skipped with a line on stderr. Naming
    reconciler.yaml checks everything. A duplicate id is then seen only among the files read:
    run validate without FILES in CI to catch the rest.

    \b
    Examples:
      reconciler validate
      reconciler validate --config infra/users/reconciler.yaml
      reconciler validate --format github   # in GitHub Actions: annotations on the diff
      reconciler validate users/customers.yaml users/staff.yaml
      reconciler validate --config infra/reconciler.yaml infra/users/new.yaml
    """
    run_validate(validate_request(flags))


def run_validate(args: ValidateArgs) -> None:
    """Validate (usecases: every problem at once), then say so in the view --format chose; a
    view that prints no problems (text) leaves them to main, on stderr like every error."""
    if args.verbose:  # at 0 there is nothing to set up: validate loads no module that logs
        console.setup_logging(args.verbose)
    view = validate_view(args.output_format)
    try:
        validated = validating.validate(args.request, console.runtime())
    except ValidationError as invalid:
        printed = view.invalid(invalid.problems)
        if printed is None:
            raise
        console.emit(printed)
        raise click.exceptions.Exit(EXIT_ERROR) from None
    console.emit(view.valid(validated))
