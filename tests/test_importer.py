"""The importer with plain values: live users in, YAML out, read back by reconciler's own loader.

The round trip is the contract: the text must read back as exactly the live values, validate,
and plan to no change against the users it came from.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yaml.nodes import CollectionNode

from reconciler.importing import yamlemit
from reconciler.importing.importer import ImportOptions, ImportResult, render_import, same
from reconciler.importing.yamlemit import scalar
from reconciler.kinds import CAPABILITIES
from reconciler.load import yamlload
from reconciler.load.config import load_config
from reconciler.load.declarations import load_declarations
from reconciler.model import Company, EventStats, LiveUser, Membership
from reconciler.plan.planner import diff_user

LOGIN_1 = 1_626_448_859_836
LOGIN_2 = LOGIN_1 + 86_400_000

AWKWARD = [
    "NO", "no", "on", "off", "yes", "Y", "n", "true", "True", "FALSE", "null", "Null", "~", "",
    " ", "012", "01234", "0", "-0", "12", "-12", "+49 170 1234567", "+1", "1e3", "1E3", "1.5",
    ".5", "5.", "0x1F", "0o17", ".inf", "-.inf", ".nan", ".NaN", "2024-03-20T08:30:00.000Z",
    "2024-03-20", "12:30:00", "1_000", "<<", "=", "-", "--", "---", "...", "- a", "? x", "a: b",
    "a:b", "a #b", "a#b", "#x", "x:", "[a]", "{a: 1}", "a, b", "&anchor", "*alias", "!tag",
    "|", ">", "'single'", '"double"', "%YAML", "@at", "`tick`", " lead", "trail ", "two  spaces",
    "tab\there", "line\nbreak", "cr\rhere", "bell\x07", "del\x7f", "nel\x85",
    "nbsp\xa0", "ls\u2028", "ps\u2029", "bom\ufeff", "zwsp\u200b", "private\ue000", "\ufffe",
    "é", "日本語", "emoji 👍", "back\\slash", "a\\nb", "ümlaut: yes", "C:\\path", "http://x.y/z?a=1#f",
    "x" * 300,
]  # fmt: skip


_TEXT_KEYS = st.text(max_size=8) | st.sampled_from(AWKWARD)


def _options(kind: str, **extra: Any) -> ImportOptions:
    return ImportOptions(target="t", provider=kind, capabilities=CAPABILITIES[kind], **extra)


def _read_back(text: str) -> dict[str, Any]:
    document = yamlload.parse_mapping(text, "import.yaml")
    assert document.problems == [], document.problems
    assert document.value is not None
    return document.value


def _read_back_both(text: str) -> Any:
    """What reconciler's loader reads, checked against what a YAML 1.1 tool reads."""
    ours = _read_back(text)
    theirs = yaml.safe_load(text)  # PyYAML's YAML 1.1 rules: NO, on, 12:30, 2024-01-01 ...
    assert same(ours, theirs), (text, ours, theirs)
    return ours


def _users(result: ImportResult) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = _read_back(result.text)["users"]
    return users


_CONFIGS = {
    "sandbox": "targets:\n  t:\n    provider: sandbox\n",
    "sprig": "targets:\n  t:\n    provider: sprig\n    api_key_env: SPRIG_API_KEY\n",
    "usertour": "targets:\n  t:\n    provider: usertour\n    api_key_env: USERTOUR_API_KEY\n",
}


