"""The plan as a pull-request comment: a rollup a reviewer checks at a glance, then the detail.

First the summary line, then per target its counts and its rollup (render/rollup.py): each
field change once, with how many users it touches and their ids (``! attributes.csm: "bob" ->
"alice" — 20 users: u003\u2013u025``). Below, collapsed, the value-level detail: one block per
user, or per group of users whose changes are identical, with all of a user's targets in that
one block. Pure, escaped and masked like every Markdown here (markdown.py).

Size (``limit``): the summary, every target's rollup and the checksum always stay, so every
changed user and field is in the comment whatever the size (a padded pull request cannot push
one change out of sight). The rollup gets more compact when it must (one line per field,
then capped id lists that say how many more and where they are), and the detail blocks that do
not fit are dropped from the end, with a note saying how many and where the full plan is
(``where``: the caller knows, e.g. the job log holding the text plan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reconciler.escape import printable
from reconciler.planned import Plan, PlanWarning, TargetPlan
from reconciler.render.markdown import (
    COMMENT_LIMIT,
    Omitted,
    Piece,
    code_html,
    code_inline,
    code_span,
    diff_symbol,
    escape_inline,
    fenced,
    fit,
)
from reconciler.render.rollup import (
    RANGE,
    DeclaredAt,
    RollupLine,
    UserGroup,
    compact_ids,
    id_runs,
    target_rollup,
    user_groups,
)
from reconciler.render.text import (
    changed_since_lines,
    deletion_details,
    plan_counts,
    target_counts,
    warning_message,
    withheld_lines,
)

if TYPE_CHECKING:
    from reconciler.render.view import PlanView

#: Where the full plan is, when the caller does not say (``reconciler plan --format markdown``).
DEFAULT_WHERE = "The full plan: `reconciler plan` (text) or `reconciler plan --format json`."
#: A block's summary lists this many ids one by one; more are written with ranges.
_LISTED = 50
#: A line of ids in the rollup wraps after about this many characters.
_WIDTH = 100


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class _Shape:
    """How detailed a rollup is: the first shape that fits the comment is used (see
    :data:`_SHAPES` and :func:`_fitting_rollups`)."""

    #: One line per field (no per-value lines), ids only on the lines of users.
    compact: bool = False
    #: Runs of consecutive ids written as ranges (rollup.compact_ids).
    ranges: bool = False
    #: At most this many field lines per target (the users' lines are always kept).
    fields: int | None = None
    #: At most this many id pieces per line.
    ids: int | None = None


#: From most to least detailed: every id as written; with ranges; one line per field.
_SHAPES = (_Shape(), _Shape(ranges=True), _Shape(compact=True, ranges=True))
_SEE_BELOW = "see the note below"


class _Memo:
    """A plan's rollup lines and id runs, computed once for the several shapes tried."""

    def __init__(self, plan: Plan, declared_at: DeclaredAt) -> None:
        self.plan = plan
        self.declared_at = declared_at
        self._lines: dict[tuple[int, bool], list[RollupLine]] = {}
        self._runs: dict[tuple[int, bool], list[tuple[str, int]]] = {}

    def lines(self, target: TargetPlan, compact: bool) -> list[RollupLine]:
        key = (id(target), compact)
        if key not in self._lines:
            self._lines[key] = target_rollup(target, compact, self.declared_at)
        return self._lines[key]

    def runs(self, users: tuple[str, ...], ranges: bool) -> list[tuple[str, int]]:
        key = (id(users), ranges)  # the users of a line kept in self._lines: ids stay unique
        if key not in self._runs:
            self._runs[key] = id_runs(users, ranges)
        return self._runs[key]


def _id_text(memo: _Memo, users: tuple[str, ...], shape: _Shape, first: int) -> list[str]:
    """The ids of a rollup line, wrapped (the first line has ``first`` characters of room);
    at most ``shape.ids`` pieces, then how many more."""
    runs = memo.runs(users, shape.ranges)
    shown = runs if shape.ids is None else runs[: shape.ids]
    tokens = [text for text, _ in shown]
    hidden = sum(count for _, count in runs[len(shown) :])
    if hidden:
        tokens.append(f"… and {hidden:,} more ({_SEE_BELOW})")
    lines = [""]
    for token in tokens:
        piece = token if not lines[-1] else f", {token}"
        room = first if len(lines) == 1 else _WIDTH
        if lines[-1] and len(lines[-1]) + len(piece) > room:
            lines[-1] += ","
            lines.append(token)
        else:
            lines[-1] += piece
    return lines


