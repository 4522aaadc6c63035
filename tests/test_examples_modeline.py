"""Every example config and declaration file starts with a working editor modeline.

``# yaml-language-server: $schema=PATH`` gives completion and checks in editors; PATH is relative
to the file, so a moved file or schema silently loses them. PATH stays inside examples/ (its own
``schemas/``, as ``reconciler schema NAME --out`` writes it), so a copy of examples/ made outside
the clone, as a new repository starts, keeps working modelines. Which schema a file needs is decided
as reconciler decides: each reconciler.yaml needs the config schema, and every file its
``users:`` covers needs the users schema. Any other YAML under examples/ must be listed below,
so a new example cannot escape the check.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.load.config import load_config
from reconciler.load.sources import find_files

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
#: YAML files under examples/ that reconciler does not read (no reconciler schema applies).
NOT_RECONCILER = {
    "github/reconciler.yml",  # GitHub Actions workflows
    "github/reconciler-sharded.yml",
    "pre-commit/pre-commit-config.yaml",  # a consumer's .pre-commit-config.yaml
}
#: Declaration files to copy into users/ (the README's typo example): outside ``users:``, so the
#: examples stay valid, and checked with the users schema like the declaration files.
COPIED_INTO_USERS = {"typo/typo.yaml"}
MODELINE = re.compile(r"# yaml-language-server: \$schema=(\S+)\n")


def example_yaml_files() -> list[Path]:
    """Every *.yaml / *.yml under examples/, outside hidden folders (.reconciler/ stores)."""
    return sorted(
        path
        for path in EXAMPLES.rglob("*")
        if path.suffix in (".yaml", ".yml")
        and not any(part.startswith(".") for part in path.relative_to(EXAMPLES).parts)
    )


def needed_schemas() -> dict[Path, str]:
    """Each reconciler file under examples/ and the schema it needs (config or users)."""
    needed: dict[Path, str] = {}
    for config_path in sorted(EXAMPLES.rglob("reconciler.yaml")):
        needed[config_path] = "config"
        config = load_config(config_path, {})
        declarations, unmatched = find_files(config)
        assert unmatched == [], unmatched
        needed.update(dict.fromkeys((path for path, _ in declarations), "users"))
    needed.update({EXAMPLES / name: "users" for name in COPIED_INTO_USERS})
    return needed


def test_every_example_yaml_is_classified() -> None:
    known = set(needed_schemas()) | {EXAMPLES / name for name in NOT_RECONCILER}
    unknown = [path for path in example_yaml_files() if path not in known]
    assert unknown == [], "a reconciler file with a modeline, or list it in NOT_RECONCILER"
    for name in NOT_RECONCILER:
        assert (EXAMPLES / name).is_file(), f"{name} is listed but gone: update NOT_RECONCILER"


@pytest.mark.parametrize(
    ("path", "kind"),
    sorted(needed_schemas().items()),
    ids=lambda value: value.relative_to(EXAMPLES).as_posix() if isinstance(value, Path) else value,
)
def test_modeline_points_at_the_right_schema(path: Path, kind: str) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines(keepends=True)[0]
    found = MODELINE.fullmatch(first_line)
    assert found, f"{path}: the first line must be '# yaml-language-server: $schema=...'"
    schema = (path.parent / found.group(1)).resolve()
    # Inside examples/: a copy of examples/ outside the clone keeps working modelines.
    assert schema == (EXAMPLES / "schemas" / f"{kind}.schema.json").resolve(), (path, schema)
    assert schema.is_file()


@pytest.mark.parametrize("kind", ["users", "config"])
def test_the_examples_schemas_are_the_ones_reconciler_checks_with(kind: str) -> None:
    """examples/schemas/ is what ``reconciler schema NAME --out`` writes: the same bytes as the
    shipped schemas (regenerate it with that command when a schema changes)."""
    copy = (EXAMPLES / "schemas" / f"{kind}.schema.json").read_bytes()
    assert copy == (ROOT / "schemas" / f"{kind}.schema.json").read_bytes()
