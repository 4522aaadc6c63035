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
    # Issue 13 bug 4: what the servers refuse or round.
    "blank id": ('users:\n  - id: "  "\n', ":2:5"),
    "beyond 2^53": ('users:\n  - id: "x"\n    attributes: {n: 9007199254740993}\n', ":3:21"),
    "below -2^53": ('users:\n  - id: "x"\n    attributes: {n: -9007199254740993}\n', ":3:21"),
    "infinity": ('users:\n  - id: "x"\n    attributes: {n: 1e400}\n', ":3:21"),
    "5000 digits": ('users:\n  - id: "x"\n    attributes: {n: ' + "9" * 5000 + "}\n", ":3:21"),
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
    assert f"cannot connect to http://127.0.0.1:{port}: connection refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_tls_to_a_plain_http_port_says_tls(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 14: a ConnectError says why (here: https:// to the emulator's plain http port)."""
    running = emulator()
    url = running.url.replace("http://", "https://")
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "u.yaml").write_text('users:\n  - id: "u1"\n')
    (tmp_path / "reconciler.yaml").write_text(
        "targets:\n  prod:\n    provider: usertour\n"
        f"    base_url: {url}\n    api_key_env: USERTOUR_API_KEY\n"
    )
    result = run("plan", cwd=tmp_path, env={**KEYS, "RECONCILER_RETRY_ATTEMPTS": "1"})
    assert result.code == 1
    assert f"cannot connect to {url}: TLS handshake failed" in result.stderr, result.stderr


def test_one_company_with_two_values_names_both_places(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 13 bug 4: the last upsert would win and verification then fails the other user."""
    running = emulator()
    repo = write_repo(tmp_path, running, "usertour", [{"id": "good"}])
    (repo / "users" / "a.yaml").write_text(
        "users:\n  - id: u1\n    companies:\n      - {id: acme, attributes: {name: Acme}}\n"
    )
    (repo / "users" / "b.yaml").write_text(
        "users:\n  - id: u2\n    memberships:\n"
        "      - {company: {id: acme, attributes: {name: ACME}}}\n"
        "  - id: u3\n    companies:\n      - {id: ' ', attributes: {x: 1}}\n"
        "      - {id: globex, attributes: {size: 1}}\n"
        "      - {id: globex, attributes: {size: 2}}\n"
    )
    for command in (["validate"], ["plan"], ["apply", "--yes"]):
        result = run(*command, cwd=repo, env=KEYS)
        assert result.code == 1, result.stdout
        problems = sorted(result.stderr.splitlines())
        assert problems[0] == "Error: 3 problems found"
        assert problems[1].startswith(
            "users/b.yaml:4:43: users[0].memberships[0].company.attributes.name: company 'acme' "
            "gets another value for 'name' than at users/a.yaml:4:33 "
            "(users[0].companies[0].attributes.name)"
        )
        assert problems[2].startswith(
            "users/b.yaml:7:10: users[1].companies[0].id: the company id is blank"
        )
        assert problems[3].startswith(
            "users/b.yaml:9:35: users[1].companies[2].attributes.size: company 'globex' gets "
            "another value for 'size' than at users/b.yaml:8:35 "
        )
    assert running.requests == []
