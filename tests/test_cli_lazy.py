"""The command group imports only the command that runs, and lists the others as click would.

``reconciler --help`` and ``validate`` used to import every command (the HTTP client, the
applier, the importer): a quarter of a second of CPU before any work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli.lazy import short_help
from reconciler.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[1]
COMMAND_MODULES = {where.partition(":")[0] for where, _ in COMMANDS.values()}

PROBE = """\
import json, sys
from reconciler.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("reconciler."))), file=sys.stderr)
"""


def _loaded(*args: str) -> set[str]:
    """The reconciler modules a fresh interpreter loaded to run ``reconciler ARGS`` in examples/."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT / "examples",
        capture_output=True,
        text=True,
        timeout=120,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_command() -> None:
    assert _loaded("--help") & COMMAND_MODULES == set()


def test_validate_imports_only_its_own_command() -> None:
    assert _loaded("validate") & COMMAND_MODULES == {"reconciler.cli.validate_cmd"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_the_first_paragraph_of_the_commands_help(name: str) -> None:
    """The listing is made from copies: each must shorten exactly as the command's own help."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    for limit in range(10, 200):
        copy = short_help(COMMANDS[name].summary, limit)
        assert copy == command.get_short_help_str(limit), (name, limit)


def test_an_unknown_command_is_refused_with_the_closest_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from reconciler.cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["plna"])
    assert exited.value.code == 1
    said = capsys.readouterr().err
    assert "No such command 'plna'" in said
    if hasattr(click.exceptions, "NoSuchCommand"):  # click 8.2 on suggests the closest
        assert "Did you mean 'plan'?" in said
