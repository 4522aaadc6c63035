"""The benchmarks' generated repositories are valid: a benchmark of ``validate`` that fails on
its own data measures nothing (bench/validate.py gave one company 40 names)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

from reconciler.load.config import load_config
from reconciler.load.declarations import load_declarations

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_validate_benchmarks_users_validate(tmp_path: Path) -> None:
    validate = _bench_module("validate")
    for lean, folder in ((False, tmp_path / "full"), (True, tmp_path / "lean")):
        folder.mkdir()
        validate.generate(folder, 2_000, 2, lean)
        config = load_config(folder / "reconciler.yaml", os.environ)
        assert len(load_declarations(config).users) == 2_000
