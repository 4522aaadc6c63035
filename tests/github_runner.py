"""Run GitHub Actions steps on this machine: a workflow's ``run:`` steps and this repository's
composite action (action.yml), the way a runner does, against a local folder.

What a runner provides is faked, nothing else: ``GITHUB_OUTPUT`` (one file per step, read back
as the step's outputs), ``GITHUB_STEP_SUMMARY``, ``RUNNER_TEMP``, ``RUNNER_OS``,
``GITHUB_ACTION_PATH`` (this checkout) and bash with ``-eo pipefail``. ``${{ }}`` expressions
are only allowed where GitHub evaluates them before the shell runs (``env:``, ``with:``,
``working-directory:``); each must be a plain name the test gives a value, so no expression
goes unnoticed. A workflow's ``actions/cache/restore`` and ``actions/cache/save`` steps run
against ``cache`` (a folder shared by the jobs of a test): save keeps the path under its key,
once; restore takes the exact key or else the newest entry that a restore key starts, as GitHub
does. ``uses:`` steps inside the action (actions/cache) are not run: the cache is the venv
folder, which a test either leaves empty (a miss: the install step installs) or fills with
a real venv (``seed_venv``). Keys given in a step's ``env:`` reach every step of the action, as
on GitHub; the action's ``api-keys`` input reaches only the steps that name it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: How the example workflows name this repository's action (OWNER is the placeholder).
ACTION_USES = re.compile(r"^OWNER/reconciler@[0-9a-f]{40}$")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)
#: The official cache actions the workflows use (restore and save, apart).
CACHE_USES = "actions/cache/"


def expand(text: str, context: Mapping[str, str]) -> str:
    """Replace each ``${{ name }}`` by its value; a missing step output is '' (as on GitHub),
    any other unknown name is a test error."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in context:
            return context[name]
        if name.startswith("steps.") and ".outputs." in name:
            return ""
        raise KeyError(f"no value for ${{{{ {name} }}}} in {text!r}")

    return EXPRESSION.sub(value, text)


