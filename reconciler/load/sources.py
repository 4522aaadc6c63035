"""Where the declarations are: a config's ``users:`` sources expanded into files, fenced.

Sources are files, folders (every ``*.yaml``/``*.yml`` below, hidden ones skipped) or globs,
relative to the folder of reconciler.yaml. They are expanded on the disk, or in a
:class:`FileTree` (the files at a git revision, for ``--changed-since``) by the same rules. Every
source and every file found must resolve inside that folder (``confine``): a pull request
controls the repository, never what lies around it.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from reconciler.errors import Problem
from reconciler.load import confine, yamlload
from reconciler.load.config import Config
from reconciler.model import JsonPath
from reconciler.quoting import PATH_CHARS, excerpt
from reconciler.settings import display_path

YAML_SUFFIXES = confine.YAML_SUFFIXES
_GLOB_CHARS = frozenset("*?[")
#: Reads one file's bytes; raises OSError (FileNotFoundError...) like ``Path.read_bytes``.
Read = Callable[[Path], bytes]


class FileTree(Protocol):
    """Files to load instead of the disk's, named by their working-tree paths (absolute)."""

    def files_below(self, folder: Path) -> list[Path]:
        """Every file at or below ``folder`` (``[folder]`` when it is a file), sorted."""
        ...

    def read_bytes(self, path: Path, limit: int = confine.MAX_FILE_BYTES) -> bytes:
        """A file's content; OSError when it cannot be read, ``confine.TooLarge`` beyond
        ``limit`` bytes."""
        ...


def find_files(
    config: Config, paths: Sequence[Path] | None = None, *, tree: FileTree | None = None
) -> tuple[list[tuple[Path, str]], list[Problem]]:
    """Expand sources (files, folders: every *.yaml/*.yml below, globs) into sorted files.

    Returns (absolute path, name shown in messages) pairs, each file once, and a Problem for
    every source that matches nothing (a typo there would silently drop users), that leads out
    of the config's folder, or names a file that is not YAML. A matched file that resolves
    outside the folder (a symlink) is a Problem naming it as found, and is not read. With
    ``tree``, sources are expanded against its files, not the disk's.
    """
    if paths is None:
        sources = [(source, config.root) for source in config.users]
    else:
        sources = [(str(path), Path.cwd()) for path in paths]
    found: dict[Path, None] = {}
    problems: list[Problem] = []
    inside = confine.is_inside if tree is None else confine.is_inside_lexically
    read_config = reader(tree, confine.MAX_CONFIG_BYTES)  # to locate a source in the config
    for position, (source, base) in enumerate(sources):
        is_file = _is_file if tree is None else lambda path: tree.files_below(path) == [path]
        refusal = _source_refusal(source, base, config.root, inside, is_file, paths is None)
        if refusal is not None:
            message = f"{_shown_source(config, paths, position)} {refusal}"
            problems.append(_source_problem(config, paths, position, message, read_config))
            continue
        matches = _expand_source(source, base) if tree is None else _expand_in(tree, source, base)
        if not matches:
            message = f"{_shown_source(config, paths, position)} matches no declaration file "
            message += "(*.yaml, *.yml)"
            problems.append(_source_problem(config, paths, position, message, read_config))
        for match in matches:
            if inside(match, config.root):
                found[match] = None
            else:
                problems.append(Problem(display_path(match), None, None, "", _OUTSIDE_FILE))
    files = sorted(found)
    return [(path, display_path(path)) for path in files], problems


_OUTSIDE_FILE = f"not read: it {confine.outside_refusal()}"


def _source_refusal(
    source: str,
    base: Path,
    root: Path,
    inside: Callable[[Path, Path], bool],
    is_file: Callable[[Path], bool],
    written: bool,
) -> str | None:
    """Why a source cannot be expanded at all: absolute or leading out of the config's folder
    (the part before any glob character, resolved), or a named file that is not YAML."""
    if written:
        refusal = confine.written_path_refusal(source)
        if refusal is not None:
            return refusal
    parts = Path(source).parts
    fixed = next((i for i, part in enumerate(parts) if _GLOB_CHARS.intersection(part)), None)
    prefix = Path(base, *parts[:fixed]) if fixed is not None else Path(base, source)
    if not inside(prefix, root):
        return confine.outside_refusal()
    if fixed is None and prefix.suffix not in YAML_SUFFIXES and is_file(prefix):
        return "names a file that is not YAML: declaration files end in .yaml or .yml"
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _expand_source(source: str, base: Path) -> list[Path]:
    path = Path(base, source).absolute()
    if _GLOB_CHARS.intersection(source):
        # Matched by the git tree's rule over a walk that never enters a symlinked folder:
        # glob.glob(recursive=True) follows them, so ``**`` went out of the checkout (and named
        # what it found there) or round a link to ``.`` until the OS refused the depth.
        return _expand_in(_DISK, source, base)
    if path.is_dir():
        return _yaml_files_below(path)
    return [path] if path.is_file() else []


