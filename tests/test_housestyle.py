"""importing/housestyle.py writes what PyYAML's emitter (importing/yamlemit.py, the writer
before it) writes, byte for byte, on awkward values; and what it writes reads back as the
values, through libyaml (YAML 1.1) and reconciler's own loader (YAML 1.2)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.importing import housestyle, yamlemit
from reconciler.importing.importer import same
from reconciler.load import yamlload

AWKWARD = [
    "yes", "no", "on", "off", "Yes", "NO", "On", "OFF", "y", "Y", "n", "N", "true", "False",
    "null", "Null", "~", "", " ", "  ", "012", "01234", "0", "-0", "12", "-12", "+1", "1e3",
    "1.5", ".5", "5.", "0x1F", "0o17", "0b101", ".inf", "-.inf", ".nan", "1_000", "12:30",
    "12:30:00", "190:20:30", "2024-03-20", "2024-03-20T08:30:00.000Z", "2024-3-2",
    "#", "# comment", "a #b", "a#b", "a: b", "a:b", "x:", ": x", "? x", "- a", "-", "--", "---",
    "...", "<<", "=", "[a]", "{a: 1}", "a, b", "a,b", "&anchor", "*alias", "!tag", "!!str",
    "|", ">", "'single'", '"double"', "%YAML", "@at", "`tick`", " lead", "trail ", "two  words",
    "tab\there", "line\nbreak", "cr\rhere", "bell\x07", "esc\x1b", "del\x7f", "nel\x85",
    "nbsp\xa0", "ls\u2028", "ps\u2029", "bom\ufeff", "zwsp\u200b", "rtl\u202e", "\ue000",
    "\ufffe", "é", "日本語", "emoji 👍", "back\\slash", 'quote"in', "it's", "C:\\path",
    "http://x.y/z?a=1#f", "u1@example.com", "user-000001", "x" * 150, "long " * 300,
]  # fmt: skip
#: Control characters other than NUL (which declarations refuse), unicode, long text.
_CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")
TEXT = st.sampled_from(AWKWARD) | st.text(_CHARS, max_size=12) | st.text(_CHARS, min_size=90)
SCALARS = TEXT | st.integers(-(2**53), 2**53) | st.booleans()
#: Keys: names needing quotes, as long as the importer lets a key be once written (libyaml
#: reads no simple key beyond 1024 characters), and one longer (PyYAML writes ``? key``).
KEYS = TEXT.filter(yamlemit.key_fits) | st.just("k" * (yamlemit.MAX_KEY + 1))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
MAPPINGS = st.dictionaries(KEYS, VALUES, min_size=1, max_size=5)
FORCE = st.dictionaries(st.sampled_from(AWKWARD[:8]), st.integers(0, 3), max_size=3)
#: 200 drawn examples a test (was 400; at least 50): each compares with the writer it replaced,
#: byte for byte, and every AWKWARD text is also checked in every place, every run, by
#: test_the_awkward_ones_are_quoted_as_pyyaml_quotes_them below; the draws add new shapes.
_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_back(text: str) -> Any:
    """The text through libyaml's YAML 1.1 loader and reconciler's, which must agree."""
    yaml11 = yaml.load(text, Loader=yaml.CSafeLoader)
    document = yamlload.parse_mapping(text, "test")
    assert document.problems == [], document.problems
    assert same(yaml11, document.value)
    return yaml11


@_SETTINGS
@given(MAPPINGS, st.sampled_from([0, 2, 4]), FORCE, st.integers(0, 2))
def test_block_lines_are_pyyamls_bytes_and_read_back(
    mapping: dict[str, Any], indent: int, force: dict[str, int], default: int
) -> None:
    lines = housestyle.block_lines(mapping, indent, force, default)
    assert lines == yamlemit.block_lines(mapping, indent, force, default)
    text = "\n".join(line[indent:] for line in lines) + "\n"
    assert same(_read_back(text), mapping)


@_SETTINGS
@given(st.lists(VALUES, max_size=5) | st.dictionaries(KEYS, VALUES, max_size=5))
def test_flow_text_is_pyyamls_and_reads_back(value: list[Any] | dict[str, Any]) -> None:
    text = housestyle.flow_text(value)
    assert text == yamlemit.flow_text(value)
    assert same(_read_back(f"v: {text}\n")["v"], value)


@_SETTINGS
@given(SCALARS | st.floats(allow_nan=False, allow_infinity=False))
def test_a_scalar_is_written_as_pyyaml_writes_it(value: str | int | float) -> None:
    written = housestyle.scalar(value)
    assert written == yamlemit.scalar(value)
    assert same(_read_back(f"v: {written}\n")["v"], value)
    if isinstance(value, str):
        assert housestyle.key_fits(value) == yamlemit.key_fits(value)


@_SETTINGS
@given(st.from_regex(yamlemit._PLAIN_ANYWHERE_RE.pattern.removesuffix("\\Z"), fullmatch=True))
def test_text_taken_as_plain_without_analysis_is_plain_to_the_analysis(text: str) -> None:
    """yamlemit's shortcut for ids and emails: PyYAML's analysis allows each plain anywhere."""
    analysis = yamlemit._prototype().analyze_uncached(text)
    assert analysis.allow_block_plain and analysis.allow_flow_plain


def test_the_awkward_ones_are_quoted_as_pyyaml_quotes_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every awkward text as a key, a value, a list item and inside flow collections, written
    without PyYAML's emitter (no fallback), as PyYAML's emitter writes them."""
    keys = [text for text in AWKWARD if yamlemit.key_fits(text)]  # longer: ``? key``
    mapping: dict[str, Any] = {text: [text, {text: text}] for text in keys}
    mapping["block"] = {text: AWKWARD for text in keys}
    layouts = ((0, 0), (2, 1), (4, 2))
    expected = [yamlemit.block_lines(mapping, indent, {}, default) for indent, default in layouts]
    flow = yamlemit.flow_text({"m": mapping})

    def no_emitter(*args: Any) -> None:
        raise AssertionError("PyYAML's emitter was used")

    monkeypatch.setattr(yamlemit, "_emit", no_emitter)
    written = [housestyle.block_lines(mapping, indent, {}, default) for indent, default in layouts]
    assert written == expected
    assert housestyle.flow_text({"m": mapping}) == flow
    assert same(_read_back(flow + "\n")["m"], mapping)
