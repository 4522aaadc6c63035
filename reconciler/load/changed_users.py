"""Which declared users changed between two loads of a config repository (``--changed-since``).

Pure: two (Config, Declarations) pairs in, a :class:`ChangedUsers` out; no disk, no git (that is
``gitrev``), so every rule is tested with literals. What is compared is each user's *effective*
declaration, after its file's ``defaults`` were merged in: a ``defaults`` change therefore marks
exactly the users that inherit it, and a user that overrides the changed key stays unchanged.
Where a user is declared (file, position) is not part of it: moving a user to another file or
reordering a file plans nobody.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.load.config import Config
from reconciler.load.declarations import Declarations
from reconciler.model import UserSpec
from reconciler.settings import TargetConfig

#: What makes a target another destination: a change here plans the target in full.
#: What makes a target another destination, or sends other values there (``mapping``).
_TARGET_IDENTITY = ("provider", "base_url", "api_key_env", "path", "mapping")


@dataclass(frozen=True, slots=True)
class ChangedUsers:
    """What ``plan --changed-since REV`` plans, per target of the working tree's config.

    A target in ``full_targets`` is planned in full (``reasons`` says why). Every other target
    of the config has an entry in ``changed``: the ids declared for it now whose declaration
    changed for it (edited, added, newly sent to it by ``targets:``, or changed through
    ``defaults``); only those are read and planned. Users declared at REV that no longer go to a
    target are in ``left_alone`` for that target: nothing is sent for them, and the plan says so.
    """

    full_targets: frozenset[str]
    changed: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Ids declared at REV and declared nowhere now, sorted.
    removed: tuple[str, ...] = ()
    #: Per target of the config: ids that went to it at REV and do not now (removed, or
    #: narrowed away by ``targets:``), sorted.
    left_alone: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Per target in ``full_targets``: why it is planned in full, e.g. "provider changed".
    reasons: Mapping[str, str] = field(default_factory=dict)
    #: Things the user should know, e.g. why nothing could be compared.
    warnings: tuple[str, ...] = ()
    #: The revision as given (``HEAD~1``) and the commit it names (filled by ``changed_since``).
    rev: str = ""
    commit: str = ""
    #: Each user as REV declared it (a user of a file that did not change: as now); None when
    #: REV's declarations could not be read. A pull request's plan compares at apply only the
    #: sensitive values that differ from these (plan/blind.py).
    base_users: Mapping[str, UserSpec] | None = None

    def users_for(self, target: str) -> frozenset[str] | None:
        """The ids to plan on ``target``; None means every user declared for it (full)."""
        if target in self.full_targets:
            return None
        return self.changed.get(target, frozenset())

    def select(self, target: str, users: Iterable[UserSpec]) -> tuple[UserSpec, ...]:
        """The users of ``users`` to plan on ``target`` (all of them when it is full)."""
        wanted = self.users_for(target)
        return tuple(user for user in users if wanted is None or user.id in wanted)


def compare(
    old_config: Config | None,
    old_declarations: Declarations | None,
    config: Config,
    declarations: Declarations,
) -> ChangedUsers:
    """The users to plan per target of ``config``: those whose declaration differs from the old.

    The old side is None when it cannot be compared (no reconciler.yaml at REV, files that do
    not load): every target is then planned in full.
    """
    if old_config is None or old_declarations is None:
        reason = "nothing to compare with"
        return ChangedUsers(
            frozenset(config.targets), reasons=dict.fromkeys(config.targets, reason)
        )
    reasons = changed_targets(old_config, config)
    old_users = {user.id: user for user in old_declarations.users}
    declared = {user.id for user in declarations.users}
    partial = [target for target in config.targets if target not in reasons]
    changed: dict[str, set[str]] = {target: set() for target in partial}
    left_alone: dict[str, list[str]] = {target: [] for target in config.targets}
    for user in declarations.users:
        before = old_users.get(user.id)
        edited = before is None or content(before) != content(user)
        for target in partial:
            if goes_to(user, target) and (edited or not goes_to(before, target)):
                changed[target].add(user.id)
        for target in left_alone:
            if goes_to(before, target) and not goes_to(user, target):
                left_alone[target].append(user.id)
    removed = sorted(set(old_users) - declared)
    _leave_alone_removed(left_alone, [old_users[user_id] for user_id in removed])
    return ChangedUsers(
        full_targets=frozenset(reasons),
        changed={target: frozenset(ids) for target, ids in changed.items()},
        removed=tuple(removed),
        left_alone={target: tuple(sorted(ids)) for target, ids in left_alone.items()},
        reasons=reasons,
    )


def changed_targets(old: Config, new: Config) -> dict[str, str]:
    """The targets of ``new`` to plan in full, with the reason: new, or another destination
    (provider, URL, key variable, sandbox file), or ``sensitive`` changed (it changes what every
    plan may print). Speed settings (parallelism, rate_limit) change nothing that is sent."""
    if old.sensitive != new.sensitive:
        return dict.fromkeys(new.targets, "sensitive changed")
    reasons = {}
    for name, target in new.targets.items():
        before = old.targets.get(name)
        reason = "new target" if before is None else _identity_change(before, target)
        if reason:
            reasons[name] = reason
    return reasons


def _identity_change(old: TargetConfig, new: TargetConfig) -> str:
    changed = [name for name in _TARGET_IDENTITY if getattr(old, name) != getattr(new, name)]
    return f"{', '.join(changed)} changed" if changed else ""


def goes_to(user: UserSpec | None, target: str) -> bool:
    """Whether ``user`` is declared for ``target`` (every target unless ``targets:`` narrows)."""
    return user is not None and (user.targets is None or target in user.targets)


def content(user: UserSpec) -> str:
    """A user's declared values as text that tells types apart, for comparing two declarations.

    JSON, because ``==`` would call ``True`` equal to ``1`` and ``1`` to ``1.0`` while a target
    receives them as different values. Left out: ``source`` (where the user is written) and
    ``targets`` (which targets is compared per target, by :func:`goes_to`).
    """
    values = [
        user.email,
        user.attributes,
        [[event.name, event.timestamp] for event in user.events],
        [[company.id, company.attributes] for company in user.companies],
        [[m.company.id, m.company.attributes, m.attributes] for m in user.memberships],
    ]
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=repr)


def _leave_alone_removed(left_alone: dict[str, list[str]], removed: Iterable[UserSpec]) -> None:
    """A user no file declares any more is left alone on every target it went to at REV:
    nothing is sent for it, and the plan says so."""
    for user in removed:
        for target in left_alone:
            if goes_to(user, target):
                left_alone[target].append(user.id)