def python_shims(folder: Path) -> Path:
    """``folder`` with ``python`` and ``python3`` that run this interpreter, to put on PATH
    (a runner's setup-python): no ``reconciler`` there, the workflows reach it through the
    action."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        shim = folder / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        shim.chmod(0o755)
    return folder


def load_action(action_path: Path = ROOT) -> dict[str, Any]:
    document = yaml.safe_load((action_path / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@dataclass
class Result:
    code: int
    log: str
    outputs: dict[str, str] = field(default_factory=dict)


class Runner:
    """One job's runner: a workspace (the checkout), RUNNER_TEMP, and the step outputs so far."""

    def __init__(
        self,
        workspace: Path,
        temp: Path,
        bin_dir: Path,
        action_path: Path = ROOT,
        cache: Path | None = None,
    ) -> None:
        self.workspace = workspace
        #: The Actions cache of the repository (shared by the jobs a test runs).
        self.cache = cache if cache is not None else workspace.parent / "actions-cache"
        self.action_path = action_path
        self.temp = temp
        self.bin_dir = bin_dir
        self.summary = temp / "summary.md"
        self.steps = 0
        #: The environment each shell step ran with, in order: where a key went.
        self.environments: list[dict[str, str]] = []
        temp.mkdir(parents=True, exist_ok=True)
        self.summary.touch()
        self.context: dict[str, str] = {"runner.temp": str(temp)}

    @property
    def venv(self) -> Path:
        """Where the action keeps its venv (the cached folder)."""
        return self.temp / "reconciler-venv"

    def seed_venv(self) -> None:
        """A cache hit: a real venv (as the install step leaves it) whose reconciler is this
        checkout's and whose dependencies are this interpreter's, through a .pth file: it runs
        isolated (``python -I -m reconciler``) exactly as an installed one would."""
        subprocess.run(
            [sys.executable, "-I", "-m", "venv", "--without-pip", str(self.venv)],
            cwd=self.temp,
            check=True,
        )
        found = subprocess.run(
            [
                str(self.venv / "bin" / "python"),
                "-I",
                "-c",
                "import site; print(site.getsitepackages()[0])",
            ],
            cwd=self.temp,
            check=True,
            capture_output=True,
            text=True,
        )
        dependencies = sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]
        lines = dict.fromkeys([str(ROOT), *dependencies])
        (Path(found.stdout.strip()) / "reconciler-tests.pth").write_text("\n".join(lines) + "\n")

    def environment(self, extra: Mapping[str, str]) -> dict[str, str]:
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_API_KEY") and not k.startswith(("GITHUB_", "RUNNER_"))
        }
        inherited.update(
            PATH=f"{self.bin_dir}{os.pathsep}{inherited.get('PATH', '')}",
            NO_COLOR="1",
            RUNNER_TEMP=str(self.temp),
            RUNNER_OS="Linux",
            GITHUB_WORKSPACE=str(self.workspace),
            GITHUB_STEP_SUMMARY=str(self.summary),
        )
        inherited.update(extra)
        return inherited

    def shell(self, script: str, env: Mapping[str, str], cwd: Path) -> Result:
        """A ``run:`` script as GitHub runs ``shell: bash``: ``bash -eo pipefail FILE``."""
        assert "${{" not in script, "expressions must reach a script through env:"
        self.steps += 1
        output = self.temp / f"github-output-{self.steps}"
        output.write_text("")
        file = self.temp / f"step-{self.steps}.sh"
        file.write_text(script)
        environment = self.environment({**env, "GITHUB_OUTPUT": str(output)})
        self.environments.append(environment)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(file)],
            cwd=cwd,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        lines = output.read_text().splitlines()
        outputs = dict(line.split("=", 1) for line in lines if "=" in line)
        return Result(done.returncode, done.stdout + done.stderr, outputs)

    def step(self, step: Mapping[str, Any], **context: str) -> Result:
        """A workflow step (``run:``, or ``uses:`` this action) with these expression values."""
        values = {**self.context, **context}
        env = {k: expand(str(v), values) for k, v in step.get("env", {}).items()}
        if "run" in step:
            folder = expand(step.get("working-directory", "."), values)
            result = self.shell(step["run"], env, self.workspace / folder)
        elif str(step["uses"]).startswith(CACHE_USES):
            inputs = {k: expand(str(v), values) for k, v in step.get("with", {}).items()}
            result = self.cache_step(str(step["uses"]), inputs)
        else:
            assert ACTION_USES.match(step["uses"]), step["uses"]
            inputs = {k: expand(str(v), values) for k, v in step.get("with", {}).items()}
            result = self.action(inputs, env)
        if "id" in step:
            for name, value in result.outputs.items():
                self.context[f"steps.{step['id']}.outputs.{name}"] = value
        return result

    def cache_step(self, uses: str, inputs: Mapping[str, str]) -> Result:
        """actions/cache/restore@v4 or actions/cache/save@v4 on ``self.cache``."""
        path = self.workspace / inputs["path"]
        key = inputs["key"]
        if uses == f"{CACHE_USES}save@v4":
            if not path.exists():
                return Result(0, f"Warning: Path Validation Error: {inputs['path']} does not exist")
            entry = self.cache / key
            if entry.exists():
                return Result(0, f"Cache already exists: {key}")
            shutil.copytree(path, entry / "content")
            (self.cache / "order").mkdir(parents=True, exist_ok=True)
            (
                self.cache / "order" / f"{len(list((self.cache / 'order').iterdir())):06d}"
            ).write_text(key)
            return Result(0, f"Cache saved with key: {key}")
        assert uses == f"{CACHE_USES}restore@v4", uses
        order = sorted((self.cache / "order").iterdir()) if (self.cache / "order").exists() else []
        saved = [entry.read_text() for entry in order]
        prefixes = [line.strip() for line in inputs.get("restore-keys", "").splitlines()]
        found = key if key in saved else None
        for prefix in (p for p in prefixes if p and found is None):
            found = next((k for k in reversed(saved) if k.startswith(prefix)), None)
        if found is None:
            return Result(0, "Cache not found", {"cache-hit": "false"})
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(self.cache / found / "content", path)
        outputs = {"cache-hit": str(found == key).lower(), "cache-matched-key": found}
        return Result(0, f"Cache restored from key: {found}", outputs)

    def action(self, inputs: Mapping[str, str], env: Mapping[str, str] | None = None) -> Result:
        """This repository's action.yml, its inputs checked and defaulted as GitHub does."""
        definition = load_action(self.action_path)
        declared: dict[str, dict[str, Any]] = definition["inputs"]
        assert set(inputs) <= set(declared), set(inputs) - set(declared)
        values: dict[str, str] = {}
        for name, spec in declared.items():
            assert name in inputs or not spec.get("required"), f"input {name} is required"
            values[f"inputs.{name}"] = inputs.get(name, str(spec.get("default", "")))
        logs, code = [], 0
        for inner in definition["runs"]["steps"]:
            if "uses" in inner:
                continue
            inner_env = {k: expand(str(v), values) for k, v in inner.get("env", {}).items()}
            inner_env = {**(env or {}), **inner_env, "GITHUB_ACTION_PATH": str(self.action_path)}
            folder = expand(inner.get("working-directory", "."), values)
            result = self.shell(inner["run"], inner_env, self.workspace / folder)
            logs.append(result.log)
            for name, value in result.outputs.items():
                values[f"steps.{inner.get('id')}.outputs.{name}"] = value
            if result.code:
                code = result.code
                break
        outputs = {n: expand(s["value"], values) for n, s in definition["outputs"].items()}
        return Result(code, "".join(logs), outputs)


