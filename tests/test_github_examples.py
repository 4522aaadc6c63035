"""The GitHub Actions workflows in examples/github/: their structure, and their steps run for real.

The structure tests read the YAML as GitHub does (PyYAML 1.1 turns the key ``on`` into True).
The behaviour tests run the workflows' steps on a copy of examples/ (the sandbox target: no key,
no network) with tests/github_runner.py: ``run:`` steps with bash, the ``uses:`` steps of
reconciler's action through this checkout's action.yml, and the github-script steps with node
(skipped without node), whose pull-request comment is then rendered with GitHub's Markdown
engine to check that no fence or ``<details>`` is left open.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.github_runner import ACTION_USES, EXPRESSION, Runner, github_script, python_shims
from tests.gitrepo import GitRepo, isolate_git, requires_git
from tests.markdown_check import assert_well_formed

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
    "actions/cache/restore@v4",
    "actions/cache/save@v4",
}
#: The only write permissions each workflow grants, per job.
WRITES = {
    SINGLE: {"plan": {"pull-requests"}, "drift": {"issues"}},
    SHARDED: {"report": {"pull-requests"}},
}
HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: GitHub refuses a comment (or an issue body) longer than this.
GITHUB_BODY_LIMIT = 65_536
SECRETS = {"secrets.SPRIG_API_KEY": "", "secrets.USERTOUR_API_KEY": ""}
needs_node = pytest.mark.skipif(
    shutil.which("node") is None, reason="node runs the workflows' github-script steps"
)


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


def ours(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The steps that use reconciler's action."""
    return [s for s in steps(job) if ACTION_USES.match(s.get("uses", ""))]


def args(s: dict[str, Any]) -> str:
    return " ".join(str(s["with"].get("args", "")).split())


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


def test_actions_are_official_and_reconciler_is_pinned_to_a_commit(
    workflow: tuple[Path, dict[Any, Any]],
) -> None:
    path, document = workflow
    used = {s["uses"] for job in document["jobs"].values() for s in steps(job) if "uses" in s}
    reconciler = {u for u in used if ACTION_USES.match(u)}
    assert len(reconciler) == 1, "every step uses the same reviewed commit of reconciler"
    assert used - reconciler <= ALLOWED_ACTIONS
    assert "actions/github-script@v7" in used
    [pinned] = reconciler
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if pinned in line]
    assert lines and all("# pinned to a reviewed commit (PLACEHOLDER" in line for line in lines)


