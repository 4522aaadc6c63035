"""`pip install .` must work, not only editable installs: the schemas ship inside the wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]

#: Run inside the fresh venv, from a folder outside the checkout, so only the wheel can answer.
PROBE = """
import json
from pathlib import Path
import reconciler, reconciler.schemas as schemas
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
    [wheel] = dist.glob("reconciler-*.whl")
    return wheel


def test_the_wheel_ships_the_schemas_and_finds_them_once_installed(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "reconciler/schemas/config.schema.json",
        "reconciler/schemas/users.schema.json",
    } <= names
    assert "reconciler/schemas.py" in names

    # A fresh venv that sees this interpreter's packages for the dependencies (no download),
    # with the wheel installed into the venv itself, ahead of any editable checkout.
    environment = tmp_path / "venv"
    venv.create(environment, system_site_packages=True, with_pip=True)
    python = environment / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)]
    subprocess.run(install, check=True, cwd=tmp_path)
    probe = subprocess.run(
        [str(python), "-c", PROBE], check=True, cwd=tmp_path, capture_output=True, text=True
    )
    package = Path(json.loads(probe.stdout)["package"])
    assert package.is_relative_to(environment.resolve())  # the wheel answered, not the checkout
