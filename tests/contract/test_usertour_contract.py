"""The emulator answers the recorded Usertour session like the real server did.

usertour_session.json holds the real server's answers (record_usertour.py re-records them);
here each request is replayed, in order, against the emulator in process, and each answer is
compared structurally (compare.py): status, media type and body, generated values aside.
No server is needed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox.app import EmulatorApp
from reconciler.sandbox.options import DEFAULT_USERTOUR_KEY, EmulatorOptions, resolve_keys
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.wire import Request, Response
from tests.contract.compare import structural_diff
from tests.contract.exchange import answer_body, media_type, outgoing

HERE = Path(__file__).parent
SESSION = json.loads((HERE / "usertour_session.json").read_text(encoding="utf-8"))
RACE = json.loads((HERE / "usertour_race.json").read_text(encoding="utf-8"))
EXCHANGES = [entry for entry in SESSION["exchanges"] if entry["compare"]]

Answer = tuple[int, "str | None", Any]


def _app(path: Path, **options: Any) -> EmulatorApp:
    chosen = EmulatorOptions(**options)
    return EmulatorApp(UserStore(path), chosen, resolve_keys(chosen, environ={}))


def _send(app: EmulatorApp, request: dict[str, Any], answers: dict[str, Any]) -> Answer:
    sent = outgoing(request, DEFAULT_USERTOUR_KEY, answers)
    if not isinstance(sent.target, str):  # the URL to follow is missing from an answer
        return 0, None, f"nothing to follow: {request['follow']} is {sent.target!r}"
    headers = {name.lower(): value for name, value in sent.headers.items()}
    response: Response = app.handle(Request(sent.method, sent.target, headers, sent.body))
    body = answer_body(response.body, response.content_type)
    return response.status, media_type(response.content_type), body


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Answer]]:
    """Every step of the session replayed once, in order, against one fresh emulator."""
    app = _app(tmp_path_factory.mktemp("contract") / "emulator.db")
    answers: dict[str, Any] = {}
    results: dict[str, Answer] = {}
    for entry in SESSION["exchanges"]:
        results[entry["name"]] = _send(app, entry["request"], answers)
        answers[entry["name"]] = results[entry["name"]][2]
    yield results
    app.close()


def test_the_fixture_was_recorded_from_a_real_server() -> None:
    assert SESSION["server"] == "usertour" and SESSION["commit"]
    assert len(EXCHANGES) >= 50
    assert "Bearer" not in json.dumps(SESSION)  # roles, never keys


@pytest.mark.parametrize("entry", EXCHANGES, ids=[entry["name"] for entry in EXCHANGES])
def test_emulator_answers_like_the_real_server(
    replayed: dict[str, Answer], entry: dict[str, Any]
) -> None:
    status, content_type, body = replayed[entry["name"]]
    recorded = entry["body"]
    deletion_id = isinstance(recorded, dict) and recorded.get("object") == "companyMembership"
    assert (status, content_type) == (entry["status"], entry["content_type"]), body
    assert structural_diff(recorded, body, ids=deletion_id) == {}


def test_first_write_race_answers_like_the_server(tmp_path: Path) -> None:
    """Concurrent upserts introducing the same new attribute names: some lose with the
    server's 500 E0000 and write nothing; sent again, they succeed."""
    app = _app(tmp_path / "emulator.db", first_write_race_ms=500)
    count = RACE["concurrent"]
    requests = [
        {"method": "POST", "path": "/v1/users", "auth": "key",
         "body": {"id": f"racer{i}", "attributes": {"plan": i, "seats": i}}}
        for i in range(count)
    ]  # fmt: skip
    answers: list[Answer] = []
    barrier = threading.Barrier(count)

    def race(request: dict[str, Any]) -> None:
        barrier.wait()
        answers.append(_send(app, request, {}))

    threads = [threading.Thread(target=race, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failures = [body for status, _, body in answers if status == 500]
    assert 500 in RACE["statuses"] and RACE["failure"] is not None  # seen on the real server
    assert {status for status, _, _ in answers} == {201, 500}
    assert all(structural_diff(RACE["failure"], body) == {} for body in failures)
    lost = [r for r in requests if _send(app, {**r, "method": "GET",
            "path": f"/v1/users/{r['body']['id']}"}, {})[0] == 404]  # fmt: skip
    assert len(lost) == len(failures)  # a loser wrote nothing
    assert [_send(app, request, {})[0] for request in lost] == [201] * len(lost)
    app.close()
