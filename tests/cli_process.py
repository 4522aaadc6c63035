"""``reconciler ARGS`` as a user or CI runs it: the one runner the end-to-end and security tests
share (each adds its own environment: CI's secrets, a private HOME).

By default the CLI runs inside the test process, which saves a Python start and the imports per
command (most of the suite's time once): ``main(argv)`` with its own stdin, stdout and stderr,
the environment and the current folder it would have in a child process, logging and warnings
as a fresh interpreter sets them, the process's caches emptied, and exit codes as the process
would exit. The emulators a test started (``serve_in_process``) are reached without a socket
(``EmulatorTransport``): the process's runtime with those transports is passed to
``main(argv, runtime=...)``, the CLI's one seam for it; any other URL goes to the network.

``in_subprocess=True`` starts a real process instead: for what only a process shows (signals,
the console script, imports at start). ``RECONCILER_TESTS_SUBPROCESS=1`` runs every command
so, to check that both ways agree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import subprocess
import sys
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from reconciler.sandbox.server import RunningEmulator
from reconciler.sandbox.transport import EmulatorTransport

#: Backoff small enough that retry tests take milliseconds (the policy itself is unit-tested).
FAST_RETRIES = {"RECONCILER_RETRY_BASE": "0.01", "RECONCILER_RETRY_CAP": "0.05"}
#: Set (to anything but "" or "0") in the test run's environment: every command in a process.
SUBPROCESS_ENV = "RECONCILER_TESTS_SUBPROCESS"
#: What a fresh interpreter ignores (``python -W`` unset, a release build).
_IGNORED_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)

#: Emulators the running tests started: in-process runs reach them through the transport.
_serving: list[RunningEmulator] = []


@dataclass(frozen=True)
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def both(self) -> str:
        return self.stdout + self.stderr


def serve_in_process(emulator: RunningEmulator) -> None:
    """In-process runs send requests for ``emulator.url`` to its app (until it stops)."""
    _serving.append(emulator)


def stop_serving(emulator: RunningEmulator) -> None:
    _serving.remove(emulator)


def run_reconciler(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    stdin: str = "",
    in_subprocess: bool = False,
) -> Result:
    """Run the CLI in ``cwd``: the caller's environment without what would change the CLI's
    behaviour on one machine (keys, a GitHub runner's or a developer's settings), quick retries
    (the emulator's failures are drawn per request, not timed), then ``env``."""
    environ = {k: v for k, v in os.environ.items() if not _machine_specific(k)}
    environ.update(FAST_RETRIES)
    environ.update(env or {})
    if in_subprocess or os.environ.get(SUBPROCESS_ENV, "") not in ("", "0"):
        return _in_subprocess(args, cwd, environ, stdin)
    return _in_process(args, cwd, environ, stdin)


def _machine_specific(name: str) -> bool:
    """API keys, a GitHub runner's variables (``GITHUB_ACTIONS`` changes hints, a job summary
    would be written), ``CI`` (which forbids ``${VAR}`` without ``RECONCILER_ALLOW_ENV``) and
    ``RECONCILER_*`` settings: a test sets the ones it means."""
    return (
        name.endswith("_API_KEY")
        or name == "CI"
        or name.startswith(("GITHUB_", "RUNNER_", "RECONCILER_"))
    )


def _in_subprocess(
    args: Sequence[str], cwd: Path, environ: Mapping[str, str], stdin: str
) -> Result:
    completed = subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def _in_process(args: Sequence[str], cwd: Path, environ: Mapping[str, str], stdin: str) -> Result:
    stdout, stderr = io.BytesIO(), io.BytesIO()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_environment(environ))
        stack.enter_context(_folder(cwd))
        stack.enter_context(_streams(stdin, stdout, stderr))
        stack.enter_context(_fresh_logging())
        stack.enter_context(_fresh_warnings())
        _clear_caches()
        code = _call_main(args)
    # Decoded as ``subprocess.run(text=True)`` does: strictly, in the locale's encoding.
    return Result(code, stdout.getvalue().decode(), stderr.getvalue().decode())


def _call_main(args: Sequence[str]) -> int:
    """The exit status the process would end with, the traceback of a crash on stderr."""
    from reconciler.cli.console import from_process
    from reconciler.cli.main import main
    from reconciler.providers.transports import by_url

    serving = {e.url: EmulatorTransport(e.app) for e in _serving if not e.stopped}
    runtime = dataclasses.replace(from_process(), transport=by_url(serving))
    try:
        main(list(args), runtime=runtime)
    except SystemExit as done:
        return _exit_status(done.code)
    except Exception:
        traceback.print_exc()
        return 1
    return 0


def _exit_status(code: object) -> int:
    """``sys.exit(code)`` as the interpreter ends: None is 0, a message is printed, then 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@contextlib.contextmanager
def _environment(environ: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` is exactly ``environ`` (git and other children inherit it too)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environ)
    # Without a terminal, a process's help text is 80 columns wide unless COLUMNS says more.
    os.environ.setdefault("COLUMNS", "80")
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _folder(cwd: Path) -> Iterator[None]:
    """The current folder is ``cwd`` (``contextlib.chdir`` is Python 3.11+; we support 3.10)."""
    saved = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved)


@contextlib.contextmanager
def _streams(stdin: str, stdout: io.BytesIO, stderr: io.BytesIO) -> Iterator[None]:
    """Pipes as a child gets them: no terminal, the interpreter's encodings and error modes."""
    saved = sys.stdin, sys.stdout, sys.stderr
    fresh = (
        _text(io.BytesIO(stdin.encode()), sys.__stdin__),
        _text(stdout, sys.__stdout__),
        _text(stderr, sys.__stderr__),
    )
    sys.stdin, sys.stdout, sys.stderr = fresh
    try:
        yield
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        for stream in fresh:
            stream.flush()
            stream.detach()  # the bytes stay readable: closing the wrapper would free them


def _text(buffer: io.BytesIO, like: TextIO | None) -> io.TextIOWrapper:
    encoding = getattr(like, "encoding", None) or "utf-8"
    errors = getattr(like, "errors", None) or "strict"
    return io.TextIOWrapper(buffer, encoding=encoding, errors=errors, write_through=True)


@contextlib.contextmanager
def _fresh_logging() -> Iterator[None]:
    """No handler on the root logger, as in a new process (pytest's own would make
    ``logging.basicConfig`` a no-op); every level as it was, afterwards."""
    root = logging.getLogger()
    manager = logging.Logger.manager
    handlers, levels = root.handlers[:], {"": root.level}
    levels.update(
        (name, logger.level)
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    )
    root.handlers = []
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = handlers
        root.setLevel(levels[""])
        for name, logger in manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))


@contextlib.contextmanager
def _fresh_warnings() -> Iterator[None]:
    """Warnings as a fresh interpreter shows them: on stderr, once per place, the default
    ignores (pytest would otherwise collect them, and a test of a quiet stderr could not fail)."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        for category in _IGNORED_WARNINGS:
            warnings.simplefilter("ignore", category)
        warnings.showwarning = _show_warning
        yield


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))


def _clear_caches() -> None:
    """Forget what a previous run memoised (``functools.cache``): a new process starts empty,
    and a test of what a run reads from disk (the schema cache) must see that read."""
    for name, module in list(sys.modules.items()):
        if name == "reconciler" or name.startswith("reconciler."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear) and hasattr(value, "__wrapped__"):
                    clear()
