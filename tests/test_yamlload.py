"""The YAML dialect: YAML 1.2 core types, no silent changes, safe loading, located problems."""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path

import pytest

from reconciler.errors import Problem
from reconciler.load.yamlload import Document, format_json_path, load_file, locate, parse_mapping


def load(text: str) -> Document:
    return parse_mapping(text, "f.yaml")


def value(text: str) -> dict[str, object]:
    document = load(text)
    assert document.problems == []
    assert document.value is not None
    return document.value


def only_problem(text: str) -> Problem:
    document = load(text)
    assert document.value is None
    assert len(document.problems) == 1, document.problems
    return document.problems[0]


@pytest.mark.parametrize(
    "written", ["NO", "no", "No", "yes", "Yes", "on", "On", "off", "OFF", "y", "n", "Y", "N"]
)
def test_yaml_11_booleans_stay_strings(written: str) -> None:
    assert value(f"country: {written}\n") == {"country": written}


@pytest.mark.parametrize(
    ("written", "expected"),
    [("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False)],
)
def test_only_true_and_false_are_booleans(written: str, expected: bool) -> None:
    assert value(f"flag: {written}\n") == {"flag": expected}


@pytest.mark.parametrize("written", ["null", "Null", "NULL", "~", ""])
def test_null_spellings(written: str) -> None:
    assert value(f"gone: {written}\n") == {"gone": None}


@pytest.mark.parametrize(
    ("written", "expected"),
    [("0", 0), ("-0", 0), ("12", 12), ("-7", -7), ("0.5", 0.5), ("-1.25", -1.25), ("1e3", 1e3)],
)
def test_decimal_numbers(written: str, expected: object) -> None:
    loaded = value(f"n: {written}\n")["n"]
    assert loaded == expected
    assert type(loaded) is type(expected)


@pytest.mark.parametrize(
    "written",
    ["2024-03-20T08:30:00.000Z", "2024-03-20", "2024-03-20 08:30:00", "12:30:00", "1_000", "1.2.3"],
)
def test_timestamps_times_and_versions_stay_exact_strings(written: str) -> None:
    assert value(f"at: {written}\n") == {"at": written}


def test_quoted_and_block_scalars_are_text() -> None:
    loaded = value("zip: '01234'\nphone: \"+47 555\"\nnote: |\n  yes\n")
    assert loaded == {"zip": "01234", "phone": "+47 555", "note": "yes\n"}


def test_leading_zero_is_an_error_that_asks_to_quote() -> None:
    problem = only_problem("name: x\naddress:\n  zip: 01234\n")
    assert (problem.file, problem.line, problem.column) == ("f.yaml", 3, 8)
    assert problem.field == "address.zip"
    assert "leading zero" in problem.message
    assert "quote it" in problem.message and "01234" not in problem.message  # no value shown


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ("0x1F", "another base"),
        ("0o17", "another base"),
        (".inf", "infinity or NaN"),
        ("-.inf", "infinity or NaN"),
        (".nan", "infinity or NaN"),
        ("+4915112345678", "'+'"),
        ("00.5", "leading zero"),
    ],
)
def test_numbers_yaml_would_change_are_errors(written: str, words: str) -> None:
    problem = only_problem(f"a: 1\nb: {written}\n")
    assert (problem.line, problem.column, problem.field) == (2, 4, "b")
    assert words in problem.message
    assert "quote it" in problem.message


def test_every_bad_value_is_reported_not_just_the_first() -> None:
    document = load("a: 01\nb: ok\nc: 0x2\n")
    assert [p.line for p in document.problems] == [1, 3]


def test_duplicate_keys_are_errors_naming_the_first() -> None:
    problem = only_problem("users:\n  - id: a\n    email: x@y.z\n    id: b\n")
    assert (problem.line, problem.column) == (4, 5)
    assert problem.field == "users[0].id"
    assert "duplicate key 'id' (first at line 2)" in problem.message


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/object/apply:os.system ['echo hi']\n", "!!python/object/apply:os.system"),
        ("a: !!python/name:os.system ''\n", "!!python/name:os.system"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("a: !!timestamp 2024-01-01\n", "!!timestamp"),
        ("a: !!set {x: null}\n", "!!set"),
        ("a: !foo bar\n", "!foo"),
    ],
)
def test_non_standard_tags_are_refused(text: str, tag: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.column) == (1, 4)
    assert f"the tag {tag} is not allowed" in problem.message


