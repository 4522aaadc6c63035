"""GitHub-flavoured Markdown: escaping, code, size fitting, and the apply report (the plan
comment is laid out in comment.py, with these).

Pure: returns one string; the CLI decides whether it goes to stdout, a comment or
``GITHUB_STEP_SUMMARY``. Everything that comes from users' files or from a vendor (ids, target
names, attribute names, values, messages) is escaped, because a PR comment is rendered HTML and a
declared id like ``<img src=x>`` or ``a|b`` must not change the page or break the table.
It renders the plan and report it is handed, masked before (mask.py): values go through
:func:`describe_field`, so sensitive ones print as ``(sensitive)`` exactly as in the text output,
and vendor messages had the sensitive values of their request removed there.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.escape import printable
from reconciler.planned import ApplyReport, FieldChange, UserOutcome
from reconciler.render.limits import COMMENT_LIMIT as COMMENT_LIMIT
from reconciler.render.limits import STEP_SUMMARY_LIMIT as STEP_SUMMARY_LIMIT
from reconciler.render.text import describe_field

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_BACKTICKS = re.compile(r"`+")
#: The starts of GitHub's mentions, issue references and autolinks in a comment's text.
_REFERENCE = re.compile(r"@|#(?=\w)|:(?=//)|\bwww(?=\.)|\bGH(?=-\d)", re.IGNORECASE)
#: What GitHub may link as a commit: a word of 7 to 40 hex digits (letters and digits both).
_SHA = re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b", re.IGNORECASE)
#: Pieces of a SHA-like word short enough that none is a SHA (GitHub links 7 digits and more).
_SHA_PIECE = 6
#: A zero-width space: never raw in what we print (``printable`` escapes any in the input).
_BREAK, _BREAK_ENTITY = "\u200b", "&#8203;"
#: In GitHub's diff highlighting ``+`` is green, ``-`` red and ``!`` orange; ``~`` has no colour,
#: so updates are shown with ``!`` (the convention of Terraform PR bots such as tfcmt).
_DIFF_SYMBOLS = {"~": "!"}
_OUTCOME_LABELS = {
    "failed": "failed",
    "not_stuck": "not kept",
    "unconfirmed": "unconfirmed",
    "not_visible": "not visible yet",
    "skipped": "not sent",
    "held": "held back",
}


@dataclass(frozen=True, slots=True)
class Piece:
    """A droppable part of the body, with the separator before it, so sizes simply add up."""

    text: str
    users: int = 0
    warnings: int = 0
    #: A heading is dropped too when nothing under it is kept.
    heading: bool = False


def _one_line(text: str) -> str:
    """Keep user text on one line, escaped (reconciler.escape): a newline would end an HTML
    block or a table row, and the same text also reaches the job log."""
    return printable(text)


def escape_html(text: str) -> str:
    """Text inside an HTML block (``<summary>``), where Markdown is not interpreted."""
    return html.escape(_one_line(text), quote=True)


def _markdown_text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def escape_inline(text: str) -> str:
    """Free text in a Markdown paragraph or table cell: no HTML, emphasis, links or cell breaks,
    and no reference GitHub would make of it (see :func:`defang`)."""
    return _markdown_text(defang(_one_line(text))).replace(_BREAK, _BREAK_ENTITY)


def defang(text: str) -> str:
    """Break what GitHub turns into notifications and links in a comment's text (not in code):
    ``@user`` and ``@org/team`` mentions, ``#12``/``GH-12`` references, ``https://`` and
    ``www.`` autolinks, commit SHAs (an id ``deadbeef1``, cut in pieces of six). A zero-width
    space goes after the trigger (written ``&#8203;`` by
    :func:`escape_inline`, so the log stays ASCII): the reader sees the same text, GitHub
    finds no mention, reference or link in it."""
    text = _REFERENCE.sub(lambda match: match[0] + _BREAK, text)
    return _SHA.sub(_split_sha, text)


def _split_sha(match: re.Match[str]) -> str:
    word = match[0]
    return _BREAK.join(word[i : i + _SHA_PIECE] for i in range(0, len(word), _SHA_PIECE))


def code_html(text: str) -> str:
    """An identifier inside an HTML block, as code (GitHub makes no mention, reference or link
    inside code, so identifiers stay exactly as written: copying one copies the id)."""
    return f"<code>{escape_html(text)}</code>"


def code_inline(text: str) -> str:
    """An identifier in Markdown text or a table cell, as code (see :func:`code_html`)."""
    return f"<code>{_markdown_text(_one_line(text))}</code>"


def code_span(text: str) -> str:
    """A Markdown code span, delimited by more backticks than any run inside it."""
    text = _one_line(text)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{padding}{text}{padding}{ticks}"


def fenced(lines: Sequence[str], language: str = "") -> str:
    """A fenced code block whose fence is longer than any run of backticks inside it."""
    longest = max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([fence + language, *lines, fence])


def diff_symbol(symbol: str) -> str:
    """The symbol a diff line starts with in GitHub's highlighting (``~`` becomes ``!``)."""
    return _DIFF_SYMBOLS.get(symbol, symbol)


