"""The compiled schema validators are cached on disk; a bad or unwritable cache is no error."""

from __future__ import annotations

import hashlib
import hmac
import marshal
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import fastjsonschema
import pytest

from reconciler.load import schemas

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


def test_another_edit_of_the_generator_never_loads_its_code(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code cached by another edit of load/schemas.py (its rewriting of fastjsonschema's code,
    the names it gives it) is keyed apart even when the salt was not bumped: two branches that
    both wrote salt "3" once shared entries, and one's code raised NameError in the other."""
    schema = schemas.load_schema("users")
    here = schemas._cache_key(schema)
    monkeypatch.setattr(schemas, "_own_source_digest", lambda: "another edit")
    assert schemas._cache_key(schema) != here


def _planted_code(marker: Path) -> bytes:
    """What an attacker would write: code that leaves a trace when executed."""
    source = f"open({str(marker)!r}, 'w').write('ran')\nROOT_VALIDATOR = 'x'\ndef x(d): return d\n"
    return marshal.dumps(compile(source, "<planted>", "exec"))


def test_planted_code_without_the_signature_is_never_executed(
    cache_home: Path, tmp_path: Path
) -> None:
    assert _fresh_is_valid(VALID)
    (cached,) = cache_home.glob("schema-*.marshal")
    marker = tmp_path / "ran"
    cached.write_bytes(_planted_code(marker))  # unsigned
    assert not _fresh_is_valid(INVALID)
    cached.write_bytes(b"\x00" * 32 + _planted_code(marker))  # a forged signature
    assert not _fresh_is_valid(INVALID)
    assert not marker.exists()


def test_a_cache_folder_others_may_write_is_not_trusted(cache_home: Path, tmp_path: Path) -> None:
    assert _fresh_is_valid(VALID)
    (cached,) = cache_home.glob("schema-*.marshal")
    marker = tmp_path / "ran"
    key = (cache_home / "key").read_bytes()
    body = _planted_code(marker)
    name = cached.name.removeprefix("schema-").removesuffix(".marshal")
    signed = hmac.new(key, name.encode() + b"\0" + body, hashlib.sha256).digest() + body
    cache_home.chmod(0o777)  # anyone could have written (and signed) it
    cached.write_bytes(signed)
    assert not _fresh_is_valid(INVALID)
    assert not marker.exists()
    cache_home.chmod(0o700)


def test_the_key_and_the_folder_are_private(cache_home: Path) -> None:
    assert _fresh_is_valid(VALID)
    assert cache_home.stat().st_mode & 0o777 == 0o700
    assert (cache_home / "key").stat().st_mode & 0o777 == 0o600


def test_a_decimal_is_a_number_to_the_validator_cached_or_not(cache_home: Path) -> None:
    """The generated code's ``Decimal`` (imported only when a value reaches it) is
    decimal.Decimal to isinstance: a Decimal value passes, a mapping still does not."""
    decimal_value = {"users": [{"id": "u1", "attributes": {"size": Decimal("1.5")}}]}
    mapping_value = {"users": [{"id": "u1", "attributes": {"size": {"a": 1}}}]}
    for _ in range(2):  # compiled, then loaded from the cache
        assert _fresh_is_valid(decimal_value)
        assert not _fresh_is_valid(mapping_value)


def test_a_valid_value_is_checked_without_building_paths_for_messages(cache_home: Path) -> None:
    """The compiled code only answers "valid?" (jsonschema explains a failure), so a call to a
    ``$ref``'s function passes its path on unbuilt: fastjsonschema's code formatted one with
    ``locals()`` for every user, attribute and company of a valid file."""
    source = schemas._generate(schemas._definition("users", None))
    calls = [line for line in source.splitlines() if "custom_formats, " in line]
    assert calls and not [line for line in calls if "locals()" in line]
    users = [
        {"id": "u1", "attributes": {"plan": "pro", "tags": ["a"]}, "companies": [{"id": "c"}]},
        {"id": "u2", "memberships": [{"company": {"id": "c"}, "attributes": {"role": "x"}}]},
    ]
    assert _fresh_is_valid({"users": users})
    for bad in ({"id": 1}, {"id": "u", "attributes": {"a": {"b": 1}}}, {"id": "u", "x": 1}):
        assert not _fresh_is_valid({"users": [*users, bad]})
