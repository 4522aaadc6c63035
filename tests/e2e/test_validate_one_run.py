"""Validation in one run (issue 14): a newcomer's file with problems of every kind is reported
whole by one `validate`; `validate --target T` says only what concerns T."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ALL_KINDS_CONFIG, write_repo
from tests.e2e.conftest import Run

CONFIG = ALL_KINDS_CONFIG + "users: [users/]\n"
#: A dialect problem, a bad id, a schema type, Sprig's reserved names, an unknown target.
NEWCOMER = """\
users:
  - id: 01234
    attributes:
      plan: pro
      "!vip": true
  - id: ""
    email: not-an-email
    attributes:
      "!x": 1
    events:
      - {event: login, timestamp: yesterday}
  - id: u3
    targets: [production, nowhere]
    attributes: {"!y": 2}
"""


def test_a_newcomers_file_is_fully_reported_in_one_validate(run: Run, tmp_path: Path) -> None:
    write_repo(tmp_path, {"users/new.yaml": NEWCOMER}, CONFIG)
    result = run("validate", cwd=tmp_path)
    assert result.code == 1
    lines = result.stderr.splitlines()
    reserved = "names starting with '!' are reserved by target production (sprig): rename it"
    assert lines == [
        "users/new.yaml:2:9: users[0].id: a number would lose its leading zero; "
        "quote it (in double quotes) to keep it as written",
        f'users/new.yaml:5:7: users[0].attributes["!vip"]: {reserved}',
        "users/new.yaml:6:5: users[1].id: '' is not a valid user id",
        "users/new.yaml:6:5: users[1].id: must not be empty",
        "users/new.yaml:7:5: users[1].email: is not an email address (like name@example.com)",
        f'users/new.yaml:9:7: users[1].attributes["!x"]: {reserved}',
        "users/new.yaml:11:24: users[1].events[0].timestamp: expected an integer, got a string",
        "users/new.yaml:13:27: users[2].targets[1]: unknown target 'nowhere' "
        "(configured: local, onboarding, production)",
        f'users/new.yaml:14:18: users[2].attributes["!y"]: {reserved}',
        "Error: 9 problems found",
    ], result.stderr


def test_validate_target_reports_only_what_concerns_that_target(run: Run, tmp_path: Path) -> None:
    write_repo(tmp_path, {"users/new.yaml": NEWCOMER}, CONFIG)
    everything = run("validate", cwd=tmp_path).stderr
    onboarding = run("validate", "--target", "onboarding", cwd=tmp_path).stderr
    assert "reserved by target production" in everything
    assert "production" not in onboarding.replace("(configured: local, onboarding, production)", "")
    assert (
        "users[0].id: a number would lose its leading zero" in onboarding
    )  # the file's own problems stay
    assert "Error: 6 problems found" in onboarding, onboarding


#: Two users of the sandbox alone disagreeing on a company's name: it concerns local only.
COMPANY_ON_LOCAL = """\
users:
  - id: a
    targets: [local]
    companies: [{id: acme, attributes: {name: Acme}}]
  - id: b
    targets: [local]
    companies: [{id: acme, attributes: {name: Acme Inc}}]
"""
#: Two users of Usertour alone declaring one attribute with two types: onboarding only.
TYPES_ON_ONBOARDING = """\
users:
  - id: c
    targets: [onboarding]
    attributes: {seats: 3}
  - id: d
    targets: [onboarding]
    attributes: {seats: "3"}
"""


def test_validate_target_leaves_out_other_targets_company_conflicts(
    run: Run, tmp_path: Path
) -> None:
    """Review finding: the company-conflict check ignored --target."""
    write_repo(tmp_path, {"users/a.yaml": COMPANY_ON_LOCAL}, CONFIG)
    conflict = "company 'acme' gets another value for 'name'"
    for args in ((), ("--target", "local")):
        result = run("validate", *args, cwd=tmp_path)
        assert result.code == 1 and conflict in result.stderr, result.stderr
    for target in ("onboarding", "production"):
        result = run("validate", "--target", target, cwd=tmp_path)
        assert result.code == 0 and "acme" not in result.stderr, result.stderr


def test_validate_target_leaves_out_other_targets_type_warnings(run: Run, tmp_path: Path) -> None:
    """Review finding: the one-name-one-type warning ignored --target."""
    write_repo(tmp_path, {"users/c.yaml": TYPES_ON_ONBOARDING}, CONFIG)
    warning = "attribute 'seats' is declared as"
    for args in ((), ("--target", "onboarding")):
        result = run("validate", *args, cwd=tmp_path)
        assert result.code == 0 and warning in result.stderr, result.stderr
    for target in ("local", "production"):
        result = run("validate", "--target", target, cwd=tmp_path)
        assert result.code == 0 and "seats" not in result.stderr, result.stderr
