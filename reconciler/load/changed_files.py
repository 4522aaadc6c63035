"""`validate FILE...`: check reconciler.yaml and only the named declaration files.

pre-commit passes every staged file that matches the hook's ``files:`` pattern (any *.yaml), so
the names include files reconciler has nothing to say about (a GitHub workflow, a compose file):
only the named files that the config's ``users:`` sources cover are read; the others are
returned as skipped for the CLI to mention. When reconciler.yaml itself is named, every file is
read: a change of targets or sources can make any declaration file wrong.

Reading only the named files is what makes the hook cheap on a big repository, at one price: a
duplicate id is seen only among the files read. ``reconciler validate`` without files (in CI)
reads them all and catches the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import ValidationError
from reconciler.load.config import load_config
from reconciler.load.declarations import load_declarations
from reconciler.load.digest import inputs_digest
from reconciler.load.sources import find_files
from reconciler.load.workspace import Workspace, select_targets
from reconciler.quoting import PATH_CHARS
from reconciler.settings import display_path


@dataclass(frozen=True, slots=True)
class NamedFiles:
    """How the named files were sorted."""

    #: reconciler.yaml was named: every declaration file was read.
    everything: bool
    #: Named files that are declaration files of the config (absolute), read and checked.
    declarations: tuple[Path, ...]
    #: Named files that are not (as named), left alone.
    skipped: tuple[Path, ...]


def sort_named_files(
    config_file: Path, declaration_files: Iterable[Path], named: Sequence[Path]
) -> NamedFiles:
    """Which of ``named`` (relative to the current folder, or absolute) to check.

    Paths are compared resolved, so ``./users/a.yaml``, ``users/../users/a.yaml`` and a config
    in a subfolder (``--config infra/reconciler.yaml`` with ``infra/users/a.yaml``) all match.
    """
    config_file = config_file.resolve()
    declared = {path.resolve() for path in declaration_files}
    everything = any(path.resolve() == config_file for path in named)
    chosen: dict[Path, None] = {}
    skipped: list[Path] = []
    for path in named:
        resolved = path.resolve()
        if resolved in declared:
            chosen[resolved] = None
        elif resolved != config_file:
            skipped.append(path)
    return NamedFiles(everything, tuple(chosen), tuple(skipped))


def load_named(
    config_path: Path,
    environ: Mapping[str, str],
    target_names: Sequence[str],
    named: Sequence[Path],
    skipping: Callable[[Path, str], None] = lambda path, reason: None,
) -> tuple[Workspace, NamedFiles]:
    """Load the config and the named declaration files; every problem at once, as validate does.

    ``skipping(path, reason)`` is told of each named file left alone before any file is read,
    so it is said even when the files read turn out invalid. The config's ``users:`` sources
    that match nothing are still reported (problems of reconciler.yaml, which is always
    checked), together with the problems of the files read.
    """
    config = load_config(config_path, environ)
    sources, source_problems = find_files(config)
    named_files = sort_named_files(config.path, [path for path, _ in sources], named)
    reason = (
        f"not a declaration file of {display_path(config.path)} "
        # As written (never ${VAR} expanded), cut; the CLI escapes what it prints.
        f"(its users: {', '.join(source[:PATH_CHARS] for source in config.users_written)})"
    )
    for path in named_files.skipped:
        skipping(path, reason)
    targets = select_targets(config, target_names)
    only = frozenset(target_names) if target_names else None
    if named_files.everything:
        declarations = load_declarations(config, only=only)
    else:
        try:
            declarations = load_declarations(config, named_files.declarations, only=only)
        except ValidationError as invalid:
            raise ValidationError(source_problems + invalid.problems) from None
        if source_problems:
            raise ValidationError(source_problems)
    digest = inputs_digest(config.path, declarations.files)
    return Workspace(config, declarations, targets, declarations.users, digest), named_files
