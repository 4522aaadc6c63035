"""The rough edges a newcomer hit (issue 24 point 6): each mistake gets a message that says what
to do, through the real CLI."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.e2e.conftest import Run


@pytest.mark.parametrize(
    ("args", "said", "not_said"),
    [
        (("apply", "--dry-run"), "`reconciler plan` is the dry run", "--prune"),
        (("plan", "--dry-run"), "`reconciler plan` is the dry run", "--prune"),
        (("apply", "-auto-approve"), "pass --yes", "'-a'"),
        (("apply", "--auto-approve"), "pass --yes", "No such option '--auto-approve'."),
        (("plan", "-detailed-exitcode"), "two dashes: --detailed-exitcode", "'-d'"),
    ],
)
def test_flags_from_other_tools_point_to_ours(
    example_repo: Path, run: Run, args: tuple[str, ...], said: str, not_said: str
) -> None:
    result = run(*args, cwd=example_repo)
    assert result.code == 1
    assert said in result.stderr and not_said not in result.stderr


def test_a_busy_port_says_which_flag_picks_another(example_repo: Path, run: Run) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("sandbox", "serve", "--port", str(port), cwd=example_repo, in_subprocess=True)
    assert result.code == 1
    assert "Errno" not in result.stderr
    assert f"127.0.0.1:{port}: the port is already in use" in result.stderr
    assert f"--port {port + 1} (--port 0 picks a free one)" in result.stderr


def test_an_indentation_error_names_the_line_and_the_fix(example_repo: Path, run: Run) -> None:
    bad = 'users:\n  - id: "a1"\n    attributes:\n      plan: pro\n     seats: 3\n'
    (example_repo / "users" / "bad.yaml").write_text(bad)
    result = run("validate", cwd=example_repo)
    assert result.code == 1
    assert "users/bad.yaml:5:6: invalid YAML: this line is indented unlike the mapping" in (
        result.stderr
    )
    assert "indent it exactly like the keys above it, with spaces" in result.stderr
    assert "did not find expected key" not in result.stderr


def test_a_latin1_file_is_asked_to_be_saved_as_utf8(example_repo: Path, run: Run) -> None:
    text = 'users:\n  - id: "a1"\n    attributes: {city: "Troms\u00f8"}\n'
    (example_repo / "users" / "latin1.yaml").write_bytes(text.encode("latin-1"))
    result = run("validate", cwd=example_repo)
    assert result.code == 1
    assert "users/latin1.yaml:3:30: the file is not UTF-8" in result.stderr
    assert "save it as UTF-8" in result.stderr


CONFIG = "targets:\n  prod:\n    provider: {provider}\n    base_url: {url}\n"
CONFIG += "    api_key_env: SPRIG_API_KEY\nusers: [users/]\n"


def test_a_base_url_without_a_scheme_says_to_write_one(example_repo: Path, run: Run) -> None:
    config = CONFIG.format(provider="sprig", url="api.sprig.com")
    (example_repo / "reconciler.yaml").write_text(config)
    result = run("validate", cwd=example_repo)
    assert result.code == 1
    assert "'api.sprig.com' has no scheme: write https:// before the host" in result.stderr


def test_provider_userleap_is_told_it_is_sprig(example_repo: Path, run: Run) -> None:
    config = CONFIG.format(provider="userleap", url="https://api.sprig.com")
    (example_repo / "reconciler.yaml").write_text(config)
    result = run("validate", cwd=example_repo)
    assert result.code == 1
    assert "UserLeap is Sprig's former name: write provider: sprig" in result.stderr
