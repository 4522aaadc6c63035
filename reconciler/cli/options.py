"""Options shared by several commands, so each is defined (and documented) once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.render.limits import COMMENT_LIMIT
from reconciler.render.views import PLAN_FORMS

F = TypeVar("F", bound=Callable[..., Any])


def common_options(command: F) -> F:
    """--config, --target and -v, shared by every command that reads a config repository."""
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=Path("reconciler.yaml"),
            show_default=True,
            help="Path of reconciler.yaml.",
        ),
        click.option(
            "--target",
            "target_names",
            multiple=True,
            metavar="NAME",
            help="Only this target (repeatable). Default: all targets.",
        ),
        click.option("-v", "--verbose", count=True, help="Log more on stderr (-vv: debug)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def user_option(command: F) -> F:
    return click.option(
        "--user",
        "user_ids",
        multiple=True,
        metavar="ID",
        help="Only this user (repeatable). Default: every declared user.",
    )(command)


def shard_option(command: F) -> F:
    return click.option(
        "--shard",
        type=ShardType(),
        metavar="I/N",
        help="Only users of shard I of N (stable hash of the id), for a CI matrix.",
    )(command)


def parallelism_option(command: F) -> F:
    return click.option(
        "--parallelism",
        type=click.IntRange(min=1, max=64),
        metavar="N",
        help="Requests in flight per target, 1 to 64 (overrides each target's parallelism).",
    )(command)


def format_option(command: F) -> F:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(PLAN_FORMS),
        default=PLAN_FORMS[0],
        show_default=True,
        help="text for people, markdown for pull-request comments, json for programs.",
    )(command)


#: Below this the summary and the table alone may not fit.
MIN_MARKDOWN_LIMIT = 2_000


def markdown_limit_option(command: F) -> F:
    """--markdown-limit N: the shards of a CI matrix share one comment's budget."""
    return click.option(
        "--markdown-limit",
        type=click.IntRange(min=MIN_MARKDOWN_LIMIT),
        default=COMMENT_LIMIT,
        show_default=True,
        metavar="N",
        help="Keep --format markdown within N characters, dropping whole user blocks (and "
        "saying how many); the shards of one PR comment each take their share of it.",
    )(command)


def changed_since_option(command: F) -> F:
    """--changed-since REV, for plan and apply: read only what a pull request changed."""
    return click.option(
        "--changed-since",
        metavar="REV",
        help="Plan only the users whose declaration changed since git revision REV (e.g. "
        "origin/main): far fewer requests on pull requests. A full plan still detects drift.",
    )(command)


def sensitive_from_option(command: F) -> F:
    """--sensitive-from REV, for plan and apply: a pull request may add sensitive names, never
    remove them."""
    return click.option(
        "--sensitive-from",
        metavar="REV",
        help="Also mask the names reconciler.yaml lists under sensitive: at git revision REV "
        "(the base branch, e.g. HEAD^1 of a pull request's merge commit), so a pull request "
        "cannot unmask them. --changed-since REV does this for its REV too.",
    )(command)


def prune_option(command: F) -> F:
    """--prune, for plan and apply: listing a whole target is costly, so only on request."""
    return click.option(
        "--prune",
        is_flag=True,
        help="Include deleting the live users that no file declares for the target (targets "
        "that can list users: Usertour, sandbox). Apply needs safety.max_deletes.",
    )(command)


def prune_guard_options(command: F) -> F:
    """--max-deletes and --force: apply's overrides of the two deletion guards."""
    from reconciler.plan.guards import MAX_DELETE_RATIO  # apply's: validate loads no guard

    options = [
        click.option(
            "--max-deletes",
            type=click.IntRange(min=0),
            metavar="N",
            help="Override safety.max_deletes for this run (it cannot turn pruning on).",
        ),
        click.option(
            "--force",
            is_flag=True,
            help=f"Prune even when more than {MAX_DELETE_RATIO:.0%} of a target's live users "
            "would be deleted.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def plan_options(command: F) -> F:
    """What plan and apply both take: the repository, which users and targets, how to show
    the plan and how fast to read (one list, so the two commands cannot drift apart)."""
    for option in reversed(
        [
            common_options,
            user_option,
            shard_option,
            format_option,
            markdown_limit_option,
            parallelism_option,
            prune_option,
            changed_since_option,
            sensitive_from_option,
        ]
    ):
        command = option(command)
    return command


class ShardType(click.ParamType):  # type: ignore[type-arg]
    """``I/N`` with 1 <= I <= N."""

    name = "shard"

    def convert(self, value: Any, param: Any, ctx: Any) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        index, _, count = str(value).partition("/")
        if index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count):
            return int(index), int(count)
        self.fail(f"{value!r} is not I/N with 1 <= I <= N (e.g. 1/4)", param, ctx)
