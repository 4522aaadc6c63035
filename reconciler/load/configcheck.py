"""Checks of reconciler.yaml beyond its schema, where a pull request could reach out.

The schema says what each field looks like; these rules say where a value may lead: a sandbox
store only inside the config's folder, a base URL that parses (no traceback later) with nothing
hidden in it, an ``api_key_env`` that is not the CI's own variable nor another vendor's key, and
no ``${VAR}`` that reads a target's key. Each problem is located at the field and quotes only
the text as written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from reconciler.errors import Problem
from reconciler.load import confine, envvars, mappingcheck, yamlload
from reconciler.model import JsonPath
from reconciler.quoting import PATH_CHARS, excerpt
from reconciler.urlpolicy import invisible, url_problem

if TYPE_CHECKING:
    from reconciler.load.config import Config
    from reconciler.settings import TargetConfig


def check(
    config: Config,
    file: str,
    references: Iterable[envvars.Reference],
    locator: yamlload.Locator,
) -> list[Problem]:
    """Every problem of a schema-valid config's values, located in ``file`` (its name)."""
    found: list[tuple[JsonPath, str]] = []
    key_owner: dict[str, str] = {}
    for target in config.targets.values():
        found.extend(_target_issues(config, target, key_owner))
    problems = []
    for path, message in found:
        line, column = locator.locate(path)
        problems.append(Problem(file, line, column, yamlload.format_json_path(path), message))
    keys = {t.api_key_env: t.name for t in config.targets.values() if t.api_key_env}
    for ref in references:
        if ref.name in keys:
            message = (
                f"${{{ref.name}}} is the API key variable of target {keys[ref.name]}: "
                "reconciler.yaml never expands a key"
            )
            field = yamlload.format_json_path(ref.path)
            problems.append(Problem(file, ref.line, ref.column, field, message))
    return problems


def _target_issues(
    config: Config, target: TargetConfig, key_owner: dict[str, str]
) -> list[tuple[JsonPath, str]]:
    where = ("targets", target.name)
    issues: list[tuple[JsonPath, str]] = []
    if target.path is not None:
        message = sandbox_path_problem(config, target)
        if message is not None:
            issues.append(
                ((*where, "path"), f"{excerpt(target.shown('path'), PATH_CHARS)} {message}")
            )
    if target.base_url is not None:
        message = url_problem(target.base_url)
        if message is not None:
            issues.append(
                ((*where, "base_url"), f"{excerpt(target.shown('base_url'), PATH_CHARS)} {message}")
            )
    if target.api_key_env is not None:
        message = _key_variable_problem(target, key_owner)
        if message is not None:
            issues.append(((*where, "api_key_env"), message))
    issues.extend(mappingcheck.config_issues(target))
    return issues


def sandbox_path_problem(config: Config, target: TargetConfig) -> str | None:
    """Why a sandbox store cannot live where ``path:`` says: it must stay inside the folder
    (``plan`` would otherwise read, and ``apply`` write, any SQLite file of the machine)."""
    path = target.path
    if path is None:
        return None
    if not path.is_relative_to(config.root):  # root / absolute is the absolute path
        return confine.written_path_refusal("/") or ""
    relative = path.relative_to(config.root).as_posix()
    refusal = confine.written_path_refusal(relative)
    if refusal is None and invisible(relative):
        refusal = "holds a control or invisible character: name the file with visible characters"
    if refusal is None and not confine.is_inside(path, config.root):
        refusal = confine.outside_refusal()
    return refusal


def _key_variable_problem(target: TargetConfig, key_owner: dict[str, str]) -> str | None:
    """The CI's variables are never an API key; one variable never keys two vendors."""
    name = target.api_key_env or ""
    shown = excerpt(target.shown("api_key_env"))
    if name.upper().startswith(envvars.CI_PREFIXES):
        prefixes = ", ".join(prefix + "*" for prefix in envvars.CI_PREFIXES)
        return (
            f"{shown} is a variable of the CI itself ({prefixes}), never an "
            "API key: name the variable that holds this target's key"
        )
    owner = key_owner.setdefault(name, target.provider)
    if owner != target.provider:
        return (
            f"{shown} already holds the key of a {owner} target: a {target.provider} target "
            "needs its own variable"
        )
    return None
