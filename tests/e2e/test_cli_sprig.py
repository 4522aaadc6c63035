"""Sprig over HTTP against the emulator: the plan/apply loop, events, email, ids, auth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, methods, seed, upserts, write_repo

T0 = 1_626_448_859_836


def _declared(index: int, plan: str = "pro") -> dict[str, Any]:
    return {
        "id": f"user-{index:03d}",
        "email": f"user{index}@example.com",
        "attributes": {"plan": plan, "seats": index},
        "events": [{"event": "login", "timestamp": T0 + index}],
    }


def _live(index: int, plan: str) -> dict[str, Any]:
    return {
        "userId": f"user-{index:03d}",
        "emailAddress": f"user{index}@example.com",
        "attributes": {"plan": plan, "seats": index},
        "events": [{"event": "login", "timestamp": T0 + index}],
    }


def test_66_declared_30_live_plan_apply_converge(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    # 30 live: 20 equal to the declarations, 10 differing in one attribute.
    seed(running, "sprig", [_live(i, "pro") for i in range(20)])
    seed(running, "sprig", [_live(i, "free") for i in range(20, 30)])
    repo = write_repo(tmp_path, running, "sprig", [_declared(i) for i in range(66)])

    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 2, planned.stderr
    assert "Plan: 36 to create, 10 to update, 20 unchanged." in planned.stdout
    assert set(methods(running)) == {"GET"}
    assert len(running.requests) == 66
    assert {r.auth for r in running.requests} == {"API-Key"}
    assert KEYS["SPRIG_API_KEY"] not in planned.stdout + planned.stderr
    running.clear_requests()

    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    posts = [r for r in running.requests if r.method == "POST"]
    assert len(posts) == 46
    for post in posts:
        body = post.json()
        if body["userId"] < "user-030":  # an update: the login is already recorded
            assert "events" not in body, body
            assert body["attributes"] == {"plan": "pro"}
    running.clear_requests()

    again = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert again.code == 0, again.stdout
    reapplied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert reapplied.code == 0
    assert "POST" not in methods(running)


def test_email_round_trips_through_bang_email(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", [{"id": "u1", "email": "ada@example.com"}])
    assert run("apply", "--yes", cwd=repo, env=KEYS).code == 0
    (post,) = upserts(running)
    assert post.json() == {"userId": "u1", "emailAddress": "ada@example.com"}
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_weird_ids_are_one_path_segment(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    running = emulator()
    ids = ["a/b", "../../etc/passwd", "x?y#z", "100%", "with space", "ünïcødé"]
    repo = write_repo(tmp_path, running, "sprig", [{"id": i, "attributes": {"k": 1}} for i in ids])
    assert run("apply", "--yes", cwd=repo, env=KEYS).code == 0
    gets = {r.path for r in running.requests if r.method == "GET"}
    for user_id in ids:
        assert f"/v2/users/{quote(user_id, safe='')}" in gets
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_visibility_delay_is_waited_for(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    running = emulator(visibility_delay_ms=400)
    repo = write_repo(tmp_path, running, "sprig", [_declared(i) for i in range(3)])
    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout
    assert "Apply complete: 3 applied, 0 failed." in applied.stdout
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_a_wait_that_runs_out_is_not_visible_yet_not_a_refusal(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 14: Sprig slower than --wait is "not visible yet", exit 4, apart from "not kept"
    (exit 1), in the text and in the JSON report."""
    running = emulator(visibility_delay_ms=3000)
    seed(running, "sprig", [_live(0, "free")])
    repo = write_repo(tmp_path, running, "sprig", [_declared(0), _declared(1)])
    text = run("apply", "--yes", "--wait", "0.2", cwd=repo, env=KEYS)
    assert text.code == 4, text.stdout + text.stderr
    assert "user user-000 on prod: not visible yet after 0.2s; run plan later" in text.stdout
    assert "user user-001 on prod: not visible yet after 0.2s; run plan later" in text.stdout
    assert "did not keep" not in text.stdout
    assert "Apply complete: 0 applied, 0 failed, 2 not visible yet." in text.stdout
    running.flush()
    seed(running, "sprig", [_live(0, "free")])
    as_json = run("apply", "--yes", "--wait", "0.2", "--format", "json", cwd=repo, env=KEYS)
    assert as_json.code == 4, as_json.stdout + as_json.stderr
    report = json.loads(as_json.stdout)["apply"]
    assert (report["failed"], report["not_visible"]) == (0, 1)
    assert [p["status"] for p in report["problems"]] == ["not_visible"]


