"""The pull-request author's side of the security tests: a hostile repository, the CLI run as CI
runs it (keys and the CI token in the environment), and every output CI publishes, collected.

Shared by test_saved_plans.py, test_masking.py and test_escaping.py. Not a conftest: other
security tests bring their own fixtures, and plain functions keep each test's setup visible.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.cli_process import Result, run_reconciler

#: What CI has in its environment while it plans a pull request: never to be printed.
SECRETS = {
    "GITHUB_TOKEN": "ghs_SecretCiToken0123456789abcdefABCDEF",
    "SPRIG_API_KEY": "sprig-secret-key-0123456789",
    "USERTOUR_API_KEY": "usertour-secret-key-0123456789",
}

#: A line GitHub Actions would run as a workflow command (after leading blanks).
WORKFLOW_COMMAND = re.compile(r"^\s*(::|##\[)", re.MULTILINE)
#: Characters that must never reach a log raw: C0 but tab and line feed, DEL, C1, separators,
#: bidi controls, zero-width and tag characters (anything not printable but the layout).
_RAW = re.compile(r"[^\n\t\x20-\x7e]")


def reconciler(
    *args: str, cwd: Path, env: Mapping[str, str] | None = None, stdin: str = ""
) -> Result:
    """``reconciler ARGS`` (tests/cli_process.py), with CI's secrets in its environment."""
    return run_reconciler(*args, cwd=cwd, env={**SECRETS, **(env or {})}, stdin=stdin)


def write_files(root: Path, files: Mapping[str, str | Mapping[str, Any]]) -> Path:
    """Write ``files`` under root: name -> text, or a mapping written as ASCII JSON (JSON is
    YAML, and its escapes are double-quoted YAML escapes: control characters get through)."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content)
        path.write_text(text, encoding="utf-8")
    return root


def plan_outputs(repo: Path, *extra: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Everything a pull request's plan publishes, per channel: text, markdown and json on
    stdout and stderr, the job summary, and the saved plan (the CI artifact)."""
    outputs: dict[str, str] = {}
    summary = repo.parent / f"{repo.name}-summary.md"
    saved = repo.parent / f"{repo.name}-plan.json"
    for output_format in ("text", "markdown", "json"):
        environ = {"GITHUB_STEP_SUMMARY": str(summary), **(env or {})}
        args = ["plan", "--format", output_format, "--out", str(saved), *extra]
        result = reconciler(*args, cwd=repo, env=environ)
        assert result.code == 0, result.both
        outputs[f"plan {output_format} stdout"] = result.stdout
        outputs[f"plan {output_format} stderr"] = result.stderr
        outputs[f"plan --out ({output_format} run)"] = saved.read_text(encoding="utf-8")
    outputs["step summary"] = summary.read_text(encoding="utf-8")
    return outputs


def apply_outputs(repo: Path, *extra: str, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What apply prints in text and json (each run applies; later runs find nothing to do,
    so the text run, which shows the diff and the report, goes first)."""
    outputs: dict[str, str] = {}
    for output_format in ("text", "json"):
        args = ["apply", "--yes", "--format", output_format, *extra]
        result = reconciler(*args, cwd=repo, env=env)
        outputs[f"apply {output_format} stdout"] = result.stdout
        outputs[f"apply {output_format} stderr"] = result.stderr
    return outputs


def leaks(outputs: Mapping[str, str], values: Iterable[str]) -> list[tuple[str, str]]:
    """(channel, value) for every value found in an output channel: empty when none leaks."""
    return [(channel, v) for channel, text in outputs.items() for v in values if v in text]


def injections(outputs: Mapping[str, str]) -> list[tuple[str, str]]:
    """(channel, what) for every workflow command line or raw unprintable character found."""
    found = []
    for channel, text in outputs.items():
        for match in WORKFLOW_COMMAND.finditer(text):
            line = text[match.start() : text.find("\n", match.start())]
            if not _ours(line):
                found.append((channel, f"workflow command line {line!r}"))
        for match in _RAW.finditer(text):
            if not match[0].isprintable():
                found.append((channel, f"raw {match[0]!r}"))
    return found


def _ours(line: str) -> bool:
    """validate --format github's own annotations are the only workflow commands we print."""
    return line.startswith("::error file=") and "title=reconciler::" in line
