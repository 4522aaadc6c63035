"""Every kind of bad declaration file: located problem, exit 1, and not one request sent."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, write_repo

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
    f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)

BAD_FILES = {
    "yaml syntax": ("users:\n  - id: 'x\n    email: a@b.co\n", ":2:"),
    "schema": ('users:\n  - id: "x"\n    atributes: {a: 1}\n', ":3:5"),
    "duplicate": ('users:\n  - id: "u1"\n  - id: "u1"\n', ":3:"),
    "float on sprig": ('users:\n  - id: "x"\n    attributes: {ratio: 0.5}\n', ":3:"),
    "null on sprig": ('users:\n  - id: "x"\n    attributes: {gone: null}\n', ":3:"),
    "alias bomb": (BOMB + "users: []\n", ":"),
    "python tag": ('users:\n  - id: !!python/object:os.system "x"\n', ":2:"),
    "not a mapping": ("- just\n- a list\n", ":1:"),
    "control character": ('users:\n  - id: "a\x07b"\n', ":2:"),
    "leading zero": ('users:\n  - id: "x"\n    attributes: {zip: 01234}\n', ":3:"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_located_and_nothing_is_sent(
    name: str, run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", [{"id": "good", "attributes": {"a": 1}}])
    text, where = BAD_FILES[name]
    (repo / "users" / "bad.yaml").write_text(text)
    for command in (["validate"], ["plan"], ["apply", "--yes"]):
        result = run(*command, cwd=repo, env=KEYS)
        assert result.code == 1, (name, result.stdout, result.stderr)
        assert f"users/bad.yaml{where}" in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.stderr
    assert running.requests == []


def test_connection_refused_names_the_url(run: Run, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "u.yaml").write_text('users:\n  - id: "u1"\n')
    (tmp_path / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: usertour\n"
        f"    base_url: http://127.0.0.1:{port}\n    api_key_env: USERTOUR_API_KEY\n"
    )
    result = run("plan", cwd=tmp_path, env=KEYS)
    assert result.code == 1
    assert f"cannot connect to http://127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