@requires_git
def test_the_pinned_commit_is_one_of_this_repository_with_the_action(
    workflow: tuple[Path, dict[Any, Any]],
) -> None:
    """The placeholder pin is still a real commit: the one the examples were tested with."""
    _, document = workflow
    [pinned] = {s["uses"] for job in document["jobs"].values() for s in ours(job)}
    commit = pinned.split("@")[1]
    clone = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--is-shallow-repository"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if clone.returncode or clone.stdout.split() != [str(ROOT), "false"]:
        pytest.skip("not a full git clone of this repository: its history is not here")
    shown = subprocess.run(
        ["git", "show", f"{commit}:action.yml"], cwd=ROOT, capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert "using: composite" in shown.stdout


def test_nothing_installs_reconciler_from_the_package_index(
    workflow: tuple[Path, dict[Any, Any]],
) -> None:
    """The index's ``reconciler`` is someone else's project: the workflows only use the action,
    which installs reconciler from its own commit."""
    path, document = workflow
    text = path.read_text(encoding="utf-8")
    assert "pip install" not in text
    for job in document["jobs"].values():
        code = [line for line in runs(job).splitlines() if not line.lstrip().startswith("#")]
        assert not re.search(r"(^|[\s;&|(])reconciler\s", "\n".join(code), re.MULTILINE)


def test_secrets_only_in_the_api_keys_of_steps_that_plan_or_apply(
    workflow: tuple[Path, dict[Any, Any]],
) -> None:
    """Keys go in the action's ``api-keys`` input, which only its reconciler step reads: a key
    in a step's ``env:`` would reach every step of the composite action (issue 23)."""
    _, document = workflow
    assert "secrets." not in dumped(document["env"])
    assert "RECONCILER_ALLOWED_HOSTS" in document["env"]
    assert "vars.RECONCILER_ALLOWED_HOSTS" in document["env"]["RECONCILER_ALLOWED_HOSTS"]
    validate = document["jobs"]["validate"]
    assert "secrets" not in dumped(validate)
    [check] = ours(validate)
    assert check["with"] == {"command": "validate", "args": "--format github"}
    keyed = 0
    for name, job in document["jobs"].items():
        assert "secrets." not in dumped(job.get("env", {})), name
        for s in steps(job):
            outside = {key: value for key, value in s.items() if key != "with"}
            assert "secrets." not in dumped(outside), (name, s.get("name"))
            given = {key: value for key, value in s.get("with", {}).items() if key != "api-keys"}
            assert "secrets." not in dumped(given), (name, s.get("name"))
            if "api-keys" in s.get("with", {}):
                assert ACTION_USES.match(s.get("uses", "")), (name, s.get("name"))
                assert s["with"]["command"] in {"plan", "apply"}, (name, s.get("name"))
                keyed += 1
    assert keyed >= 2


def test_expressions_reach_scripts_only_through_env(workflow: tuple[Path, dict[Any, Any]]) -> None:
    _, document = workflow
    for name, job in document["jobs"].items():
        for s in steps(job):
            assert "${{" not in s.get("run", ""), (name, s.get("name"))
            assert "${{" not in s.get("with", {}).get("script", ""), (name, s.get("name"))


def test_single_pull_request_plan_comment_and_artifact() -> None:
    jobs = load(SINGLE)["jobs"]
    plan = jobs["plan"]
    assert "pull_request" in plan["if"]
    assert plan["needs"] == "validate"
    planned = step(plan, "Plan")
    assert planned["with"]["command"] == "plan"
    for flag in (
        "--changed-since HEAD^1",
        "--sensitive-from HEAD^1",  # main's sensitive names stay masked (issue 23.2)
        "--detailed-exitcode",
        "--markdown-limit 60000",
    ):
        assert flag in args(planned)
    assert "--out ${{ runner.temp }}/plan.json" in args(planned)  # outside the checkout
    assert planned["with"]["ok-exit-codes"] == "0 2"
    script = scripts(plan)
    assert STICKY_MARKER in script
    assert "<!-- reconciler-checksum: ${checksum} -->" in script
    assert "updateComment" in script and "createComment" in script and "listComments" in script
    assert ".slice(0, 6" not in script and "truncated" not in script  # reconciler truncates
    upload = next(s for s in steps(plan) if s.get("uses") == "actions/upload-artifact@v4")
    assert upload["with"]["path"] == "${{ runner.temp }}/plan.json"
    assert 1 <= upload["with"]["retention-days"] <= 7


def test_single_apply_is_serialised_and_applies_the_reviewed_checksum() -> None:
    jobs = load(SINGLE)["jobs"]
    apply = jobs["apply"]
    assert "push" in apply["if"] and "refs/heads/main" in apply["if"]
    assert apply["concurrency"]["group"] == "reconciler-apply"
    assert apply["concurrency"]["cancel-in-progress"] is False
    applied = step(apply, "Apply")
    assert applied["with"]["command"] == "apply"
    assert args(applied) == (
        "${{ steps.scope.outputs.args }} --checksum ${{ steps.reviewed.outputs.checksum }} --yes"
    )
    assert "--changed-since $BEFORE" in step(apply, "Choose the users to apply")["run"]
    script = scripts(apply)
    assert STICKY_MARKER in script and "<!-- reconciler-checksum: " in script
    assert "listPullRequestsAssociatedWithCommit" in script
    assert apply["permissions"] == {"contents": "read", "pull-requests": "read"}


def test_single_drift_check() -> None:
    drift = load(SINGLE)["jobs"]["drift"]
    assert "schedule" in drift["if"]
    planned = step(drift, "Plan (drift check)")
    assert "--detailed-exitcode" in args(planned) and "--changed-since" not in args(planned)
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
        [reconciler] = ours(job)
        assert "--shard ${{ matrix.shard }}/${{ strategy.job-total }}" in args(reconciler), name


def test_sharded_plan_artifacts_and_one_combined_comment() -> None:
    jobs = load(SHARDED)["jobs"]
    plan = jobs["plan"]
    [planned] = ours(plan)
    assert "--detailed-exitcode" in args(planned)
    assert "--markdown-limit ${{ steps.share.outputs.limit }}" in args(planned)
    assert "${{ steps.share.outputs.scope }}" in args(planned)  # --changed-since on PRs
    upload = next(s for s in steps(plan) if s.get("uses") == "actions/upload-artifact@v4")
    assert upload["with"]["name"] == "reconciler-plan-shard-${{ matrix.shard }}"
    assert upload["with"]["path"] == "${{ runner.temp }}/shard/"
    assert 1 <= upload["with"]["retention-days"] <= 7
    report = jobs["report"]
    assert report["needs"] == "plan"
    download = next(s for s in steps(report) if s.get("uses") == "actions/download-artifact@v4")
    assert download["with"]["pattern"] == "reconciler-plan-shard-*"
    script = scripts(report)
    assert STICKY_MARKER in script and "<!-- reconciler-checksum ${s.shard}: " in script
    assert "updateComment" in script and "createComment" in script
    assert "s.plan.slice" not in script and "truncated" not in script  # reconciler truncates


def test_sharded_apply_is_serialised_per_shard_with_reviewed_checksums() -> None:
    jobs = load(SHARDED)["jobs"]
    assert jobs["reviewed"]["outputs"]["checksums"]
    assert "<!-- reconciler-checksum (" in scripts(jobs["reviewed"])
    apply = jobs["apply"]
    assert apply["needs"] == "reviewed"
    assert "${{ matrix.shard }}" in apply["concurrency"]["group"]
    assert apply["concurrency"]["cancel-in-progress"] is False
    [applied] = ours(apply)
    assert applied["with"]["command"] == "apply"
    assert "--checksum ${{ steps.scope.outputs.checksum }} --yes" in args(applied)


def test_github_scripts_are_valid_javascript(
    workflow: tuple[Path, dict[Any, Any]], tmp_path: Path
) -> None:
    _, document = workflow
    bodies = [scripts(job) for job in document["jobs"].values() if scripts(job)]
    assert bodies
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the scripts' syntax is not checked")
    for index, body in enumerate(bodies):
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


# ---- behaviour: the steps run on the sandbox example ------------------------------------------


def many_users(count: int) -> str:
    """A declaration file big enough that its plan must be cut to fit one comment."""
    lines = ["users:"]
    for n in range(count):
        lines.append(f'  - id: "bulk-{n:04d}"')
        lines.append("    attributes:")
        lines += [f"      field_{k}: value number {k} of user {n}" for k in range(8)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "examples", repo, ignore=shutil.ignore_patterns(".reconciler"))
    return repo


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """``python``/``python3`` of this interpreter; deliberately no ``reconciler`` on PATH: the
    workflows must reach it through the action."""
    return python_shims(tmp_path / "bin")


def runner(workspace: Path, bin_dir: Path, name: str) -> Runner:
    """A fresh runner for one job (its own RUNNER_TEMP), with reconciler's venv cached."""
    job = Runner(workspace, workspace.parent / f"temp-{name}", bin_dir)
    job.seed_venv()
    return job


def pull_request_history(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, added: dict[str, str]
) -> str:
    """The example as a git history: main holds the staff (already applied), the pull request
    adds users/customers.yaml and ``added``. Returns main's commit (the pull request's HEAD^1)."""
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
    history.commit({"users/customers.yaml": customers, **added}, "the pull request")
    return before


def pull_request_context(sha: str = "0123456789abcdef") -> dict[str, Any]:
    return {
        "eventName": "pull_request",
        "repo": {"owner": "acme", "repo": "users"},
        "payload": {"pull_request": {"number": 7, "head": {"sha": sha}}},
        "serverUrl": "https://github.example",
        "runId": 1,
        "sha": "f" * 40,
    }


def the_comment(posted: list[dict[str, Any]]) -> str:
    [comment] = [p for p in posted if p["kind"] in {"createComment", "updateComment"}]
    body: str = comment["body"]
    assert len(body) < GITHUB_BODY_LIMIT
    return body


@requires_git
def test_single_workflow_steps_plan_comment_apply_and_find_no_drift(
    workspace: Path, bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = load(SINGLE)["jobs"]
    plan, apply, drift = jobs["plan"], jobs["apply"], jobs["drift"]
    before = pull_request_history(workspace, tmp_path, monkeypatch, {})

    job = runner(workspace, bin_dir, "plan")
    planned = job.step(step(plan, "Plan"), **SECRETS)
    assert planned.code == 0, planned.log  # exit 2 (changes pending) is not a failure
    assert planned.outputs["exitcode"] == "2"
    checksum = planned.outputs["checksum"]
    assert HEX64.match(checksum)
    markdown = Path(planned.outputs["markdown"])
    assert markdown.is_relative_to(job.temp)  # never inside the checkout
    assert f"Plan checksum: `{checksum}`" in markdown.read_text()
    saved = json.loads((job.temp / "plan.json").read_text())
    assert saved["checksum"] == checksum
    assert saved["scope"]["planned_users"] == 3  # only the pull request's users were read
    assert "reconciler plan" in job.summary.read_text()  # plan wrote the step summary
    status = subprocess.run(["git", "status", "--porcelain"], cwd=workspace, capture_output=True)
    assert status.stdout.decode() == ""  # nothing written in the checkout

    if shutil.which("node"):
        comment = step(plan, "Post or update the plan comment")
        state = {"context": pull_request_context()}
        posted = github_script(comment, job.temp, state, job.context)
        body = the_comment(posted["posted"])
        assert f"<!-- reconciler-checksum: {checksum} -->" in body
        assert_well_formed(body, ["Plan checksum:", checksum])

    pushed = {"github.event_name": "push", "github.event.before": before}
    job = runner(workspace, bin_dir, "apply")
    scope = job.step(step(apply, "Choose the users to apply"), **pushed)
    assert scope.outputs["args"] == f"--changed-since {before}"
    reviewed = {"steps.reviewed.outputs.checksum": "0" * 64}
    refused = job.step(step(apply, "Apply"), **SECRETS, **reviewed)
    assert refused.code == 3 and refused.outputs["exitcode"] == "3", refused.log
    said = job.step(step(apply, "Say why nothing was sent"))
    assert said.code == 3 and "::error title=reconciler apply refused::" in said.log

    job = runner(workspace, bin_dir, "drift")
    checked = job.step(step(drift, "Plan (drift check)"), **SECRETS)
    assert checked.outputs["exitcode"] == "2", checked.log  # the refused apply sent nothing

    job = runner(workspace, bin_dir, "apply-again")
    job.step(step(apply, "Choose the users to apply"), **pushed)
    reviewed = {"steps.reviewed.outputs.checksum": checksum}
    applied = job.step(step(apply, "Apply"), **SECRETS, **reviewed)
    assert applied.code == 0, applied.log
    assert "Apply complete: 3 applied, 0 failed." in applied.log

    job = runner(workspace, bin_dir, "drift-again")
    checked = job.step(step(drift, "Plan (drift check)"), **SECRETS)
    assert checked.code == 0 and checked.outputs["exitcode"] == "0", checked.log
    judge = step(drift, "Judge the drift check")
    for code, verdict in (("0", 0), ("2", 1), ("1", 1), ("", 1)):
        result = job.step(judge, **{"steps.plan.outputs.exitcode": code})
        assert result.code == verdict, code


@requires_git
@needs_node
def test_sharded_workflow_comment_stays_valid_markdown_and_applies_what_it_shows(
    workspace: Path, bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shards of a pull request too big for one comment: each shard's plan is cut by reconciler
    within its share, the joined comment keeps every fence and ``<details>`` closed and every
    checksum visible, and applying each shard with the checksum read back from it works."""
    jobs = load(SHARDED)["jobs"]
    share = step(jobs["plan"], "Share out the comment and choose the users")
    planned_step = step(jobs["plan"], "Plan this shard")
    gather = step(jobs["plan"], "Gather this shard's outcome")
    total = 2
    before = pull_request_history(
        workspace, tmp_path, monkeypatch, {"users/bulk.yaml": many_users(300)}
    )
    artifacts = tmp_path / "report" / "shards"
    checksums: dict[str, str] = {}
    planned_users = 0
    for index in range(1, total + 1):
        job = runner(workspace, bin_dir, f"plan-{index}")
        matrix = {"matrix.shard": str(index), "strategy.job-total": str(total)}
        shared = job.step(share, **matrix, **{"github.event_name": "pull_request"})
        scope = "--changed-since HEAD^1 --sensitive-from HEAD^1"
        assert shared.outputs == {"limit": str(60_000 // total), "scope": scope}
        planned = job.step(planned_step, **matrix, **SECRETS)
        assert planned.code == 0 and planned.outputs["exitcode"] == "2", planned.log
        markdown = Path(planned.outputs["markdown"]).read_text()
        assert len(markdown) <= 60_000 // total
        assert "not shown (comment size limit)" in markdown  # reconciler cut it, keeping blocks
        assert job.step(gather, **matrix).code == 0
        shutil.copytree(job.temp / "shard", artifacts / f"reconciler-plan-shard-{index}")
        checksums[f"{index}/{total}"] = planned.outputs["checksum"]
        saved = json.loads((job.temp / "shard" / "plan.json").read_text())
        planned_users += saved["scope"]["planned_users"]
    assert planned_users == 303  # the pull request's users, each in one shard, nobody else

    report = step(jobs["report"], "Join the shards into one comment")
    state = {"context": pull_request_context()}
    result = github_script(report, artifacts.parent, state, {"needs.plan.result": "success"})
    assert result["failed"] is None
    body = the_comment(result["posted"])
    landmarks = ["Plan checksum:", *checksums.values()]
    landmarks += [f"Shard {shard}" for shard in checksums]
    assert_well_formed(body, landmarks)

    reviewed_script = step(jobs["reviewed"], "Find the reviewed checksums")
    state = {
        "comments": [{"user": {"type": "Bot"}, "body": body}],
        "pulls": [{"number": 7, "merged_at": "now", "merge_commit_sha": "f" * 40}],
    }
    context = {**pull_request_context(), "eventName": "push"}
    found = github_script(
        reviewed_script, tmp_path, {**state, "context": context}, {"inputs.checksums": ""}
    )
    assert json.loads(found["outputs"]["checksums"]) == checksums

    scope_step = step(jobs["apply"], "Find this shard's reviewed checksum")
    apply_step = step(jobs["apply"], "Apply this shard")
    for index in range(1, total + 1):
        job = runner(workspace, bin_dir, f"apply-{index}")
        values = {
            "matrix.shard": str(index),
            "strategy.job-total": str(total),
            "needs.reviewed.outputs.checksums": found["outputs"]["checksums"],
            "github.event_name": "push",
            "github.event.before": before,
        }
        scope = job.step(scope_step, **values)
        assert scope.code == 0, scope.log
        applied = job.step(apply_step, **values, **SECRETS)
        assert applied.code == 0, applied.log

    job = runner(workspace, bin_dir, "missing")
    values["matrix.shard"], values["strategy.job-total"] = "1", "3"
    missing = job.step(scope_step, **values)
    assert missing.code == 1 and "No reviewed checksum for shard 1/3" in missing.log

    job = runner(workspace, bin_dir, "drift")
    full = {"matrix.shard": "1", "strategy.job-total": "1", "github.event_name": "schedule"}
    assert job.step(share, **full).outputs["scope"] == ""
    checked = job.step(planned_step, **full, **SECRETS)
    assert checked.outputs["exitcode"] == "0", checked.log  # every shard was applied


@requires_git
@needs_node
def test_sharded_comment_of_a_three_user_pull_request_shows_only_the_shards_it_touches(
    workspace: Path, bin_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 24 point 1: four shards, three changed users: no table per shard, the shards
    without changes in one line, each changed user once, and where the full plans are."""
    jobs = load(SHARDED)["jobs"]
    share = step(jobs["plan"], "Share out the comment and choose the users")
    planned_step = step(jobs["plan"], "Plan this shard")
    gather = step(jobs["plan"], "Gather this shard's outcome")
    total = 4
    pull_request_history(workspace, tmp_path, monkeypatch, {})
    artifacts = tmp_path / "report" / "shards"
    clean = []
    for index in range(1, total + 1):
        job = runner(workspace, bin_dir, f"plan-{index}")
        matrix = {"matrix.shard": str(index), "strategy.job-total": str(total)}
        job.step(share, **matrix, **{"github.event_name": "pull_request"})
        planned = job.step(planned_step, **matrix, **SECRETS)
        assert planned.outputs["exitcode"] in {"0", "2"}, planned.log
        if planned.outputs["exitcode"] == "0":
            clean.append(f"{index}/{total}")
        assert job.step(gather, **matrix).code == 0
        shutil.copytree(job.temp / "shard", artifacts / f"reconciler-plan-shard-{index}")
    assert clean  # three users cannot change four shards
    report = step(jobs["report"], "Join the shards into one comment")
    state = {"context": pull_request_context()}
    result = github_script(report, artifacts.parent, state, {"needs.plan.result": "success"})
    body = the_comment(result["posted"])
    assert "| target |" not in body  # no summary table per shard
    assert body.count("**reconciler plan:**") == total - len(clean)
    assert f"No changes in shard{'s' if len(clean) > 1 else ''} {', '.join(clean)}." in body
    for user_id in ("12347", "12348", "12349"):
        assert body.count(f"<code>{user_id}</code>") == 1  # one block per user
    assert "its job log (text) and its artifact `reconciler-plan-shard-N`" in body
    assert_well_formed(body, ["Plan checksum:"])


RECORD = ".reconciler/inflight"


def _apply_job(path: Path) -> dict[str, Any]:
    jobs = load(path)["jobs"]
    return jobs["apply"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_apply_job_keeps_the_write_ahead_record_inside_its_concurrency_group(
    path: Path,
) -> None:
    """Issue 20: the record is restored before the apply step and saved after it whatever
    happened (a cancelled apply's record matters most), in the job of the concurrency group."""
    apply = _apply_job(path)
    assert "concurrency" in apply and apply["concurrency"]["cancel-in-progress"] is False
    names = [s.get("name", s.get("uses")) for s in steps(apply)]
    restore = step(apply, "Restore the record of writes in flight")
    save = step(apply, "Keep the record of writes in flight for the next apply")
    applying = next(s for s in steps(apply) if s.get("id") == "apply")
    order = [names.index(s["name"]) for s in (restore, applying, save)]
    assert order == sorted(order)
    assert restore["uses"] == "actions/cache/restore@v4"
    assert save["uses"] == "actions/cache/save@v4" and save["if"] == "${{ always() }}"
    assert restore["with"]["path"] == save["with"]["path"] == RECORD
    assert restore["with"]["key"] == save["with"]["key"]
    assert "github.run_id" in save["with"]["key"] and "github.run_attempt" in save["with"]["key"]
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"].strip())
    for job_name, job in load(path)["jobs"].items():
        if job_name != "apply":  # no other job (a pull request's plan) touches the record
            assert not any(RECORD in str(s.get("with", {})) for s in steps(job)), job_name


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_the_record_an_apply_leaves_reaches_the_next_apply_on_a_fresh_machine(
    path: Path, tmp_path: Path, bin_dir: Path
) -> None:
    """The cache steps run with the project's runner: what one apply job leaves in
    .reconciler/inflight/ is restored by the next apply job on a new checkout (the newest
    entry of the prefix), and a sharded run keeps one record per shard."""
    apply = _apply_job(path)
    restore = step(apply, "Restore the record of writes in flight")
    save = step(apply, "Keep the record of writes in flight for the next apply")
    cache = tmp_path / "cache"

    def job(run: int, shard: str, leaves: str | None) -> str | None:
        checkout = tmp_path / f"checkout-{run}-{shard}"
        checkout.mkdir()
        runner = Runner(checkout, tmp_path / f"temp-{run}-{shard}", bin_dir, cache=cache)
        context = {"github.run_id": str(run), "github.run_attempt": "1", "matrix.shard": shard}
        runner.step(restore, **context)
        record = checkout / RECORD / "research.jsonl"
        found = record.read_text() if record.exists() else None
        if leaves is not None:  # what this job's apply left
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(leaves)
        saved = runner.step(save, **context)
        assert saved.code == 0, saved.log
        return found

    assert job(1, "1", "first apply's writes") is None  # nothing yet
    assert job(2, "1", "second apply's writes") == "first apply's writes"
    assert job(3, "1", None) == "second apply's writes"  # the newest, not the first
    sharded = "matrix.shard" in restore["with"]["key"]
    assert job(4, "2", None) == (None if sharded else "second apply's writes")
