"""Typed errors raised by the library: the one hierarchy every caller catches by meaning.

Only the CLI turns them into messages and exit codes (reconciler/cli/exits.py holds the table):

    ReconcilerError             anything a user can act on; shown as its message, exit 1
      ValidationError           located problems in the user's files (all of them at once)
      ConfigError               reconciler.yaml or the environment (MissingKey: a key variable)
      TargetError               a target could not be read or written
        LostAnswer              a write's answer was lost: applied or not, nobody knows yet
        ListingBroken           a listing's cursor stopped working between pages
        NotSent                 a request not sent: the run is stopping (SIGINT, SIGTERM)
      RefusedError              apply refused: a guard, a stale plan, no confirmation (exit 3)
      OutcomeUnknown            a lost answer left a user's events unknowable (reported per user)
      UnwritableError           import would write YAML that does not read back (a bug)
      StoreError, EmulatorError the local sandbox: its SQLite store, its HTTP emulator
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the user's files, located as precisely as we know.

    Rendered as ``file:line:col: field: message`` so editors and CI can jump to it.
    """

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {field}{self.message}"


class ReconcilerError(Exception):
    """Base of every error a user can act on; the message is shown as is, without traceback."""


class ValidationError(ReconcilerError):
    """Config or declarations are invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(
            problems, key=lambda p: (p.file, p.line or 0, p.column or 0, p.field, p.message)
        )
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} found")


class ConfigError(ReconcilerError):
    """Something about reconciler.yaml or the environment that is not a located file problem."""


class MissingKey(ConfigError):
    """A target's key variable is not set: collected over every target, then named at once."""

    def __init__(self, target: str, variable: str) -> None:
        self.target = target
        self.variable = variable
        super().__init__(
            f"target {target}: the environment variable {variable} is not set or empty; "
            f"export {variable}=<API key> (keys never live in reconciler.yaml)"
        )

    @staticmethod
    def combined(missing: list[MissingKey]) -> ConfigError:
        """One error naming every missing variable (one of them: its own message)."""
        if len(missing) == 1:
            return missing[0]
        named = ", ".join(f"{m.variable} (target {m.target})" for m in missing)
        exports = " ".join(f"{m.variable}=<API key>" for m in missing)
        return ConfigError(
            f"the environment variables {named} are not set or empty; "
            f"export {exports} (keys never live in reconciler.yaml)"
        )


class TargetError(ReconcilerError):
    """A target could not be read or written (auth, network, vendor 4xx...)."""

    def __init__(self, target: str, message: str) -> None:
        self.target = target
        super().__init__(f"target {target}: {message}")


class LostAnswer(TargetError):
    """A write was sent but its answer was lost (a 5xx, a timeout, a dropped connection).

    The target may have applied it or not. Resending blindly could record events twice, so the
    client does not resend it; the applier re-reads the user and decides what is left to send.
    Part of the applier's contract with every provider, so it lives here, not with HTTP.
    """

    def __init__(
        self,
        target: str,
        message: str,
        answered: bool = False,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(target, message)
        #: The server answered (a 5xx, or a status whose body could not be read): it is done
        #: with the request. False after a timeout or a dropped connection, when the request
        #: may still be processed.
        self.answered = answered
        #: The HTTP status, when the server answered (``500``): the same write refused with a
        #: 5xx every time is "refused by the server", not "not visible".
        self.status = status
        #: The vendor's words about it, a short excerpt already escaped for printing.
        self.detail = detail


class ListingBroken(TargetError):
    """A listing cannot go on from where it was: its cursor stopped working (Usertour's cursor
    is the last user of the page, and deleting that user between pages breaks it: 400 E1007)."""


class NotSent(TargetError):
    """A request was not sent because the run is stopping (``Provider.stop_sending``): nothing
    left the machine, so nothing of it can have been processed."""


class RefusedError(ReconcilerError):
    """Apply refused to run: safety guard, stale plan, or no confirmation (exit 3)."""


class OutcomeUnknown(ReconcilerError):
    """A lost answer left it unknowable whether events were recorded: sending them again could
    record them twice, not sending them could lose them, so the user is left to a later run.
    The applier reports the user (not an exit of its own): it never reaches the CLI."""


class UnwritableError(ReconcilerError):
    """The YAML written would not read back as the live values: a bug, reported, not written."""


class DecisionsLeft(ReconcilerError):
    """import merged what it could, but values differ between targets: a person decides."""


class StoreError(ReconcilerError):
    """The SQLite file cannot be opened, is from a newer reconciler, or a statement failed."""


class EmulatorError(ReconcilerError):
    """The emulator cannot start: a bad option, a refused host, a port already in use."""
