"""What ``import`` costs: the file it writes is parsed once (issue 25 point 6), and that one
reading still stands for every check of it: the round trip, validation, and the report's
check of the declarations as a whole. Through the library surface, against the example
repository's sandbox target, in process.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

import reconciler
from reconciler import ApplyRequest, ImportRequest, Runtime
from reconciler.load import yamlload

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Path("reconciler.yaml")
#: The header every imported file starts with (importer._document_text).
IMPORTED = "by `reconciler import`"


@pytest.fixture
def adopting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The examples' sandbox holding their users, and a config whose ``users:`` declares none
    yet: an import into ``imported/all.yaml`` writes a new file and checks it."""
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy, ignore=shutil.ignore_patterns(".reconciler"))
    monkeypatch.chdir(copy)
    reconciler.apply_changes(ApplyRequest(CONFIG, assume_yes=True), Runtime(environ={}))
    config = (copy / "reconciler.yaml").read_text(encoding="utf-8")
    (copy / "reconciler.yaml").write_text(config.replace("users: [users/]", "users: [imported/]"))
    (copy / "imported").mkdir()
    return copy


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files parsed from now on that are imported files, by the name they were read as."""
    parsed: list[str] = []
    compose = yamlload.compose

    def counting(data: bytes | str, file: str) -> Any:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        if IMPORTED in text:
            parsed.append(file)
        return compose(data, file)

    monkeypatch.setattr(yamlload, "compose", counting)
    return parsed


def test_the_written_file_is_parsed_once(adopting: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _count_parses(monkeypatch)
    request = ImportRequest(CONFIG, target="local", wanted=None, out_path=Path("imported/all.yaml"))
    imported = reconciler.import_users(request, Runtime(environ={}))
    assert imported.problem is None
    assert (
        imported.report[-1].startswith("Imported ")
        and "into imported/all.yaml" in imported.report[-1]
    )
    written = (adopting / "imported" / "all.yaml").read_text(encoding="utf-8")
    assert written.count("\n  - id: ") == int(imported.report[-1].split()[1])
    assert len(parsed) == 1, parsed  # was 3: round trip, validation, the report's re-read


def test_the_report_still_checks_the_declarations_as_a_whole(
    adopting: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file written is taken as checked, not skipped: a problem of the declarations as a
    whole (here a source that matches nothing) is still counted in the report."""
    config = (adopting / "reconciler.yaml").read_text(encoding="utf-8")
    config = config.replace("users: [imported/]", "users: [imported/, gone.yaml]")
    (adopting / "reconciler.yaml").write_text(config)
    parsed = _count_parses(monkeypatch)
    request = ImportRequest(CONFIG, target="local", wanted=None, out_path=Path("imported/all.yaml"))
    imported = reconciler.import_users(request, Runtime(environ={}))
    assert imported.report[-1] == (
        "Note: the declarations now have 1 problem (a user declared in two files?): "
        "run reconciler validate."
    )
    assert len(parsed) == 1, parsed
