"""The JSON depth cap, counted on the text: exact where it answers, the walk where it cannot.

``answers.text_within`` reads nesting off the bytes (brackets outside strings), so a listing
page is not walked in Python; ``parse_json`` walks the value only when the text may nest deeper
than the cap. The cap itself is tests/test_http_faults.py's; here, that the text's count is the
value's for every JSON text ``json.dumps`` writes, and that nothing inside a string counts.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.providers.answers import MAX_DEPTH, Unreadable, parse_json, text_within

#: Strings made of what could fool a byte scan: brackets, quotes, backslashes, escapes.
_TRICKY = st.text(st.sampled_from(list('[]{}"\\/ \n\tx\u00e9\u2028\U0001f600')), max_size=8)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3),
    max_leaves=30,
)


def depth(value: Any) -> int:
    """Lists and objects nested in ``value`` (a scalar: 0)."""
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def nested(levels: int, inside: str = "1") -> str:
    return "[" * levels + inside + "]" * levels


@given(_VALUES, st.booleans())
def test_the_texts_depth_is_the_values_for_any_json_dumps_writes(
    value: Any, ascii_only: bool
) -> None:
    body = json.dumps(value, ensure_ascii=ascii_only).encode()
    levels = depth(value)
    assert text_within(body, levels)
    assert not levels or not text_within(body, levels - 1)


@pytest.mark.parametrize(
    "text",
    [
        '"' + nested(100) + '"',  # brackets in a string are text
        '{"' + "[" * 100 + '": "' + "{" * 100 + '"}',  # in keys too
        '["\\"' + "[" * 100 + '"]',  # an escaped quote does not end the string
        '["\\\\", "' + "]" * 100 + '"]',  # an escaped backslash does not escape the quote
        '["\\u005b\\u005b", "\\\\\\"[[["]',
    ],
)
def test_brackets_inside_strings_do_not_count(text: str) -> None:
    value = json.loads(text)
    assert text_within(text.encode(), depth(value))
    assert parse_json(text.encode()) == value


def test_closing_brackets_in_a_string_do_not_hide_depth() -> None:
    body = ('["' + "]" * 80 + '", ' + nested(MAX_DEPTH) + "]").encode()
    assert not text_within(body, MAX_DEPTH)
    with pytest.raises(Unreadable, match="deeper than 64"):
        parse_json(body)


def test_a_duplicate_key_drops_depth_the_text_has_so_the_value_is_walked() -> None:
    """The text nests 66 deep, the value (the last duplicate wins) 1: the text's count only
    says "maybe", the walk decides, as before."""
    body = ('{"a": ' + nested(65) + ', "a": 1}').encode()
    assert not text_within(body, MAX_DEPTH)
    assert parse_json(body) == {"a": 1}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32-be"])
def test_utf16_and_utf32_are_walked_and_the_cap_holds(encoding: str) -> None:
    """json.loads reads UTF-16 and UTF-32 bytes, where a bracket's byte may be half of another
    character (U+5B00 is 0x5B 0x00): the text is not counted, the value is walked."""
    inside = '"\u5b00\u5d00\u7b7b"'
    assert not text_within(nested(1, inside).encode(encoding), MAX_DEPTH)
    assert parse_json(nested(MAX_DEPTH, inside).encode(encoding)) == parse_json(
        nested(MAX_DEPTH, inside).encode()
    )
    with pytest.raises(Unreadable, match="deeper than 64"):
        parse_json(nested(MAX_DEPTH + 1, inside).encode(encoding))


def test_the_cap_is_exact_in_objects_and_lists() -> None:
    def objects(levels: int) -> bytes:
        return ('{"k": ' * levels + "null" + "}" * levels).encode()

    assert text_within(objects(MAX_DEPTH), MAX_DEPTH)
    assert not text_within(objects(MAX_DEPTH + 1), MAX_DEPTH)
    assert parse_json(objects(MAX_DEPTH)) is not None
    with pytest.raises(Unreadable, match="deeper than 64"):
        parse_json(objects(MAX_DEPTH + 1))
    assert text_within(b"12", 0) and text_within(b'"[["', 0) and not text_within(b"[]", 0)
