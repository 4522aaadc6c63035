"""`reconciler schema [users|config|plan]`: the JSON Schemas this version checks with.

Editors (VS Code's YAML extension, Neovim, JetBrains) complete and check a YAML file from a JSON
Schema. Once reconciler is installed, the schemas sit deep inside site-packages, at a path that
differs per machine; this command prints them (or writes a copy to commit), so every teammate's
editor checks with exactly what ``reconciler validate`` checks.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli import console
from reconciler.errors import ConfigError
from reconciler.load.schemas import schema_path
from reconciler.render.views.schema import SchemaText
from reconciler.usecases.files import write_atomically

#: Each schema, and the files it describes.
SCHEMAS = {
    "users": "declaration files (users/*.yaml)",
    "config": "reconciler.yaml",
    "plan": "saved plans (reconciler plan --out FILE)",
}


@click.command()
@click.argument(
    "name", required=False, type=click.Choice(list(SCHEMAS)), metavar="[users|config|plan]"
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the schema to FILE instead of printing it (e.g. to commit it for editors).",
)
@click.option(
    "--path", "show_path", is_flag=True, help="Print where the installed schema file is instead."
)
def schema(name: str | None, out_path: Path | None, show_path: bool) -> None:
    """Print the JSON Schema of declaration files (users), reconciler.yaml (config) or saved
    plans (plan), exactly as this version of reconciler checks with it.

    Without NAME, lists the three schemas and where they are installed.

    \b
    Examples:
      reconciler schema                    # the names, what they describe, where they are
      reconciler schema users > schemas/users.schema.json
      reconciler schema config --out schemas/config.schema.json
      reconciler schema plan --path

    \b
    Editors: commit the copies, then either start each file with a modeline
    (the path is relative to the YAML file):
      # yaml-language-server: $schema=../schemas/users.schema.json
    or, in VS Code (YAML extension by Red Hat), map them in .vscode/settings.json:
      "yaml.schemas": {"./schemas/users.schema.json": "users/**/*.yaml",
                       "./schemas/config.schema.json": "reconciler.yaml"}
    Write the copies again after upgrading reconciler.
    """
    view = SchemaText()
    if name is None:
        if out_path is not None or show_path:
            raise click.UsageError("--out and --path need a NAME: users, config or plan")
        console.emit(view.listed(SCHEMAS, {key: _shipped(key) for key in SCHEMAS}))
    elif show_path:
        console.emit(view.located(_shipped(name)))
    else:
        text = _shipped(name).read_text(encoding="utf-8")
        if out_path is None:
            console.emit(view.shown(text))
        else:
            write_atomically(out_path, text)
            console.emit(view.written(name, out_path))


def _shipped(name: str) -> Path:
    """The installed schema file; a missing one means a broken install, which says what to do."""
    try:
        return schema_path(name)
    except FileNotFoundError as missing:
        raise ConfigError(
            f"{missing}: reinstall reconciler from its checkout (pip install .)"
        ) from None
