"""The one table from errors and outcomes to exit codes (cli/exits.py, SPEC section 4)."""

from __future__ import annotations

import click
import pytest

from reconciler.cli.exits import apply_exit_code, exit_code_of
from reconciler.errors import (
    ConfigError,
    EmulatorError,
    ListingBroken,
    MissingKey,
    OutcomeUnknown,
    ReconcilerError,
    RefusedError,
    StoreError,
    TargetError,
    UnwritableError,
    ValidationError,
)
from reconciler.planned import ApplyReport, Status, UserOutcome


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (RefusedError("apply cancelled: nothing was sent"), 3),
        (ValidationError([]), 1),
        (ConfigError("unknown target x"), 1),
        (MissingKey("prod", "SPRIG_API_KEY"), 1),
        (TargetError("prod", "401"), 1),
        (ListingBroken("prod", "400 E1007"), 1),
        (UnwritableError("does not read back"), 1),
        (OutcomeUnknown("outcome unknown, re-run apply later"), 1),
        (StoreError("cannot open"), 1),
        (EmulatorError("port in use"), 1),
        (ReconcilerError("anything else"), 1),
        (click.UsageError("--all imports every user"), 1),  # never click's 2: "changes"
        (click.BadParameter("'abc' is too short"), 1),
        (KeyboardInterrupt(), 130),
        (click.Abort(), 130),
    ],
)
def test_each_error_kind_has_its_exit_code(error: BaseException, code: int) -> None:
    assert exit_code_of(error) == code


def test_the_errors_carry_no_exit_code_of_their_own() -> None:
    """The library raises by meaning; only the CLI knows the numbers."""
    assert not hasattr(RefusedError("x"), "exit_code")


def outcome(status: Status) -> UserOutcome:
    return UserOutcome(target="prod", user_id="u1", status=status)


def report(*statuses: Status) -> ApplyReport:
    return ApplyReport(tuple(outcome(status) for status in statuses), {"prod": 0.1})


@pytest.mark.parametrize(
    ("statuses", "interrupted", "code"),
    [
        (("applied",), False, 0),
        (("applied", "failed", "not_visible"), False, 1),
        (("applied", "unconfirmed"), False, 1),
        (("applied", "not_visible"), False, 4),
        (("applied", "skipped"), True, 130),
    ],
)
def test_an_apply_ends_with_the_code_of_its_worst_outcome(
    statuses: tuple[Status, ...], interrupted: bool, code: int
) -> None:
    assert apply_exit_code(report(*statuses), interrupted) == code
