"""`reconciler schema`: prints the shipped schemas byte for byte, lists them, writes a copy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli.main import main
from reconciler.load.schemas import load_schema, schema_path

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("users", "config", "plan")


def reconciler(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process through ``main`` (which owns the exit codes)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    captured = capsys.readouterr()
    code = exited.value.code
    return code if isinstance(code, int) else 1, captured.out, captured.err


@pytest.mark.parametrize("name", NAMES)
def test_prints_the_schema_exactly_as_shipped(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = reconciler(capsys, "schema", name)
    assert code == 0, err
    assert out == (ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8")
    assert json.loads(out) == load_schema(name)


def test_without_a_name_lists_every_schema_and_where_it_is(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = reconciler(capsys, "schema")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == list(NAMES)
    for name, line in zip(NAMES, lines, strict=True):
        assert line.endswith(str(schema_path(name)))
    assert "reconciler.yaml" in lines[1]


def test_path_prints_the_installed_file(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = reconciler(capsys, "schema", "config", "--path")
    assert code == 0
    assert Path(out.strip()) == schema_path("config")
    assert Path(out.strip()).is_file()


def test_out_writes_an_identical_copy_and_says_how_to_use_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "users.schema.json"
    code, out, err = reconciler(capsys, "schema", "users", "--out", str(target))
    assert code == 0
    assert out == ""
    assert target.read_bytes() == (ROOT / "schemas" / "users.schema.json").read_bytes()
    assert str(target) in err
    assert "yaml-language-server: $schema=" in err


def test_out_creates_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "schemas" / "users.schema.json"
    code, _, _ = reconciler(capsys, "schema", "users", "--out", str(target))
    assert code == 0
    assert json.loads(target.read_text(encoding="utf-8"))["title"]


def test_out_where_it_cannot_be_written_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "schemas").write_text("a file where the folder would go")
    target = tmp_path / "schemas" / "users.schema.json"
    code, _, err = reconciler(capsys, "schema", "users", "--out", str(target))
    assert code == 1
    assert "Error: cannot write" in err and "users.schema.json" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["schema", "user"], "'user' is not one of 'users', 'config', 'plan'"),
        (["schema", "--out", "x.json"], "--out and --path need a NAME"),
        (["schema", "--path"], "--out and --path need a NAME"),
    ],
)
def test_usage_mistakes_exit_1_not_2(
    args: list[str],
    says: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = reconciler(capsys, *args)
    assert code == 1
    assert says in err
    assert not (tmp_path / "x.json").exists()


def test_help_shows_how_to_point_an_editor_at_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = reconciler(capsys, "schema", "--help")
    assert code == 0
    assert "# yaml-language-server: $schema=../schemas/users.schema.json" in out
    assert '"yaml.schemas"' in out
    assert "schema" in reconciler(capsys, "--help")[1]
