"""action.yml: the composite GitHub Action that installs reconciler from its own checkout and runs
one command. Its steps run here as on a runner (tests/github_runner.py), on a copy of examples/.

The venv is the action's cache: most tests fill it with this checkout's reconciler (a cache
hit), so they need no network. The real install (``pip install "$GITHUB_ACTION_PATH"``) needs
the package index for the build backend and the dependencies, so it runs only when asked
(``RECONCILER_NETWORK_TESTS=1``, as the project's GitHub CI does).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.github_runner import ROOT, Runner, load_action, python_shims
from tests.markdown_check import assert_well_formed

NETWORK = "RECONCILER_NETWORK_TESTS"


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    workspace = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples", workspace, ignore=shutil.ignore_patterns(".reconciler"))
    bin_dir = python_shims(tmp_path / "bin")
    job = Runner(workspace, tmp_path / "runner-temp", bin_dir)
    job.seed_venv()
    return job


def test_the_action_is_composite_and_installs_from_its_own_checkout() -> None:
    action = load_action()
    assert action["runs"]["using"] == "composite"
    assert set(action["outputs"]) == {"exitcode", "checksum", "markdown"}
    assert set(action["inputs"]) >= {"command", "args", "working-directory"}
    scripts = [s["run"] for s in action["runs"]["steps"] if "run" in s]
    assert all("${{" not in script for script in scripts)  # inputs arrive through env:
    install = "\n".join(scripts)
    pip = install[install.index('"$VENV/bin/python" -I -m pip install') :]
    assert pip.split("\n", 2)[1].strip() == '"$GITHUB_ACTION_PATH"'  # its own checkout, only
    assert "pip install reconciler" not in install and "users-reconciler" not in install
    [cache] = [s for s in action["runs"]["steps"] if "uses" in s]
    assert cache["uses"] == "actions/cache@v4"
    assert cache["with"]["key"] == "${{ steps.venv.outputs.key }}"


def test_plan_gives_its_exit_code_checksum_and_markdown_outside_the_checkout(
    runner: Runner,
) -> None:
    inputs = {"command": "plan", "args": "--detailed-exitcode", "ok-exit-codes": "0 2"}
    result = runner.action(inputs)
    assert result.code == 0, result.log  # 2 is allowed here
    assert result.outputs["exitcode"] == "2"
    markdown = Path(result.outputs["markdown"])
    assert markdown.is_relative_to(runner.temp)
    text = markdown.read_text()
    assert text.startswith("**reconciler plan:** 5 to create")
    assert f"Plan checksum: `{result.outputs['checksum']}`" in text
    assert_well_formed(text, ["Plan checksum:", result.outputs["checksum"]])
    # The job log holds the whole plan as text, not the comment's Markdown again.
    assert "Target local (sandbox): 5 to create" in result.log
    assert "<details>" not in result.log


def test_an_exit_code_not_allowed_fails_the_step_with_the_outputs_set(runner: Runner) -> None:
    result = runner.action({"command": "plan", "args": "--detailed-exitcode"})
    assert result.code == 2
    assert result.outputs["exitcode"] == "2" and len(result.outputs["checksum"]) == 64


def test_apply_then_plan_in_text(runner: Runner) -> None:
    applied = runner.action({"command": "apply", "args": "--yes"})
    assert applied.code == 0, applied.log
    assert "Apply complete: 5 applied, 0 failed." in applied.log
    assert len(applied.outputs["checksum"]) == 64 and applied.outputs["markdown"] == ""
    planned = runner.action({"command": "plan", "markdown": "false"})
    assert planned.code == 0 and planned.outputs["markdown"] == ""
    assert "Plan: 0 to create, 0 to update, 5 unchanged." in planned.log


def test_validate_in_a_working_directory(runner: Runner) -> None:
    nested = runner.workspace / "config"
    nested.mkdir()
    for name in ("reconciler.yaml", "users"):
        shutil.move(runner.workspace / name, nested / name)
    result = runner.action(
        {"command": "validate", "args": "--format github", "working-directory": "config"}
    )
    assert result.code == 0, result.log
    assert "Valid: 5 users in 2 files, 1 target." in result.log
    assert result.outputs == {"exitcode": "0", "checksum": "", "markdown": ""}


def test_args_are_split_never_evaluated(runner: Runner) -> None:
    """A workflow that passes text it does not control into ``args`` runs no shell code."""
    planted = runner.temp / "planted"
    result = runner.action({"command": "validate", "args": f"$(touch {planted}) `id` *"})
    assert result.code == 1
    assert "unexpected extra arguments" in result.log or "Error" in result.log
    assert not planted.exists()


def test_args_may_span_lines(runner: Runner) -> None:
    """``args: |`` keeps newlines (``>-`` folds them): every line's words are passed."""
    inputs = {
        "command": "plan",
        "args": "--detailed-exitcode\n--user 12347\n",
        "markdown": "false",
    }
    result = runner.action(inputs)
    assert result.code == 2 and "Target local (sandbox): 1 to create" in result.log


def test_only_the_three_commands(runner: Runner) -> None:
    result = runner.action({"command": "sandbox"})
    assert result.code == 1
    assert "::error title=reconciler::command must be validate, plan or apply" in result.log


def test_the_cache_key_follows_the_sources_and_the_python(runner: Runner, tmp_path: Path) -> None:
    source = tmp_path / "action"
    for name in ("reconciler", "schemas"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "action.yml"):
        shutil.copy2(ROOT / name, source / name)
    job = Runner(runner.workspace, runner.temp, runner.bin_dir, action_path=source)
    [locate] = [s for s in load_action(source)["runs"]["steps"] if s.get("id") == "venv"]

    def key(python: str = "python3") -> str:
        env = {"PYTHON": python, "GITHUB_ACTION_PATH": str(source)}
        result = job.shell(locate["run"], env, runner.workspace)
        assert result.code == 0, result.log
        assert result.outputs["path"] == str(runner.temp / "reconciler-venv")
        return result.outputs["key"]

    first = key()
    assert first.startswith("reconciler-venv-Linux-") and key() == first
    (source / "reconciler" / "__init__.py").write_text('__version__ = "9.9.9"\n')
    assert key() != first


@pytest.mark.skipif(
    os.environ.get(NETWORK) != "1",
    reason=f"installs from the package index: set {NETWORK}=1 to run it",
)
def test_a_cache_miss_installs_reconciler_from_the_action_path(
    runner: Runner, tmp_path: Path
) -> None:
    source = tmp_path / "action"
    for name in ("reconciler", "schemas"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "action.yml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.rmtree(runner.venv)
    job = Runner(runner.workspace, runner.temp, runner.bin_dir, action_path=source)
    result = job.action({"command": "validate"})
    assert result.code == 0, result.log
    assert (runner.venv / "bin" / "reconciler").is_file()
    assert "Valid: 5 users in 2 files, 1 target." in result.log
