"""Problems that span declarations, found once every file is read: duplicate ids, and one
company declared with different values.

One company, one value per attribute on each target. A company is shared by every user who
lists it (in ``companies:`` or a membership's ``company:``), and Usertour keeps one set of
attributes per company: when two declarations disagree, the last upsert wins, the other user's
verification reports "did not keep", and the next run flips it back. So validate refuses it,
naming both places, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import Problem
from reconciler.kinds import CAPABILITIES
from reconciler.kinds.kind import Capabilities
from reconciler.kinds.usertour import WORDS, value_type
from reconciler.kinds.values import normalise, same_value
from reconciler.load import yamlload
from reconciler.load.config import Config
from reconciler.model import JsonPath
from reconciler.quoting import excerpt


@dataclass(frozen=True, slots=True)
class CompanyValue:
    """One company attribute as written: where (file, JSON path), which company, the value."""

    file: str
    path: JsonPath
    company: str
    name: str
    value: Any
    #: The user's targets that hold companies (where the value goes).
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    """One user as the cross-file checks see it: merged with its file's defaults (``user``),
    its own entry ``users[index]`` (``declared``), and its targets (``TargetSet.names``:
    ``validate --target`` applied)."""

    file: str
    index: int
    user: dict[str, Any]
    declared: dict[str, Any]
    targets: Sequence[str]

    def written_at(self, path: JsonPath) -> JsonPath:
        """Where a field of the merged user is written: in the entry, or in the file's
        defaults when the entry does not write it (merge_defaults)."""
        return ("users", self.index, *path) if path[0] in self.declared else ("defaults", *path)


def company_values(config: Config, entry: Entry) -> list[CompanyValue]:
    """The company attributes of one user, each where it is written, for those of its
    targets that hold companies."""
    user = entry.user
    if not user.get("companies") and not user.get("memberships"):
        return []
    targets = _holding(config, entry.targets, "companies")
    if not targets:
        return []
    values = []
    for path, company in _companies(user):
        at = entry.written_at(path)
        for name, value in (company.get("attributes") or {}).items():
            where = (*at, "attributes", name)
            values.append(CompanyValue(entry.file, where, company["id"], name, value, targets))
    return values


def _holding(config: Config, names: Sequence[str], feature: str) -> tuple[str, ...]:
    """Of the targets ``names``, those whose provider has ``feature`` (a Capabilities flag)."""
    return tuple(n for n in names if getattr(CAPABILITIES[config.targets[n].provider], feature))


def _companies(user: dict[str, Any]) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    for position, company in enumerate(user.get("companies") or ()):
        yield ("companies", position), company
    for position, membership in enumerate(user.get("memberships") or ()):
        yield ("memberships", position, "company"), membership["company"]


def conflicts(
    config: Config, values: Iterable[CompanyValue]
) -> list[tuple[CompanyValue, CompanyValue]]:
    """(later, first) pairs declaring one company attribute differently for one target,
    each pair once, in declaration order."""
    first: dict[tuple[str, str, str], CompanyValue] = {}
    found: list[tuple[CompanyValue, CompanyValue]] = []
    reported: set[tuple[str, JsonPath, str, JsonPath]] = set()
    for value in values:
        for target in value.targets:
            seen = first.setdefault((target, value.company, value.name), value)
            caps = CAPABILITIES[config.targets[target].provider]
            if seen is value or _same(seen.value, value.value, caps):
                continue
            pair = (value.file, value.path, seen.file, seen.path)
            if pair not in reported:
                reported.add(pair)
                found.append((value, seen))
    return found


def _same(a: Any, b: Any, caps: Capabilities) -> bool:
    return same_value(normalise(a, caps), normalise(b, caps))


def conflict_message(later: CompanyValue, first_at: str) -> str:
    """Values are not shown: company attributes may be sensitive (they are shown masked in
    plans, and validate output ends up in CI logs)."""
    return (
        f"company {excerpt(later.company)} gets another value for {excerpt(later.name)} than "
        f"at {first_at}; "
        "a company has one value per attribute on a target (the last upsert would win): "
        "declare the same value in both places, or declare it once"
    )


class Positions:
    """Lines and columns of JSON paths in the files read, computed only when a problem that
    spans files needs them (each file is parsed again for its positions once)."""

    def __init__(self, files: list[tuple[Path, str]], read: Callable[[Path], bytes]) -> None:
        self._paths = {file: path for path, file in files}
        self._read = read
        self._locators: dict[str, yamlload.Locator] = {}

    def __call__(self, file: str, json_path: JsonPath) -> tuple[int, int]:
        if file not in self._locators:
            try:
                self._locators[file] = yamlload.Locator.from_data(self._read(self._paths[file]))
            except OSError:  # gone since it was read: the path still names the place
                self._locators[file] = yamlload.Locator(None)
        return self._locators[file].locate(json_path)

    def shown(self, file: str, json_path: JsonPath) -> str:
        line, column = self(file, json_path)
        return f"{file}:{line}:{column}"


def duplicate_problems(
    duplicates: list[tuple[str, int, str, str, int]], positions: Positions
) -> list[Problem]:
    """Each later declaration of an id, pointing at the first."""
    problems = []
    for file, index, user_id, first_file, first_index in duplicates:
        first_at = positions.shown(first_file, ("users", first_index, "id"))
        line, column = positions(file, ("users", index, "id"))
        message = f"duplicate id {excerpt(user_id)} (first declared at {first_at})"
        problems.append(Problem(file, line, column, f"users[{index}].id", message))
    return problems


def company_problems(
    found: list[tuple[CompanyValue, CompanyValue]], positions: Positions
) -> list[Problem]:
    """One problem per conflict, at the later value, naming where the first one is written."""
    problems = []
    for later, first in found:
        where = yamlload.format_json_path(first.path)
        first_at = f"{positions.shown(first.file, first.path)} ({where})"
        line, column = positions(later.file, later.path)
        message = conflict_message(later, first_at)
        problems.append(
            Problem(later.file, line, column, yamlload.format_json_path(later.path), message)
        )
    return problems


# --- one attribute name, one type (Usertour locks the first; typelock.py) ------------------


@dataclass(frozen=True, slots=True)
class TypedName:
    """Where an attribute name is first declared with one type, for one target."""

    file: str
    path: JsonPath
    target: str
    level: str
    name: str
    type_name: str


#: (target, level, name, type) -> its first declaration; one file's, then every file's.
TypedNames = dict[tuple[str, str, str, str], TypedName]


def note_types(config: Config, entry: Entry, seen: TypedNames) -> None:
    """Record in ``seen`` the types this user declares, for those of its targets that lock
    types."""
    targets = _holding(config, entry.targets, "locks_types")
    if not targets:
        return
    user, own = entry.user, entry.declared.get("attributes") or {}
    maps: list[tuple[str, JsonPath, dict[str, Any], Any]] = [
        ("user", ("users", entry.index), user.get("attributes") or {}, own),
    ]
    for path, company in _companies(user):
        maps.append(("company", entry.written_at(path), company.get("attributes") or {}, None))
    for position, membership in enumerate(user.get("memberships") or ()):
        at = entry.written_at(("memberships", position))
        maps.append(("membership", at, membership.get("attributes") or {}, None))
    for level, at, attributes, written in maps:
        for name, value in attributes.items():
            type_name = value_type(value)
            if type_name is None:
                continue
            # A user attribute the entry does not write comes from the file's defaults.
            base = at if written is None or name in written else ("defaults",)
            for target in targets:
                key = (target, level, name, type_name)
                if key not in seen:  # the first declaration is kept: build it only then
                    where = (*base, "attributes", name)
                    seen[key] = TypedName(entry.file, where, target, level, name, type_name)


def type_warnings(
    config: Config, typed: Iterable[TypedName], positions: Positions
) -> list[Problem]:
    """A warning at the first declaration of each further type of one name on one target,
    naming where its first type is declared."""
    first: dict[tuple[str, str, str], TypedName] = {}
    warnings = []
    for value in typed:
        seen = first.setdefault((value.target, value.level, value.name), value)
        if seen.type_name == value.type_name:
            continue
        provider = config.targets[value.target].provider
        what = {"user": "", "company": "company ", "membership": "membership "}[value.level]
        message = (
            f"warning: {what}attribute {excerpt(value.name)} is declared as "
            f"{WORDS[value.type_name]} here and as {WORDS[seen.type_name]} at "
            f"{positions.shown(seen.file, seen.path)}; target "
            f"{value.target} ({provider}) keeps the first type it sees for a name and drops "
            "values of another type: declare one type"
        )
        line, column = positions(value.file, value.path)
        field = yamlload.format_json_path(value.path)
        warnings.append(Problem(value.file, line, column, field, message))
    return warnings
