"""Validation problems -> GitHub Actions annotations or a JSON document.

The text form (``file:line:col: field: message``) is ``str(Problem)``; these are the forms for
machines: ``validate --format github`` makes each problem an annotation on the pull request's
diff, and ``--format json`` lets other tools read the result (its document is built in
documents.py, with every other). Pure: returns strings.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.errors import Problem
from reconciler.escape import printable
from reconciler.render.documents import validation_json

#: Shown as the annotation's title in the pull request.
ANNOTATION_TITLE = "reconciler"
#: Problems printed at most, in every format: a pull request that breaks 100,000 users must not
#: flood the log (or the annotations); the count of the rest is always said.
MAX_SHOWN = 200


def sort_problems(problems: Sequence[Problem]) -> list[Problem]:
    """The order of ValidationError: by file, then position, so output is the same every run."""
    return sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0, p.field, p.message))


def shown_problems(problems: Sequence[Problem]) -> tuple[list[Problem], int]:
    """The first ``MAX_SHOWN`` problems in order, and how many are left out."""
    ordered = sort_problems(problems)
    return ordered[:MAX_SHOWN], max(0, len(ordered) - MAX_SHOWN)


def more_line(left_out: int) -> str:
    """The line that says how many problems were not printed (one format for every output)."""
    return f"... and {left_out} more problems not shown: fix these first, then run validate again"


def escape_data(text: str) -> str:
    """A workflow command's message: GitHub decodes only ``%``, CR and LF there."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: ``:`` and ``,`` would end the value early."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(problem: Problem, level: str = "error") -> str:
    """``::error file=F,line=L,col=C,title=reconciler::field: message`` (or ``::warning``).

    Line and column are left out when unknown (GitHub then annotates the whole file); a column
    without a line means nothing to GitHub, so it goes only with a line.
    """
    properties: list[tuple[str, str]] = []
    if problem.file:
        properties.append(("file", problem.file))
    if problem.line is not None:
        properties.append(("line", str(problem.line)))
        if problem.column is not None:
            properties.append(("col", str(problem.column)))
    properties.append(("title", ANNOTATION_TITLE))
    # printable first (reconciler.escape): a file name or message with a line break or an
    # escape sequence shows it as ``\n``, never lays out or colours text of its own.
    rendered = ",".join(f"{name}={escape_property(printable(value))}" for name, value in properties)
    message = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return f"::{level} {rendered}::{escape_data(printable(message))}"


def render_github(problems: Sequence[Problem]) -> list[str]:
    """One workflow command per problem, sorted, at most ``MAX_SHOWN`` (then a plain line
    that counts the rest); the CLI prints them on stdout."""
    shown, left_out = shown_problems(problems)
    lines = [github_annotation(problem) for problem in shown]
    return lines + ([more_line(left_out)] if left_out else [])


def render_validation_json(
    problems: Sequence[Problem], *, users: int | None = None, files: int | None = None
) -> str:
    """``{"valid": ..., "problems": [...]}``, plus how many users and files were checked if known.

    ``valid`` is simply "no problems", so a caller cannot produce a contradictory document.
    """
    shown, left_out = shown_problems(problems)
    return validation_json(shown, left_out, valid=not problems, users=users, files=files)


def render_problems_json(problems: Sequence[Problem]) -> str:
    """The JSON document for a failed validation (no counts: the files could not be read)."""
    return render_validation_json(problems)