def _assert_plans_clean(kind: str, result: ImportResult, live: Sequence[LiveUser]) -> None:
    """The file validates as plan validates it, and plans to no change against ``live``."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "reconciler.yaml").write_text(_CONFIGS[kind], encoding="utf-8")
        (root / "users").mkdir()
        (root / "users" / "imported.yaml").write_text(result.text, encoding="utf-8")
        config = load_config(root / "reconciler.yaml", {})
        specs = load_declarations(config).users
    by_id = {user.id: user for user in live}
    for spec in specs:
        change, _warnings = diff_user(spec, by_id[spec.id], CAPABILITIES[kind])
        assert change is None, (spec, change)


# --- scalars ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_text_reads_back_as_the_same_text(text: str) -> None:
    written = scalar(text)
    assert same(_read_back_both(f"v: {written}\n"), {"v": text})  # a block value
    flow = f"v: [{written}, {{k: {written}}}]\n"
    assert same(_read_back_both(flow), {"v": [text, {"k": text}]})
    assert same(_read_back_both(f"{written}: v\n"), {text: "v"})  # a key
    result = render_import([LiveUser("u1", None, {text or "x": text})], _options("sandbox"))
    assert _users(result)[0]["attributes"] == {text or "x": text}
    _read_back_both(result.text)


@pytest.mark.parametrize(
    ("text", "written"),
    [
        # YAML 1.1 (yaml.safe_load, go-yaml v2) reads these as booleans, dates, numbers:
        # quoted, so that every tool reading the committed file agrees with reconciler.
        ("NO", '"NO"'),
        ("on", '"on"'),
        ("yes", '"yes"'),
        ("y", '"y"'),
        ("N", '"N"'),
        ("2024-03-20T08:30:00.000Z", '"2024-03-20T08:30:00.000Z"'),
        ("2024-01-01", '"2024-01-01"'),
        ("12:30:00", '"12:30:00"'),
        ("12:30", '"12:30"'),
        ("0o17", '"0o17"'),
        ("1_000", '"1_000"'),
        ("0b101", '"0b101"'),
        ("=", '"="'),
        ("Acme Inc", "Acme Inc"),
        ("nobody", "nobody"),
        ("2024", '"2024"'),
        ("01234", '"01234"'),
        ("12", '"12"'),
        ("1e3", '"1e3"'),
        ("true", '"true"'),
        ("null", '"null"'),
        ("~", '"~"'),
        ("", '""'),
        (".inf", '".inf"'),
        ("+49 170", "+49 170"),
        ("line\nbreak", '"line\\nbreak"'),
    ],
)
def test_text_stays_plain_unless_a_reader_would_change_it(text: str, written: str) -> None:
    assert scalar(text) == written


@pytest.mark.parametrize(
    "value", [0, -7, 12, 2**53, -(2**53), 1.5, 0.1, -0.0, 1e16, 1e-7, 2.5e-300, True, False]
)
def test_numbers_and_booleans_keep_their_type(value: Any) -> None:
    assert same(_read_back_both(f"v: {scalar(value)}\n")["v"], value)


@settings(max_examples=300, deadline=None)
@given(st.text().filter(lambda text: "\x00" not in text))  # NUL: refused, see below
def test_any_text_reads_back(text: str) -> None:
    assert same(_read_back_both(f"{scalar(text)}: [{scalar(text)}]\n"), {text: [text]})


def test_text_with_a_nul_is_left_out_with_its_reason() -> None:
    """Issue 22.2: validation refuses a NUL (the real Usertour server answers 500 to it), so
    import must not write one: the file would not validate."""
    live = LiveUser("u1", None, {"plain": "ok", "bad": "a\x00b", "na\x00me": "x"})
    result = render_import([live], _options("sandbox"))
    assert _users(result)[0]["attributes"] == {"plain": "ok"}
    reasons = {(left.field, left.reason) for left in result.left_out}
    assert ("attributes.bad", "text holding a NUL character, which declarations cannot hold") in (
        reasons
    ), reasons


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False) | st.integers(-(2**53), 2**53))
def test_any_number_reads_back(number: float) -> None:
    assert same(_read_back_both(f"v: {scalar(number)}\n")["v"], number)


@pytest.mark.parametrize("kind", ["sandbox", "usertour"])
def test_integers_javascript_would_round_are_left_out(kind: str) -> None:
    """Issue 13 bug 4: the loader refuses them, so the file would not validate."""
    live = [LiveUser("u1", attributes={"big": 2**53 + 1, "ok": 2**53, "f": 1e300})]
    result = render_import(live, _options(kind))
    assert _users(result)[0]["attributes"]["ok"] == 2**53
    left_out = {item.field: item.reason for item in result.left_out}
    assert "beyond ±2^53" in left_out["attributes.big"]
    if kind == "usertour":  # 1e300 is the integer 10**300 there, as plans compare it
        assert "beyond ±2^53" in left_out["attributes.f"]
    _assert_plans_clean(kind, result, live)


def test_keys_up_to_max_key_are_plain_keys_longer_ones_are_left_out() -> None:
    """PyYAML writes a key over 128 characters as ``? key``; the files keep ``key:`` up to
    MAX_KEY, and a name that would be longer written (escapes count) is left out."""
    attributes = {"k" * 150: 1, "é" * 999: 2, "x" * 1001: 3, "\u200b" * 200: 4}
    result = render_import([LiveUser("u1", None, attributes)], _options("sandbox"))
    assert f"\n      {'k' * 150}: 1\n" in result.text
    assert f"\n      {'é' * 999}: 2\n" in result.text
    assert "? " not in result.text
    assert _users(result)[0]["attributes"] == {"k" * 150: 1, "é" * 999: 2}
    left_out = sorted(len(item.field) for item in result.left_out)
    assert len(left_out) == 2
    assert all("longer than YAML allows" in item.reason for item in result.left_out)


_NESTED = st.recursive(
    st.sampled_from(AWKWARD) | st.integers() | st.floats(allow_nan=False) | st.booleans(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT_KEYS, inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_NESTED, max_size=3) | st.dictionaries(_TEXT_KEYS, _NESTED, max_size=3))
def test_the_measured_width_is_the_written_width(value: Any) -> None:
    """Layout measures a collection without writing it: the sum must be what is written."""
    node = yamlemit._represent(value)
    assert isinstance(node, CollectionNode)
    node.flow_style = True
    assert yamlemit._flow_width(node) == len(yamlemit._emit(node)) - 1


# --- whole files --------------------------------------------------------------------------


def test_file_shape_follows_the_examples() -> None:
    live = [
        LiveUser(
            "12348",
            "grace@example.com",
            {"email": "grace@example.com", "seats": 3, "first_seen_at": "2024-01-01T00:00:00Z"},
            companies={"acme": {"name": "Acme Inc"}},
            memberships={"acme": Membership(Company("acme", {"name": "Acme Inc"}), {"role": "a"})},
        ),
        LiveUser(
            "12347",
            "ada@example.com",
            {"email": "ada@example.com", "country": "NO", "zip": "01234", "tags": ["beta"]},
            companies={"acme": {"name": "Acme Inc"}},
            memberships={"acme": Membership(Company("acme", {"name": "Acme Inc"}))},
        ),
    ]
    options = _options("usertour", schema_ref="../schemas/users.schema.json", pin_target=True)
    result = render_import(live, options)
    assert result.text == (
        "# yaml-language-server: $schema=../schemas/users.schema.json\n"
        "#\n"
        "# Imported from target t (usertour) by `reconciler import`: 2 users.\n"
        "# It holds real emails and attribute values: review it before you commit it.\n"
        "defaults:\n"
        "  targets: [t]\n"
        "\n"
        "users:\n"
        '  - id: "12347"\n'
        "    email: ada@example.com\n"
        "    attributes:\n"
        '      country: "NO"\n'
        "      tags: [beta]\n"
        '      zip: "01234"\n'
        "    companies:\n"
        "      - {id: acme, attributes: {name: Acme Inc}}\n"
        "\n"
        '  - id: "12348"\n'
        "    email: grace@example.com\n"
        "    attributes:\n"
        "      seats: 3\n"
        "    memberships:\n"
        "      - company: {id: acme, attributes: {name: Acme Inc}}\n"
        "        attributes: {role: a}\n"
    )
    assert result.users == 2 and result.left_out == ()


def test_same_users_in_any_order_give_the_same_bytes() -> None:
    live = [LiveUser(f"u{n}", None, {"n": n, "b": "x", "a": [str(n)]}) for n in range(20)]
    first = render_import(live, _options("sandbox")).text
    assert render_import(list(reversed(live)), _options("sandbox")).text == first
    assert [user["id"] for user in _users(render_import(live, _options("sandbox")))] == sorted(
        f"u{n}" for n in range(20)
    )


def test_no_users_is_an_empty_list() -> None:
    result = render_import([], _options("sandbox"))
    assert _read_back(result.text) == {"users": []}


def test_email_is_the_email_field_never_the_attribute_that_holds_it() -> None:
    sprig = LiveUser("u1", "a@example.com", {"!email": "a@example.com", "plan": "pro"})
    assert _users(render_import([sprig], _options("sprig"))) == [
        {"id": "u1", "email": "a@example.com", "attributes": {"plan": "pro"}}
    ]
    usertour = LiveUser("u1", "a@example.com", {"email": "a@example.com"})
    assert _users(render_import([usertour], _options("usertour"))) == [
        {"id": "u1", "email": "a@example.com"}
    ]
    # The sandbox keeps the email apart: an attribute named email is just an attribute.
    sandbox = LiveUser("u1", "a@example.com", {"email": "other"})
    assert _users(render_import([sandbox], _options("sandbox")))[0]["attributes"] == {
        "email": "other"
    }


def test_an_email_validation_would_refuse_is_left_out_and_named() -> None:
    live = LiveUser("u1", "not-an-email", {"email": "not-an-email", "plan": "pro"})
    result = render_import([live], _options("usertour"))
    assert _users(result) == [{"id": "u1", "attributes": {"plan": "pro"}}]
    assert [(item.field, item.user_id) for item in result.left_out] == [("email", "u1")]
    assert "# not imported: email: not an email address" in result.text
    assert "not-an-email" not in result.left_out[0].reason


def test_seeded_and_vendor_attributes_only_with_include_system() -> None:
    usertour = LiveUser("u1", None, {"first_seen_at": "2024-01-01", "last_seen_at": "x", "a": 1})
    assert _users(render_import([usertour], _options("usertour")))[0]["attributes"] == {"a": 1}
    included = render_import([usertour], _options("usertour", include_system=True))
    assert _users(included)[0]["attributes"] == {
        "a": 1,
        "first_seen_at": "2024-01-01",
        "last_seen_at": "x",
    }
    sprig = LiveUser("u1", "a@example.com", {"!email": "a@example.com", "!locale": "en", "a": 1})
    default = render_import([sprig], _options("sprig"))
    assert "!locale" not in default.text
    shown = render_import([sprig], _options("sprig", include_system=True))
    # A declaration may not hold ! names (validation refuses them): a comment shows them.
    assert _users(shown)[0]["attributes"] == {"a": 1}
    assert '    #   "!locale": "en"\n' in shown.text
    assert shown.left_out == ()


def test_events_only_with_with_events_one_per_name_at_the_latest_time() -> None:
    events = {
        "login": EventStats(count=3, first=LOGIN_1, latest=LOGIN_2),
        "signup": EventStats(count=1, first=LOGIN_1, latest=LOGIN_1),
        "broken": EventStats(count=1, first=0, latest=1_626_448_859),  # seconds, not ms
    }
    live = LiveUser("u1", None, {"a": 1}, events=events)
    assert "events" not in _users(render_import([live], _options("sprig")))[0]
    result = render_import([live], _options("sprig", with_events=True))
    assert _users(result)[0]["events"] == [
        {"event": "login", "timestamp": LOGIN_2},
        {"event": "signup", "timestamp": LOGIN_1},
    ]
    assert [item.field for item in result.left_out] == ["events.broken"]
    assert "looks like Unix seconds" in result.left_out[0].reason
    # Usertour records no events: the flag adds nothing there.
    usertour = render_import([live], _options("usertour", with_events=True))
    assert "events" not in _users(usertour)[0]


def test_values_no_declaration_can_hold_are_left_out_with_a_reason() -> None:
    attributes = {
        "ok": "x",
        "float": 1.5,
        "whole": 12.0,
        "object": {"a": 1},
        "null": None,
        "numbers": [1, 2],
        "text": ["a"],
        "nan": math.nan,
        "lone": "\ud800",
        "": "empty name",
    }
    sprig = render_import([LiveUser("u1", None, attributes)], _options("sprig"))
    # A JSON target's 12.0 is declared as the integer 12: the plan compares it so.
    assert _users(sprig)[0]["attributes"] == {"ok": "x", "whole": 12}
    reasons = {item.field: item.reason for item in sprig.left_out}
    assert set(reasons) == {
        "attributes.float",
        "attributes.object",
        "attributes.null",
        "attributes.numbers",
        "attributes.text",
        "attributes.nan",
        "attributes.lone",
        'attributes[""]',
    }
    assert "decimal number" in reasons["attributes.float"]
    assert "remove" in reasons["attributes.null"]
    sandbox = render_import([LiveUser("u1", None, attributes)], _options("sandbox"))
    assert _users(sandbox)[0]["attributes"] == {
        "float": 1.5,
        "ok": "x",
        "text": ["a"],
        "whole": 12.0,
    }
    usertour = render_import([LiveUser("u1", None, {"whole": 12.0})], _options("usertour"))
    assert usertour.left_out == ()
    assert _users(usertour)[0]["attributes"] == {"whole": 12}


def test_ids_validation_would_refuse_leave_the_whole_user_out() -> None:
    live = [LiveUser("ok"), LiveUser("bad\nid"), LiveUser("")]
    result = render_import(live, _options("sandbox"))
    assert [user["id"] for user in _users(result)] == ["ok"]
    assert sorted(item.user_id for item in result.left_out) == ["", "bad\nid"]


def test_memberships_only_when_one_carries_attributes_of_its_own() -> None:
    plain = LiveUser(
        "u1",
        companies={"b": {"n": 1}, "a": {}},
        memberships={"a": Membership(Company("a")), "b": Membership(Company("b", {"n": 1}))},
    )
    assert _users(render_import([plain], _options("usertour")))[0]["companies"] == [
        {"id": "a"},
        {"id": "b", "attributes": {"n": 1}},
    ]
    owned = LiveUser(
        "u1",
        companies={"a": {}, "b": {"n": 1}},
        memberships={
            "a": Membership(Company("a")),
            "b": Membership(Company("b", {"n": 1}), {"role": "admin"}),
        },
    )
    assert _users(render_import([owned], _options("usertour")))[0]["memberships"] == [
        {"company": {"id": "a"}},
        {"company": {"id": "b", "attributes": {"n": 1}}, "attributes": {"role": "admin"}},
    ]
    # Sprig holds no companies: none are written for it.
    assert "companies" not in _users(render_import([plain], _options("sprig")))[0]


def test_long_values_fall_back_to_block_style() -> None:
    live = LiveUser("u1", None, {"tags": ["x" * 40] * 3}, companies={"c": {"name": "y" * 80}})
    result = render_import([live], _options("sandbox"))
    assert max(map(len, result.text.splitlines())) <= 100
    assert "      tags:\n        - " in result.text
    assert "      - id: c\n        attributes:\n          name: " in result.text
    assert _users(result)[0]["attributes"] == {"tags": ["x" * 40] * 3}


def test_the_example_users_plan_clean() -> None:
    live = [
        LiveUser(
            "12347",
            "ada@example.com",
            {
                "country": "NO",
                "zip": "01234",
                "signed_up_at": "2024-03-20T08:30:00.000Z",
                "phone": "+47 555 01234",
                "nps": 9.5,
                "on_call": "on",
                "tags": ["beta", "research-panel"],
            },
            events={"login": EventStats(2, LOGIN_1, LOGIN_2)},
            companies={"acme": {"name": "Acme Inc"}},
            memberships={"acme": Membership(Company("acme", {"name": "Acme Inc"}), {"r": "x"})},
        )
    ]
    result = render_import(live, _options("sandbox", with_events=True))
    _assert_plans_clean("sandbox", result, live)


# --- the property: any live user plans clean after an import --------------------------------

_TEXT = st.text(max_size=12)
_VALUES = st.one_of(
    _TEXT,
    st.sampled_from(AWKWARD),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(),
    st.booleans(),
    st.none(),
    st.lists(_TEXT | st.sampled_from(AWKWARD), max_size=3),
    st.lists(st.integers(), min_size=1, max_size=2),
    st.dictionaries(_TEXT, st.integers(), max_size=1),
)
_ATTRIBUTES = st.dictionaries(_TEXT | st.sampled_from(AWKWARD), _VALUES, max_size=6)
_IDS = st.text(min_size=1, max_size=10) | st.sampled_from(AWKWARD)
_TIMESTAMPS = st.integers(min_value=0, max_value=5_000_000_000_000)


@st.composite
def _live_users(draw: st.DrawFn, kind: str) -> list[LiveUser]:
    users = []
    for user_id in draw(st.lists(_IDS, min_size=1, max_size=4, unique=True)):
        email = draw(st.none() | st.emails() | _TEXT)
        attributes = draw(_ATTRIBUTES)
        if kind == "sprig" and email is not None:
            attributes["!email"] = email
        if kind == "usertour" and email is not None:
            attributes["email"] = email
        events = {}
        for name in draw(st.lists(_TEXT, max_size=2, unique=True)):
            first, latest = sorted(draw(st.lists(_TIMESTAMPS, min_size=2, max_size=2)))
            events[name] = EventStats(draw(st.integers(1, 5)), first, latest)
        memberships = {
            company_id: Membership(Company(company_id, draw(_ATTRIBUTES)), draw(_ATTRIBUTES))
            for company_id in draw(st.lists(_IDS, max_size=2, unique=True))
        }
        users.append(
            LiveUser(
                user_id,
                email,
                attributes,
                events=events if CAPABILITIES[kind].events else {},
                companies={cid: m.company.attributes for cid, m in memberships.items()},
                memberships=memberships if CAPABILITIES[kind].companies else {},
            )
        )
    return users


@pytest.mark.parametrize("kind", ["sandbox", "sprig", "usertour"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_live_users_import_to_a_file_that_plans_clean(kind: str, data: st.DataObject) -> None:
    live = data.draw(_live_users(kind))
    options = _options(kind, with_events=data.draw(st.booleans()))
    result = render_import(live, options)
    _assert_plans_clean(kind, result, live)
    kept = {user["id"] for user in _users(result)}
    dropped = {item.user_id for item in result.left_out if item.field == "id"}
    assert kept | dropped == {user.id for user in live}


# 50 a kind (was 80; at least 50), 150 in all: the values YAML 1.1 tools misread are each
# checked every run by test_yaml_1_1_readers_get_the_live_values below; the draws add shapes.
@pytest.mark.parametrize("kind", ["sandbox", "sprig", "usertour"])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_import_reads_the_same_to_yaml_1_1_tools(kind: str, data: st.DataObject) -> None:
    """Issue 16 point 7: other tools read the committed file as reconciler does (no ``NO`` ->
    false, ``12:30`` -> 750, ``2024-01-01`` -> a date, ``1e+16`` -> text)."""
    result = render_import(data.draw(_live_users(kind)), _options(kind, with_events=True))
    _read_back_both(result.text)


def test_yaml_1_1_readers_get_the_live_values() -> None:
    values = {"country": "NO", "at": "12:30", "day": "2024-01-01", "k": "1_000", "big": 1e16}
    values |= {"b": "y", "o": "0o17", "inf": ".inf", "nul": "~", "yes": "yes"}
    result = render_import([LiveUser("u1", None, values)], _options("sandbox"))
    assert yaml.safe_load(result.text)["users"][0]["attributes"] == values
    assert '"yes": "yes"' in result.text  # a key YAML 1.1 reads as true is quoted too
    assert "big: 1.0e+16" in result.text  # YAML 1.1 reads 1e+16 as text
