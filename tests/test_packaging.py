"""`pip install .` must work, not only editable installs: the schemas ship inside the wheel."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

from packaging.version import Version

REPOSITORY = Path(__file__).resolve().parents[1]

#: Run inside the fresh venv, from a folder outside the checkout, so only the wheel can answer.
PROBE = """
import json
import os
from pathlib import Path
import reconciler, reconciler.load.schemas as schemas
package = Path(reconciler.__file__).resolve().parent
for name in ("config", "users"):
    path = schemas.schema_path(name)
    assert path.resolve().parent == package / "schemas", (path, package)
    assert schemas.load_schema(name)["$schema"].endswith("2020-12/schema")
    assert schemas.is_valid(name, {"targets": {"l": {"provider": "sandbox"}}} if name == "config"
                            else {"users": [{"id": "1"}]})
print(json.dumps({"package": str(package)}))
"""


def build_wheel(tmp_path: Path) -> Path:
    """Build from a copy of the sources, so the test never writes into the checkout."""
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPOSITORY / "reconciler", source / "reconciler", ignore=ignore)
    shutil.copytree(REPOSITORY / "schemas", source / "schemas")
    shutil.copy2(REPOSITORY / "pyproject.toml", source / "pyproject.toml")
    readme = REPOSITORY / "README.md"
    if readme.exists():
        shutil.copy2(readme, source / "README.md")
    else:  # pyproject names a readme; the README's own tests live elsewhere
        (source / "README.md").write_text("# reconciler\n")
    dist = tmp_path / "dist"
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(dist),
        str(source),
    ]
    subprocess.run(command, check=True, cwd=tmp_path)
    [wheel] = dist.glob("*.whl")
    return wheel


def dependencies_of_this_interpreter(environment: Path) -> None:
    """Let the fresh venv import the dependencies the tests run with, without a download.

    A ``.pth`` line appends this interpreter's site-packages to the venv's ``sys.path``, after
    the venv's own site-packages: the wheel installed there answers ``import reconciler``, and
    the ``.pth`` files of the appended folder (an editable install of this checkout) are not run.
    Not ``system_site_packages``: that would expose the *base* interpreter, which on a fresh
    machine has none of the dependencies.
    """
    folders = dict.fromkeys(sysconfig.get_paths()[name] for name in ("purelib", "platlib"))
    probe = [
        str(environment / "bin" / "python"),
        "-c",
        "import sysconfig as s; print(s.get_paths()['purelib'])",
    ]
    site_packages = Path(
        subprocess.run(probe, check=True, capture_output=True, text=True).stdout.strip()
    )
    (site_packages / "dependencies-of-the-tests.pth").write_text("\n".join(folders) + "\n")


def test_the_wheel_ships_the_schemas_and_finds_them_once_installed(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    assert wheel.name.startswith("users_reconciler-")  # the index's `reconciler` is another project
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "reconciler/schemas/config.schema.json",
        "reconciler/schemas/users.schema.json",
    } <= names
    assert "reconciler/load/schemas.py" in names

    # A fresh venv of its own (no system site-packages), the wheel installed into it from the
    # file alone, its dependencies those of this interpreter (see above).
    # pip is this interpreter's, pointed at the venv (``--python``): ensurepip would copy a pip
    # into the venv first, which costs more than the rest of the test and proves nothing more.
    # No PYTHONPATH: a developer's (the checkout) must not answer for the wheel.
    # pip before 22.3 has no --python (a fresh venv of an early Python 3.10): then the venv's own.
    own_pip = Version(importlib.metadata.version("pip")) < Version("22.3")
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=own_pip)
    dependencies_of_this_interpreter(environment)
    python = environment / "bin" / "python"
    pip = (
        [str(python), "-m", "pip"]
        if own_pip
        else [sys.executable, "-m", "pip", "--python", str(python)]
    )
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    install = [*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(install, check=True, cwd=tmp_path, env=clean)
    probe = subprocess.run(
        [str(python), "-c", PROBE],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean,
    )
    package = Path(json.loads(probe.stdout)["package"])
    assert package.is_relative_to(environment.resolve())  # the wheel answered, not the checkout

    # The wheel's metadata names every dependency it imports, at versions that are present.
    check = subprocess.run([*pip, "check"], cwd=tmp_path, capture_output=True, text=True, env=clean)
    assert check.returncode == 0, check.stdout + check.stderr
    script = subprocess.run(
        [str(environment / "bin" / "reconciler"), "--version"],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean,
    )
    assert script.stdout.startswith("reconciler, version ")


def lower_bounds(text: str) -> dict[str, Version]:
    """``"name>=X"`` requirements (pyproject's form) -> {normalised name: X}."""
    found = re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)"', text)
    return {re.sub(r"[-_.]+", "-", name).lower(): Version(bound) for name, bound in found}


def test_the_lowest_constraints_are_the_lower_bounds() -> None:
    """CI's "lowest" job installs constraints/lowest.txt: exactly pyproject's lower bounds."""
    bounds = lower_bounds((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    pins = {}
    for line in (REPOSITORY / "constraints" / "lowest.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = Version(version)
    bounds.pop("hatchling")  # the build backend: pip builds in isolation, with the newest
    assert pins == bounds


#: ``pip install reconciler`` (any quoting, a version, extras): the index's unrelated project.
INDEX_RECONCILER = re.compile(r"""pip3?\s+install(?:\s+-\S+)*\s+["']?reconciler\b(?![-_.@/])""")


def test_nothing_installs_the_index_reconciler() -> None:
    """No document, workflow or message tells anyone to install the index's ``reconciler``."""
    roots = ["README.md", "action.yml", ".ci", ".github", "examples", "bench", "reconciler"]
    found = []
    for root in roots:
        base = REPOSITORY / root
        for path in [base] if base.is_file() else sorted(base.rglob("*")):
            if path.is_file() and path.suffix not in {".pyc", ".db"}:
                text = path.read_text(encoding="utf-8", errors="replace")
                found += [f"{path}: {m.group(0)}" for m in INDEX_RECONCILER.finditer(text)]
    assert found == []
    assert INDEX_RECONCILER.search('pip install "reconciler==0.1.0"')  # the old workflows' line
    assert not INDEX_RECONCILER.search("pip install users-reconciler")
