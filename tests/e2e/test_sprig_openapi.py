"""Every request reconciler's Sprig provider sends, and every answer the emulator gives it, is
valid against Sprig's own OpenAPI document (tests/contract/sprig_openapi.json, issue 13)."""

from __future__ import annotations

from pathlib import Path

from reconciler.sandbox.app import EmulatorApp
from reconciler.sandbox.options import DEFAULT_SPRIG_KEY, EmulatorOptions, resolve_keys
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.wire import Request
from tests.contract.sprig_openapi import request_problem, response_problem
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, seed, write_repo

T0 = 1_626_448_859_836
#: Ids a path must carry as one segment, and values of every type Sprig takes.
USERS = [
    {"id": "plain", "email": "ada@example.com", "attributes": {"plan": "pro", "seats": 3}},
    {"id": ".", "attributes": {"vip": True}},
    {"id": "..", "events": [{"event": "login", "timestamp": T0}]},
    {"id": "a/b c?d#e", "attributes": {"note": "x"}},
    {"id": "ünï 日本", "events": [{"event": "signup", "timestamp": T0 + 1}]},
    {"id": "no-changes"},
]


def test_provider_requests_and_emulator_answers_follow_the_vendor_document(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    seed(running, "sprig", [{"userId": "plain", "attributes": {"plan": "free"}}])
    repo = write_repo(tmp_path, running, "sprig", USERS)
    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
    sent = [r for r in running.requests if r.vendor == "sprig"]
    assert {r.method for r in sent} == {"GET", "POST"}
    for request in sent:
        problem = request_problem(
            request.method, request.path, request.body, request.content_type, request.auth
        )
        assert problem is None, (request.method, request.path, problem)
    # The same requests, in the same order, answered by a fresh emulator in process.
    options = EmulatorOptions()
    app = EmulatorApp(UserStore(tmp_path / "replay.db"), options, resolve_keys(options, {}))
    headers = {"authorization": f"API-Key {DEFAULT_SPRIG_KEY}", "content-type": "application/json"}
    app.handle(Request("POST", "/v2/users", headers, b'{"userId": "plain"}'))
    statuses = []
    for request in sent:
        answer = app.handle(Request(request.method, request.path, headers, request.body))
        app.flush()
        statuses.append(answer.status)
        problem = response_problem(
            (request.method, request.path, request.body),
            answer.status,
            answer.body,
            answer.content_type,
        )
        assert problem is None, (request.method, request.path, answer.status, problem)
    app.close()
    assert set(statuses) <= {200, 202, 404}