#: actions/github-script's globals, faked: ``github`` records what would be posted and answers
#: from the state a test gives (comments, pull requests); ``core`` records outputs and failures.
_GITHUB_SCRIPT = r"""
const fs = require('fs');
const [scriptFile, stateFile] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const result = { outputs: {}, failed: null, posted: [], summary: '' };
const core = {
  setOutput: (name, value) => { result.outputs[name] = String(value); },
  setFailed: (message) => { result.failed = String(message); },
  info: () => {},
  summary: {
    addRaw(text) { result.summary += text; return this; },
    addCodeBlock(text) { result.summary += '\n```\n' + text + '\n```\n'; return this; },
    async write() { return this; },
  },
};
const post = (kind) => async (params) => { result.posted.push({ kind, ...params }); };
const github = {
  paginate: async (method, params) => method(params),
  rest: {
    issues: {
      listComments: () => state.comments ?? [],
      listForRepo: () => state.issues ?? [],
      createComment: post('createComment'),
      updateComment: post('updateComment'),
      create: post('create'),
      update: post('update'),
    },
    repos: {
      listPullRequestsAssociatedWithCommit: async () => ({ data: state.pulls ?? [] }),
    },
  },
};
const body = fs.readFileSync(scriptFile, 'utf8');
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'core', 'github', 'context', body)(
  require, core, github, state.context,
).then(() => fs.writeFileSync(stateFile, JSON.stringify(result)));
"""


def github_script(
    step: Mapping[str, Any],
    cwd: Path,
    state: Mapping[str, Any],
    context: Mapping[str, str],
) -> dict[str, Any]:
    """Run an actions/github-script step's script with node, its env expanded from
    ``context``; returns what it posted, its outputs, its failure and its summary."""
    node = shutil.which("node")
    assert node is not None, "callers skip when node is not installed"
    env = {k: expand(str(v), context) for k, v in step.get("env", {}).items()}
    harness, script, state_file = (cwd / name for name in ("harness.js", "script.js", "state"))
    harness.write_text(_GITHUB_SCRIPT)
    script.write_text(step["with"]["script"])
    state_file.write_text(json.dumps(state))
    done = subprocess.run(
        [node, str(harness), str(script), str(state_file)],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(state_file.read_text())
    return result
