"""Usertour's paging rules and value quirks as the emulator reproduces them (pure functions).

The expected strings are the real server's (tests/contract/usertour_session.json)."""

from __future__ import annotations

import math

import pytest

from reconciler.sandbox.usertour_listing import (
    InvalidQuery,
    build_url,
    js_number,
    parse_expand,
    parse_limit,
)
from reconciler.sandbox.usertour_values import is_datetime, js_value, value_type


def test_next_keeps_the_query_and_rewrites_expand_as_brackets_at_the_end() -> None:
    target = "/v1/users?companyId=club&limit=2&expand[]=companies"
    _, expand = parse_expand({"expand[]": ["companies"]})
    assert expand is not None
    url = build_url(target, [("cursor", "41"), ("limit", "2"), expand])
    assert url == "/v1/users?companyId=club&limit=2&cursor=41&expand%5B%5D=companies"


def test_a_single_plain_expand_stays_in_place_and_limit_is_appended() -> None:
    _, expand = parse_expand({"expand": ["memberships"]})
    assert expand == ("expand", "memberships")
    url = build_url("/v1/users/?expand=memberships&cursor=3", [("cursor", "9"), ("limit", "20")])
    assert url == "/v1/users/?expand=memberships&cursor=9&limit=20"


def test_previous_link_of_the_first_page_drops_the_cursor_and_reencodes() -> None:
    url = build_url("/v1/users?email=a%40x.io&cursor=5&limit=1", [("limit", "1")])
    assert url == "/v1/users?email=a%40x.io&limit=1"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "limit must not be less than 1"),
        ("", "limit must not be less than 1"),
        ("-Infinity", "limit must not be less than 1"),
        ("101", "limit must not be greater than 100"),
        ("ten", "limit must not be greater than 100"),  # NaN fails every constraint
    ],
)
def test_limit_reports_the_servers_message(value: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_limit({"limit": [value]})


def test_limit_is_read_like_javascripts_number() -> None:
    assert parse_limit({}).size == 20
    assert (parse_limit({"limit": [" 7 "]}).size, parse_limit({"limit": ["1e1"]}).text) == (7, "10")
    assert js_number("0x10") == 16 and math.isnan(js_number("1,5"))


def test_comma_separated_expand_is_not_split() -> None:
    with pytest.raises(InvalidQuery, match="each value in expand"):
        parse_expand({"expand": ["companies,memberships"]})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-20T08:30:00.000Z", True),
        ("2024-03-20T08:30:00Z", True),  # milliseconds are optional
        ("1800-01-01T00:00:00Z", True),
        ("2024-02-30T08:30:00Z", False),
        ("2024-03-20T24:00:00Z", False),
        ("2024-03-20T08:30:00.5Z", False),
        ("2024-03-20 08:30:00", False),
        ("2024-03-20", False),
        ("2024-03-20T08:30:00+00:00", False),
    ],
)
def test_datetime_inference(value: str, expected: bool) -> None:
    assert is_datetime(value) is expected
    assert value_type(value) == ("datetime" if expected else "string")


def test_numbers_are_javascript_doubles() -> None:
    assert js_value(9007199254740993) == 9007199254740992
    assert js_value(-9007199254740995) == -9007199254740996
    assert js_value(3.0) == 3 and isinstance(js_value(3.0), int)
    assert js_value(10**20 + 1) == 10**20 and isinstance(js_value(10**20 + 1), int)
    assert js_value(10**22) == 1e22 and isinstance(js_value(10**22), float)
    assert js_value([2**53 + 1, {"n": 2**53 + 1}]) == [2**53, {"n": 2**53}]
    assert value_type({"a": 1}) == "nil"
