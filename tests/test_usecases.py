"""The use cases driven as a library (reconciler/usecases/, re-exported by ``reconciler``): a
request and a Runtime in, a result value out, the project's errors raised, and nothing printed,
asked or exited. Against the example repository and its sandbox target, in process.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import reconciler
from reconciler import (
    ApplyRequest,
    ImportRequest,
    PlanRequest,
    RefusedError,
    Runtime,
    TargetError,
    ValidateRequest,
)
from reconciler.errors import ConfigError
from reconciler.planned import Plan
from reconciler.render.documents import saved_plan_json
from reconciler.render.view import PlanView

ROOT = Path(__file__).resolve().parents[1]
CONFIG = Path("reconciler.yaml")


@pytest.fixture
def examples(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of examples/ (without its sandbox database), as the current folder."""
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy, ignore=shutil.ignore_patterns(".reconciler"))
    monkeypatch.chdir(copy)
    return copy


@pytest.fixture
def runtime() -> Runtime:
    """No variable from this process: the sandbox target needs none."""
    return Runtime(environ={})


def test_the_readme_example_runs_and_prints_what_the_readme_says(
    examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"<!-- readme-python -->\n```python\n(.*?)```", readme, re.S)
    output = re.search(r"<!-- readme-python-output -->\n```text\n(.*?)```", readme, re.S)
    assert code is not None and output is not None
    exec(compile(code[1], "README.md", "exec"), {})
    assert capsys.readouterr().out == output[1]


def test_plan_then_apply_returns_values_and_prints_nothing(
    examples: Path, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    valid = reconciler.validate(ValidateRequest(CONFIG), runtime)
    assert (valid.users, valid.files, valid.targets) == (5, 2, 1)
    planned = reconciler.plan_changes(PlanRequest(CONFIG), runtime)
    assert (planned.plan.creates, planned.plan.updates) == (5, 0)
    assert planned.plan_view.masked.has_changes and len(planned.plan_view.checksum) == 64
    applied = reconciler.apply_changes(ApplyRequest(CONFIG, assume_yes=True), runtime)
    assert applied.report is not None
    assert (applied.report.applied, applied.report.failed, applied.interrupted) == (5, 0, False)
    again = reconciler.apply_changes(ApplyRequest(CONFIG, assume_yes=True), runtime)
    assert again.report is None and not again.plan.has_changes  # nothing left to apply
    assert capsys.readouterr() == ("", "")


def test_apply_sends_nothing_that_nobody_confirmed(examples: Path, runtime: Runtime) -> None:
    seen: list[str] = []

    def show(shown: PlanView) -> None:
        seen.append(f"shown {shown.masked.creates}")

    def refuse(plan: Plan) -> bool:
        seen.append(f"asked {plan.creates}")
        return False

    with pytest.raises(RefusedError, match="apply needs a confirmation"):
        reconciler.apply_changes(ApplyRequest(CONFIG), runtime)
    with pytest.raises(RefusedError, match="apply cancelled: nothing was sent"):
        reconciler.apply_changes(ApplyRequest(CONFIG), runtime, confirm=refuse, show=show)
    assert seen == ["shown 5", "asked 5"]  # the plan is shown before the question
    assert reconciler.plan_changes(PlanRequest(CONFIG), runtime).plan.creates == 5


def test_a_saved_plan_is_applied_only_while_it_is_the_plan(
    examples: Path, runtime: Runtime
) -> None:
    planfile = examples / "plan.json"
    planfile.write_text(
        saved_plan_json(reconciler.plan_changes(PlanRequest(CONFIG), runtime).plan_view)
    )
    customers = examples / "users" / "customers.yaml"
    original = customers.read_text(encoding="utf-8")
    customers.write_text(original.replace("seats: 12", "seats: 14"), encoding="utf-8")
    with pytest.raises(RefusedError, match="stale plan"):
        reconciler.apply_changes(ApplyRequest(CONFIG, planfile=planfile, assume_yes=True), runtime)
    customers.write_text(original, encoding="utf-8")
    applied = reconciler.apply_changes(
        ApplyRequest(CONFIG, planfile=planfile, assume_yes=True), runtime
    )
    assert applied.report is not None and applied.report.applied == 5


def test_a_checksum_that_is_not_the_plans_is_refused_naming_what_it_does(
    examples: Path, runtime: Runtime
) -> None:
    request = ApplyRequest(CONFIG, checksum="0" * 12, assume_yes=True)
    with pytest.raises(RefusedError, match=r"The plan now changes on target local: 12347, "):
        reconciler.apply_changes(request, runtime)


def test_a_stopped_apply_sends_nothing_new_and_reports_it(examples: Path, runtime: Runtime) -> None:
    stopping = reconciler.Stopping()
    stopping.stop()  # as a signal handler would, from another thread
    applied = reconciler.apply_changes(
        ApplyRequest(CONFIG, assume_yes=True), runtime, stopping=stopping
    )
    assert applied.interrupted and applied.report is not None
    assert (applied.report.applied, applied.report.not_sent) == (0, 5)


def test_keys_are_read_from_the_runtime_not_the_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(ROOT / "examples" / "emulator", tmp_path / "emulator")
    monkeypatch.chdir(tmp_path / "emulator")
    monkeypatch.setenv("SPRIG_API_KEY", "sprig-sandbox-key")
    monkeypatch.setenv("USERTOUR_API_KEY", "ak_sandbox")
    with pytest.raises(ConfigError, match=r"SPRIG_API_KEY .* USERTOUR_API_KEY"):
        reconciler.plan_changes(PlanRequest(CONFIG), Runtime(environ={}))


def test_import_returns_the_file_and_the_users_it_did_not_find(
    examples: Path, runtime: Runtime
) -> None:
    reconciler.apply_changes(ApplyRequest(CONFIG, assume_yes=True), runtime)
    imported = reconciler.import_users(
        ImportRequest(CONFIG, target="local", wanted=("12347", "nobody")), runtime
    )
    assert imported.text is not None and 'id: "12347"' in imported.text
    assert "Imported 1 user from target local." in imported.report
    assert isinstance(imported.problem, TargetError)
    assert "1 of 2 users not found: nobody" in str(imported.problem)


def test_notes_go_to_the_runtime(examples: Path) -> None:
    notes: list[str] = []
    runtime = Runtime(environ={}, note=notes.append)
    elsewhere = examples / "typo" / "typo.yaml"
    valid = reconciler.validate(ValidateRequest(CONFIG, files=(elsewhere,)), runtime)
    assert valid.files == 0
    assert notes == [
        f"Skipped {elsewhere}: not a declaration file of reconciler.yaml (its users: users/)"
    ]
