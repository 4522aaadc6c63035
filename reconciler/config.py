"""reconciler.yaml -> Config: targets, where declarations live, safety and sensitive fields.

Loading is offline: API keys are not read here (``validate`` needs none); only the *name* of each
key's variable is kept, and the provider checks it when a target is opened.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler import schemas, yamlcore, yamlload
from reconciler.errors import ConfigError, Problem, ValidationError
from reconciler.guards import DEFAULT_MAX_CHANGES
from reconciler.model import JsonPath, Source

CONFIG_FILE = "reconciler.yaml"
DEFAULT_PARALLELISM = 8
DEFAULT_SENSITIVE = ("email",)
DEFAULT_USERS = ("users/",)
DEFAULT_SANDBOX_PATH = ".reconciler/sandbox.db"


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """One entry of ``targets:``. Holds the *name* of the key variable, never the key."""

    name: str
    provider: str
    base_url: str | None = None
    api_key_env: str | None = None
    parallelism: int = DEFAULT_PARALLELISM
    rate_limit: float | None = None
    #: Sandbox only: SQLite file, already resolved against the config file's folder.
    path: Path | None = None
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """The whole of reconciler.yaml, with ${VAR} expanded and paths resolved."""

    path: Path
    #: Folder of reconciler.yaml; relative paths in it are relative to this folder.
    root: Path
    #: Sorted by name.
    targets: dict[str, TargetConfig]
    #: Declaration sources as written: files, folders or globs, relative to ``root``.
    users: tuple[str, ...] = DEFAULT_USERS
    #: Apply refuses to change more users than this at once (guards.DEFAULT_MAX_CHANGES unset).
    max_changes: int | None = DEFAULT_MAX_CHANGES
    sensitive: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_SENSITIVE))
    #: Apply refuses when more than this share (0..1) of the declared users would change.
    max_change_ratio: float | None = None
    #: Deleting undeclared users refuses beyond this count.
    max_deletes: int | None = None


def display_path(path: Path) -> str:
    """How a file is named in messages: relative to the current folder when it is below it."""
    absolute = path.absolute()
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:  # elsewhere: the full path is clearer than ../../..
        return absolute.as_posix()


def load_config(
    path: Path, environ: Mapping[str, str], *, read: Callable[[Path], bytes] | None = None
) -> Config:
    """Read, expand (${VAR}) and check reconciler.yaml; every problem is reported at once.

    ``read`` reads the file from elsewhere than the disk (the file at a git revision, for
    ``--changed-since``); ``path`` must then name the file itself, where it lives in the working
    tree, so that the Config's paths are the same as the working tree's. Raises ConfigError when
    there is no file to read, ValidationError with located Problems when its content is wrong.
    """
    if read is None:
        path, read = _config_file(path), Path.read_bytes
    try:
        data = read(path)
    except OSError as error:
        raise ConfigError(f"cannot read {display_path(path)}: {error.strerror}") from error
    file = display_path(path)
    variable_problems: list[Problem] = []

    def expand(root: Node) -> list[Problem]:
        variable_problems.extend(expand_variables(root, environ, file))
        return []  # reported with the schema's problems: every problem at once

    document = yamlload.parse_mapping(data, file, prepare=expand, keep_nodes=True)
    if document.problems:
        raise ValidationError(document.problems)
    locator = document.locator()
    issues = schemas.check("config", document.value)
    problems = variable_problems + [_located(file, locator, issue) for issue in issues]
    if problems:
        raise ValidationError(problems)
    return _build(path.absolute(), file, document.value or {})


def _config_file(path: Path) -> Path:
    """``--config DIR`` means DIR/reconciler.yaml; a missing file says how to point at one."""
    if path.is_dir():
        path = path / CONFIG_FILE
    if path.is_file():
        return path
    if path.name == CONFIG_FILE:
        folder = display_path(path.parent.absolute())
        raise ConfigError(f"no {CONFIG_FILE} in {folder}: create one or pass --config PATH")
    raise ConfigError(f"config file {display_path(path)} not found: check --config PATH")


def _located(file: str, locator: yamlload.Locator, issue: schemas.SchemaIssue) -> Problem:
    line, column = locator.locate(issue.path)
    return Problem(file, line, column, yamlload.format_path(issue.path), issue.message)


_REFERENCE_RE = re.compile(r"\$(?:\$|\{([^}]*)\}|\{)")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def expand_variables(root: Node, environ: Mapping[str, str], file: str) -> list[Problem]:
    """Expand ``${VAR}``, ``${VAR:-default}`` and ``$$`` in every string value, in place.

    Working on nodes keeps each string's position for a missing variable, and lets an unquoted
    ``parallelism: ${N}`` become the integer the expanded text spells.
    """
    problems: list[Problem] = []
    seen: set[int] = set()
    stack: list[tuple[Node, JsonPath]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:  # an aliased node is expanded once
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            stack.extend((value, (*path, key.value)) for key, value in node.value)
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*path, index)) for index, item in enumerate(node.value))
        elif isinstance(node, ScalarNode) and "$" in node.value:
            node.value, errors = _expand(node.value, environ)
            if node.style == "" and node.tag in (yamlcore.STR, yamlcore.NULL):
                node.tag = yamlcore.resolve_plain(node.value)
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            field_name = yamlload.format_path(path)
            problems.extend(Problem(file, line, column, field_name, error) for error in errors)
    return problems


def _expand(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    errors: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        inner = match.group(1)
        if inner is None:
            errors.append("'${' is not closed: write ${NAME}, or $$ for a literal $")
            return match.group(0)
        name, has_default, default = inner.partition(":-")
        if not _NAME_RE.match(name):
            errors.append(f"${{{inner}}} is not a variable reference: write ${{NAME}}")
            return match.group(0)
        value = environ.get(name)
        if has_default and not value:  # like the shell: unset or empty takes the default
            return default
        if value is None:
            errors.append(
                f"environment variable {name} is not set (set it, or write ${{{name}:-default}})"
            )
            return ""
        return value

    return _REFERENCE_RE.sub(substitute, text), errors


def _build(path: Path, file: str, document: dict[str, Any]) -> Config:
    """Schema-checked document -> Config (defaults filled, sandbox paths resolved)."""
    root = path.parent
    targets = {
        name: _target(name, document["targets"][name], root, file)
        for name in sorted(document["targets"])
    }
    users = document.get("users", list(DEFAULT_USERS))
    safety = document.get("safety", {})
    ratio = safety.get("max_change_ratio")
    return Config(
        path=path,
        root=root,
        targets=targets,
        users=(users,) if isinstance(users, str) else tuple(users),
        max_changes=safety.get("max_changes", DEFAULT_MAX_CHANGES),
        # The defaults are always sensitive; the file can only add names (a pull request must
        # not unmask what the organisation's key reads).
        sensitive=frozenset(DEFAULT_SENSITIVE).union(document.get("sensitive", ())),
        max_change_ratio=float(ratio) if ratio is not None else None,
        max_deletes=safety.get("max_deletes"),
    )


def _target(name: str, entry: dict[str, Any], root: Path, file: str) -> TargetConfig:
    rate_limit = entry.get("rate_limit")
    sandbox_path = None
    if entry["provider"] == "sandbox":
        sandbox_path = root / entry.get("path", DEFAULT_SANDBOX_PATH)
    return TargetConfig(
        name=name,
        provider=entry["provider"],
        base_url=entry.get("base_url"),
        api_key_env=entry.get("api_key_env"),
        parallelism=entry.get("parallelism", DEFAULT_PARALLELISM),
        rate_limit=float(rate_limit) if rate_limit is not None else None,
        path=sandbox_path,
        source=Source(file, ("targets", name)),
    )
