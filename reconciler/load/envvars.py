"""``${VAR}`` in reconciler.yaml: which variables a file may read, and expanding them in place.

CI plans pull requests with the vendor keys and the CI token in its environment, and the pull
request writes reconciler.yaml. So a variable is expanded only if it cannot hold a secret by its
name (never ``GITHUB_*``, ``ACTIONS_*``, ``RUNNER_*``, nor names ending in ``_TOKEN``, ``_KEY``,
``_SECRET``, ``_PASSWORD``...), it is no target's key variable (checked by the config once
every ``api_key_env`` is known), and, when the operator sets ``RECONCILER_ALLOW_ENV`` (in the
workflow, which the pull request does not control), it is one of the names listed there. In CI
(``CI`` set, as every CI service does) an unset ``RECONCILER_ALLOW_ENV`` means no variable at
all: the safe default where the pull request is the author of the file.

Paths and globs (``users:``, a sandbox ``path:``) are never expanded: a glob such as
``users/o/[${PGPASSWORD}].yaml`` matches the files named by the characters the variable holds,
and the plan then lists them (a character-set oracle).

Expanded values never reach a message: every expanded string's text *as written* is kept
(``Expansion.written``) so that messages about it quote ``${GITHUB_TOKEN}``, not the token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Problem
from reconciler.load import yamlcore, yamlload
from reconciler.model import JsonPath
from reconciler.quoting import excerpt

#: Set by the operator (the CI workflow): the only variables reconciler.yaml may read.
ALLOW_ENV = "RECONCILER_ALLOW_ENV"
#: Set by CI services (GitHub Actions sets ``CI=true``): ALLOW_ENV unset then allows nothing.
CI_ENV = "CI"
#: Variables of the CI itself (the runner's token among them): never read, never an API key
#: (``configcheck`` refuses them as ``api_key_env``).
CI_PREFIXES = ("GITHUB_", "ACTIONS_", "RUNNER_")
_DENIED_SUFFIXES = ("TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIALS")
_REFERENCE_RE = re.compile(r"\$(?:\$|\{([^}]*)\}|\{)")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class Reference:
    """One variable read by one string of the file: the key-variable rule needs them all."""

    name: str
    path: JsonPath
    line: int
    column: int


@dataclass(slots=True)
class Expansion:
    """What expanding a file did: its problems, each expanded string's written text."""

    problems: list[Problem] = field(default_factory=list)
    #: JSON path -> the string as written, for every string that held a ``${...}``.
    written: dict[JsonPath, str] = field(default_factory=dict)
    references: list[Reference] = field(default_factory=list)


def refusal(name: str, environ: Mapping[str, str]) -> str | None:
    """Why reconciler.yaml may not read variable ``name``; None when it may."""
    upper = name.upper()
    if upper.startswith(CI_PREFIXES) or any(
        upper == suffix or upper.endswith("_" + suffix) for suffix in _DENIED_SUFFIXES
    ):
        return (
            f"${{{name}}} is not expanded: reconciler.yaml never reads CI variables "
            "(GITHUB_*, ACTIONS_*, RUNNER_*) nor ones named like secrets (*_TOKEN, *_KEY, "
            "*_SECRET, *_PASSWORD); write the value itself"
        )
    allowed = environ.get(ALLOW_ENV)
    if allowed is None and environ.get(CI_ENV, "").strip().lower() not in ("", "0", "false"):
        return (
            f"${{{name}}} is not expanded: in CI ({CI_ENV} is set) reconciler.yaml reads only "
            f"the variables {ALLOW_ENV} lists, and it is not set"
        )
    if allowed is not None and name not in {item.strip() for item in allowed.split(",")}:
        return (
            f"${{{name}}} is not expanded: it is not listed in {ALLOW_ENV}, which the "
            "environment running reconciler sets (not reconciler.yaml)"
        )
    return None


def is_path_field(path: JsonPath) -> bool:
    """``users:`` (one source or a list of them) and a target's ``path:``: names of files."""
    if path[:1] == ("users",):
        return len(path) <= 2
    return len(path) == 3 and path[0] == "targets" and path[2] == "path"


def expand_variables(root: Node, environ: Mapping[str, str], file: str) -> Expansion:
    """Expand ``${VAR}``, ``${VAR:-default}`` and ``$$`` in every string value, in place.

    Working on nodes keeps each string's position for a problem, and lets an unquoted
    ``parallelism: ${N}`` become the integer the expanded text spells.
    """
    expansion = Expansion()
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
            _expand_node(node, path, environ, file, expansion)
    return expansion


def _expand_node(
    node: ScalarNode, path: JsonPath, environ: Mapping[str, str], file: str, into: Expansion
) -> None:
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    into.written[path] = node.value
    names: list[str] = []
    errors: list[str] = []
    if is_path_field(path):
        first = _REFERENCE_RE.search(node.value)
        if first is not None:
            errors.append(_path_refusal(first))
    else:
        node.value = _expand(node.value, environ, names, errors)
    if node.style == "" and node.tag in (yamlcore.STR, yamlcore.NULL):
        node.tag = yamlcore.resolve_plain(node.value)
    field_name = yamlload.format_json_path(path)
    into.problems.extend(Problem(file, line, column, field_name, error) for error in errors)
    into.references.extend(Reference(name, path, line, column) for name in names)


def _expand(text: str, environ: Mapping[str, str], names: list[str], errors: list[str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        inner = match.group(1)
        if inner is None:
            errors.append("'${' is not closed: write ${NAME}, or $$ for a literal $")
            return ""
        name, has_default, default = inner.partition(":-")
        if not _NAME_RE.match(name):
            errors.append(f"{_shown(inner)} is not a variable reference: write ${{NAME}}")
            return ""
        refused = refusal(name, environ)
        if refused is not None:
            errors.append(refused)
            return ""
        names.append(name)
        value = environ.get(name)
        if has_default and not value:  # like the shell: unset or empty takes the default
            return default
        if value is None:
            errors.append(
                f"environment variable {name} is not set (set it, or write ${{{name}:-default}})"
            )
            return ""
        return value

    return _REFERENCE_RE.sub(substitute, text)


def _path_refusal(reference: re.Match[str]) -> str:
    inner = reference.group(1)
    name = inner.partition(":-")[0] if inner is not None else ""
    shown = f"${{{name}}}" if _NAME_RE.match(name) else excerpt(reference.group(0))
    return (
        f"{shown} is not expanded: paths and globs (users:, path:) never read a variable (a "
        "glob would tell which characters it holds); write the path itself"
    )


def _shown(inner: str) -> str:
    """A malformed reference, quoted as written (it is file text, never a variable's value)."""
    return excerpt("${" + inner + "}")
