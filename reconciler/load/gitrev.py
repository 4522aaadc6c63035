"""The declarations at a git revision: what ``--changed-since REV`` compares the working tree to.

Git is run as a program (``subprocess``; no library to install): the repository's top is found
from the config's folder, ``REV`` is resolved to one commit, files are listed with ``git ls-tree``
and read through a single ``git cat-file --batch`` process, so hundreds of declaration files cost
one process, not hundreds of ``git show``. The old side is then loaded by the same loader as the
working tree (``load_config(read=...)``, ``load_declarations(tree=...)``), and
:func:`reconciler.load.changed_users.compare` says which users to plan.

Paths: the loader speaks absolute paths of the working tree; git speaks paths relative to the
repository's top with forward slashes. :class:`Revision` translates, so a config folder below the
top (``examples/`` in this project) works like one at the top.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import hashlib
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO

from reconciler.errors import ConfigError, Problem, ValidationError
from reconciler.load import confine, filecache, yamlload
from reconciler.load.changed_users import ChangedUsers, changed_targets, compare
from reconciler.load.config import Config, load_config
from reconciler.load.declarations import Declarations, load_declarations
from reconciler.load.filecache import SummaryUser
from reconciler.load.sources import find_files
from reconciler.model import UserSpec
from reconciler.settings import display_path

#: ls-tree modes of regular files; symlinks (120000) and submodules (160000) are not declarations.
_FILE_MODES = frozenset({"100644", "100755"})
#: Paths are data, never pathspec magic (":(glob)..."), and git never asks a question.
_GIT_ENV = {"GIT_LITERAL_PATHSPECS": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
_CHECKOUT_HINT = "actions/checkout fetches one commit by default: set fetch-depth: 0"


#: Loads the working tree's declarations; the files given may be known by their summary.
Loader = Callable[[frozenset[Path]], Declarations]


def changed_since(
    config: Config, load: Loader, rev: str, environ: Mapping[str, str]
) -> tuple[Declarations, ChangedUsers]:
    """Which users ``plan --changed-since REV`` plans: the working tree compared with ``rev``;
    and the working tree's declarations, loaded by ``load``.

    ``config`` is the working tree's (uncommitted and untracked files count: they are what
    would be applied). The old side is read from git with the same loader and the same
    ``environ`` (for ``${VAR}``). Raises ConfigError when git cannot answer (not a repository,
    unknown revision, shallow clone without ``rev``, git missing).

    Files whose bytes are the same at ``rev`` declare no changed user: when no target is planned
    in full, ``load`` is told them, and may take them from their cached summary
    (load/filecache.py) instead of parsing them. Should the old side then not load after all,
    the working tree is loaded again in full, since every user is then planned.

    Files at ``rev`` that do not load (no reconciler.yaml then, invalid YAML, a check this version
    of reconciler added since) are not the user's problem today: nothing can be compared, so every
    target is planned in full and ``ChangedUsers.warnings`` says why. Planning too much is slow but
    safe; planning too little would hide a change.
    """
    with open_revision(config.root, rev, environ) as revision:
        old_config, warnings = config_at(revision, config, environ)
        old_declarations = None
        old_files, unchanged = _unchanged_files(revision, old_config)
        partial = old_config is not None and not changed_targets(old_config, config)
        summarise = unchanged if partial else frozenset()
        declarations = everyone = load(summarise)
        if old_config is not None:
            old_declarations, declarations, warnings = declarations_at(
                revision,
                old_config,
                declarations,
                (old_files, unchanged),
                remember=filecache.enabled(environ),
            )
        if old_declarations is None and summarise:
            declarations = everyone = load(frozenset())
    changes = compare(old_config, old_declarations, config, declarations)
    _check_planned(changes, declarations)
    return everyone, dataclasses.replace(
        changes,
        rev=rev,
        commit=revision.commit,
        warnings=(*warnings, *changes.warnings),
        base_users=_base_users(old_declarations, everyone, declarations),
    )


def _unchanged_files(
    revision: Revision, old_config: Config | None
) -> tuple[list[tuple[Path, str]] | None, frozenset[Path]]:
    """The declaration files at ``revision`` (None: they cannot be listed), and those whose
    bytes the working tree has too (their blob ids: nothing is read from git)."""
    if old_config is None:
        return None, frozenset()
    files, problems = find_files(old_config, tree=revision)
    if problems:
        return None, frozenset()
    return files, frozenset(path for path, _ in files if revision.unchanged_on_disk(path))


def _check_planned(changes: ChangedUsers, declarations: Declarations) -> None:
    """A user known by its summary has no values to plan: none may be compared or planned
    (``changed_since`` asks for summaries of unchanged files only, left out of the comparison)."""
    if any(isinstance(user, SummaryUser) for user in declarations.users):
        raise AssertionError("a summarised user would be planned")


def _base_users(
    old: Declarations | None, everyone: Declarations, compared: Declarations
) -> dict[str, UserSpec] | None:
    """Each user as the revision declared it: the old side's, and as now for the users of the
    files that did not change (``compared`` left them out: ``everyone`` still has them)."""
    if old is None:
        return None
    compared_ids = {user.id for user in compared.users}
    same = {user.id: user for user in everyone.users if user.id not in compared_ids}
    return {**same, **{user.id: user for user in old.users}}


def sensitive_at(config: Config, rev: str, environ: Mapping[str, str]) -> frozenset[str]:
    """The names reconciler.yaml lists under ``sensitive:`` at ``rev`` (none when it had no
    reconciler.yaml then), for ``--sensitive-from`` and ``--changed-since``.

    Read like the rest of the old side (git objects only, reconciler.yaml's size limit) but
    only that key, without ``${VAR}`` expansion or the rest of the checks: the base branch's
    names must hold even when its file would not validate with this version of reconciler. A
    file that is not a YAML mapping, or a ``sensitive:`` that is not a list of names, fails
    closed (ConfigError): planning on without the base's names could print them.
    """
    name, at = display_path(config.path), f"at {rev}"
    with open_revision(config.root, rev, environ) as revision:
        if not revision.is_file(config.path):
            return frozenset()
        try:
            data = revision.read_bytes(config.path, limit=confine.MAX_CONFIG_BYTES)
        except OSError as error:
            raise ConfigError(f"cannot read {name} {at}: {error.strerror or error}") from error
    document = yamlload.parse_mapping(data, f"{name} {at}")
    listed = (document.value or document.partial or {}).get("sensitive", [])
    readable = document.value is not None or document.partial is not None
    if not readable or not isinstance(listed, list) or not all(isinstance(n, str) for n in listed):
        raise ConfigError(
            f"cannot read the sensitive names of {name} {at} (it is not a mapping with a "
            "list of names under sensitive:): nothing was planned, so that none is printed"
        )
    return frozenset(listed)


def config_at(
    revision: Revision, config: Config, environ: Mapping[str, str]
) -> tuple[Config | None, tuple[str, ...]]:
    """reconciler.yaml at ``revision``, where the working tree has it; None and why if it
    cannot be compared."""
    name, at = display_path(config.path), f"at {revision.rev}"
    if not revision.is_file(config.path):
        return None, (f"{name} did not exist {at}: planning every user",)
    try:
        read = functools.partial(revision.read_bytes, limit=confine.MAX_CONFIG_BYTES)
        return load_config(config.path, environ, read=read), ()
    except ValidationError as error:
        return None, (f"{name} {at} does not validate ({_first(error)}): planning every user",)
    except ConfigError as error:
        return None, (f"{name} {at} cannot be read ({error}): planning every user",)


def declarations_at(
    revision: Revision,
    old_config: Config,
    declarations: Declarations,
    listed: tuple[list[tuple[Path, str]] | None, frozenset[Path]] | None = None,
    remember: bool = False,
) -> tuple[Declarations | None, Declarations, tuple[str, ...]]:
    """The declarations at ``revision`` and the working tree's, both without the files whose
    bytes did not change (None and why when the old ones do not load).

    An unchanged file declares the same users on both sides, so they can only compare equal:
    leaving them out keeps the old side's cost (one process, no worker pool) to the files that
    changed. It is exact because ids are unique on each side: a user of an unchanged file cannot
    also be declared in a changed one. ``listed``: the files at ``revision`` and those the
    working tree has the bytes of, when ``_unchanged_files`` already found them. ``remember``:
    a changed file's result at ``revision`` may come from the user's cache, and is kept there
    (load/filecache.py; keyed by its bytes, so a base branch's run fills it for pull requests).
    """
    at = f"at {revision.rev}"
    files, same = listed if listed is not None and listed[0] is not None else (None, None)
    problems: list[Problem] = []
    if files is None:
        files, problems = find_files(old_config, tree=revision)
    if problems:
        return None, declarations, (f"the declarations {at} ({problems[0]}): planning every user",)
    now = set(declarations.files)
    if same is None:
        same = frozenset(path for path, _ in files if revision.unchanged_on_disk(path))
    unchanged = {path for path in same if path in now}
    try:
        changed_files = [path for path, _ in files if path not in unchanged]
        old = load_declarations(old_config, changed_files, tree=revision, remember=remember)
    except ValidationError as error:
        warning = f"the declarations {at} do not validate ({_first(error)}): planning every user"
        return None, declarations, (warning,)
    return old, _without(declarations, unchanged), ()


def _without(declarations: Declarations, files: set[Path]) -> Declarations:
    """``declarations`` less the users declared in ``files``."""
    names = {display_path(path) for path in files}
    users = [
        user for user in declarations.users if not user.source or user.source.file not in names
    ]
    paths = [path for path in declarations.files if path not in files]
    return Declarations(tuple(users), tuple(paths), complete=False)


def _first(error: ValidationError) -> str:
    return f"{error}; first: {error.problems[0]}" if error.problems else str(error)


def open_revision(folder: Path, rev: str, environ: Mapping[str, str]) -> Revision:
    """The revision ``rev`` of the repository that holds ``folder``, ready to list and read.

    git runs in ``environ`` (the run's: git finds its config, GIT_DIR..., in it), which is also
    asked whether this runs in GitHub Actions, to add the checkout hint.
    """
    top = repository_top(folder, environ)
    return Revision(top, rev, resolve_commit(top, rev, environ), environ)


def repository_top(folder: Path, environ: Mapping[str, str]) -> Path:
    """The top folder of the git work tree holding ``folder``; ConfigError when there is none."""
    result = _git(folder, environ, "rev-parse", "--show-toplevel")
    if result.returncode != 0:
        message = _stderr(result)
        if "not a git repository" in message:
            where = display_path(folder)
            raise ConfigError(f"not a git repository (--changed-since needs one): {where}")
        raise ConfigError(f"git cannot read the repository of {display_path(folder)}: {message}")
    return Path(os.fsdecode(result.stdout.rstrip(b"\n")))


def resolve_commit(top: Path, rev: str, environ: Mapping[str, str]) -> str:
    """The full id of the commit ``rev`` names, or a ConfigError that says how to get it."""
    # A leading "-" would be read as an option; no revision is spelt that way.
    result = (
        None if rev.startswith("-") else _git(top, environ, "rev-parse", "--verify", "--quiet", rev)
    )
    if result is not None and result.returncode == 0:
        peeled = _git(top, environ, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
        if peeled.returncode == 0:
            return peeled.stdout.decode("ascii").strip()
        raise ConfigError(f"revision {rev!r} is not a commit: pass a commit, branch or tag")
    shallow = _git(top, environ, "rev-parse", "--is-shallow-repository")
    if shallow.stdout.strip() == b"true":
        raise ConfigError(
            f"this is a shallow clone: {rev!r} is not in it; fetch more history "
            "(actions/checkout: fetch-depth: 0)"
        )
    hint = f" ({_CHECKOUT_HINT})" if environ.get("GITHUB_ACTIONS") == "true" else ""
    raise ConfigError(f"unknown revision {rev!r}: pass a commit, branch or tag{hint}")


class Revision:
    """One commit of one repository, listed with ``git ls-tree`` and read with one ``git
    cat-file --batch`` process. Use it as a context manager: leaving ends that process.

    Satisfies ``sources.FileTree``: the loader lists and reads through it as on disk.
    """

    def __init__(self, top: Path, rev: str, commit: str, environ: Mapping[str, str]) -> None:
        self.top = top
        self._environ = environ
        self.rev = rev
        self.commit = commit
        self._blobs: dict[PurePosixPath, str] = {}  # repository path -> blob id
        self._listed: dict[PurePosixPath, list[PurePosixPath]] = {}
        self._reader: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Revision:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the ``git cat-file`` process, if one was started."""
        reader, self._reader = self._reader, None
        if reader is not None:
            _stream(reader.stdin).close()
            reader.wait()
            _stream(reader.stdout).close()

    def files_below(self, folder: Path) -> list[Path]:
        """Every regular file at or below ``folder`` in this commit (``[folder]`` when it is a
        file), as working-tree paths below ``folder``, sorted; [] outside the repository."""
        relative = self._relative(folder)
        if relative is None:
            return []
        if relative not in self._listed:
            self._listed[relative] = self._list(relative)
        return sorted(
            folder.joinpath(*path.relative_to(relative).parts) for path in self._listed[relative]
        )

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` is a regular file in this commit."""
        return self.files_below(path) == [path]

    def read_bytes(self, path: Path, limit: int = confine.MAX_FILE_BYTES) -> bytes:
        """The content of ``path`` in this commit; FileNotFoundError (an OSError) when absent,
        ``confine.TooLarge`` beyond ``limit`` bytes (as on the disk)."""
        relative = self._relative(path)
        if relative is not None and relative not in self._blobs:
            self.files_below(path)
        blob = self._blobs.get(relative) if relative is not None else None
        if blob is None:
            raise FileNotFoundError(errno.ENOENT, f"not in {self.rev}", str(path))
        return self._cat(blob, limit)

    def unchanged_on_disk(self, path: Path) -> bool:
        """Whether the working tree's ``path`` holds the same bytes as in this commit (after
        ``files_below`` listed it): its git blob id is computed, nothing is read from git."""
        relative = self._relative(path)
        blob = self._blobs.get(relative) if relative is not None else None
        if blob is None:
            return False
        try:
            data = confine.read_bounded(path)
        except OSError:  # too large too: loading it says why
            return False
        digest = hashlib.sha1 if len(blob) == 40 else hashlib.sha256  # sha256 repositories
        header = b"blob %d\0" % len(data)
        return digest(header + data, usedforsecurity=False).hexdigest() == blob

    def _relative(self, path: Path) -> PurePosixPath | None:
        """``path`` relative to the top, as git writes it. Only the folder is resolved (the top
        git reports has symlinks resolved); the file itself may exist only in the commit."""
        absolute = Path(os.path.abspath(path))
        real = Path(os.path.realpath(absolute.parent)) / absolute.name
        try:
            return PurePosixPath(real.relative_to(self.top).as_posix())
        except ValueError:
            return None

    def _list(self, relative: PurePosixPath) -> list[PurePosixPath]:
        """``git ls-tree`` below one path: regular files only, their blob ids remembered."""
        where = [] if relative == PurePosixPath(".") else ["--", str(relative)]
        result = _git(
            self.top, self._environ, "ls-tree", "-r", "-z", "--full-tree", self.commit, *where
        )
        if result.returncode != 0:
            raise ConfigError(f"git cannot list {relative} at {self.rev}: {_stderr(result)}")
        files = []
        for entry in result.stdout.split(b"\0"):
            info, _, name = entry.partition(b"\t")
            mode, _, kind_and_blob = info.partition(b" ")
            if mode.decode() not in _FILE_MODES:
                continue
            path = PurePosixPath(os.fsdecode(name))
            self._blobs[path] = kind_and_blob.decode().split(" ")[-1]
            files.append(path)
        return files

    def _cat(self, blob: str, limit: int) -> bytes:
        """One object from the long-running ``git cat-file --batch``: write its id, read the
        header ``<id> <type> <size>``, then exactly ``size`` bytes and a newline. Beyond
        ``limit``, the bytes are skipped (the stream stays in step), never held."""
        if self._reader is None:
            command = ["git", "cat-file", "--batch"]
            self._reader = _popen(command, self.top, self._environ)
        stdin, stdout = _stream(self._reader.stdin), _stream(self._reader.stdout)
        stdin.write(blob.encode("ascii") + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise ConfigError(f"git cannot read object {blob} of {self.rev}")
        size = int(header[2])
        if size > limit:
            _skip(stdout, size + 1)
            raise confine.too_large(limit)
        return stdout.read(size + 1)[:-1]


def _skip(stream: IO[bytes], count: int) -> None:
    """Read and drop ``count`` bytes, a chunk at a time."""
    while count > 0:
        chunk = stream.read(min(count, 1 << 16))
        if not chunk:
            raise ConfigError("git ended while an object was being read")
        count -= len(chunk)


def _git(
    folder: Path, environ: Mapping[str, str], *args: str
) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args], cwd=folder, capture_output=True, env=_environment(environ), check=False
        )
    except FileNotFoundError as error:
        if error.filename == "git":
            raise _no_git() from error
        raise ConfigError(f"folder {display_path(folder)} not found") from error


def _popen(
    command: Sequence[str], folder: Path, environ: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            command,
            cwd=folder,
            env=_environment(environ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
    except FileNotFoundError as error:
        raise _no_git() from error


def _environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The run's environment (git finds its own config, GIT_DIR...) plus safe settings."""
    return {**environ, **_GIT_ENV}


def _no_git() -> ConfigError:
    return ConfigError("--changed-since needs git, which is not installed (or not on PATH)")


def _stderr(result: subprocess.CompletedProcess[bytes]) -> str:
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    return lines[0].removeprefix("fatal: ") if lines else f"git exited with {result.returncode}"


def _stream(stream: IO[bytes] | None) -> IO[bytes]:
    assert stream is not None  # opened with PIPE
    return stream
