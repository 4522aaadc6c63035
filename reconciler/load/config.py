"""reconciler.yaml -> Config: targets, where declarations live, safety and sensitive fields.

Loading is offline: API keys are not read here (``validate`` needs none); only the *name* of each
key's variable is kept, and the provider checks it when a target is opened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from yaml.nodes import Node

from reconciler.errors import ConfigError, Problem, ValidationError
from reconciler.load import configcheck, confine, envvars, schemas, yamlload
from reconciler.mapping import NO_MAPPING, AttributeRule, TargetMapping
from reconciler.model import JsonPath, Source, format_path
from reconciler.settings import (
    DEFAULT_PARALLELISM,
    DEFAULT_SANDBOX_PATH,
    TargetConfig,
    display_path,
)

CONFIG_FILE = "reconciler.yaml"
DEFAULT_SENSITIVE = ("email",)
#: Names the workflow marks sensitive, comma-separated, on top of DEFAULT_SENSITIVE and the
#: file's ``sensitive:``. The environment belongs to the base branch's workflow, which a pull
#: request cannot change, while reconciler.yaml is the pull request's: a name listed only in the
#: file can be dropped by the very pull request whose plan would then print its values.
SENSITIVE_ENV = "RECONCILER_SENSITIVE"
DEFAULT_USERS = ("users/",)


#: safety.max_changes when reconciler.yaml does not set it. A pull request rarely changes more
#: than a few hundred users; 3,000 creates from a wrong glob should be a question, not a fact.
#: A reviewed bulk change (a first apply of a big target) says so: --max-changes N, or a
#: higher safety.max_changes.
DEFAULT_MAX_CHANGES = 500


@dataclass(frozen=True, slots=True)
class Config:
    """The whole of reconciler.yaml, with ${VAR} expanded and paths resolved."""

    path: Path
    #: Folder of reconciler.yaml; relative paths in it are relative to this folder.
    root: Path
    #: Sorted by name.
    targets: dict[str, TargetConfig]
    #: Declaration sources (``${VAR}`` expanded): files, folders or globs, relative to ``root``.
    users: tuple[str, ...] = DEFAULT_USERS
    #: Apply refuses to change more users than this at once (DEFAULT_MAX_CHANGES unset).
    max_changes: int | None = DEFAULT_MAX_CHANGES
    #: The same sources as written in the file, for messages (never an expanded value).
    users_written: tuple[str, ...] = DEFAULT_USERS
    sensitive: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_SENSITIVE))
    #: Apply refuses when more than this share (0..1) of the declared users would change.
    max_change_ratio: float | None = None
    #: Deleting undeclared users refuses beyond this count.
    max_deletes: int | None = None


def load_config(
    path: Path, environ: Mapping[str, str], *, read: Callable[[Path], bytes] | None = None
) -> Config:
    """Read, expand (${VAR}) and check reconciler.yaml; every problem is reported at once.

    ``read`` reads the file from elsewhere than the disk (the file at a git revision, for
    ``--changed-since``); ``path`` must then name the file itself, where it lives in the working
    tree, so that the Config's paths are the same as the working tree's. Raises ConfigError when
    there is no file to read, ValidationError with located Problems when its content is wrong.
    No message quotes an expanded value: they quote the text as written (``${VAR}``).
    """
    path, data = _read(path, read)
    file = display_path(path)
    document, expansion = _parse(data, file, environ)
    locator = document.locator()
    _refuse(_schema_problems(document, expansion, file, locator))
    config = _build(path.absolute(), file, document.value or {}, expansion.written, locator)
    config = replace(config, sensitive=config.sensitive | operator_sensitive(environ))
    config = replace(config, sensitive=renamed_sensitive(config))
    _refuse(configcheck.check(config, file, expansion.references, locator))
    return config


def _read(path: Path, read: Callable[[Path], bytes] | None) -> tuple[Path, bytes]:
    """The config file's path (``--config DIR`` means DIR/reconciler.yaml) and its bytes."""
    if read is None:
        path, read = _config_file(path), _read_config
    try:
        return path, read(path)
    except OSError as error:
        reason = error.strerror or "unreadable"
        raise ConfigError(f"cannot read {display_path(path)}: {reason}") from error


def _parse(
    data: bytes, file: str, environ: Mapping[str, str]
) -> tuple[yamlload.Document, envvars.Expansion]:
    """The document with ``${VAR}`` expanded, and what expanding did; the YAML's own problems
    (dialect, duplicates) are raised, the expansion's are reported with the schema's."""
    expansion = envvars.Expansion()

    def expand(root: Node) -> list[Problem]:
        found = envvars.expand_variables(root, environ, file)
        expansion.problems, expansion.written = found.problems, found.written
        expansion.references = found.references
        return []  # reported with the schema's problems: every problem at once

    document = yamlload.parse_mapping(data, file, prepare=expand, keep_nodes=True)
    _refuse(document.problems)
    return document, expansion


def _schema_problems(
    document: yamlload.Document,
    expansion: envvars.Expansion,
    file: str,
    locator: yamlload.Locator,
) -> list[Problem]:
    """The expansion's problems and the schema's, a field refused by expansion said once."""
    refused = {problem.field for problem in expansion.problems}
    issues = schemas.check("config", document.value, written=expansion.written)
    return expansion.problems + [
        _located(file, locator, issue)
        for issue in issues
        if yamlload.format_json_path(issue.path) not in refused  # already said why it is empty
    ]