def _rollup_lines(memo: _Memo, line: RollupLine, shape: _Shape) -> list[str]:
    """``! attributes.csm: "bob" -> "alice" — 20 users: u003, u004, …``, ids wrapped below."""
    head = f"{diff_symbol(line.symbol)} {line.text} — {_plural(len(line.users), 'user')}"
    if not line.listed:
        return [head]
    ids = _id_text(memo, line.users, shape, max(_WIDTH - len(head), _WIDTH // 3))
    return [f"{head}: {ids[0]}", *(f"    {more}" for more in ids[1:])]


def _kept_lines(memo: _Memo, target: TargetPlan, shape: _Shape) -> list[RollupLine]:
    """The target's rollup lines, the field lines cut to ``shape.fields`` (with a line that
    says how many more); lines that list users are always kept."""
    lines = memo.lines(target, shape.compact)
    if shape.fields is None:
        return lines
    users = [line for line in lines if line.text in _USER_LINES]
    fields = [line for line in lines if line.text not in _USER_LINES]
    if len(fields) <= shape.fields:
        return lines
    cut = len(fields) - shape.fields
    more = RollupLine("~", f"… {cut:,} more field changes not shown ({_SEE_BELOW})", (), False)
    return [*users, *fields[: shape.fields], more]


_USER_LINES = ("new user", "updated user", "user deleted")


def _target_rollup(memo: _Memo, target: TargetPlan, shape: _Shape) -> str:
    """A target's counts, its rollup as a diff block, and what is not sent there."""
    counts = target_counts(target)
    if target.warnings:
        counts += f", {_plural(len(target.warnings), 'warning')}"
    text = f"**{code_inline(target.target)}** ({escape_inline(target.provider)}): {counts}"
    lines = [
        printable(shown)
        for line in _kept_lines(memo, target, shape)
        for shown in (_rollup_lines(memo, line, shape) if line.users else [line.text])
    ]
    if lines:
        text += "\n\n" + fenced(lines, "diff")
    for withheld in withheld_lines(target):
        text += f"\n\n{escape_inline(withheld)}"
    return text


def _rollups(memo: _Memo, shape: _Shape) -> str:
    text = "".join("\n\n" + _target_rollup(memo, t, shape) for t in memo.plan.targets)
    if shape.ranges and RANGE in text:
        text += f"\n\n_Ids written `a{RANGE}b` stand for every id from a to b._"
    return text


def _group_piece(group: UserGroup) -> Piece:
    """One collapsed block: the summary names the users, their targets and fields; inside,
    the diff (once when it is the same on every target)."""
    ranges = len(group.users) > _LISTED
    ids = ", ".join(code_html(token) for token in compact_ids(group.users, ranges))
    who = f"user {ids}" if len(group.users) == 1 else f"{len(group.users):,} users {ids}"
    actions = {change.action for change in group.changes}
    if len(actions) == 1:
        where = ", ".join(code_html(c.target) for c in group.changes) + f" ({actions.pop()})"
    else:
        where = ", ".join(f"{code_html(c.target)} ({c.action})" for c in group.changes)
    fields = ", ".join(code_html(field) for field in group.fields) or "no field changes"
    summary = f"{who} on {where}: {fields}"
    return Piece(
        f"\n\n<details><summary>{summary}</summary>\n\n{_inside(group)}\n\n</details>",
        users=len(group.users),
    )


def _inside(group: UserGroup) -> str:
    def diff(lines: Sequence[str]) -> str:
        shown = [diff_symbol(line[:1]) + printable(line[1:]) for line in lines]
        return fenced(shown, "diff") if shown else "_No field changes._"

    if len({change.lines for change in group.changes}) == 1:
        return diff(group.changes[0].lines)
    return "\n\n".join(
        f"{code_html(c.target)} ({c.action}):\n\n{diff(c.lines)}" for c in group.changes
    )


def _warning_pieces(target: TargetPlan) -> Iterable[Piece]:
    if target.warnings:
        yield Piece(f"\n\n**Warnings on {code_inline(target.target)}**", heading=True)
    for warning in target.warnings:
        yield _warning_piece(warning)


def _warning_piece(warning: PlanWarning) -> Piece:
    message = escape_inline(warning_message(warning))
    return Piece(f"\n- user {code_inline(warning.user_id)}: {message}", warnings=1)


def _deletion_pieces(target: TargetPlan) -> Iterable[Piece]:
    if target.deletions:
        yield Piece(f"\n\n**To delete on {code_inline(target.target)}**", heading=True)
    for deletion in target.deletions:
        details = escape_inline(deletion_details(deletion))
        item = f"\n- user {code_inline(deletion.user_id)} will be deleted{details}"
        yield Piece(item, users=1)


def _detail_pieces(plan: Plan, declared_at: DeclaredAt) -> tuple[Iterator[Piece], int, int]:
    """The collapsed detail, made as it is read (only the blocks that fit are rendered), with
    the users and warnings it holds in all."""
    groups = user_groups(plan.targets, declared_at)
    users = sum(len(group.users) for group in groups)
    users += sum(len(target.deletions) for target in plan.targets)
    warnings = sum(len(target.warnings) for target in plan.targets)

    def pieces() -> Iterator[Piece]:
        for target in plan.targets:
            yield from _warning_pieces(target)
        if groups:
            yield Piece("\n\n**Changes by user** (click to expand)", heading=True)
        yield from (_group_piece(group) for group in groups)
        for target in plan.targets:
            yield from _deletion_pieces(target)

    return pieces(), users, warnings


def _head(plan: Plan, title: str, refusals: Sequence[str]) -> str:
    head = f"**{escape_inline(title)}:** {plan_counts(plan)}."
    if not plan.has_changes:
        head += "\n\nNo changes. The targets match the declarations."
    if plan.changed_since is not None:
        head += "\n\n" + "\n".join(
            f"- {escape_inline(line)}" for line in changed_since_lines(plan.changed_since)
        )
    if refusals:
        head += "\n\n" + "\n".join(
            f"- **Apply would refuse:** {escape_inline(refusal)}" for refusal in refusals
        )
    return head


def render_markdown(
    plan: Plan,
    *,
    title: str = "reconciler plan",
    checksum: str | None = None,
    note: str | None = None,
    limit: int = COMMENT_LIMIT,
    refusals: Sequence[str] = (),
    declared_at: DeclaredAt | None = None,
    where: str = DEFAULT_WHERE,
) -> str:
    """The (masked) plan as a PR comment within ``limit`` characters (see the module).

    ``note`` and ``where`` are trusted Markdown from the caller (a link to the run; where the
    full plan is) and are not escaped. ``refusals``: the guards apply would refuse this plan
    with. ``declared_at``: ``file:line`` of each masked value, by (user id, field path).
    """
    head = _head(plan, title, refusals)
    tail = f"\n\n{note}" if note else ""
    if checksum is not None:
        tail += f"\n\nPlan checksum: {code_span(checksum)}"
    pieces, users, warnings = _detail_pieces(plan, declared_at or {})
    kept = "every changed user is in the summary above"
    omitted = Omitted("comment size limit", kept, where)
    room = limit - len(head) - len(tail) - len(omitted(users, warnings))
    rollups, complete = _fitting_rollups(_Memo(plan, declared_at or {}), room, where)
    if not complete:
        omitted = Omitted("comment size limit", "", where)
    return fit(head + rollups, pieces, tail, limit, omitted, (users, warnings))


def plan_view_markdown(view: PlanView, limit: int, where: str = DEFAULT_WHERE) -> str:
    """The Markdown form of a plan as plan and apply print it, ending with a newline, all of it
    within ``limit`` characters: the comment with what apply would refuse and the checksum."""
    markdown = render_markdown(
        view.masked,
        checksum=view.checksum,
        refusals=[r.message for r in view.refusals],
        limit=limit - 1,
        declared_at=view.declared_at,
        where=where,
    )
    return markdown + "\n"  # the newline is within the limit too


def _fitting_rollups(memo: _Memo, room: int, where: str) -> tuple[str, bool]:
    """The most detailed rollup within ``room`` (:data:`_SHAPES`), and whether it shows every
    changed id and field. When none fits: field lines cut per target, then id lists cut, each
    to the most that fits, with a note saying so and where the rest is."""
    for shape in _SHAPES:
        text = _rollups(memo, shape)
        if len(text) <= room:
            return text, True
    note = f"\n\n_Part of this summary is cut: the comment cannot hold it. {where}_"
    room -= len(note)
    base = _SHAPES[-1]
    fields = _most(lambda n: len(_rollups(memo, replace(base, fields=n))) <= room)
    if fields is not None:
        return _rollups(memo, replace(base, fields=fields)) + note, False
    no_fields = replace(base, fields=0)
    ids = _most(lambda n: len(_rollups(memo, replace(no_fields, ids=n))) <= room) or 1
    return _rollups(memo, replace(no_fields, ids=ids)) + note, False


def _most(fits: Callable[[int], bool]) -> int | None:
    """The largest n in 0 … 2**17 with ``fits(n)`` (``fits`` holds up to some n, then not), or
    None when not even 0 fits. A binary search: each try renders the rollup once."""
    if not fits(0):
        return None
    low, high = 0, 2**17
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low
