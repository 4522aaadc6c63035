"""What a base URL may be: one rule, for the config check and for the HTTP client.

``validate`` refuses a bad URL at its line in reconciler.yaml; the client refuses the same URL
again when a target is opened another way (the emulator, a test, the library surface). One
module so that the two can never disagree; pure and on the floor.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def invisible(text: str) -> bool:
    """Whether ``text`` holds a character reconciler.escape.printable would escape (the rule
    of ``str.isprintable``: controls, separators, bidi and zero-width characters)."""
    return not text.isprintable()


def url_problem(url: str) -> str | None:
    """Why ``url`` is no usable base URL (None when it is): checked offline, so that a URL
    that would only fail when connecting (a bad port, ``https://[x]``) is a located problem."""
    if invisible(url) or any(char.isspace() for char in url):
        return "holds a space, line break or control character: remove it"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is no number or too big
    except ValueError:
        return "is not a valid URL (check the host and port)"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "must not contain credentials (keys come from api_key_env)"
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return "is not a plain http(s) URL (like https://api.example.com)"
    return None
