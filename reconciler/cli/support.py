"""The CLI's helpers around plan and apply: checksums, confirmation, interruption, and writing
what CI reads (plan files, the job summary).

Split from the commands so that they keep to their steps; like them, this is the edge where
errors become messages, and nothing here is called by the library.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import click

from reconciler.errors import ConfigError, RefusedError
from reconciler.load.config import display_path
from reconciler.model import ApplyReport, Plan
from reconciler.plan.planfile import plan_checksum
from reconciler.providers.base import Provider
from reconciler.render.output import PlanView, apply_json_chunks

#: Shortest checksum prefix apply --checksum accepts (48 bits: no accidental match).
MIN_CHECKSUM = 12


class Interrupts:
    """SIGINT and SIGTERM during apply, as a cancelled CI job sends them (SIGINT, SIGTERM 7.5 s
    later, then a kill of the process tree 2.5 s after that).

    Before anything is sent, a signal ends the run at once (exit 130, "Interrupted."; nothing
    sent). While sending, the first one stops the run: no new request starts (``stop`` is set
    and every provider told, so retry pauses and polls end too), requests in flight get a
    moment, and the report is printed. A second one exits at once: what was sent is in the
    write-ahead record already, line by line.
    """

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.sending = False
        self.providers: list[Provider] = []

    def __call__(self, signum: int, frame: object) -> None:
        if not self.sending:
            raise KeyboardInterrupt
        if self.stop.is_set():
            click.echo("Interrupted again: exiting now.", err=True)
            os._exit(130)
        click.echo("Interrupted: sending nothing new; reporting what was sent.", err=True)
        self.stop.set()
        for provider in self.providers:
            provider.stop_sending()


@contextmanager
def interruptible(interrupts: Interrupts) -> Iterator[Interrupts]:
    """SIGINT and SIGTERM handled by ``interrupts`` for the body (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield interrupts
        return
    previous = {sig: signal.signal(sig, interrupts) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield interrupts
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def checksum_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--checksum SHA is 12 to 64 hex digits (the ``Plan checksum:`` line, or its start): a
    typo is a usage error of its own, not "the plan changed"."""
    if value is None:
        return None
    wanted = value.strip().lower()
    if not MIN_CHECKSUM <= len(wanted) <= 64 or any(c not in "0123456789abcdef" for c in wanted):
        what = "not hexadecimal" if len(wanted) >= MIN_CHECKSUM else "too short"
        raise click.BadParameter(
            f"{value!r} is {what}: give the 64 hex digits of the plan's `Plan checksum:` line, "
            f"or at least its first {MIN_CHECKSUM}",
        )
    return wanted


def check_checksum(the_plan: Plan, expected: str | None) -> None:
    """Refuse when the plan is not the reviewed one, naming what the plan now does, so that
    it can be held against the reviewed one (the checksum alone cannot say what differs)."""
    if expected is None:
        return
    actual = plan_checksum(the_plan)
    if not actual.startswith(expected):
        raise RefusedError(
            f"the plan checksum is now {actual}, not {expected}: the declarations or the live "
            f"users changed since that plan was reviewed. The plan now {plan_contents(the_plan)}. "
            "Run plan again and review it. Nothing was sent."
        )


#: Users named per target in a refusal; the rest are counted.
NAMED_USERS = 10


def plan_contents(the_plan: Plan) -> str:
    """``changes target prod: u1, u2 and 3 more; deletes on target t: u9`` (ids, sorted)."""
    parts = []
    for target in the_plan.targets:
        ids = [change.user_id for change in target.changes]
        if ids:
            parts.append(f"changes on target {target.target}: {_some(ids)}")
        deleted = [deletion.user_id for deletion in target.deletions]
        if deleted:
            parts.append(f"deletes on target {target.target}: {_some(deleted)}")
    return "; ".join(parts) if parts else "changes nothing"


def _some(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:NAMED_USERS])
    return f"{shown} and {len(ids) - NAMED_USERS} more" if len(ids) > NAMED_USERS else shown


def write_private(path: Path, text: str) -> None:
    """A saved plan: readable by its owner only, even where a file was before (its values are
    masked, but it still names users and shows the values a plan prints)."""
    write_atomically(path, text, private=True)


def write_atomically(path: Path, text: str, *, private: bool = False) -> None:
    """Write a temporary file next to ``path``, then rename it over: a reader (or an editor, or
    an interrupted run) sees the old file or the new one, never half of it. A replaced file
    keeps its permissions and a new one gets the usual ones (the umask), unless ``private``:
    then it is readable by its owner only, whatever was there before."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else None
        if private:
            mode = 0o600
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode or 0o666)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            if mode is not None:
                os.chmod(temporary, mode)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    except OSError as error:
        raise ConfigError(f"cannot write {display_path(path)}: {error.strerror}") from error


def step_summary(markdown: Callable[[], str]) -> None:
    """On GitHub Actions, append to the job's summary page too (rendered only there)."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as file:
            file.write(markdown().rstrip("\n") + "\n\n")


def apply_markdown(report: ApplyReport) -> str:
    """The (masked) apply report for the job summary."""
    from reconciler.render.markdown import render_apply_markdown

    return render_apply_markdown(report)


#: Characters written to stdout at once while a JSON report is streamed.
JSON_BATCH = 1 << 16


def finish_json(output_format: str, shown: PlanView, report: ApplyReport | None) -> None:
    """``apply --format json``: the plan and the outcome, written as it is encoded (the text
    of a large plan is never held whole)."""
    if output_format != "json":
        return
    batch: list[str] = []
    size = 0
    for chunk in apply_json_chunks(shown, report):
        batch.append(chunk)
        size += len(chunk)
        if size >= JSON_BATCH:
            click.echo("".join(batch), nl=False)
            batch, size = [], 0
    click.echo("".join(batch))


def confirm(the_plan: Plan, assume_yes: bool) -> None:
    """Ask like Terraform does: only the exact answer "yes" applies."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise RefusedError("apply needs a confirmation and there is no terminal: pass --yes")
    count = sum(len(t.changes) for t in the_plan.targets)
    what = f"Apply these changes to {count} user{'s' if count != 1 else ''}"
    if the_plan.deletes:
        what += f" and delete {the_plan.deletes} user{'s' if the_plan.deletes != 1 else ''}"
    answer = click.prompt(
        f"{what}? Only 'yes' applies",
        default="",
        show_default=False,
        err=True,
    )
    if answer.strip() != "yes":
        raise RefusedError("apply cancelled: nothing was sent")