def _diff_line(change: FieldChange) -> str:
    line = _one_line(describe_field(change))
    return diff_symbol(line[:1]) + line[1:]


@dataclass(frozen=True, slots=True)
class Omitted:
    """The note that replaces dropped pieces: how many, why, and where to see everything."""

    why: str
    #: What is still shown of what was dropped (the plan's rollup names every user).
    kept: str
    where: str

    def __call__(self, users: int, warnings: int) -> str:
        counts = ((users, "user"), (warnings, "warning"))
        dropped = [f"{n:,} more {word}{'' if n == 1 else 's'}" for n, word in counts if n]
        if not dropped:
            return ""
        kept = f"; {self.kept}" if self.kept else ""
        return f"\n\n_… {' and '.join(dropped)} not shown ({self.why}){kept}. {self.where}_"


def fit(
    head: str,
    pieces: Iterable[Piece],
    tail: str,
    limit: int,
    omitted: Omitted,
    totals: tuple[int, int] | None = None,
) -> str:
    """Keep head and tail, and as many pieces from the start as fit, saying what was dropped.

    The head is always kept, even if alone it exceeds ``limit``. With ``totals`` (the users and
    warnings of all pieces), ``pieces`` is read only as far as it fits: a plan of 20,000 users
    renders the blocks it shows, not all of them.
    """
    if totals is None:
        pieces = list(pieces)
        if len(head) + sum(len(p.text) for p in pieces) + len(tail) <= limit:
            return head + "".join(p.text for p in pieces) + tail
        totals = (sum(p.users for p in pieces), sum(p.warnings for p in pieces))
    total_users, total_warnings = totals
    kept: list[Piece] = []
    size = len(head) + len(tail)
    users = warnings = 0
    for piece in pieces:
        users, warnings = users + piece.users, warnings + piece.warnings
        note = omitted(total_users - users, total_warnings - warnings)
        if size + len(piece.text) + len(note) > limit:
            break
        kept.append(piece)
        size += len(piece.text)
    while kept and kept[-1].heading:
        kept.pop()
    shown_users = sum(p.users for p in kept)
    shown_warnings = sum(p.warnings for p in kept)
    note = omitted(total_users - shown_users, total_warnings - shown_warnings)
    return head + "".join(p.text for p in kept) + note + tail


def _apply_table(report: ApplyReport) -> str:
    """Counts per target and status; a ``deleted`` column only when apply deleted users."""
    statuses = ["applied", "failed", "not_stuck", "unconfirmed", "not_visible", "skipped"]
    header = "| target | applied | failed | not kept | unconfirmed | not visible yet | not sent |"
    if report.deleted:
        statuses.insert(1, "deleted")
        header = header.replace("| applied |", "| applied | deleted |")
    if report.held:
        statuses.append("held")
        header += " held back |"
    rows = [header, "|---|" + "--:|" * len(statuses)]
    targets = sorted({outcome.target for outcome in report.outcomes})
    for target in targets:
        counts: Counter[str] = Counter(o.status for o in report.outcomes if o.target == target)
        cells = tuple(counts[status] for status in statuses)
        rows.append(f"| {code_inline(target)} | " + " | ".join(f"{c:,}" for c in cells) + " |")
    return "\n".join(rows)


def _outcome_piece(outcome: UserOutcome) -> Piece:
    """One list item per user that did not end up as planned, with the reason."""
    label = _OUTCOME_LABELS.get(outcome.status, outcome.status)
    item = f"\n- **{label}**: user {code_inline(outcome.user_id)} on {code_inline(outcome.target)}"
    if outcome.message:
        item += ": " + escape_inline(outcome.message)
    if outcome.not_stuck and outcome.status == "not_stuck":
        item += " — the target did not keep these values:\n\n"
        block = fenced([_diff_line(field) for field in outcome.not_stuck], "diff")
        item += "\n".join("  " + line for line in block.splitlines()) + "\n"
    return Piece(item, users=1)


def render_apply_markdown(
    report: ApplyReport,
    *,
    title: str = "reconciler apply",
    limit: int = STEP_SUMMARY_LIMIT,
) -> str:
    """The apply outcome for the step summary: counts, and every user that failed, with why."""
    statuses: Counter[str] = Counter(outcome.status for outcome in report.outcomes)
    parts = [f"{report.applied:,} applied"]
    parts += [f"{report.deleted:,} deleted"] if report.deleted else []
    parts += [f"{statuses[s]:,} {label}" for s, label in _OUTCOME_LABELS.items() if statuses[s]]
    head = f"**{escape_inline(title)}:** {', '.join(parts)}."
    if report.outcomes:
        head += "\n\n" + _apply_table(report)
    pieces = [_outcome_piece(outcome) for outcome in report.problems]
    if pieces:
        head += "\n\n**Not applied as planned**\n"
    where = "See the job log for every outcome."
    return fit(head, pieces, "", limit, Omitted("step summary size limit", "", where)).rstrip("\n")