def test_standard_tags_are_read() -> None:
    assert value("a: !!str 012\nb: !!int 12\nc: !!float 1.5\nd: !!bool true\n") == {
        "a": "012",
        "b": 12,
        "c": 1.5,
        "d": True,
    }


def billion_laughs(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        text += f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def test_alias_bomb_is_refused_without_expanding_it() -> None:
    """Structural, not timed: the 9^9 values are counted, never built (a few kB at most are
    allocated for a file of 100 nodes), and the count is what the message says."""
    tracemalloc.start()
    try:
        problem = only_problem(billion_laughs())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problem.line == 1
    assert "alias bomb" in problem.message
    counted, written = map(
        int, re.findall(r"to (\d+) values from (\d+) written", problem.message)[0]
    )
    assert counted > 9**9 and written <= 100
    assert peak < 2 * 1024 * 1024, peak  # 387 million values would take gigabytes


def test_ordinary_aliases_and_merge_keys_work() -> None:
    loaded = value(
        "base: &base {plan: pro, seats: 3}\n"
        "extra: &extra {seats: 5, region: eu}\n"
        "one:\n  <<: *base\n  seats: 4\n"
        "two:\n  <<: [*base, *extra]\n"
        "tags: &tags [a, b]\n"
        "again: *tags\n"
    )
    assert loaded["one"] == {"plan": "pro", "seats": 4}
    assert loaded["two"] == {"plan": "pro", "seats": 3, "region": "eu"}
    assert loaded["again"] == ["a", "b"]


def test_a_recursive_alias_is_refused() -> None:
    problem = only_problem("a: &a [1, *a]\n")
    assert "cycle" in problem.message


def test_control_character_is_located_by_line_and_column() -> None:
    problem = only_problem("name: ok\nnote: é\x07x\n")
    assert (problem.line, problem.column) == (2, 8)
    assert "control characters are not allowed" in problem.message
    assert "0x07" in problem.message


def test_invalid_utf8_is_located() -> None:
    document = parse_mapping(b"a: 1\nb: \xff\n", "f.yaml")
    assert document.value is None
    assert [(p.line, p.column) for p in document.problems] == [(2, 4)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("- a\n- b\n", 1, "must hold a mapping (key: value lines), found a list"),
        ("just text\n", 1, "must hold a mapping"),
        ("", 1, "the file is empty"),
        ("# only a comment\n", 1, "the file is empty"),
        ("a: 1\n---\nb: 2\n", 2, "a second YAML document"),
        ("a: 1\nb: [1, 2\nc: 3\n", 2, "still open at line 3"),
        ("a: 1\n  b: 2\n", 2, "invalid YAML: mapping values are not allowed"),
        ("a:\n\tb: 1\n", 2, "a tab: YAML indents with spaces only"),
        ("a: *nowhere\n", 1, "alias *nowhere refers to no anchor"),
        ("? [a, b]\n: 1\n", 1, "a key must be plain text"),
        ("a: " + "[" * 200 + "]" * 200 + "\n", 1, "nesting deeper than"),
    ],
)
def test_unusable_documents_are_located_problems(text: str, line: int, words: str) -> None:
    problem = only_problem(text)
    assert problem.file == "f.yaml"
    assert problem.line == line
    assert words in problem.message


def test_very_deep_nesting_does_not_crash_the_interpreter() -> None:
    # Past libyaml's own limit (PyYAML 6.0.4's libyaml refuses first, in its words) and below
    # it (our composer's guard refuses): the user reads one message either way.
    for depth in (200_000, 100):
        problem = only_problem("a: " + "[" * depth + "]" * depth + "\n")
        assert problem.message == "nesting deeper than 64 levels", depth


def test_plain_keys_are_the_text_written() -> None:
    assert value("on: 1\n123: 2\nno: 3\n~: 4\n") == {"on": 1, "123": 2, "no": 3, "~": 4}


