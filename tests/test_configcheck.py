"""Base URLs that would only fail when connecting are refused offline, without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import ValidationError
from reconciler.load import envvars
from reconciler.load.config import load_config
from reconciler.urlpolicy import url_problem


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://[x]", "is not a valid URL"),
        ("https://api.sprig.com:99999", "is not a valid URL"),
        ("https://api.sprig.com:port", "is not a valid URL"),
        ("https://api.sprig.com\n", "line break"),
        ("https://api.sprig.com/\u202egnp.exe", "control character"),
        ("https://user:pw@api.sprig.com", "credentials"),
        ("ftp://api.sprig.com", "plain http(s) URL"),
        ("https://api.sprig.com/?a=1", "plain http(s) URL"),
    ],
)
def test_urls_that_cannot_be_used(url: str, said: str) -> None:
    problem = url_problem(url)
    assert problem is not None and said in problem


@pytest.mark.parametrize(
    "url", ["https://api.sprig.com", "http://127.0.0.1:8011/", "https://[::1]:8443/v1"]
)
def test_urls_that_can(url: str) -> None:
    assert url_problem(url) is None


def _config_problems(tmp_path: Path, target: str) -> str:
    (tmp_path / "reconciler.yaml").write_text(f"targets:\n  t:\n{target}", encoding="utf-8")
    with pytest.raises(ValidationError) as raised:
        load_config(tmp_path / "reconciler.yaml", {})
    return "\n".join(map(str, raised.value.problems))


@pytest.mark.parametrize("char", ["\u200b", "\ufeff", "\u2060", "\u00ad", "\u061c", "\u202e"])
def test_what_escape_would_escape_is_refused_in_urls_and_store_paths(
    tmp_path: Path, char: str
) -> None:
    """Review finding: configcheck kept its own, shorter list of invisible characters than
    reconciler.escape's rule: a zero-width space, a BOM or a word joiner passed."""
    assert url_problem(f"https://api.sprig.com/a{char}b") is not None
    escaped = char.encode("unicode_escape").decode()
    problems = _config_problems(tmp_path, f'    provider: sandbox\n    path: "state{escaped}.db"\n')
    assert "targets.t.path" in problems and "invisible character" in problems


@pytest.mark.parametrize("prefix", envvars.CI_PREFIXES)
def test_the_ci_variables_are_one_list_for_expansion_and_key_variables(
    tmp_path: Path, prefix: str
) -> None:
    assert envvars.refusal(f"{prefix}X", {}) is not None
    problems = _config_problems(tmp_path, f"    provider: sprig\n    api_key_env: {prefix}SPRIG\n")
    assert "is a variable of the CI itself (GITHUB_*, ACTIONS_*, RUNNER_*)" in problems
