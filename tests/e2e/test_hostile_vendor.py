"""The CLI against hostile loopback servers (issue 21): each run ends within its deadline with
one ``Error:`` line or a per-user outcome and the report, never a traceback or a hang."""

from __future__ import annotations

import gzip
from pathlib import Path

import yaml

from tests.cli_process import run_reconciler
from tests.faults import HostileServer, answer_bytes, nested

#: A deadline a loaded machine cannot run out of (the answers here come at once): a test of an
#: unreadable answer must not end at "no complete answer within 1s" instead.
KEY = {"SPRIG_API_KEY": "k", "RECONCILER_HTTP_DEADLINE": "30"}
#: The deadline that ends a dripped answer, where the deadline is the point.
DRIP = {**KEY, "RECONCILER_HTTP_DEADLINE": "1"}


def _repo(root: Path, url: str, users: int = 2) -> Path:
    config = {
        "targets": {"prod": {"provider": "sprig", "base_url": url, "api_key_env": "SPRIG_API_KEY"}},
        "users": ["users.yaml"],
    }
    (root / "reconciler.yaml").write_text(yaml.safe_dump(config))
    declared = [{"id": f"u{n}", "attributes": {"plan": "pro"}} for n in range(users)]
    (root / "users.yaml").write_text(yaml.safe_dump({"users": declared}))
    return root


def _one_error(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_plan_against_a_server_that_drips_its_status_line_ends_at_the_deadline(
    tmp_path: Path,
) -> None:
    drip = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 500
    with HostileServer(drip=drip, every=0.1, give_up=10) as server:
        planned = run_reconciler("plan", cwd=_repo(tmp_path, server.url), env=DRIP)
    assert planned.code == 1
    assert "no complete answer within 1s" in _one_error(planned.stderr)


def test_plan_against_json_nested_100000_deep_says_unreadable(tmp_path: Path) -> None:
    answer = answer_bytes(200, nested(100_000), {"Content-Type": "application/json"})
    with HostileServer(head=answer) as server:
        planned = run_reconciler("plan", cwd=_repo(tmp_path, server.url), env=KEY)
    assert planned.code == 1
    assert "unreadable answer for user" in _one_error(planned.stderr)
    assert "JSON nested deeper than 64 levels" in planned.stderr


def _missing_users_and_a_gzip_lie(request: bytes) -> tuple[bytes, bytes]:
    """Sprig's own 404 for every read; a 202 that claims gzip and is not, for every write (but
    Sprig's 400 to the empty body with which a plan that found nobody confirms the route)."""
    if request.startswith(b"GET"):
        return answer_bytes(404, b"Not Found"), b""
    if request.endswith(b"\r\n\r\n{}"):
        return answer_bytes(400, b'{"error": "userId is required"}'), b""
    return answer_bytes(202, b"Accepted", {"Content-Encoding": "gzip"}), b""


def test_apply_whose_answers_cannot_be_decoded_ends_with_its_report(tmp_path: Path) -> None:
    """httpx.DecodingError escaped the client and ended apply with a traceback, no report,
    after other users' POSTs were sent. Now each user has an outcome and the report prints."""
    with HostileServer(route=_missing_users_and_a_gzip_lie) as server:
        applied = run_reconciler(
            "apply", "--yes", "--wait", "1", cwd=_repo(tmp_path, server.url), env=KEY
        )
    assert "Traceback" not in applied.both
    last = applied.stdout.strip().splitlines()[-1]
    assert last.startswith("Apply complete: 0 applied"), applied.both
    assert applied.code != 0


def test_a_bomb_in_a_read_is_not_inflated(tmp_path: Path) -> None:
    bomb = gzip.compress(b"\0" * (32 * 1024 * 1024))
    answer = answer_bytes(200, bomb, {"Content-Encoding": "gzip"})
    with HostileServer(head=answer) as server:
        planned = run_reconciler("plan", cwd=_repo(tmp_path, server.url), env=KEY)
    assert planned.code == 1
    assert "an answer larger than 8 MiB" in _one_error(planned.stderr)


def test_writes_whose_every_answer_is_unreadable_are_outcome_unknown_not_applied(
    tmp_path: Path,
) -> None:
    """A write of fields only whose every answer was lost: nothing proves it applied, so it is
    "outcome unknown" (exit 1), neither "not visible yet" (--wait) nor "applied" (--no-wait)."""
    for flags in (("--wait", "1"), ("--no-wait",)):
        repo = tmp_path / flags[0].strip("-")
        repo.mkdir()
        with HostileServer(route=_missing_users_and_a_gzip_lie) as server:
            applied = run_reconciler("apply", "--yes", *flags, cwd=_repo(repo, server.url), env=KEY)
        assert applied.code == 1, applied.both
        last = applied.stdout.strip().splitlines()[-1]
        assert last == "Apply complete: 0 applied, 0 failed, 2 outcome unknown.", applied.both
        assert "not confirmed: outcome unknown, re-run apply later" in applied.stdout


def test_a_usertour_write_refused_by_every_attempt_is_named_refused(tmp_path: Path) -> None:
    """Issue 21.5: the real Usertour server answers 500 to the same body every time (a NUL):
    after the resends, a read shows the user does not hold it: "refused by the server", not
    "not confirmed: not visible on the target" nor "did not keep" (a type-lock story)."""

    def refuse_every_write(request: bytes) -> tuple[bytes, bytes]:
        if request.startswith(b"GET"):
            body = b'{"error": {"code": "E1001", "message": "User not found"}}'
            return answer_bytes(404, body), b""
        return answer_bytes(500, b'{"error": {"code": "E0000", "message": "Internal"}}'), b""

    config = {
        "targets": {
            "prod": {"provider": "usertour", "base_url": "", "api_key_env": "USERTOUR_API_KEY"}
        },
        "users": ["users.yaml"],
    }
    with HostileServer(route=refuse_every_write, give_up=30) as server:
        config["targets"]["prod"]["base_url"] = server.url
        (tmp_path / "reconciler.yaml").write_text(yaml.safe_dump(config))
        (tmp_path / "users.yaml").write_text(
            yaml.safe_dump({"users": [{"id": "u1", "attributes": {"plan": "pro"}}]})
        )
        applied = run_reconciler(
            "apply", "--yes", cwd=tmp_path, env={"USERTOUR_API_KEY": "k-usertour"}
        )
    assert applied.code == 1, applied.both
    assert "user u1 on prod failed: refused by the server: every attempt failed" in applied.stdout
    assert "500" in applied.stdout and "did not keep" not in applied.stdout
