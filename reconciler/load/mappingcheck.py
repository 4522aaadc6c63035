"""Checks of the targets' ``mapping:`` (reconciler.yaml), where a mapping meets what it maps.

Three places, one rule set: the config alone (two attributes renamed to one name, a name the
target reserves), each declared user (a join of something that is no list, a list item holding
the separator, two attributes reaching the target under one name), and all declarations at once
(a mapping of an attribute that no user sent to the target declares: a typo, or a leftover).
Messages quote names, never values: a value may be personal data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.errors import Problem
from reconciler.kinds import CAPABILITIES
from reconciler.load.schemas import describe
from reconciler.load.yamlload import format_json_path
from reconciler.mapping import AttributeRule, TargetMapping
from reconciler.model import JsonPath, UserSpec
from reconciler.quoting import excerpt

if TYPE_CHECKING:
    from reconciler.load.config import Config
    from reconciler.settings import TargetConfig

Issue = tuple[JsonPath, str]


def config_issues(target: TargetConfig) -> list[Issue]:
    """The problems of one target's mapping on its own, at their paths in reconciler.yaml."""
    issues: list[Issue] = []
    where = ("targets", target.name, "mapping")
    caps = CAPABILITIES.get(target.provider)
    sent_by: dict[str, str] = {}
    for rule in target.mapping.rules:
        if rule.drop:
            continue
        first = sent_by.setdefault(rule.sent_as, rule.name)
        if first != rule.name:
            message = (
                f"{excerpt(first)} and {excerpt(rule.name)} would both be sent as "
                f"{excerpt(rule.sent_as)}: rename one of them to another name"
            )
            issues.append(((*where, rule.name), message))
        if rule.rename is None or caps is None:
            continue
        if rule.rename == caps.email_attribute:
            message = (
                f"{excerpt(rule.rename)} is where target {target.name} keeps the email: "
                "declare the email in the email: field, and rename to another name"
            )
            issues.append(((*where, rule.name, "rename"), message))
        elif caps.reserved_prefix and rule.rename.startswith(caps.reserved_prefix):
            message = (
                f"names starting with {caps.reserved_prefix!r} are reserved by target "
                f"{target.name} ({target.provider}): rename to another name"
            )
            issues.append(((*where, rule.name, "rename"), message))
    return issues


def user_issues(
    attributes: dict[str, Any],
    mapping: TargetMapping,
    label: str,
    config_file: str,
    where: Callable[..., JsonPath],
) -> list[Issue]:
    """One user's attributes against one target's mapping (``label``: ``research (sprig)``)."""
    issues: list[Issue] = []
    sent_from: dict[str, str] = {}
    for name in sorted(attributes):
        rule = mapping.rule(name)
        if rule is not None and rule.drop:
            continue
        sent_as = rule.sent_as if rule is not None else name
        first = sent_from.setdefault(sent_as, name)
        if first != name:
            renamed = rule or mapping.rule(first)
            message = (
                f"attributes {excerpt(first)} and {excerpt(name)} both reach target {label} as "
                f"{excerpt(sent_as)} ({_at(config_file, renamed)}): declare one of them, or "
                "rename"
            )
            issues.append((where("attributes", name), message))
        if rule is not None and rule.join is not None:
            issues.extend(_join_issues(attributes[name], rule, label, config_file, where))
    return issues


def _join_issues(
    value: Any, rule: AttributeRule, label: str, config_file: str, where: Callable[..., JsonPath]
) -> list[Issue]:
    """A joined attribute must be a list (or a string, sent as it is) whose items do not hold
    the separator: the target could not tell the items apart, and import could not split."""
    at = _at(config_file, rule)
    if value is None or isinstance(value, str):
        return []
    if not isinstance(value, list):
        message = (
            f"target {label} joins {excerpt(rule.name)} into one string ({at}), "
            f"which needs a list of strings, not {describe(value)}"
        )
        return [(where("attributes", rule.name), message)]
    return [
        (
            where("attributes", rule.name, index),
            f"holds {rule.join!r}, the separator target {label} joins "
            f"{excerpt(rule.name)} with ({at}): it would read back as two items; "
            "choose another separator",
        )
        for index, item in enumerate(value)
        if isinstance(item, str) and rule.join is not None and rule.join in item
    ]


def _at(config_file: str, rule: AttributeRule | None) -> str:
    if rule is None or rule.line is None:
        return config_file
    return f"{config_file}:{rule.line}"


def unknown_attributes(
    config: Config,
    config_file: str,
    users: Sequence[UserSpec],
    only: Iterable[str] | None = None,
    also: Iterable[tuple[tuple[str, ...] | None, Iterable[str]]] = (),
) -> list[Problem]:
    """Rules naming an attribute that no user sent to the target declares (every declaration
    must have been read: with some files only, an attribute may be declared in the others).
    ``also``: more names declared, per set of targets (None: every target), for the files
    known by their summary (load/filecache.py)."""
    also = list(also)
    problems = []
    for target in config.targets.values():
        if not target.mapping or (only is not None and target.name not in set(only)):
            continue
        declared = sorted(
            {
                name
                for user in users
                if user.targets is None or target.name in user.targets
                for name in user.attributes
            }
            | {
                name
                for targets, names in also
                if targets is None or target.name in targets
                for name in names
            }
        )
        for rule in target.mapping.rules:
            if rule.name in declared:
                continue
            import difflib  # only this problem needs it: a valid repository does not load it

            close = difflib.get_close_matches(rule.name, declared, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "remove the rule, or fix the name"
            message = (
                f"no user sent to target {target.name} declares the attribute "
                f"{excerpt(rule.name)} ({hint})"
            )
            field = format_json_path(("targets", target.name, "mapping", rule.name))
            problems.append(Problem(config_file, rule.line, rule.column, field, message))
    return problems
