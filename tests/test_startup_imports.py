"""What ``validate`` does not import once its schema validators are cached: fastjsonschema
(~14 ms: only compiling a validator needs it), the declaration cache of ``--changed-since``
(load/filecache.py, with tempfile and secrets, which only writing a cache file needs), and what
only other commands or a problem need: the Markdown renderer (and html), logging (validate logs
nothing), difflib (the "did you mean" of a problem), the dataclasses of the Plan and the apply
report (reconciler/planned.py: ~0.5 ms each to create), and those of the other commands'
arguments, requests and guards."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """\
import sys
from reconciler.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
loaded = sorted(sys.modules)
import json
print(json.dumps(loaded), file=sys.stderr)
"""

NOT_NEEDED = {"fastjsonschema", "reconciler.load.filecache", "secrets"}
#: Loaded by other commands, or for a problem's message, never by a valid repository's validate.
NOT_NEEDED_BY_VALIDATE = {
    "reconciler.render.markdown",
    "html",
    "logging",
    "difflib",
    "reconciler.planned",  # the Plan's and the apply report's dataclasses
    "reconciler.cli.arguments",  # the other commands' arguments and requests, and the guards
    "reconciler.usecases.requests",
    "reconciler.plan.guards",
    "reconciler.load.changed_users",  # --changed-since's
    "decimal",  # the schema validators' isinstance checks import it when a value reaches them
}


#: What ``--help`` needs none of: the runtime (and its dataclasses), JSON, a command's modules.
NOT_NEEDED_BY_HELP = {"reconciler.usecases.runtime", "json", "yaml", "reconciler.model"}


def _loaded(folder: Path, cache: Path, command: str = "validate", says: str = "Valid:") -> set[str]:
    environ = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, command],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
    )
    assert says in done.stdout, done.stdout + done.stderr
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_a_cached_validator_needs_no_fastjsonschema(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns(".reconciler"))
    first = _loaded(examples, tmp_path / "cache")
    assert "fastjsonschema" in first  # nothing cached yet: the validators are compiled
    assert _loaded(examples, tmp_path / "cache") & NOT_NEEDED == set()


def test_validate_loads_no_renderer_logging_or_difflib(tmp_path: Path) -> None:
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns(".reconciler"))
    _loaded(examples, tmp_path / "cache")  # compiles the validators (fastjsonschema: decimal)
    assert _loaded(examples, tmp_path / "cache") & NOT_NEEDED_BY_VALIDATE == set()


def test_help_loads_no_runtime_json_or_command(tmp_path: Path) -> None:
    assert (
        _loaded(tmp_path, tmp_path / "cache", "--help", "Commands:") & NOT_NEEDED_BY_HELP == set()
    )
