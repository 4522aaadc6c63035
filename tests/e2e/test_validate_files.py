"""`reconciler validate FILE...`: what pre-commit runs on the changed files of a commit.

The config is always checked; of the named files, only declaration files of it are read; any
other file is skipped with a line on stderr; naming reconciler.yaml checks everything.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import SANDBOX_CONFIG, write_repo
from tests.e2e.conftest import Run

GOOD = """\
users:
  - id: "u1"
    attributes: {plan: pro}
"""
OTHER_GOOD = """\
users:
  - id: "u2"
  - id: "u3"
"""
BROKEN = """\
users:
  - id: "u9"
    atributes: {plan: pro}
"""
WORKFLOW = """\
name: ci
on: push
jobs: {test: {runs-on: ubuntu-latest, steps: [{run: pytest}]}}
"""


def make_repo(root: Path, **extra: str) -> Path:
    """users/good.yaml, users/other.yaml, users/broken.yaml and a workflow at ``root``."""
    files = {
        "users/good.yaml": GOOD,
        "users/other.yaml": OTHER_GOOD,
        "users/broken.yaml": BROKEN,
        ".github/workflows/ci.yml": WORKFLOW,
        **extra,
    }
    write_repo(root, files)
    return root


def test_only_named_declaration_files_are_read(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = run("validate", "users/good.yaml", "users/other.yaml", cwd=repo)
    assert result.code == 0, result.stderr
    assert result.stdout == "Valid: 3 users in 2 files, 1 target.\n"
    assert result.stderr == ""


def test_a_broken_named_file_is_located(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = run("validate", "users/good.yaml", "users/broken.yaml", cwd=repo)
    assert result.code == 1
    assert "users/broken.yaml:3:5: users[0].atributes: unknown key 'atributes'" in result.stderr
    assert "Traceback" not in result.stderr


def test_other_yaml_files_are_skipped_with_one_line_each(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path, **{"docker-compose.yml": "services: {}\n"})
    result = run(
        "validate", ".github/workflows/ci.yml", "users/good.yaml", "docker-compose.yml", cwd=repo
    )
    assert result.code == 0, result.stderr
    assert result.stdout == "Valid: 1 users in 1 file, 1 target.\n"
    assert result.stderr.splitlines() == [
        "Skipped .github/workflows/ci.yml: not a declaration file of reconciler.yaml "
        "(its users: users/)",
        "Skipped docker-compose.yml: not a declaration file of reconciler.yaml (its users: users/)",
    ]


def test_only_skipped_files_still_check_the_config(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    assert run("validate", ".github/workflows/ci.yml", cwd=repo).stdout == (
        "Valid: 0 users in 0 files, 1 target.\n"
    )
    (repo / "reconciler.yaml").write_text("targets:\n  local:\n    provider: sandbx\n")
    result = run("validate", ".github/workflows/ci.yml", cwd=repo)
    assert result.code == 1
    assert "reconciler.yaml:3:5: targets.local.provider: must be one of" in result.stderr


def test_naming_the_config_checks_every_file(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = run("validate", "reconciler.yaml", "users/good.yaml", cwd=repo)
    assert result.code == 1
    assert "users/broken.yaml:3:5" in result.stderr
    (repo / "users" / "broken.yaml").unlink()
    result = run("validate", "reconciler.yaml", cwd=repo)
    assert result.stdout == "Valid: 3 users in 2 files, 1 target.\n"


def test_without_files_every_file_is_checked_as_before(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = run("validate", cwd=repo)
    assert result.code == 1
    assert "users/broken.yaml:3:5" in result.stderr
    (repo / "users" / "broken.yaml").unlink()
    assert run("validate", cwd=repo).stdout == "Valid: 3 users in 2 files, 1 target.\n"


def test_duplicates_are_seen_among_the_files_read(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path, **{"users/again.yaml": GOOD})
    result = run("validate", "users/again.yaml", "users/good.yaml", cwd=repo)
    assert result.code == 1
    assert "users/good.yaml:2:5: users[0].id: duplicate id 'u1' (first declared at " in (
        result.stderr
    )
    # With one of the two files only, the duplicate is not seen: `validate` in CI catches it.
    assert run("validate", "users/again.yaml", cwd=repo).code == 0
    assert "duplicate id 'u1'" in run("validate", "reconciler.yaml", cwd=repo).stderr


def test_config_in_a_subfolder_and_paths_from_the_current_folder(run: Run, tmp_path: Path) -> None:
    make_repo(tmp_path / "infra")
    result = run(
        "validate",
        "--config",
        "infra/reconciler.yaml",
        "infra/users/good.yaml",
        "./infra/users/../users/other.yaml",
        "infra/users/good.yaml",
        "infra/.github/workflows/ci.yml",
        cwd=tmp_path,
    )
    assert result.code == 0, result.stderr
    assert result.stdout == "Valid: 3 users in 2 files, 1 target.\n"
    assert result.stderr == (
        "Skipped infra/.github/workflows/ci.yml: not a declaration file of "
        "infra/reconciler.yaml (its users: users/)\n"
    )
    result = run(
        "validate", "--config", "infra/reconciler.yaml", "infra/users/broken.yaml", cwd=tmp_path
    )
    assert result.code == 1
    assert "infra/users/broken.yaml:3:5" in result.stderr
    named_config = run(
        "validate", "--config", "infra/reconciler.yaml", "infra/reconciler.yaml", cwd=tmp_path
    )
    assert "infra/users/broken.yaml:3:5" in named_config.stderr


def test_a_declaration_file_of_another_config_is_skipped(run: Run, tmp_path: Path) -> None:
    make_repo(tmp_path / "a")
    make_repo(tmp_path / "b")
    result = run("validate", "--config", "a/reconciler.yaml", "b/users/broken.yaml", cwd=tmp_path)
    assert result.code == 0, result.stderr
    assert result.stderr.startswith("Skipped b/users/broken.yaml: not a declaration file of a/")


def test_a_source_that_matches_nothing_is_still_reported(run: Run, tmp_path: Path) -> None:
    config = SANDBOX_CONFIG + "users: [users/, people/]\n"
    write_repo(tmp_path, {"users/good.yaml": GOOD}, config=config)
    result = run("validate", "users/good.yaml", cwd=tmp_path)
    assert result.code == 1
    assert "reconciler.yaml:4:17: users[1]: 'people/' matches no declaration file" in (
        result.stderr
    )


def test_a_missing_file_is_a_usage_error(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = run("validate", "users/god.yaml", cwd=repo)
    assert result.code == 1
    assert "'users/god.yaml' does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_output_stays_parseable_when_files_are_skipped(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = run(
        "validate", "--format", "json", "users/other.yaml", ".github/workflows/ci.yml", cwd=repo
    )
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["valid"], document["users"], document["files"]) == (True, 2, 1)
    assert result.stderr.startswith("Skipped .github/workflows/ci.yml")


def test_github_annotations_for_a_named_file(run: Run, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    result = run("validate", "--format", "github", "users/broken.yaml", cwd=repo)
    assert result.code == 1
    assert result.stdout.startswith("::error file=users/broken.yaml,line=3,col=5")


def test_help_says_what_files_do_and_what_they_cannot_see(run: Run, tmp_path: Path) -> None:
    result = run("validate", "--help", cwd=tmp_path)
    assert result.code == 0
    assert "[FILES]..." in result.stdout
    assert "duplicate id is then seen only among the files read" in " ".join(result.stdout.split())
