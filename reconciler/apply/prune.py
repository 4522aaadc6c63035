"""Pruning (``--prune``): deleting the live users that no file declares for a target.

The planner decides which users (``planner.plan_deletions``, pure); this module says whether a
target can be pruned at all, refuses a surprising deletion before anything is sent, and sends
the deletions. Deleting is permanent (Usertour deletes the user's events too), so it is guarded
twice, like octoDNS guards deleted records: an absolute count that reconciler.yaml must allow
(``safety.max_deletes``, default 0: no pruning), and a share of each target's live users that
only ``--force`` exceeds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor

from reconciler.apply.applier import UserOutcome
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.load.config import TargetConfig
from reconciler.model import Plan, TargetPlan, UserDeletion
from reconciler.plan import guards
from reconciler.providers import CAPABILITIES
from reconciler.providers.base import Provider

MAX_DELETE_RATIO = guards.MAX_DELETE_RATIO


def _plural(count: int, word: str = "user") -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def check_prunable(
    selected: Iterable[TargetConfig],
    configured: Iterable[TargetConfig],
    user_ids: Collection[str] = (),
) -> None:
    """Refuse --prune where it cannot be right, before any key is read or request sent.

    With --user, every other user is not undeclared, only unselected (--shard is fine: its
    split of ids is stable, so each job prunes its own share). A target that cannot list its
    users cannot know which live users no file declares; the message names the targets that
    can be pruned, to select with --target.
    """
    if user_ids:
        raise ConfigError(
            "--prune cannot be combined with --user: pruning deletes every live user no file "
            "declares, which a selection of users cannot tell. Nothing was sent."
        )
    refused = [t for t in selected if not _can_list(t)]
    if not refused:
        return
    reasons = "; ".join(
        f"target {t.name} ({t.provider}): "
        + (CAPABILITIES[t.provider].cannot_list_because or "it cannot list or delete users")
        for t in refused
    )
    prunable = [t.name for t in configured if _can_list(t)]
    hint = (
        "select the targets to prune with " + " ".join(f"--target {name}" for name in prunable)
        if prunable
        else "no configured target can be pruned"
    )
    raise ConfigError(f"--prune: {reasons}. Nothing was sent: {hint}.")


def _can_list(target: TargetConfig) -> bool:
    capabilities = CAPABILITIES.get(target.provider)
    return capabilities is not None and capabilities.can_list


def check_deletions(plan: Plan, configured: int | None, override: int | None, force: bool) -> None:
    """Refuse before anything is sent when the plan deletes more users than allowed.

    ``configured`` is safety.max_deletes, ``override`` --max-deletes (it cannot turn pruning
    on), ``force`` --force (more than MAX_DELETE_RATIO of a target); guards.py holds the rules.
    """
    limits = guards.Limits(None, None, configured, override, force)
    guards.refuse(guards.deletion_refusals(plan, limits))


def delete_target(
    target_plan: TargetPlan,
    provider: Provider,
    stop: threading.Event | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[UserOutcome]:
    """Delete the planned users of one target concurrently; one failure never stops the others.

    A deletion is verified by the target's answer: Usertour answers 200 once the user is gone,
    the sandbox deletes in a transaction, and "not found" means it was gone already (a DELETE
    whose answer was lost is simply sent again). ``stop``: once set, nothing new is sent.
    """
    stop = stop or threading.Event()
    target = target_plan.target

    def delete(deletion: UserDeletion) -> UserOutcome:
        if stop.is_set():
            message = "not deleted: apply was interrupted; run apply again"
            return UserOutcome(target, deletion.user_id, "skipped", message=message)
        try:
            existed = provider.delete_user(deletion.user_id)
        except ReconcilerError as error:
            return UserOutcome(target, deletion.user_id, "failed", message=f"not deleted: {error}")
        finally:
            if progress is not None:
                progress(1)
        note = None if existed else "it was already gone"
        return UserOutcome(target, deletion.user_id, "deleted", message=note)

    workers = max(1, min(provider.parallelism, len(target_plan.deletions)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(delete, target_plan.deletions))
