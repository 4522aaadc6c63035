"""`reconciler validate [FILES]`: check reconciler.yaml and the declaration files, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reconciler.cli import console
from reconciler.cli.arguments import ValidateArgs, validate_request
from reconciler.cli.exits import EXIT_ERROR
from reconciler.cli.options import common_options
from reconciler.errors import ValidationError
from reconciler.escape import printable
from reconciler.usecases import validating
from reconciler.usecases.validating import Validated


@click.command()
@common_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "github", "json"]),
    default="text",
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
    """Validate (usecases: every problem at once), then say so in the asked format; text
    problems go to stderr through main like every error, the other formats print them on
    stdout."""
    console.setup_logging(args.verbose)
    try:
        validated = validating.validate(args.request, console.runtime())
    except ValidationError as invalid:
        if args.output_format == "text":
            raise
        _print_problems(invalid, args.output_format)
        raise click.exceptions.Exit(EXIT_ERROR) from None
    _print_valid(validated, args.output_format)


def _print_problems(invalid: ValidationError, output_format: str) -> None:
    from reconciler.render.problems import render_github, render_validation_json

    if output_format == "github":
        click.echo("\n".join(render_github(invalid.problems)))
    else:
        click.echo(render_validation_json(invalid.problems))


def _print_valid(validated: Validated, output_format: str) -> None:
    """Warnings (annotations with github), then the count of users, files and targets."""
    read = validated.files
    for warning in validated.warnings:
        if output_format == "github":
            from reconciler.render.problems import github_annotation

            click.echo(github_annotation(warning, "warning"))
        elif output_format == "text":
            click.echo(printable(str(warning)), err=True)
    if output_format == "json":
        from reconciler.render.problems import render_validation_json

        click.echo(render_validation_json([], users=validated.users, files=read))
        return
    users, targets = validated.users, validated.targets
    click.echo(
        f"Valid: {users} users in {read} file{'s' if read != 1 else ''}, "
        f"{targets} target{'s' if targets != 1 else ''}."
    )
