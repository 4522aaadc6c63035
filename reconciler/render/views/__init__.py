"""One view per command (Terraform's ``internal/command/views``): what each command prints, in
each form it has, and the one lookup from its ``--format`` flag to that form.

A command's view is an object chosen once, from the flag's name, by :func:`chosen`; the command
then calls its methods and never looks at the name again. Every form of a command answers the
same methods (a Protocol per command), so a command has no ``if`` on the format: the plan's
text, Markdown and JSON, apply's plan and report, validate's text, GitHub annotations and JSON;
import and schema have one form each. A view returns strings and leaves writing them to the
CLI; it only composes the pure renderers beside this package (``text``, ``comment``,
``markdown``, ``documents``, ``problems``), never another command's view.

The names below are the only spelling of the forms: the commands' ``click.Choice`` lists are
these tuples, and tests/test_render_views.py fails on a module that compares a format name.
This module imports nothing heavy: ``validate`` and ``--help`` load it to build their flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple, TypeVar

#: The forms, as the ``--format`` flag spells them.
TEXT, MARKDOWN, JSON, GITHUB = "text", "markdown", "json", "github"
#: Each command's forms, its default first (the ``--format`` choices): validate's, and those of
#: plan and apply (one flag, cli/options.py).
VALIDATE_FORMS = (TEXT, GITHUB, JSON)
PLAN_FORMS = (TEXT, MARKDOWN, JSON)

V = TypeVar("V")


def chosen(forms: Mapping[str, V], name: str) -> V:
    """The form called ``name`` among one command's ``forms``: the one place a format's name
    selects anything. click's ``Choice`` refused any other name before; a caller of the library
    that passes one gets a ValueError that lists the names."""
    try:
        return forms[name]
    except KeyError:
        raise ValueError(f"no form {name!r}: one of {', '.join(forms)}") from None


class Output(NamedTuple):
    """A piece of what a view prints: its text, on stdout or on stderr."""

    text: str
    stderr: bool = False


#: What a view prints, in order (the CLI writes each piece to its stream; empty ones are skipped).
Printed = tuple[Output, ...]
