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

from collections.abc import Iterable, Sequence

from reconciler.escape import printable
from reconciler.model import Plan, PlanWarning, TargetPlan
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
    deletion_details,
    plan_counts,
    scope_lines,
    target_counts,
    warning_message,
    withheld_lines,
)

#: Where the full plan is, when the caller does not say (``reconciler plan --format markdown``).
DEFAULT_WHERE = "The full plan: `reconciler plan` (text) or `reconciler plan --format json`."
#: A line of ids in the rollup wraps after about this many characters.
_WIDTH = 100


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _id_text(users: Sequence[str], cap: int | None, where_short: str) -> list[str]:
    """The ids of a rollup line, compact, wrapped; with ``cap``, at most that many pieces and
    how many more there are."""
    runs = id_runs(users)
    shown = runs if cap is None else runs[:cap]
    tokens = [text for text, _ in shown]
    hidden = sum(count for _, count in runs[len(shown) :])
    if hidden:
        tokens.append(f"… and {hidden:,} more ({where_short})")
    lines = [""]
    for token in tokens:
        piece = token if not lines[-1] else f", {token}"
        if lines[-1] and len(lines[-1]) + len(piece) > _WIDTH:
            lines[-1] += ","
            lines.append(token)
        else:
            lines[-1] += piece
    return lines


def _rollup_lines(line: RollupLine, cap: int | None, where_short: str) -> list[str]:
    """``! attributes.csm: "bob" -> "alice" — 20 users: u003\u2013u025``, ids wrapped below."""
    head = f"{diff_symbol(line.symbol)} {line.text} — {_plural(len(line.users), 'user')}"
    if not line.listed:
        return [head]
    ids = _id_text(line.users, cap, where_short)
    return [f"{head}: {ids[0]}", *(f"    {more}" for more in ids[1:])]


def _target_rollup(target: TargetPlan, compact: bool, cap: int | None, where_short: str) -> str:
    """A target's counts, its rollup as a diff block, and what is not sent there."""
    counts = target_counts(target)
    if target.warnings:
        counts += f", {_plural(len(target.warnings), 'warning')}"
    text = f"**{code_inline(target.target)}** ({escape_inline(target.provider)}): {counts}"
    lines = [
        printable(shown)
        for line in target_rollup(target, compact)
        for shown in _rollup_lines(line, cap, where_short)
    ]
    if lines:
        text += "\n\n" + fenced(lines, "diff")
    for withheld in withheld_lines(target):
        text += f"\n\n{escape_inline(withheld)}"
    return text


def _rollups(plan: Plan, compact: bool, cap: int | None, where_short: str) -> str:
    text = "".join(
        "\n\n" + _target_rollup(target, compact, cap, where_short) for target in plan.targets
    )
    if RANGE in text:
        text += f"\n\n_Ids written `a{RANGE}b` stand for every id from a to b._"
    return text


def _group_piece(group: UserGroup) -> Piece:
    """One collapsed block: the summary names the users, their targets and fields; inside,
    the diff (once when it is the same on every target)."""
    ids = ", ".join(code_html(token) for token in compact_ids(group.users))
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


def _detail_pieces(plan: Plan, declared_at: DeclaredAt) -> list[Piece]:
    pieces = [p for target in plan.targets for p in _warning_pieces(target)]
    groups = user_groups(plan.targets, declared_at)
    if groups:
        pieces.append(Piece("\n\n**Changes by user** (click to expand)", heading=True))
    pieces += [_group_piece(group) for group in groups]
    pieces += [p for target in plan.targets for p in _deletion_pieces(target)]
    return pieces


def _head(plan: Plan, title: str, refusals: Sequence[str]) -> str:
    head = f"**{escape_inline(title)}:** {plan_counts(plan)}."
    if not plan.has_changes:
        head += "\n\nNo changes. The targets match the declarations."
    if plan.scope is not None:
        head += "\n\n" + "\n".join(f"- {escape_inline(line)}" for line in scope_lines(plan.scope))
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
    pieces = _detail_pieces(plan, declared_at or {})
    kept = "every changed user is in the summary above"
    omitted = Omitted("comment size limit", kept, where)
    users = sum(p.users for p in pieces)
    warnings = sum(p.warnings for p in pieces)
    room = limit - len(head) - len(tail) - len(omitted(users, warnings))
    rollups, complete = _fitting_rollups(plan, room, where)
    if not complete:
        omitted = Omitted("comment size limit", "", where)
    return fit(head + rollups, pieces, tail, limit, omitted)


def _fitting_rollups(plan: Plan, room: int, where: str) -> tuple[str, bool]:
    """The most detailed rollup within ``room``: by value, else compact, else compact with id
    lists capped to the most pieces that fit (at least one each); and whether it lists every
    changed id (only the capped form does not)."""
    where_short = "see the note below"
    for compact in (False, True):
        text = _rollups(plan, compact, None, where_short)
        if len(text) <= room:
            return text, True
    fitting = [cap for cap in _caps() if len(_rollups(plan, True, cap, where_short)) <= room]
    cap = max(fitting, default=1)
    note = f"\n\n_Some id lists are cut short: the comment cannot hold every id. {where}_"
    return _rollups(plan, True, cap, where_short) + note, False


def _caps() -> list[int]:
    """The id-list caps tried: 1, 2, 4, … up to 2**16."""
    return [2**power for power in range(17)]
