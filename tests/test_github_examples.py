"""The GitHub Actions workflows in examples/github/: their structure, and their steps run for real.

The structure tests read the YAML as GitHub does (PyYAML 1.1 turns the key ``on`` into True).
The behaviour tests take the shell of the plan, apply and drift steps out of the workflows and
run it with bash on a copy of examples/ (the sandbox target: no key, no network), with
``reconciler`` and ``python`` pointing at this checkout, as on a runner.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gitrepo import GitRepo, isolate_git, requires_git

ROOT = Path(__file__).resolve().parents[1]
GITHUB = ROOT / "examples" / "github"
SINGLE = GITHUB / "reconciler.yml"
SHARDED = GITHUB / "reconciler-sharded.yml"
WORKFLOWS = [SINGLE, SHARDED]

STICKY_MARKER = "<!-- reconciler-plan -->"
ALLOWED_ACTIONS = {
    "actions/checkout@v4",
    "actions/setup-python@v5",
    "actions/upload-artifact@v4",
    "actions/download-artifact@v4",
    "actions/github-script@v7",
}
#: The only write permissions each workflow grants, per job.
WRITES = {
    SINGLE: {"plan": {"pull-requests"}, "drift": {"issues"}},
    SHARDED: {"report": {"pull-requests"}},
}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)


def load(path: Path) -> dict[Any, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def triggers(document: dict[Any, Any]) -> dict[str, Any]:
    """The ``on:`` block, whether PyYAML read the key as the string or as True."""
    block = document["on"] if "on" in document else document[True]
    assert isinstance(block, dict)
    return block


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def step(job: dict[str, Any], name: str) -> dict[str, Any]:
    found = [s for s in steps(job) if s.get("name") == name]
    assert len(found) == 1, f"no single step named {name!r}"
    return found[0]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(s["run"] for s in steps(job) if "run" in s)


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(s["with"]["script"] for s in steps(job) if "script" in s.get("with", {}))


def dumped(node: Any) -> str:
    return yaml.safe_dump(node, sort_keys=False, width=10_000)


@pytest.fixture(params=WORKFLOWS, ids=lambda p: p.name)
def workflow(request: pytest.FixtureRequest) -> tuple[Path, dict[Any, Any]]:
    return request.param, load(request.param)


# ---- structure --------------------------------------------------------------------------------


def test_triggers(workflow: tuple[Path, dict[Any, Any]]) -> None:
    _, document = workflow
    on = triggers(document)
    for event in ("pull_request", "push"):
        assert {"reconciler.yaml", "users/**"} <= set(on[event]["paths"])
    assert on["push"]["branches"] == ["main"]
    assert on["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"]  # daily
    assert "workflow_dispatch" in on


def test_permissions_are_minimal(workflow: tuple[Path, dict[Any, Any]]) -> None:
    path, document = workflow
    assert document["permissions"] == {"contents": "read"}
    for name, job in document["jobs"].items():
        permissions = job["permissions"]
        assert isinstance(permissions, dict), f"{name}: permissions must be a mapping"
        assert permissions.get("contents") == "read", name
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes == WRITES[path].get(name, set()), name
        assert set(permissions.values()) <= {"read", "write"}, name


def test_actions_are_official_and_pinned_by_major(workflow: tuple[Path, dict[Any, Any]]) -> None:
    _, document = workflow
    used = {s["uses"] for job in document["jobs"].values() for s in steps(job) if "uses" in s}
    assert used <= ALLOWED_ACTIONS
    assert "actions/github-script@v7" in used


def test_secrets_only_in_the_env_of_steps_that_run_plan_or_apply(
    workflow: tuple[Path, dict[Any, Any]],
) -> None:
    _, document = workflow
    assert "secrets." not in dumped(document["env"])
    assert "RECONCILER_ALLOWED_HOSTS" in document["env"]
    assert "vars.RECONCILER_ALLOWED_HOSTS" in document["env"]["RECONCILER_ALLOWED_HOSTS"]
    validate = document["jobs"]["validate"]
    assert "secrets" not in dumped(validate)
    assert "reconciler validate --format github" in runs(validate)
    for name, job in document["jobs"].items():
        assert "secrets." not in dumped(job.get("env", {})), name
        for s in steps(job):
            outside_env = {key: value for key, value in s.items() if key != "env"}
            assert "secrets." not in dumped(outside_env), (name, s.get("name"))
            if "secrets." in dumped(s.get("env", {})):
                assert re.search(r"reconciler (plan|apply)", s["run"]), (name, s.get("name"))


def test_installs_a_pinned_placeholder_version(workflow: tuple[Path, dict[Any, Any]]) -> None:
    path, document = workflow
    assert re.fullmatch(r"\d+\.\d+\.\d+", document["env"]["RECONCILER_VERSION"])
    assert "PLACEHOLDER" in path.read_text(encoding="utf-8")
    for job in document["jobs"].values():
        if "reconciler " in runs(job):
            assert 'pip install "reconciler==${RECONCILER_VERSION}"' in runs(job)


def test_single_pull_request_plan_comment_and_artifact() -> None:
    jobs = load(SINGLE)["jobs"]
    plan = jobs["plan"]
    assert "pull_request" in plan["if"]
    assert plan["needs"] == "validate"
    command = step(plan, "Plan")["run"]
    for flag in ("--format markdown", "--out plan.json", "--detailed-exitcode"):
        assert flag in command
    assert "set +e" in command  # exit 2 must not end the step
    assert "0) " in step(plan, "Judge the plan's exit code")["run"]
    assert "2) " in step(plan, "Judge the plan's exit code")["run"]
    script = scripts(plan)
    assert STICKY_MARKER in script
    assert "<!-- reconciler-checksum: ${checksum} -->" in script
    assert "updateComment" in script and "createComment" in script and "listComments" in script
    upload = next(s for s in steps(plan) if s.get("uses") == "actions/upload-artifact@v4")
    assert upload["with"]["path"] == "plan.json"
    assert 1 <= upload["with"]["retention-days"] <= 7


def test_single_apply_is_serialised_and_applies_the_reviewed_checksum() -> None:
    jobs = load(SINGLE)["jobs"]
    apply = jobs["apply"]
    assert "push" in apply["if"] and "refs/heads/main" in apply["if"]
    assert apply["concurrency"]["group"] == "reconciler-apply"
    assert apply["concurrency"]["cancel-in-progress"] is False
    command = step(apply, "Apply")["run"]
    assert 'reconciler apply "${scope[@]}" --checksum "$CHECKSUM" --yes' in command
    assert 'scope=(--changed-since "$BEFORE")' in command
    assert "steps.reviewed.outputs.checksum" in step(apply, "Apply")["env"]["CHECKSUM"]
    script = scripts(apply)
    assert STICKY_MARKER in script and "<!-- reconciler-checksum: " in script
    assert "listPullRequestsAssociatedWithCommit" in script
    assert apply["permissions"] == {"contents": "read", "pull-requests": "read"}


def test_single_drift_check() -> None:
    drift = load(SINGLE)["jobs"]["drift"]
    assert "schedule" in drift["if"]
    assert "--detailed-exitcode" in step(drift, "Plan (drift check)")["run"]
    assert "2) " in step(drift, "Judge the drift check")["run"]
    assert "issues.create" in scripts(drift)


def test_sharded_matrix_covers_every_shard() -> None:
    jobs = load(SHARDED)["jobs"]
    for name in ("plan", "apply"):
        job = jobs[name]
        shards = job["strategy"]["matrix"]["shard"]
        assert shards == list(range(1, len(shards) + 1)), name
        assert len(shards) == 4
        assert job["strategy"]["fail-fast"] is False
        shard_env = [s["env"]["SHARD"] for s in steps(job) if "SHARD" in s.get("env", {})]
        assert shard_env == ["${{ matrix.shard }}/${{ strategy.job-total }}"], name
        assert '--shard "$SHARD"' in runs(job), name


def test_sharded_plan_artifacts_and_one_combined_comment() -> None:
    jobs = load(SHARDED)["jobs"]
    plan = jobs["plan"]
    assert "--detailed-exitcode" in runs(plan) and "--format markdown" in runs(plan)
    upload = next(s for s in steps(plan) if s.get("uses") == "actions/upload-artifact@v4")
    assert upload["with"]["name"] == "reconciler-plan-shard-${{ matrix.shard }}"
    assert 1 <= upload["with"]["retention-days"] <= 7
    report = jobs["report"]
    assert report["needs"] == "plan"
    download = next(s for s in steps(report) if s.get("uses") == "actions/download-artifact@v4")
    assert download["with"]["pattern"] == "reconciler-plan-shard-*"
    script = scripts(report)
    assert STICKY_MARKER in script and "<!-- reconciler-checksum ${s.shard}: " in script
    assert "updateComment" in script and "createComment" in script


def test_sharded_apply_is_serialised_per_shard_with_reviewed_checksums() -> None:
    jobs = load(SHARDED)["jobs"]
    assert jobs["reviewed"]["outputs"]["checksums"]
    assert "<!-- reconciler-checksum (" in scripts(jobs["reviewed"])
    apply = jobs["apply"]
    assert apply["needs"] == "reviewed"
    assert "${{ matrix.shard }}" in apply["concurrency"]["group"]
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert 'reconciler apply --shard "$SHARD" --checksum "$checksum" --yes' in runs(apply)


def test_github_scripts_are_valid_javascript_without_expressions(
    workflow: tuple[Path, dict[Any, Any]], tmp_path: Path
) -> None:
    """Values reach the scripts through env (no ``${{ }}`` in code), and node parses them."""
    _, document = workflow
    bodies = [scripts(job) for job in document["jobs"].values() if scripts(job)]
    assert bodies
    node = shutil.which("node")
    for index, body in enumerate(bodies):
        assert "${{" not in body
        if node is None:
            continue
        wrapped = tmp_path / f"script{index}.js"
        wrapped.write_text(f"(async function () {{\n{body}\n}});\n", encoding="utf-8")
        checked = subprocess.run([node, "--check", str(wrapped)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_shell_steps_parse(workflow: tuple[Path, dict[Any, Any]]) -> None:
    _, document = workflow
    for name, job in document["jobs"].items():
        for s in steps(job):
            if "run" in s:
                script = EXPRESSION.sub("x", s["run"])
                parsed = subprocess.run(["bash", "-n", "-c", script], capture_output=True)
                assert parsed.returncode == 0, (name, s.get("name"), parsed.stderr)


# ---- behaviour: the steps' shell, run on the sandbox example ----------------------------------


class Runner:
    """Runs a step's shell like a GitHub runner: bash -e, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY."""

    def __init__(self, repo: Path, bin_dir: Path) -> None:
        self.repo = repo
        self.bin_dir = bin_dir
        self.summary = repo.parent / "summary.md"
        self.summary.touch()

    def __call__(self, s: dict[str, Any], **env: str) -> tuple[int, str, dict[str, str]]:
        output = self.repo.parent / "output.txt"
        output.write_text("")
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_API_KEY") and not k.startswith("GITHUB_")
        }
        environ.update(
            PATH=f"{self.bin_dir}{os.pathsep}{environ.get('PATH', '')}",
            NO_COLOR="1",
            GITHUB_OUTPUT=str(output),
            GITHUB_STEP_SUMMARY=str(self.summary),
            **env,
        )
        script = self.repo.parent / "step.sh"
        script.write_text(s["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-e", str(script)],
            cwd=self.repo,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        outputs = dict(
            line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
        )
        return done.returncode, done.stdout + done.stderr, outputs


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo, ignore=shutil.ignore_patterns(".reconciler"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, command in (("reconciler", '-m reconciler "$@"'), ("python", '"$@"')):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" {command}\n')
        shim.chmod(0o755)
    yield Runner(repo, bin_dir)


def _pull_request_history(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The example as a git history: main holds the staff (already applied), the pull request
    adds users/customers.yaml. Returns main's commit before the merge."""
    isolate_git(tmp_path, monkeypatch)
    customers = (repo / "users" / "customers.yaml").read_text()
    (repo / "users" / "customers.yaml").unlink()
    history = GitRepo(repo)
    history.commit({}, "main: the staff")
    before = history.git("rev-parse", "HEAD").strip()
    applied = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", "--yes"], cwd=repo, capture_output=True
    )
    assert applied.returncode == 0, applied.stderr
    history.commit({"users/customers.yaml": customers}, "the pull request: the customers")
    return before


@requires_git
def test_single_workflow_steps_plan_apply_and_find_no_drift(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = load(SINGLE)["jobs"]
    plan, apply, drift = jobs["plan"], jobs["apply"], jobs["drift"]
    before = _pull_request_history(runner.repo, tmp_path, monkeypatch)

    code, log, outputs = runner(step(plan, "Plan"))
    assert code == 0, log
    assert outputs["exitcode"] == "2"  # changes pending: the step itself still succeeds
    checksum = outputs["checksum"]
    assert HEX64.match(checksum)
    assert f"Plan checksum: `{checksum}`" in (runner.repo / "plan.md").read_text()
    assert json.loads((runner.repo / "plan.json").read_text())["checksum"] == checksum
    assert "reconciler plan" in runner.summary.read_text()  # plan wrote the step summary

    judge = step(plan, "Judge the plan's exit code")
    assert runner(judge, PLAN_EXITCODE="2")[0] == 0
    assert runner(judge, PLAN_EXITCODE="0")[0] == 0
    assert runner(judge, PLAN_EXITCODE="1")[0] == 1
    assert runner(judge, PLAN_EXITCODE="")[0] == 1

    plan_document = json.loads((runner.repo / "plan.json").read_text())
    assert plan_document["scope"]["planned_users"] == 3  # only the pull request's users were read

    pushed = {"EVENT": "push", "BEFORE": before}
    code, log, _ = runner(step(apply, "Apply"), CHECKSUM="0" * 64, **pushed)
    assert code == 3, log
    assert "::error title=reconciler apply refused::" in log
    code, log, outputs = runner(step(drift, "Plan (drift check)"))
    assert outputs["exitcode"] == "2", log  # the refused apply sent nothing

    code, log, _ = runner(step(apply, "Apply"), CHECKSUM=checksum, **pushed)
    assert code == 0, log
    assert "Apply complete: 3 applied, 0 failed." in log

    code, log, outputs = runner(step(drift, "Plan (drift check)"))
    assert code == 0 and outputs["exitcode"] == "0", log
    judge = step(drift, "Judge the drift check")
    assert runner(judge, PLAN_EXITCODE="0")[0] == 0
    assert runner(judge, PLAN_EXITCODE="2")[0] == 1
    assert runner(judge, PLAN_EXITCODE="1")[0] == 1


def test_sharded_workflow_steps_plan_and_apply_every_shard(runner: Runner) -> None:
    jobs = load(SHARDED)["jobs"]
    plan_step, apply_step = steps(jobs["plan"])[-2], steps(jobs["apply"])[-1]
    total = 2
    checksums: dict[str, str] = {}
    for index in range(1, total + 1):
        shard = f"{index}/{total}"
        code, log, _ = runner(plan_step, SHARD=shard)
        assert code == 0, log
        out = runner.repo / "out"
        assert (out / "shard").read_text().strip() == shard
        assert (out / "exitcode").read_text().strip() in {"0", "2"}
        checksums[shard] = (out / "checksum").read_text().strip()
        assert HEX64.match(checksums[shard])
        assert f"Plan checksum: `{checksums[shard]}`" in (out / "plan.md").read_text()
        shutil.rmtree(out)

    code, log, _ = runner(apply_step, SHARD="1/3", CHECKSUMS=json.dumps(checksums))
    assert code == 1 and "No reviewed checksum for shard 1/3" in log

    for shard in checksums:
        code, log, _ = runner(apply_step, SHARD=shard, CHECKSUMS=json.dumps(checksums))
        assert code == 0, log

    code, log, _ = runner(plan_step, SHARD="1/1")
    assert code == 0, log
    assert (runner.repo / "out" / "exitcode").read_text().strip() == "0"  # all shards applied
