"""Declaration files -> Declarations: every user, with its file's defaults merged in, checked.

Checks go beyond the schema: each user is checked against what its targets can hold (asked of
``CAPABILITIES``, never of a provider's name), ids must be unique across files, and every
problem of every file is collected before anything is raised, each located at file:line:column.

Big repositories are read by one worker process per core (YAML parsing is CPU-bound); the
parent merges results in file order, so the outcome is the same bytes either way.

Files are found by ``sources`` and read on the disk, or in a :class:`FileTree` (the files at a
git revision, for ``--changed-since``): the same rules and checks, only the bytes differ.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.errors import Problem, ValidationError
from reconciler.load import confine, mappingcheck, schemas, yamlload
from reconciler.load.config import Config
from reconciler.load.crosscheck import (
    CompanyValue,
    Entry,
    Positions,
    TypedName,
    TypedNames,
    company_problems,
    company_values,
    conflicts,
    duplicate_problems,
    note_types,
    type_warnings,
)
from reconciler.load.sources import FileTree, Read, find_files, reader
from reconciler.load.targetcheck import UserChecker
from reconciler.load.yamlcore import gc_paused
from reconciler.model import Company, Event, JsonPath, Membership, Source, UserSpec
from reconciler.settings import display_path

if TYPE_CHECKING:
    # Imported where used: only --changed-since reads or writes the cache.
    from reconciler.load import filecache

#: Below this many bytes in total, starting worker processes costs more than it saves.
POOL_MIN_BYTES = 2_000_000


@dataclass(frozen=True, slots=True)
class Declarations:
    """Every declared user (sorted by id) and the files they came from (sorted)."""

    users: tuple[UserSpec, ...]
    files: tuple[Path, ...]
    #: Every file of the config's ``users:`` sources was read (not only named ones): only then
    #: can a user be called undeclared (pruning).
    complete: bool = True
    #: What is allowed but likely wrong (one attribute name declared with two types).
    warnings: tuple[Problem, ...] = ()
    #: Positions of the files a partial plan checked (not those known by their summary), by
    #: name shown: what locates its masked values without a parse (load/declared.py).
    locators: Mapping[str, yamlload.Locator] = field(default_factory=dict, compare=False)


@dataclass(slots=True)
class FileResult:
    """What checking one file gives: its users (index, fields with defaults merged), problems."""

    file: str
    users: list[tuple[int, dict[str, Any]]]
    problems: list[Problem]
    #: Company attributes as written, compared across files once all are read.
    companies: list[CompanyValue] = field(default_factory=list)
    #: The first declaration of each attribute type per target, name and level.
    types: list[TypedName] = field(default_factory=list)
    #: What is allowed but not kept as written (numbers a target rounds), located.
    warnings: list[Problem] = field(default_factory=list)
    #: A file known by its summary (load/filecache.py): its users by id, targets and place.
    summarised: list[tuple[int, UserSpec]] = field(default_factory=list)
    #: With ``summarised``: the attribute names its users declare, per set of targets.
    names: filecache.Names = field(default_factory=list)
    #: The positions of the file as checked, when its nodes were kept (``check_file``).
    locator: yamlload.Locator | None = None


def load_declarations(
    config: Config,
    paths: Sequence[Path] | None = None,
    *,
    tree: FileTree | None = None,
    only: frozenset[str] | None = None,
    check_mappings: bool = True,
    summarise: frozenset[Path] = frozenset(),
    remember: bool = False,
    checked: Mapping[Path, FileResult] | None = None,
) -> Declarations:
    """Read and check every declaration file; raise ValidationError with all problems at once.

    ``paths`` (files, folders or globs) replaces the config's ``users:`` sources when given.
    ``tree`` finds and reads the files instead of the disk; they are then read in this process
    (no worker pool: the bytes would have to be sent to the workers). ``only`` (validate
    --target): the checks of what a target can hold run for these targets alone.
    ``check_mappings`` False: a mapping may name attributes nobody declares yet (import
    adopting a target whose users are not declared yet). ``remember`` (``--changed-since``'s
    loads): results are taken from and kept in the user's cache (load/filecache.py), the
    files of ``summarise`` (unchanged since the base revision: their users are never planned)
    as a summary whose users are ``filecache.SummaryUser``. ``checked``: files checked
    already, by path (``import`` checked the file it wrote before writing it): not read again.
    """
    files, problems = find_files(config, paths, tree=tree)
    gathered = _Gathered()
    # 100k small objects arrive, then are checked across files: scanning them repeatedly
    # for cycles (there are none) would be waste.
    with gc_paused():
        for result in _results(files, config, tree, only, (remember, summarise), checked or {}):
            gathered.add(result)
        problems.extend(gathered.problems)
        positions = Positions(files, reader(tree))
        problems.extend(duplicate_problems(gathered.duplicates, positions))
        problems.extend(company_problems(conflicts(config, gathered.companies), positions))
        if paths is None and tree is None and check_mappings:
            # Only with every file read can an attribute be said to be declared nowhere.
            config_file = display_path(config.path)
            problems.extend(
                mappingcheck.unknown_attributes(
                    config, config_file, gathered.users, only, also=gathered.names
                )
            )
        if problems:
            raise ValidationError(problems)
        users = sorted(gathered.users, key=lambda user: user.id)
        noted = gathered.warnings
        warnings = (*noted, *type_warnings(config, gathered.types.values(), positions))
    return Declarations(
        tuple(users),
        tuple(path for path, _ in files),
        complete=paths is None,
        warnings=warnings,
        locators=gathered.locators,
    )


class _Gathered:
    """What the files' results add up to, in file order, for the checks across files."""

    def __init__(self) -> None:
        self.users: list[UserSpec] = []
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self.first_seen: dict[str, tuple[str, int]] = {}
        self.duplicates: list[tuple[str, int, str, str, int]] = []
        self.companies: list[CompanyValue] = []
        self.types: TypedNames = {}
        self.names: filecache.Names = []
        self.locators: dict[str, yamlload.Locator] = {}

    def add(self, result: FileResult) -> None:
        self.problems.extend(result.problems)
        self.warnings.extend(result.warnings)
        self.companies.extend(result.companies)
        for typed in result.types:
            self.types.setdefault((typed.target, typed.level, typed.name, typed.type_name), typed)
        for index, fields in result.users:
            self._declared(fields["id"], result.file, index)
            self.users.append(_user_spec(fields, result.file, index))
        for index, spec in result.summarised:
            self._declared(spec.id, result.file, index)
            self.users.append(spec)
        self.names.extend(result.names)
        if result.locator is not None:
            self.locators[result.file] = result.locator

    def _declared(self, user_id: str, file: str, index: int) -> None:
        first = self.first_seen.setdefault(user_id, (file, index))
        if first != (file, index):
            self.duplicates.append((file, index, user_id, *first))


