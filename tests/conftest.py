"""Shared fixtures: small config repositories written into tmp_path; the ``subprocess`` mark."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

#: One target of each kind; declaration tests narrow users with ``targets:`` when needed.
ALL_KINDS_CONFIG = """\
targets:
  production:
    provider: sprig
    api_key_env: SPRIG_API_KEY
  onboarding:
    provider: usertour
    api_key_env: USERTOUR_API_KEY
  local:
    provider: sandbox
"""

#: The smallest valid config: the local sandbox holds every feature.
SANDBOX_CONFIG = """\
targets:
  local:
    provider: sandbox
"""

WriteRepo = Callable[..., Path]

#: Tests of what only a real process shows, each starting its own: signals, the README's shell
#: session, the pre-commit hook, the wheel, GitHub's runner. Marked ``subprocess`` here (the
#: CLI tests that choose one mark themselves): ``-m "not subprocess"`` is the quick loop.
SUBPROCESS_FILES = frozenset(
    {
        "e2e/test_interrupt.py",
        "e2e/test_readme.py",
        "test_precommit_hook.py",
        "test_packaging.py",
        "test_github_examples.py",
        "test_github_action.py",
    }
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "subprocess: runs the CLI in a real process (see tests/cli_process.py)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        relative = item.path.relative_to(here).as_posix() if item.path.is_relative_to(here) else ""
        if relative in SUBPROCESS_FILES:
            item.add_marker(pytest.mark.subprocess)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Compiled schemas are cached in $XDG_CACHE_HOME: the tests use their own, never the
    developer's (and the CLI runs they start inherit it)."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


def write_repo(
    root: Path, files: Mapping[str, str] | None = None, config: str = SANDBOX_CONFIG
) -> Path:
    """Write reconciler.yaml and ``files`` (name -> YAML, dedented) below ``root``.

    Returns the path of reconciler.yaml.
    """
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / "reconciler.yaml"
    config_path.write_text(textwrap.dedent(config), encoding="utf-8")
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return config_path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WriteRepo:
    """``repo(files, config=...)`` writes a config repo in tmp_path and makes it the current
    folder, so problems name files as users see them (``users/a.yaml``)."""
    monkeypatch.chdir(tmp_path)

    def _write(files: Mapping[str, str] | None = None, config: str = SANDBOX_CONFIG) -> Path:
        return write_repo(tmp_path, files, config)

    return _write