def test_wrong_key_exits_1_and_never_prints_it(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", [{"id": "u1"}])
    secret = "sk-wrong-and-secret-123"
    result = run("plan", "-v", cwd=repo, env={"SPRIG_API_KEY": secret})
    assert result.code == 1
    assert "rejected the API key from $SPRIG_API_KEY (401" in result.stderr
    assert secret not in result.stdout + result.stderr


def test_missing_key_variable_names_it_before_any_request(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", [{"id": "u1"}])
    result = run("plan", cwd=repo)
    assert result.code == 1
    assert "SPRIG_API_KEY" in result.stderr and "prod" in result.stderr
    assert running.requests == []


def test_vendor_4xx_is_reported_in_its_own_words(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", [{"id": "u1", "attributes": {"a": "x"}}])
    # 101 attributes on the live user are refused by Sprig's cap: a 400 with its message.
    seed(running, "sprig", [{"userId": "u1", "attributes": {f"a{i}": i for i in range(100)}}])
    result = run("apply", "--yes", cwd=repo, env=KEYS)
    assert result.code == 1
    assert "user u1 on prod failed" in result.stdout
    assert "400" in result.stdout


def test_base_url_outside_allowed_hosts_is_refused_before_connecting(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", [{"id": "u1"}])
    config = repo / "reconciler.yaml"
    for url in (
        "https://api.sprig.com.evil.net",
        "https://api.sprig.com@evil.net",
        "http://api.sprig.com",
    ):
        config.write_text(config.read_text().replace(running.url, url))
        result = run("plan", cwd=repo, env=KEYS)
        assert result.code == 1, url
        assert "refusing" in result.stderr or "credentials" in result.stderr, result.stderr
        config.write_text(config.read_text().replace(url, running.url))
    hinted = repo / "reconciler.yaml"
    hinted.write_text(hinted.read_text().replace(running.url, "https://usertour.corp.example"))
    refused = run("plan", cwd=repo, env=KEYS)
    assert "RECONCILER_ALLOWED_HOSTS=sprig:usertour.corp.example" in refused.stderr
    assert running.requests == []


def test_dot_ids_are_encoded_and_events_never_sent_twice(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 13 bug 2: ``.`` and ``..`` went out as dot-segments, which the client removes, so
    the read never found the user and every apply sent its event again."""
    running = emulator()
    users = [{"id": i, "events": [{"event": "login", "timestamp": T0}]} for i in (".", "..")]
    repo = write_repo(tmp_path, running, "sprig", users)
    for _ in range(3):
        assert run("apply", "--yes", cwd=repo, env=KEYS).code == 0
    gets = {r.path for r in running.requests if r.method == "GET"}
    assert {"/v2/users/%2E", "/v2/users/%2E%2E"} <= gets
    posts = [r.json() for r in upserts(running)]
    assert sorted(p["userId"] for p in posts) == [".", ".."]
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_a_wrong_base_url_path_records_nothing_and_names_the_url(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 13 bug 3: Sprig's missing user and a route it lacks are both ``404 Not Found``
    (plain text), so the read cannot tell them apart; the upsert route never answers 404 for
    a user, so the plan apply makes first confirms the route, names the URL, and nothing is
    written (issue 22.6: plan notices too)."""
    running = emulator()
    users = [{"id": "u1", "events": [{"event": "login", "timestamp": T0}]}]
    repo = write_repo(tmp_path, running, "sprig", users)
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text().replace(running.url, f"{running.url}/v2"))
    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 1
    assert f"POST {running.url}/v2/v2/users (an empty body" in applied.stderr
    assert "answered 404 Not Found too" in applied.stderr
    assert "check base_url" in applied.stderr
    assert upserts(running) == []
    config.write_text(config.read_text().replace(f"{running.url}/v2", running.url))
    assert "+ user u1" in run("plan", cwd=repo, env=KEYS).stdout


def test_a_timestamp_written_as_a_whole_float_is_sent_as_the_integer(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 13 bug 4: ``1626448859836.0`` passed validate and then got a 400 from Sprig."""
    running = emulator()
    users = [{"id": "u1", "events": [{"event": "login", "timestamp": float(T0)}]}]
    repo = write_repo(tmp_path, running, "sprig", users)
    assert "1626448859836.0" in (repo / "users" / "all.yaml").read_text()
    assert run("apply", "--yes", cwd=repo, env=KEYS).code == 0
    (post,) = upserts(running)
    assert b'"timestamp": 1626448859836}' in post.body or b'"timestamp":1626448859836}' in post.body
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_a_wrong_base_url_path_is_noticed_before_the_plan_is_shown(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 22.6: a path Sprig has no route for answers ``404 Not Found`` to every GET, like
    a missing user, so every user looked new (31 "to create", exit 0). A plan that finds
    nobody confirms the route: Sprig's upsert route refuses an empty body; a wrong one is 404."""
    running = emulator()
    seed(running, "sprig", [{"userId": "u1", "attributes": {"plan": "pro"}}])
    users = [{"id": "u1", "attributes": {"plan": "pro"}}, {"id": "u2"}]
    repo = write_repo(tmp_path, running, "sprig", users)
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text().replace(running.url, running.url + "/api"))
    planned = run("plan", cwd=repo, env=KEYS)
    assert planned.code != 0 and "to create" not in planned.stdout
    assert "the server has no such route" in planned.stderr and "check base_url" in planned.stderr
    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code != 0 and "no such route" in applied.stderr
    assert [r.method for r in running.requests if r.method == "POST"] == ["POST", "POST"]
    assert all(r.status == 404 for r in running.requests)  # nothing reached Sprig's routes


def test_a_plan_of_only_new_users_confirms_the_route_once_and_writes_nothing(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", [{"id": "n1"}, {"id": "n2"}])
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 2, planned.stdout + planned.stderr
    assert "2 to create" in planned.stdout
    probes = [r for r in running.requests if r.method == "POST"]
    assert [(r.status, r.json()) for r in probes] == [(400, {})]  # refused: nothing written