def _results(
    files: list[tuple[Path, str]],
    config: Config,
    tree: FileTree | None,
    only: frozenset[str] | None,
    remember: tuple[bool, frozenset[Path]],
    premade: Mapping[Path, FileResult],
) -> Iterator[FileResult]:
    """Each file's result in file order, checked or from the cache (load/filecache.py) when
    ``remember`` (a partial plan's loads) says to use it: the files of its set (unchanged
    since the base revision) from their summary, a file of ``tree`` (the base revision) from
    its whole checked result; what is checked here is remembered for the next run, from the
    very bytes its key was made of. The files of ``premade`` were checked already."""
    use, summarise = remember
    if use:
        from reconciler.load import filecache
    cached: dict[Path, FileResult] = dict(premade)
    keyed: dict[Path, tuple[str, bytes]] = {}
    for path, file in files if use and (summarise or tree is not None) else ():
        data = None if path in cached else _read(path, tree)
        if data is None:
            continue  # checked already, or checking it says why
        entry = filecache.key(data, file, config, only)
        found = filecache.recall(entry, file, path in summarise and tree is None)
        if found is None:
            keyed[path] = (entry, data)
        else:
            checks = (found.companies, found.types, found.warnings)
            cached[path] = FileResult(file, found.users, [], *checks, found.summarised, found.names)
    given = {path: data for path, (_, data) in keyed.items()}
    rest = [f for f in files if f[0] not in cached]
    # A partial plan keeps the changed files' nodes: it may point at their masked values.
    keep = bool(summarise) and tree is None
    checked = _checked_files(rest, config, tree, only, given, keep_nodes=keep)
    for path, _ in files:
        result = cached.get(path) or next(checked)
        if path in keyed and not result.problems:
            filecache.remember(keyed[path][0], result, path in summarise and tree is None)
        yield result


def _read(path: Path, tree: FileTree | None) -> bytes | None:
    try:
        return tree.read_bytes(path) if tree is not None else confine.read_bounded(path)
    except OSError:
        return None