def _yaml_files_below(folder: Path) -> list[Path]:
    """Every *.yaml / *.yml below ``folder``, skipping hidden folders and files (.git, ...).

    Symlinked folders are not entered (one could lead anywhere, even in circles); a symlinked
    file is listed, and ``find_files`` refuses it when it leads out of the config's folder.
    """
    files = []
    for top, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith("."))
        for name in names:
            path = Path(top, name)
            if not name.startswith(".") and path.suffix in YAML_SUFFIXES and path.is_file():
                files.append(path)
    return sorted(files)


class _Disk:
    """The working tree as a FileTree: walked without entering symlinked folders."""

    def files_below(self, folder: Path) -> list[Path]:
        if folder.is_file():
            return [folder]
        walk = os.walk(folder)  # followlinks=False: a symlinked folder is listed, not entered
        return sorted(Path(top, name) for top, _, names in walk for name in names)

    def read_bytes(self, path: Path, limit: int = confine.MAX_FILE_BYTES) -> bytes:
        return confine.read_bounded(path, limit)


_DISK = _Disk()


def _expand_in(tree: FileTree, source: str, base: Path) -> list[Path]:
    """``_expand_source`` against a tree's files: same rules (a glob is matched per path part,
    ``**`` spans folders, ``*`` never matches a hidden name, a folder means the YAML files below
    it that are not hidden, a file named as such is taken whatever its suffix)."""
    parts = Path(os.path.normpath(Path(base, source).absolute())).parts
    fixed = next((i for i, part in enumerate(parts) if _GLOB_CHARS.intersection(part)), len(parts))
    folder, pattern = Path(*parts[:fixed]), parts[fixed:]
    files = tree.files_below(folder)
    if not pattern and files == [folder]:
        return files
    return [
        file
        for file in files
        if file.suffix in YAML_SUFFIXES and _matches(pattern, file.relative_to(folder).parts)
    ]


def _matches(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """The file matches, or a folder above it does and nothing hidden lies between them."""
    return _glob_match(pattern, parts) or any(
        _glob_match(pattern, parts[:depth]) and not _hidden(parts[depth:])
        for depth in range(len(parts))
    )


def _glob_match(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """``glob.glob(recursive=True)``'s rule for one path, split in parts."""
    if not pattern:
        return not parts
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(
            _glob_match(rest, parts[depth:]) and not _hidden(parts[:depth])
            for depth in range(len(parts) + 1)
        )
    if not parts or (parts[0].startswith(".") and not head.startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], head) and _glob_match(rest, parts[1:])


def _hidden(parts: Sequence[str]) -> bool:
    return any(part.startswith(".") for part in parts)


def reader(tree: FileTree | None, limit: int = confine.MAX_FILE_BYTES) -> Read:
    """How to read again a file already read (to locate a problem in it): from the disk or the
    tree, bounded to ``limit`` bytes like the first read (the file may have grown since)."""
    source = _DISK if tree is None else tree
    return lambda path: source.read_bytes(path, limit)


def _shown_source(config: Config, paths: Sequence[Path] | None, position: int) -> str:
    """A source as the user wrote it: the path named, or the ``users:`` entry before ${VAR}."""
    if paths is not None:
        return excerpt(str(paths[position]), PATH_CHARS)
    return excerpt(config.users_written[position], PATH_CHARS)


def _source_problem(
    config: Config, paths: Sequence[Path] | None, position: int, message: str, read: Read
) -> Problem:
    if paths is not None:
        return Problem(str(paths[position]), None, None, "", message)
    file = display_path(config.path)
    written_as_list = not (len(config.users) == 1 and position == 0)
    json_path: JsonPath = ("users", position) if written_as_list else ("users",)
    try:
        line, column = yamlload.locate(read(config.path), json_path)
    except OSError:
        line, column = 1, 1
    return Problem(file, line, column, yamlload.format_json_path(json_path), message)
