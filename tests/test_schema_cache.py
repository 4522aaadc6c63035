"""The compiled schema validators are cached on disk; a bad or unwritable cache is no error."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fastjsonschema
import pytest

from reconciler import schemas

VALID = {"users": [{"id": "u1", "attributes": {"plan": "pro"}}]}
INVALID = {"users": [{"id": "u1", "atributes": {}}]}


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    schemas.compiled.cache_clear()
    yield tmp_path / "reconciler"
    schemas.compiled.cache_clear()


def _fresh_is_valid(instance: object) -> bool:
    """As a new process would see it: nothing compiled in memory yet."""
    schemas.compiled.cache_clear()
    return schemas.is_valid("users", instance)


def test_second_start_loads_the_cached_code(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _fresh_is_valid(VALID)
    assert len(list(cache_home.glob("schema-*.marshal"))) == 1

    def no_generation(*args: object, **kwargs: object) -> str:
        raise AssertionError("the cached validator should have been used")

    monkeypatch.setattr(fastjsonschema, "compile_to_code", no_generation)
    assert _fresh_is_valid(VALID)
    assert not _fresh_is_valid(INVALID)


def test_a_corrupt_cache_file_is_rebuilt(cache_home: Path) -> None:
    assert _fresh_is_valid(VALID)
    (cached,) = cache_home.glob("schema-*.marshal")
    cached.write_bytes(b"\x00garbage")
    assert not _fresh_is_valid(INVALID)
    assert _fresh_is_valid(VALID)
    assert cached.read_bytes() != b"\x00garbage"


def test_an_unwritable_cache_still_validates(cache_home: Path) -> None:
    cache_home.parent.mkdir(parents=True, exist_ok=True)
    cache_home.write_text("a file where the cache folder would go")
    assert _fresh_is_valid(VALID)
    assert not _fresh_is_valid(INVALID)


def test_a_changed_schema_never_loads_stale_code(cache_home: Path) -> None:
    schema = schemas.load_schema("users")
    assert schemas._cache_key(schema) != schemas._cache_key({**schema, "title": "changed"})
