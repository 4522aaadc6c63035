"""Better words for the flags people bring from other tools (Terraform first of all).

click answers an unknown option with its closest spelling: ``apply --dry-run`` got "Did you mean
'--prune'?", which suggests the one destructive flag, and Terraform's single-dash
``-auto-approve`` became "No such option '-a'". Here such a mistake says what reconciler does
instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import click

#: Options of other tools, without dashes, and what to do in reconciler instead.
FOREIGN = {
    "dry-run": "`reconciler plan` is the dry run: it shows what apply would change and sends "
    "nothing",
    "auto-approve": "To apply without the question, pass --yes",
}


def hinted(error: click.NoSuchOption, argv: Sequence[str]) -> click.UsageError:
    """``error`` reworded when the option is a known foreign one, or a long option written with
    one dash (``-detailed-exitcode``); else ``error`` itself."""
    written = _written(error.option_name, argv)
    bare = written.lstrip("-")
    if bare in FOREIGN:
        return click.UsageError(f"No such option: {written}. {FOREIGN[bare]}.", error.ctx)
    if written.startswith("-") and not written.startswith("--") and len(bare) > 1:
        known = _long_options(error.ctx)
        if f"--{bare}" in known:
            message = f"No such option: {written}. Long options take two dashes: --{bare}."
            return click.UsageError(message, error.ctx)
    return error


def _written(option: str, argv: Sequence[str]) -> str:
    """The argument as the user typed it (click names only ``-a`` of ``-auto-approve``)."""
    for argument in argv:
        if argument == "--":
            break
        name = argument.split("=", 1)[0]
        if name == option or (not option.startswith("--") and name.startswith(option)):
            return name
    return option


def _long_options(ctx: click.Context | None) -> set[str]:
    if ctx is None:
        return set()
    return {name for param in ctx.command.params for name in getattr(param, "opts", ())}