class _Given:
    """A file's bytes already read, handed to ``check_file`` as its ``read`` (picklable, for
    the worker processes)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __call__(self, path: Path) -> bytes:
        return self.data


def _checked_files(
    files: list[tuple[Path, str]],
    config: Config,
    tree: FileTree | None,
    only: frozenset[str] | None = None,
    given: Mapping[Path, bytes] | None = None,
    keep_nodes: bool = False,
) -> Iterator[FileResult]:
    """Check files in file order: in this process, or in one worker per core for big repos.
    ``given``: files already read, checked from those bytes. ``keep_nodes``: the results of
    the files checked in this process keep their positions (never sent back by a worker)."""
    given = given or {}
    workers = _worker_count(files) if tree is None else 1
    if workers <= 1:
        for path, file in files:
            read = _Given(given[path]) if path in given else (tree.read_bytes if tree else None)
            yield check_file(path, file, config, read, only, keep_nodes)
        return
    # Imported here: most runs (validate in a hook, a small repo) never start a pool.
    from concurrent.futures import ProcessPoolExecutor

    schemas.compiled("users")  # compiled once here, inherited by forked workers
    schemas.compiled("users", "user")
    with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
        paths, names = [path for path, _ in files], [file for _, file in files]
        reads = [_Given(given[path]) if path in given else None for path in paths]
        yield from pool.map(check_file, paths, names, repeat(config), reads, repeat(only))


def _worker_count(files: list[tuple[Path, str]]) -> int:
    if len(files) < 2:
        return 1
    total = sum(path.stat().st_size for path, _ in files if path.is_file())
    if total < POOL_MIN_BYTES:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(cores or 1, len(files))


def _pool_context() -> Any:
    """fork (fast: no re-import, compiled schemas inherited) when safe; spawn otherwise."""
    import multiprocessing

    if sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def check_file(
    path: Path,
    file: str,
    config: Config,
    read: Read | None = None,
    only: frozenset[str] | None = None,
    keep_nodes: bool = False,
) -> FileResult:
    """Parse, schema-check, merge defaults and check every user of one file (runs in workers).

    The cyclic GC stays paused throughout: nothing here makes cycles, and a collection would
    rescan every value of the file again and again while they only accumulate.
    ``keep_nodes``: the result keeps the file's node graph (``FileResult.locator``), so that
    a plan can point at a masked value without parsing the file again (load/declared.py).
    """
    with gc_paused():
        document = _load(path, file, read, keep_nodes)
        result = check_document(document, file, config, only)
    if document.root is not None:
        result.locator = yamlload.Locator(document.root)
    return result


def check_document(
    document: yamlload.Document,
    file: str,
    config: Config,
    only: frozenset[str] | None = None,
) -> FileResult:
    """:func:`check_file` of a file parsed already (``import`` checks the text it parsed to
    compare with the values it wrote: one parse, not two)."""
    # Problems in some values (``01234``) do not stop the checks of the rest of the file.
    value = document.value if document.value is not None else document.partial
    if value is None:
        return FileResult(file, [], document.problems)
    issues: dict[tuple[JsonPath, str], None] = {}
    checked = _schema_valid_users(value, issues)
    users: list[tuple[int, dict[str, Any]]] = []
    companies: list[CompanyValue] = []
    types: TypedNames = {}
    noted: list[tuple[JsonPath, str]] = []
    if checked is not None:
        checker = UserChecker(config, only)
        defaults = value.get("defaults") or {}
        for index, declared in checked.items():
            user = merge_defaults(defaults, declared)
            for json_path, message in checker.check(user, declared, index):
                issues[(json_path, message)] = None
            noted.extend(checker.warnings(user, declared, index))
            if declared is value["users"][index]:  # not a stand-in for an invalid user
                users.append((index, user))
                # Of the user's targets, validate --target's alone, as checker.check does.
                targets = checker.target_set(user.get("targets")).names
                entry = Entry(file, index, user, declared, targets)
                companies.extend(company_values(config, entry))
                note_types(config, entry, types)
    if not issues and not document.problems and not noted:
        return FileResult(file, users, [], companies, list(types.values()))
    locator = document.locator()
    warnings = [_located(file, locator, *note) for note in noted]
    reported = {(p.line, p.column) for p in document.problems}
    located = [_located(file, locator, *issue) for issue in issues]
    # A value refused while loading is not reported again by the schema (it saw the text).
    located = [p for p in located if (p.line, p.column) not in reported]
    problems = document.problems + located
    return FileResult(file, users, problems, companies, list(types.values()), warnings)


def _load(path: Path, file: str, read: Read | None, keep_nodes: bool) -> yamlload.Document:
    """The disk's file as ``yamlload.load_file`` reads it, or ``read``'s bytes, parsed alike."""
    if read is None:
        return yamlload.load_file(path, file, keep_nodes=keep_nodes)
    try:
        data = read(path)
    except OSError as error:
        problem = Problem(file, None, None, "", f"cannot read: {error.strerror}")
        return yamlload.Document(file, None, [problem])
    return yamlload.parse_mapping(data, file, keep_nodes=keep_nodes)


def _schema_valid_users(
    document: dict[str, Any], issues: dict[tuple[JsonPath, str], None]
) -> dict[int, dict[str, Any]] | None:
    """The users to check further, by index; None when the rest of the file fails the schema
    (broken defaults: users cannot be merged, so they are not checked further).

    The whole file is checked at compiled speed; only when it fails is each user checked on its
    own, and only failing users are explained (jsonschema is slow on 10k users). A user that
    fails is checked further as a stand-in without its failing fields, so that a bad ``id``
    does not hide the problems of the rest of that user.
    """
    users = document.get("users")
    if schemas.is_valid("users", document):
        return dict(enumerate(users or ()))
    frame = {**document, "users": []} if isinstance(users, list) else document
    for issue in schemas.explain("users", frame):
        issues[(issue.path, issue.message)] = None
    frame_ok = not issues
    checked = {}
    for index, user in enumerate(users if isinstance(users, list) else ()):
        found = schemas.check("users", user, "user")
        for issue in found:
            issues[(("users", index, *issue.path), issue.message)] = None
        stand_in = _stand_in(user, [issue.path for issue in found]) if found else user
        if stand_in is not None:
            checked[index] = stand_in
    return checked if frame_ok else None


def _stand_in(user: Any, failing: list[JsonPath]) -> dict[str, Any] | None:
    """``user`` without the fields the schema refused (an attribute alone, else the field),
    when what is left passes the schema; None when nothing checkable is left."""
    if not isinstance(user, dict):
        return None
    stand_in = {**user}
    attributes = dict(user["attributes"]) if isinstance(user.get("attributes"), dict) else None
    for path in failing:
        if len(path) > 1 and path[0] == "attributes" and attributes is not None:
            attributes.pop(str(path[1]), None)
        elif path:
            stand_in.pop(str(path[0]), None)
    if attributes is not None and "attributes" in stand_in:
        stand_in["attributes"] = attributes
    stand_in.setdefault("id", "stand-in")  # its own id was missing or invalid: reported
    return stand_in if schemas.is_valid("users", stand_in, "user") else None


def merge_defaults(defaults: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """A file's defaults under one user: attributes merge per name (the user's value wins, a
    user's null too); any other field the user writes replaces the default's."""
    if not defaults:
        return user
    merged = {**defaults, **user}
    if "attributes" in defaults and "attributes" in user:
        merged["attributes"] = {**defaults["attributes"], **user["attributes"]}
    return merged


def _located(file: str, locator: yamlload.Locator, path: JsonPath, message: str) -> Problem:
    line, column = locator.locate(path)
    return Problem(file, line, column, yamlload.format_json_path(path), message)


def _user_spec(user: dict[str, Any], file: str, index: int) -> UserSpec:
    targets = user.get("targets")
    return UserSpec(
        id=user["id"],
        email=user.get("email"),
        attributes=user.get("attributes") or {},
        # int(): the schema's "integer" admits 1626448859836.0, which Sprig refuses (400).
        events=tuple(
            Event(event["event"], int(event["timestamp"])) for event in user.get("events", ())
        ),
        companies=tuple(_company(company) for company in user.get("companies", ())),
        memberships=tuple(
            Membership(_company(membership["company"]), membership.get("attributes") or {})
            for membership in user.get("memberships", ())
        ),
        targets=tuple(dict.fromkeys(targets)) if targets is not None else None,
        source=Source(file, ("users", index)),
    )


def _company(company: dict[str, Any]) -> Company:
    return Company(company["id"], company.get("attributes") or {})


def targets_users(users: Iterable[UserSpec], target: str) -> list[UserSpec]:
    """The declared users that go to ``target`` (all, unless ``targets:`` narrows a user)."""
    return [u for u in users if u.targets is None or target in u.targets]
