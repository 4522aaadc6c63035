"""The README, followed top to bottom: every command it shows runs here, in document order, in
ONE copy of the repository (examples/ and schemas/), and its output is compared with what the
README shows. Each section starts from its own fresh copy of examples/ (its first command says
so) and ends back at the top, so a section can be read alone and the whole can be read in order.

Each ```console block of README.md is preceded by a ``<!-- readme-test -->`` marker; a block
without one fails the test, so no command can be added without being run. ``$ cmd`` lines run in
bash one after another, sharing the folder (``cd``, also inside a longer command) and the
environment (``export``); the lines after a command are its expected output (stdout and stderr
together): a line ``...`` matches any number of lines, ``...`` inside a line matches any text. A
command ending with ``&`` starts a server in the background, and ``kill %1`` stops it; the one
liberty taken is that it listens on a free port, which is written back as 8011 in outputs and in
the copied config files, so that the README can show the documented default while tests run in
parallel. ```bash blocks are the commands to get the code, install and test, which .ci/run runs
itself (from the clone it has).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.gitrepo import requires_git

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- readme-test -->")
#: "Target local: 5 applied, 0 not, in 0.0s": the seconds apply took.
ELAPSED = re.compile(r"(, in )\d+\.\ds$", re.M)
DOCUMENTED_PORT = "8011"


@dataclass
class Block:
    line: int
    #: (command, expected output lines)
    commands: list[tuple[str, list[str]]] = field(default_factory=list)


def console_blocks(text: str) -> list[Block]:
    """The console blocks of the README, each with the options of its marker."""
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines):
        if line.strip() != "```console":
            continue
        marker = MARKER.search(lines[number - 1]) if number else None
        if marker is None:
            raise AssertionError(f"README.md:{number + 1}: console block without a readme-test")
        block = Block(number + 1)
        indent = line[: len(line) - len(line.lstrip())]
        for body in lines[number + 1 :]:
            if body.strip() == "```":
                break
            body = body.removeprefix(indent)
            if body.startswith("$ "):
                block.commands.append((body[2:], []))
            else:
                block.commands[-1][1].append(body)
        blocks.append(block)
    return blocks


def expected_pattern(expected: list[str]) -> re.Pattern[str]:
    """``...`` lines match any lines, ``...`` in a line any text; the rest literally."""
    parts = []
    for line in expected:
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(map(re.escape, line.split("..."))) + r"[ \t]*\n")
    return re.compile("".join(parts))


class Session:
    """A shell-like state: folder, environment, background servers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd = root
        self.pwd_file = root.parent / "pwd"
        self.env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
        self.env.pop("GITHUB_STEP_SUMMARY", None)
        self.env.update({"NO_COLOR": "1", "COLUMNS": "100"})
        # git as on a developer's machine, but never their config: a commit needs a name.
        self.env.update(
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_AUTHOR_NAME="reconciler",
            GIT_AUTHOR_EMAIL="reconciler@example.com",
            GIT_COMMITTER_NAME="reconciler",
            GIT_COMMITTER_EMAIL="reconciler@example.com",
        )
        # The console script of this interpreter, also when the venv is not on PATH.
        self.env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{self.env.get('PATH', '')}"
        self.port: str | None = None
        self.servers: list[subprocess.Popen[str]] = []

    def run(self, command: str, expected_lines: int) -> str:
        if command.startswith("cd "):
            self.cwd = (self.cwd / command[3:].strip()).resolve()
            return ""
        if command.startswith("export "):
            for assignment in shlex.split(command[7:]):
                name, _, value = assignment.partition("=")
                self.env[name] = value
            return ""
        if command.endswith("&"):
            return self._background(command.rstrip("&").strip(), expected_lines)
        if command == "kill %1":
            self.close()
            return ""
        # The folder the command ends in is the next command's, as in one terminal.
        tracked = f'{command}\n__code=$?; pwd >"{self.pwd_file}"; exit $__code'
        done = subprocess.run(
            ["bash", "-c", tracked],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            timeout=300,
        )
        if self.pwd_file.exists():
            self.cwd = Path(self.pwd_file.read_text().strip())
            self.pwd_file.unlink()
        return self._normalise(done.stdout)

    def _background(self, command: str, expected_lines: int) -> str:
        server = subprocess.Popen(
            ["bash", "-c", f"exec {command} --port 0"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.servers.append(server)
        assert server.stdout is not None
        shown = [server.stdout.readline() for _ in range(expected_lines)]
        port = re.search(r"127\.0\.0\.1:(\d+)", shown[0])
        assert port, shown
        self.port = port.group(1)
        for config in self.root.rglob("reconciler.yaml"):
            config.write_text(config.read_text().replace(DOCUMENTED_PORT, self.port))
        return self._normalise("".join(shown))

    def _normalise(self, output: str) -> str:
        # Apply's elapsed time is the machine's, not the README's: a loaded runner takes 0.1s.
        output = ELAPSED.sub(r"\g<1>0.0s", output)
        if self.port is not None:
            output = output.replace(f"127.0.0.1:{self.port}", f"127.0.0.1:{DOCUMENTED_PORT}")
        return output if output.endswith("\n") or not output else output + "\n"

    def close(self) -> None:
        for server in self.servers:
            server.terminate()
            server.wait(timeout=30)
        self.servers.clear()
        self.port = None


BLOCKS = console_blocks(README.read_text(encoding="utf-8"))


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """One copy of the repository, as a clone has it after the README's install command."""
    root = tmp_path / "repo"
    ignore = shutil.ignore_patterns(".reconciler", "__pycache__")
    shutil.copytree(ROOT / "examples", root / "examples", ignore=ignore)
    shutil.copytree(ROOT / "schemas", root / "schemas")  # where the examples' modelines point
    started = Session(root)
    yield started
    started.close()


def test_every_console_block_is_marked() -> None:
    assert len(BLOCKS) >= 3
    assert all(block.commands for block in BLOCKS)


@requires_git  # the CI section commits the example
def test_the_readme_runs_top_to_bottom(session: Session) -> None:
    for block in BLOCKS:
        for command, expected in block.commands:
            actual = session.run(command, len(expected))
            if not expected_pattern(expected).fullmatch(actual):
                shown = "\n".join(expected)
                where = f"README.md:{block.line}"
                pytest.fail(
                    f"{where}: $ {command}\n--- README shows:\n{shown}\n--- ran:\n{actual}", False
                )
    assert session.cwd == session.root, "every section ends back at the top of the clone"