def test_locate_maps_json_paths_to_key_positions() -> None:
    text = (
        "defaults:\n"
        "  attributes: {customer: true}\n"
        "users:\n"
        "  - id: a\n"
        "    attributes:\n"
        "      plan: pro\n"
        "  - id: b\n"
        "    attributes: {plan: x, seats: 3}\n"
    )
    assert locate(text, ("users", 0, "attributes", "plan")) == (6, 7)
    assert locate(text, ("users", 1, "attributes", "seats")) == (8, 27)
    assert locate(text, ("users", 1)) == (7, 5)
    assert locate(text, ("defaults", "attributes", "customer")) == (2, 16)
    # missing pieces fall back to the nearest ancestor that exists
    assert locate(text, ("users", 1, "attributes", "nope")) == (8, 5)
    assert locate(text, ("users", 9, "id")) == (3, 1)
    assert locate(text, ()) == (1, 1)


def test_locate_follows_merge_keys(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("base: &b\n  plan: pro\nuser:\n  <<: *b\n  seats: 1\n")
    assert locate(path, ("user", "plan")) == (2, 3)
    assert locate(path, ("user", "seats")) == (5, 3)


def test_format_json_path() -> None:
    assert format_json_path(("users", 3, "attributes", "plan")) == "users[3].attributes.plan"
    assert format_json_path(("users", 0, "attributes", "!email")) == 'users[0].attributes["!email"]'
    assert format_json_path(("targets", "prod", "parallelism")) == "targets.prod.parallelism"
    assert format_json_path(()) == ""


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    document = load_file(tmp_path / "missing.yaml", "missing.yaml")
    assert document.value is None
    assert document.problems[0].file == "missing.yaml"
    assert "cannot read" in document.problems[0].message


def aliased_text(users: int, characters: int) -> str:
    """One long string written once and aliased by every other user (issue 23.7)."""
    lines = ["users:", '  - id: "u0"', f'    attributes: {{bio: &big "{"x" * characters}"}}']
    for n in range(1, users + 1):
        lines += [f'  - id: "u{n}"', "    attributes: {bio: *big}"]
    return "\n".join(lines) + "\n"


def test_one_long_aliased_string_is_refused_at_an_alias_without_expanding_it() -> None:
    """1 MB aliased by 300 users is 301 MB of text for every output: refused where an alias
    passes 10 times the file's size (plus 1 MiB), its field named; nothing is expanded."""
    text = aliased_text(300, 1 << 20)
    tracemalloc.start()
    try:
        problem = only_problem(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (problem.file, problem.line, problem.column) == ("f.yaml", 25, 18)
    assert problem.field == "users[11].attributes.bio"
    assert "aliases expand this file's text beyond 11,662,766 characters" in problem.message
    assert "The value here is 1,048,576 characters" in problem.message
    assert peak < 8 * 1024 * 1024, peak  # the text once (and its nodes), never 301 copies


def test_a_shared_block_on_many_users_is_still_fine() -> None:
    """Aliases that expand modestly (a short value on every user) are what anchors are for."""
    loaded = value(aliased_text(5_000, 200))
    assert len(loaded["users"]) == 5_001  # type: ignore[arg-type]


def test_a_nul_character_anywhere_is_refused_at_its_line() -> None:
    """The real Usertour server answers 500 E0000 to every request carrying a NUL (in an
    attribute name or value, an id, a company id): it never gets that far."""
    text = (
        "users:\n"
        '  - id: "a"\n'
        "    attributes:\n"
        '      "na\\0me": 1\n'
        '      plan: "pro\\x00"\n'
        '      tags: ["ok", "a\\u0000"]\n'
        "    companies:\n"
        '      - id: "acme\\0"\n'
        "  - id: plain\n"
    )
    document = load(text)
    found = [(p.line, p.field) for p in document.problems]
    assert found == [
        (4, 'users[0].attributes["na\\u0000me"]'),
        (5, "users[0].attributes.plan"),
        (6, "users[0].attributes.tags[1]"),
        (8, "users[0].companies[0].id"),
    ]
    assert all("NUL character" in p.message for p in document.problems)
