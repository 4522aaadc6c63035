"""A command group that imports a command's module only when that command runs.

Importing every command up front made ``reconciler --help`` and ``validate`` pay for the HTTP
client, the applier and the importer: 0.24 s of CPU, seven times an empty interpreter. click's
own recipe (a ``Group`` whose ``get_command`` imports on demand) keeps the start-up to the one
command asked for. ``--help`` lists every command with its one-line summary, which would import
them all again, so the group carries each command's first help paragraph and shortens it exactly
as click would; tests/test_cli_lazy.py checks the copies against the commands themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


def short_help(summary: str, limit: int) -> str:
    """``summary`` shortened to ``limit`` characters exactly as click shortens a command's help
    in a listing (through a command's public ``get_short_help_str``: the helper click uses
    for it is deprecated)."""
    return click.Command(None, help=summary).get_short_help_str(limit)


class Lazy(NamedTuple):
    """Where a command is (``module:attribute``) and the first paragraph of its help."""

    where: str
    summary: str


class LazyGroup(click.Group):
    """A ``click.Group`` whose commands are imported the first time they are asked for."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attribute = self.lazy[cmd_name].where.partition(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name].where} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:
            if set(self.lazy) <= set(self.commands):
                raise
            # A typo: click suggests the closest of the commands it holds, so load them all.
            for name in self.lazy:
                self.get_command(ctx, name)
            return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's own listing, from the summaries: no command is imported to be listed."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._short_help(ctx, name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str:
        if name in self.lazy and name not in self.commands:
            return short_help(self.lazy[name].summary, limit)
        command = self.get_command(ctx, name)
        return command.get_short_help_str(limit) if command else ""
