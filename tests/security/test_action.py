"""The GitHub Action runs nothing of the pull request's checkout, and only its reconciler step
gets the keys (issue 23, point 1).

The attacker commits Python the action's steps would import if the checkout were on their import
path: the standard modules the "Locate" script imports (hashlib, json, pathlib), the modules
``python -m venv`` and ``python -m pip`` run (venv/, pip/, ensurepip/), reconciler itself and its
dependencies, sitecustomize/usercustomize, a ``.pth`` file, and a pip.conf and setup.cfg that
would point pip at another index. Each planted module writes down that it ran, with the API keys
it could see, and prints them. The action's steps then run with the project's workflow runner
(tests/github_runner.py), on a cache hit (a real venv) and on a cache miss (venv + pip).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS as SETTINGS
from tests.e2e.http_repo import write_repo
from tests.github_runner import ROOT, Runner, load_action, python_shims

pytest_plugins = ("tests.e2e.emulator",)

#: The vendor keys alone (the settings beside them are no keys).
KEYS = {name: value for name, value in SETTINGS.items() if name.endswith("_API_KEY")}


#: Python files the checkout could plant on an import path; each reports that it ran.
PLANTED_MODULES = (
    "hashlib.py",
    "json.py",
    "pathlib.py",
    "sitecustomize.py",
    "usercustomize.py",
    "venv/__init__.py",
    "venv/__main__.py",
    "pip/__init__.py",
    "pip/__main__.py",
    "ensurepip/__init__.py",
    "ensurepip/__main__.py",
    "reconciler/__init__.py",
    "reconciler/__main__.py",
    "yaml/__init__.py",
    "click/__init__.py",
)
PAYLOAD = """import os as _os
with open({marker!r}, "a") as _file:
    _keys = sorted((k, v) for k, v in _os.environ.items() if k.endswith("_API_KEY"))
    _file.write(__name__ + " " + repr(_keys) + "\\n")
print("PLANTED CODE RAN", _keys)
"""


def plant(checkout: Path, marker: Path) -> None:
    for name in PLANTED_MODULES:
        path = checkout / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PAYLOAD.format(marker=str(marker)))
    (checkout / "planted.pth").write_text(
        f"import os; open({str(marker)!r}, 'a').write('planted.pth\\n')\n"
    )
    closed = "http://127.0.0.1:9/simple"  # nothing listens: pip would fail if it read these
    (checkout / "pip.conf").write_text(f"[global]\nindex-url = {closed}\n")
    (checkout / "setup.cfg").write_text(f"[easy_install]\nindex_url = {closed}\n")


@pytest.fixture
def job(tmp_path: Path) -> Runner:
    """A runner on a copy of examples/ with every planted file; ``python3`` is this Python."""
    checkout = tmp_path / "workspace"
    shutil.copytree(ROOT / "examples", checkout, ignore=shutil.ignore_patterns(".reconciler"))
    plant(checkout, tmp_path / "planted-code-ran")
    bin_dir = python_shims(tmp_path / "bin")
    return Runner(checkout, tmp_path / "runner-temp", bin_dir)


def assert_nothing_planted_ran(job: Runner, log: str) -> None:
    marker = job.workspace.parent / "planted-code-ran"
    assert not marker.exists(), marker.read_text()
    assert "PLANTED CODE RAN" not in log
    for key in KEYS.values():
        assert key not in log


def api_keys() -> str:
    return "".join(f"{name}={value}\n" for name, value in KEYS.items())


def sprig_repository(checkout: Path, emulator: StartEmulator) -> None:
    """The checkout holds a Sprig target at the emulator: planning it needs the key."""
    shutil.rmtree(checkout / "users")
    write_repo(checkout, emulator(), "sprig", [{"id": "u1", "attributes": {"plan": "pro"}}])


def test_a_cache_hit_runs_no_planted_code_and_only_the_reconciler_step_gets_the_keys(
    job: Runner, emulator: StartEmulator
) -> None:
    sprig_repository(job.workspace, emulator)
    job.seed_venv()
    inputs = {"command": "plan", "args": "--detailed-exitcode", "ok-exit-codes": "0 2"}
    result = job.action({**inputs, "api-keys": api_keys()})
    assert result.code == 0, result.log
    assert result.outputs["exitcode"] == "2"  # the key reached reconciler: it read the target
    assert "1 to create" in Path(result.outputs["markdown"]).read_text()
    assert_nothing_planted_ran(job, result.log)
    *before, last = job.environments
    assert all(key in last["API_KEYS"] for key in KEYS.values())  # exported in that step
    for environment in before:  # Locate and Install
        assert not any(key in value for key in KEYS.values() for value in environment.values())


def test_a_cache_miss_runs_no_planted_venv_or_pip(job: Runner) -> None:
    """``python -m venv`` (with ensurepip) and ``python -m pip`` in the checkout would run the
    planted packages. pip finds no index here (PIP_NO_INDEX: the test runs offline), so the
    install may fail; what counts is what ran before it did. The keys are given the old
    way, in the step's env, which every step of the action inherits: still nothing leaks."""
    environment = {**KEYS, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = job.action({"command": "validate"}, environment)
    assert (job.venv / "bin" / "python").exists(), result.log  # venv ran, and ensurepip
    assert (job.venv / "bin" / "pip").exists(), result.log
    assert_nothing_planted_ran(job, result.log)


#: A Python started by a script, and the word after it (its first option).
PYTHON_CALL = re.compile(r'("\$PYTHON"|"\$VENV/bin/python"|\bpython3?)\s+(\S+)')


def run_scripts() -> list[str]:
    """Every ``run:`` of the action and of the example workflows."""
    scripts = [step["run"] for step in load_action()["runs"]["steps"] if "run" in step]
    for workflow in (ROOT / "examples" / "github").glob("*.yml"):
        document = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        for job in document["jobs"].values():
            scripts += [step["run"] for step in job.get("steps", []) if "run" in step]
    return scripts


def test_every_python_a_script_starts_is_isolated() -> None:
    """The runs above prove it for the steps they reach; this covers every ``run:``."""
    calls = [
        match
        for script in run_scripts()
        for line in script.splitlines()
        for match in PYTHON_CALL.finditer(f" {line}".split(" #", 1)[0])
        if match.group(2) != "]"  # [ -x "$VENV/bin/python" ]: a test, not a call
    ]
    assert len(calls) >= 5
    assert all(match.group(2) == "-I" for match in calls), [m.group(0) for m in calls]


def test_only_the_reconciler_step_reads_the_keys_input() -> None:
    steps = [step for step in load_action()["runs"]["steps"] if "run" in step]
    readers = [step["name"] for step in steps if "inputs.api-keys" in str(step.get("env"))]
    assert readers == ["reconciler ${{ inputs.command }}"]


@pytest.mark.parametrize(
    "line", ["PATH=/tmp/evil", "LD_PRELOAD=/tmp/evil.so", "PYTHONPATH=.", "not a line"]
)
def test_the_keys_input_sets_no_variable_that_steers_a_program(job: Runner, line: str) -> None:
    job.seed_venv()
    result = job.action({"command": "validate", "api-keys": line})
    assert result.code == 1
    assert "::error title=reconciler::api-keys:" in result.log
    assert "/tmp/evil" not in result.log and "not a line" not in result.log  # never echoed
