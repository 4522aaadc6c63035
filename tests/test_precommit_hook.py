"""The `reconciler-validate` hook of .pre-commit-hooks.yaml does what examples/pre-commit/ says.

The hook is run as pre-commit runs it: its ``files:`` pattern picks the staged files, then
``entry`` + ``args`` + those files run with the repository root as the current folder, through
the installed ``reconciler`` console script. When the pre-commit package is installed (the dev
extra) and the network may be used (``RECONCILER_NETWORK_TESTS=1``), ``pre-commit try-repo`` runs
the hook for real on a copy of this checkout: it installs reconciler from it into pre-commit's own
environment, as a consumer's machine does.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / ".pre-commit-hooks.yaml"
CONSUMER_CONFIG = ROOT / "examples" / "pre-commit" / "pre-commit-config.yaml"
#: What the commit "stages": declaration files, a workflow, a non-YAML file.
STAGED = ["users/customers.yaml", "github/reconciler.yml", "README.md"]
TYPO = "    attributes:\n", "    atributes:\n"


def hook() -> dict[str, Any]:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert [entry["id"] for entry in hooks] == ["reconciler-validate"]
    found: dict[str, Any] = hooks[0]
    return found


def consumer_repo(root: Path) -> Path:
    """A consumer's repository: a copy of examples/ (config, users/, workflows, README)."""
    ignore = shutil.ignore_patterns(".reconciler", "__pycache__")
    shutil.copytree(ROOT / "examples", root, ignore=ignore)
    return root


def break_customers(repo: Path) -> int:
    """Misspell the first ``attributes:`` of users/customers.yaml; return its line number."""
    path = repo / "users" / "customers.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    number = lines.index(TYPO[0])
    lines[number] = TYPO[1]
    path.write_text("".join(lines), encoding="utf-8")
    return number + 1


def console_script() -> str:
    """The installed ``reconciler`` script: the one beside this interpreter, else on PATH."""
    script = shutil.which("reconciler", path=str(Path(sys.executable).parent)) or shutil.which(
        "reconciler"
    )
    assert script, "the reconciler console script is not installed: pip install -e '.[dev]'"
    return script


def run_hook(repo: Path, staged: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the hook the way pre-commit does, on the staged files its patterns select."""
    definition = hook()
    include = re.compile(definition.get("files", ""))
    exclude = re.compile(definition.get("exclude", "^$"))
    files = [name for name in staged if include.search(name) and not exclude.search(name)]
    entry = shlex.split(definition["entry"])
    assert entry[0] == "reconciler"
    command = [console_script(), *entry[1:], *definition.get("args", [])]
    if definition.get("pass_filenames", True):
        command += files
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return subprocess.run(
        command, cwd=repo, env=environ, capture_output=True, text=True, timeout=120
    )


def test_the_hook_is_defined_for_yaml_files_in_one_run() -> None:
    definition = hook()
    assert definition["language"] == "python"  # pre-commit installs this repository
    assert definition["pass_filenames"] is True
    # One run sees every changed file: duplicate ids between two of them are caught.
    assert definition["require_serial"] is True
    assert definition["description"]
    include = re.compile(definition["files"])
    assert [bool(include.search(name)) for name in STAGED] == [True, True, False]
    assert include.search("reconciler.yaml")


def test_the_example_config_uses_the_hooks_that_exist() -> None:
    consumer = yaml.safe_load(CONSUMER_CONFIG.read_text(encoding="utf-8"))
    used = [entry["id"] for repo in consumer["repos"] for entry in repo["hooks"]]
    assert used == [hook()["id"]]


def test_valid_files_pass_and_other_yaml_is_skipped(tmp_path: Path) -> None:
    repo = consumer_repo(tmp_path / "consumer")
    result = run_hook(repo, STAGED)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Valid: 3 users in 1 file, 1 target.\n"
    assert result.stderr == (
        "Skipped github/reconciler.yml: not a declaration file of reconciler.yaml "
        "(its users: users/)\n"
    )


def test_a_broken_file_fails_with_its_line(tmp_path: Path) -> None:
    repo = consumer_repo(tmp_path / "consumer")
    line = break_customers(repo)
    result = run_hook(repo, STAGED)
    assert result.returncode == 1
    assert f"users/customers.yaml:{line}:5: users[0].atributes: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_changed_config_checks_every_declaration_file(tmp_path: Path) -> None:
    repo = consumer_repo(tmp_path / "consumer")
    break_customers(repo)
    result = run_hook(repo, ["reconciler.yaml", "users/staff.yaml"])
    assert result.returncode == 1
    assert "users/customers.yaml:" in result.stderr


# --- pre-commit itself -----------------------------------------------------------------------

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(cwd: Path, *args: str) -> None:
    environ = {**os.environ, **GIT_IDENTITY}
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=environ,
        check=True,
        capture_output=True,
    )


def hook_repository(root: Path) -> Path:
    """What a consumer's pre-commit clones: this checkout's package files, committed."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "reconciler", root / "reconciler", ignore=ignore)
    shutil.copytree(ROOT / "schemas", root / "schemas")
    for name in ("pyproject.toml", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, root / name)
    readme = ROOT / "README.md"
    if readme.exists():
        shutil.copy2(readme, root / "README.md")
    else:  # pyproject names a readme
        (root / "README.md").write_text("# reconciler\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "hook")
    return root


#: ``pre-commit try-repo`` pip-installs the hook repository into an environment of its own, so
#: it downloads the build backend and the dependencies from the package index: a test that needs
#: the network, run only when asked (the GitHub CI does), never by surprise on an offline machine.
NETWORK = "RECONCILER_NETWORK_TESTS"


@pytest.mark.skipif(
    os.environ.get(NETWORK) != "1",
    reason=f"downloads from the package index: set {NETWORK}=1 to run it",
)
@pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None or shutil.which("git") is None,
    reason="pre-commit (the dev extra) and git are needed to run the hook through pre-commit",
)
def test_pre_commit_try_repo_runs_the_hook(tmp_path: Path) -> None:
    hooks = hook_repository(tmp_path / "hook")
    repo = consumer_repo(tmp_path / "consumer")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    environ = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    environ.update(GIT_IDENTITY, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    command = [sys.executable, "-m", "pre_commit", "try-repo", str(hooks), "reconciler-validate"]

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "--files", *STAGED],
            cwd=repo,
            env=environ,
            capture_output=True,
            text=True,
            timeout=600,
        )

    passed = try_repo()
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"reconciler validate\.+Passed", passed.stdout), passed.stdout
    line = break_customers(repo)
    failed = try_repo()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert re.search(r"reconciler validate\.+Failed", failed.stdout), failed.stdout
    assert f"users/customers.yaml:{line}:5: users[0].atributes: unknown key" in failed.stdout
