"""Base URLs that would only fail when connecting are refused offline, without a traceback."""

from __future__ import annotations

import pytest

from reconciler.load.configcheck import url_problem


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