def _refuse(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError(problems)


def operator_sensitive(environ: Mapping[str, str]) -> frozenset[str]:
    """The names ``RECONCILER_SENSITIVE`` lists (``phone,companies.acme``): always masked."""
    return frozenset(
        name.strip() for name in environ.get(SENSITIVE_ENV, "").split(",") if name.strip()
    )


def renamed_sensitive(config: Config) -> frozenset[str]:
    """``sensitive`` with the names a mapping sends a sensitive attribute under: masking goes
    by the plan's paths, which hold the target's name. Without this, a pull request could
    unmask a value the workflow keeps masked (``RECONCILER_SENSITIVE=phone``) by renaming
    ``phone`` in a target's mapping. Masking more is always allowed."""
    added: set[str] = set()
    for target in config.targets.values():
        for rule in target.mapping.rules:
            declared_path = format_path(("attributes", rule.name))
            if rule.rename and {rule.name, declared_path} & config.sensitive:
                added.update((rule.rename, format_path(("attributes", rule.rename))))
    return config.sensitive | added


def _read_config(path: Path) -> bytes:
    return confine.read_bounded(path, confine.MAX_CONFIG_BYTES)


def _config_file(path: Path) -> Path:
    """``--config DIR`` means DIR/reconciler.yaml; a missing file says how to point at one.

    A reconciler.yaml that is a symlink must stay inside its folder: the folder is the fence
    of everything else the file names (SECURITY.md). The flag is the workflow's, but the folders
    on its way are the pull request's: ``--config infra`` with ``infra`` committed as a symlink
    would move the fence out of the checkout, so a path below the current folder must resolve
    below it too (a path the workflow writes outside it, ``../other``, is its own choice).
    """
    here, folder = Path.cwd(), path.parent
    if confine.is_inside_lexically(folder, here) and not confine.is_inside(folder, here):
        raise ConfigError(
            f"--config {display_path(path)} leads out of the current folder through a symlink: "
            "reconciler reads only the config the checkout holds"
        )
    if path.is_dir():
        path = path / CONFIG_FILE
    if path.is_file():
        if not confine.is_inside(path, path.absolute().parent):
            raise ConfigError(f"{display_path(path)} {confine.outside_refusal()}")
        return path
    if path.name == CONFIG_FILE:
        shown = display_path(path.parent.absolute())
        raise ConfigError(f"no {CONFIG_FILE} in {shown}: create one or pass --config PATH")
    raise ConfigError(f"config file {display_path(path)} not found: check --config PATH")


def _located(file: str, locator: yamlload.Locator, issue: schemas.SchemaIssue) -> Problem:
    line, column = locator.locate(issue.path)
    return Problem(file, line, column, yamlload.format_json_path(issue.path), issue.message)


def _build(
    path: Path,
    file: str,
    document: dict[str, Any],
    written: Mapping[JsonPath, str],
    locator: yamlload.Locator,
) -> Config:
    """Schema-checked document -> Config (defaults filled, sandbox paths resolved)."""
    root = path.parent
    targets = {
        name: _target(name, document["targets"][name], root, file, written)
        for name in sorted(document["targets"])
    }
    targets = {
        name: replace(target, mapping=_mapping(name, document["targets"][name], locator))
        for name, target in targets.items()
    }
    users = document.get("users", list(DEFAULT_USERS))
    entries = (users,) if isinstance(users, str) else tuple(users)
    users_written = tuple(
        written.get(("users",) if isinstance(users, str) else ("users", index), entry)
        for index, entry in enumerate(entries)
    )
    safety = document.get("safety", {})
    ratio = safety.get("max_change_ratio")
    return Config(
        path=path,
        root=root,
        targets=targets,
        users=entries,
        users_written=users_written,
        max_changes=safety.get("max_changes", DEFAULT_MAX_CHANGES),
        # The defaults are always sensitive; the file can only add names (a pull request must
        # not unmask what the organisation's key reads).
        sensitive=frozenset(DEFAULT_SENSITIVE).union(document.get("sensitive", ())),
        max_change_ratio=float(ratio) if ratio is not None else None,
        max_deletes=safety.get("max_deletes"),
    )


def _target(
    name: str, entry: dict[str, Any], root: Path, file: str, written: Mapping[JsonPath, str]
) -> TargetConfig:
    rate_limit = entry.get("rate_limit")
    sandbox_path = None
    if entry["provider"] == "sandbox":
        sandbox_path = root / entry.get("path", DEFAULT_SANDBOX_PATH)
    as_written = tuple(
        (path[2], text)
        for path, text in sorted(written.items(), key=lambda item: str(item[0]))
        if len(path) == 3 and path[:2] == ("targets", name) and isinstance(path[2], str)
    )
    return TargetConfig(
        name=name,
        provider=entry["provider"],
        base_url=entry.get("base_url"),
        api_key_env=entry.get("api_key_env"),
        parallelism=entry.get("parallelism", DEFAULT_PARALLELISM),
        rate_limit=float(rate_limit) if rate_limit is not None else None,
        path=sandbox_path,
        source=Source(file, ("targets", name)),
        written=as_written,
    )


def _mapping(name: str, entry: dict[str, Any], locator: yamlload.Locator) -> TargetMapping:
    """A target's ``mapping:`` (schema-checked): ``drop``, or ``{rename: NEW, join: SEP}``."""
    rules = []
    for attribute, how in sorted((entry.get("mapping") or {}).items()):
        line, column = locator.locate(("targets", name, "mapping", attribute))
        if how == "drop":
            rules.append(AttributeRule(attribute, drop=True, line=line, column=column))
        else:
            rename, join = how.get("rename"), how.get("join")
            rules.append(AttributeRule(attribute, rename, join, line=line, column=column))
    return TargetMapping(tuple(rules)) if rules else NO_MAPPING
