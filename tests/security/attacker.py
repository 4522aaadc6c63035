"""The attacker's pull request: a repository whose every file, name and symlink they chose.

The CLI runs as CI runs it on a pull request (tests/cli_process.py), in the repository's folder,
with secrets in its environment (the CI token, both vendors' keys) and a private folder next to
the checkout that holds what an attacker wants (a token file, a key, another program's SQLite
database). Every test asserts that no output (stdout and stderr, in every format) shows a
secret or outside content, and that nothing outside the repository changed.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from tests.cli_process import run_reconciler

#: In the environment of every run: a CI token and vendor keys, as GitHub Actions provides.
SECRETS = {
    "GITHUB_TOKEN": "ghs_secretvalue0123456789",
    "ACTIONS_RUNTIME_TOKEN": "actions-runtime-secret-42",
    "SPRIG_API_KEY": "sprig-secret-key-777",
    "USERTOUR_API_KEY": "usertour-secret-key-888",
    "DEPLOY_PASSWORD": "deploy-password-999",
}
#: Inside files outside the repository; must never appear in any output.
OUTSIDE_TEXT = "outside-secret-content-4711"
#: Formats of each command; every one is checked.
FORMATS = {"validate": ("text", "github", "json"), "plan": ("text", "markdown", "json")}

SANDBOX_CONFIG = """\
targets:
  local:
    provider: sandbox
"""


@dataclass(frozen=True)
class Outcome:
    """One run of the CLI."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def snapshot(folder: Path) -> dict[str, tuple[str, bytes | str, int]]:
    """Every entry below ``folder``: kind, content (bytes, or a symlink's target), mode."""
    entries: dict[str, tuple[str, bytes | str, int]] = {}
    for top, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            path = Path(top, name)
            relative = path.relative_to(folder).as_posix()
            info = path.lstat()
            if path.is_symlink():
                entries[relative] = ("link", os.readlink(path), info.st_mode)
            elif path.is_dir():
                entries[relative] = ("dir", b"", info.st_mode)
            else:
                entries[relative] = ("file", path.read_bytes(), info.st_mode)
    return entries


@dataclass
class Attacker:
    """A pull request's repository (``root``) next to a private folder (``outside``)."""

    root: Path
    outside: Path
    home: Path
    cache: Path
    runs: list[Outcome] = field(default_factory=list)

    def write(self, files: dict[str, str], config: str = SANDBOX_CONFIG) -> None:
        """reconciler.yaml and other files of the pull request (dedented)."""
        for name, text in {"reconciler.yaml": config, **files}.items():
            path = self.root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text), encoding="utf-8")

    def symlink(self, name: str, target: Path | str) -> None:
        """A symlink committed by the pull request."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Outcome:
        """``reconciler ARGS`` in the repository, secrets in the environment."""
        private = {"HOME": str(self.home), "XDG_CACHE_HOME": str(self.cache), "NO_COLOR": "1"}
        result = run_reconciler(*args, cwd=self.root, env={**SECRETS, **private, **(env or {})})
        outcome = Outcome(args, result.code, result.stdout, result.stderr)
        self.runs.append(outcome)
        return outcome

    def run_all_formats(
        self, command: str, *args: str, env: dict[str, str] | None = None
    ) -> list[Outcome]:
        """The command once per output format."""
        return [self.run(command, "--format", fmt, *args, env=env) for fmt in FORMATS[command]]


def assert_nothing_leaked(outcomes: list[Outcome], *extra: str) -> None:
    """No secret value, no outside content, in any output (also lower-cased)."""
    forbidden = [*SECRETS.values(), OUTSIDE_TEXT, *extra]
    for outcome in outcomes:
        for secret in forbidden:
            for text in (outcome.stdout, outcome.stderr):
                assert secret not in text, (outcome.args, text)
                assert secret.lower() not in text.lower(), (outcome.args, text)
        assert "Traceback" not in outcome.stderr, (outcome.args, outcome.stderr)
