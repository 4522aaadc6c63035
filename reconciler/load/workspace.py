"""The loaded repository a command works on: config and declarations, narrowed to the
selected targets, users and shard, with the digest of what was read. The load stage's end."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.errors import ConfigError
from reconciler.load.config import Config, load_config
from reconciler.load.declarations import Declarations, load_declarations, targets_users
from reconciler.load.digest import inputs_digest
from reconciler.load.yamlcore import gc_paused
from reconciler.model import UserSpec
from reconciler.settings import TargetConfig

if TYPE_CHECKING:
    from reconciler.load.changed_users import ChangedUsers  # --changed-since only


@dataclass(frozen=True, slots=True)
class Workspace:
    """A loaded and validated config repository, narrowed to the selected targets and users."""

    config: Config
    declarations: Declarations
    targets: tuple[TargetConfig, ...]
    users: tuple[UserSpec, ...]
    #: SHA-256 of the config and declaration files the load accepted (load/digest.py).
    digest: str
    #: --shard I/N, if any: pruning deletes only the undeclared live users of this shard.
    shard: tuple[int, int] | None = None
    #: --changed-since REV: only the users whose declaration changed since REV are planned.
    changed_users: ChangedUsers | None = None
    #: A pull request's plan (its base revision known): the sensitive names whose values are
    #: compared at apply only, so that the plan cannot confirm a guess (plan/blind.py).
    compared_at_apply: frozenset[str] = frozenset()
    #: Each user as the base revision declared it (--changed-since): only the sensitive values
    #: that differ from it are compared at apply. None: all of them are.
    base_users: Mapping[str, UserSpec] | None = None


def load_workspace(
    config_path: Path,
    environ: Mapping[str, str],
    target_names: Sequence[str] = (),
    user_ids: Sequence[str] = (),
    shard: tuple[int, int] | None = None,
    changed_since: str | None = None,
    check_selected_only: bool = False,
    sensitive_from: str | None = None,
) -> Workspace:
    """Load config and declarations (all problems at once), then --target / --user / --shard.

    ``check_selected_only`` (validate --target): what a target can hold is checked for the
    selected targets alone, not for every target of the config.

    ``changed_since`` (a git revision) compares the declarations with those at that revision,
    read with git in-process, so that only the changed users are planned; the files that did
    not change may then be known by their cached summary (load/filecache.py), unless the
    environment sets ``RECONCILER_NO_CACHE``.

    ``sensitive_from`` (a git revision; ``changed_since`` when not given) adds the names
    reconciler.yaml listed under ``sensitive:`` there: a pull request may add names, never
    remove one that its base branch masks.
    """
    config = load_config(config_path, environ)
    base = sensitive_from if sensitive_from is not None else changed_since
    if base is not None:
        from reconciler.load.gitrev import sensitive_at

        config = replace(config, sensitive=config.sensitive | sensitive_at(config, base, environ))
    targets = select_targets(config, target_names)
    only = frozenset(target_names) if check_selected_only and target_names else None
    changes = None
    if changed_since is None:
        declarations = load_declarations(config, only=only)
    else:
        from reconciler.load import filecache
        from reconciler.load.gitrev import changed_since as compare_with_revision

        cache = filecache.enabled(environ)

        def load(unchanged: frozenset[Path]) -> Declarations:
            summarise = unchanged if cache else frozenset()
            return load_declarations(config, only=only, summarise=summarise, remember=cache)

        with gc_paused():
            declarations, changes = compare_with_revision(config, load, changed_since, environ)
    users = select_users(declarations.users, user_ids)
    if user_ids and not target_names:
        # --user alone: the targets those users go to, not an empty block for every other one.
        targets = tuple(t for t in targets if targets_users(users, t.name))
    if shard is not None:
        users = tuple(u for u in users if in_shard(u.id, shard))
    digest = inputs_digest(config.path, declarations.files)
    blind = config.sensitive if base is not None else frozenset()
    base_users = changes.base_users if changes is not None else None
    return Workspace(
        config, declarations, targets, users, digest, shard, changes, blind, base_users
    )


def in_shard(user_id: str, shard: tuple[int, int]) -> bool:
    """Shard ``I/N`` (1-based) holds the ids whose stable hash is I-1 modulo N.

    SHA-256, not Python's ``hash()``, which is salted per process: every job of a CI matrix
    must agree on the split, so that N jobs cover every user exactly once.
    """
    index, count = shard
    digest = hashlib.sha256(user_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def select_targets(config: Config, names: Sequence[str]) -> tuple[TargetConfig, ...]:
    """The targets named by --target (all when none), refusing names the config does not have."""
    if not names:
        return tuple(config.targets.values())
    unknown = sorted(set(names) - set(config.targets))
    if unknown:
        known = ", ".join(config.targets) or "none"
        raise ConfigError(f"unknown target {', '.join(unknown)} (configured targets: {known})")
    return tuple(config.targets[name] for name in sorted(set(names)))


def select_users(users: Sequence[UserSpec], ids: Sequence[str]) -> tuple[UserSpec, ...]:
    """The users named by --user (all when none), refusing ids that no file declares."""
    if not ids:
        return tuple(users)
    wanted = set(ids)
    selected = tuple(u for u in users if u.id in wanted)
    missing = wanted - {u.id for u in selected}
    if missing:
        raise ConfigError(f"--user {', '.join(sorted(missing))}: no declaration file declares it")
    return selected
