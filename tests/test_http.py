"""Where a key may be sent, and how ids become paths: pure functions of the HTTP providers."""

from __future__ import annotations

import httpx
import pytest

from reconciler.errors import ConfigError
from reconciler.providers.failures import why_not_connected
from reconciler.providers.http import check_destination, read_api_key, user_path
from reconciler.settings import TargetConfig

SPRIG_HOSTS = ("api.sprig.com", "api.userleap.com")


@pytest.mark.parametrize(
    "url",
    [
        "https://api.sprig.com",
        "https://api.userleap.com/",
        "https://API.SPRIG.COM",
        "http://127.0.0.1:8011",
        "http://localhost:9000",
        "http://[::1]:8011",
        "http://127.0.0.2",
    ],
)
def test_official_hosts_and_loopback_are_allowed(url: str) -> None:
    assert check_destination("prod", url, SPRIG_HOSTS, {})


@pytest.mark.parametrize(
    "url",
    [
        "https://api.sprig.com.evil.net",
        "https://evil.net/api.sprig.com",
        "https://api.sprig.com@evil.net",
        "https://user:pw@api.sprig.com",
        "https://evil.net#@api.sprig.com",
        "https://evil.net?x=api.sprig.com",
        "http://api.sprig.com",  # the right host, but the key would travel in clear text
        "ftp://api.sprig.com",
        "https://apisprig.com",
        "https://10.0.0.1",
        "api.sprig.com",
    ],
)
def test_look_alikes_and_other_hosts_are_refused(url: str) -> None:
    with pytest.raises(ConfigError):
        check_destination("prod", url, SPRIG_HOSTS, {})


def test_operator_listed_hosts_are_allowed_over_https_only() -> None:
    environ = {"RECONCILER_ALLOWED_HOSTS": " usertour.corp.example , other.example"}
    assert check_destination("t", "https://usertour.corp.example", (), environ)
    with pytest.raises(ConfigError, match="plain http"):
        check_destination("t", "http://usertour.corp.example", (), environ)
    with pytest.raises(ConfigError, match=r"RECONCILER_ALLOWED_HOSTS=evil\.example"):
        check_destination("t", "https://evil.example", (), environ)


def test_ids_are_one_percent_encoded_segment() -> None:
    assert user_path("/v2/users", "a/b") == "/v2/users/a%2Fb"
    assert user_path("/v2/users", "../../etc/passwd") == "/v2/users/..%2F..%2Fetc%2Fpasswd"
    assert user_path("/v2/users", "x?y#z") == "/v2/users/x%3Fy%23z"
    assert user_path("/v2/users", "100%") == "/v2/users/100%25"
    assert user_path("/v2/users", "a b") == "/v2/users/a%20b"
    assert user_path("/v2/users", "ü") == "/v2/users/%C3%BC"
    # Dot-segments would be removed by the client: encoded, they stay the id.
    assert user_path("/v1/users", ".") == "/v1/users/%2E"
    assert user_path("/v1/users", "..") == "/v1/users/%2E%2E"
    assert user_path("/v1/users", "...") == "/v1/users/..."


def test_missing_or_empty_key_variable_names_target_and_variable() -> None:
    target = TargetConfig("prod", "sprig", api_key_env="SPRIG_API_KEY")
    with pytest.raises(ConfigError, match=r"target prod: .*SPRIG_API_KEY"):
        read_api_key(target, {}, ("SPRIG",))
    with pytest.raises(ConfigError, match="SPRIG_API_KEY"):
        read_api_key(target, {"SPRIG_API_KEY": "  "}, ("SPRIG",))
    assert read_api_key(target, {"SPRIG_API_KEY": "k"}, ("SPRIG",)) == "k"


@pytest.mark.parametrize(
    ("variable", "allowed", "read"),
    [
        ("SPRIG_API_KEY", "", True),
        ("my_userleap_key", "", True),  # Sprig's former name, any case
        ("GH_TOKEN", "", False),
        ("GH_TOKEN", "GH_TOKEN", False),  # a bare name is no provider's
        ("GH_TOKEN", "usertour:GH_TOKEN", False),
        ("GH_TOKEN", " sprig : GH_TOKEN , usertour:X", True),
    ],
)
def test_a_key_is_read_only_from_a_vendor_named_or_allowed_variable(
    variable: str, allowed: str, read: bool
) -> None:
    target = TargetConfig("prod", "sprig", api_key_env=variable)
    environ = {variable: "secret-value", "RECONCILER_KEY_VARIABLES": allowed}
    if read:
        assert read_api_key(target, environ, ("SPRIG", "USERLEAP")) == "secret-value"
        return
    with pytest.raises(ConfigError) as refused:
        read_api_key(target, environ, ("SPRIG", "USERLEAP"))
    assert f"'{variable}' is not a sprig key variable" in str(refused.value)
    assert "secret-value" not in str(refused.value)


@pytest.mark.parametrize(
    ("allowed", "provider", "self_hosted", "sent"),
    [
        ("tours.corp.example", "usertour", True, True),  # the older, bare form: Usertour's
        ("tours.corp.example", "sprig", False, False),
        ("usertour:tours.corp.example", "sprig", False, False),
        ("usertour:tours.corp.example", "usertour", True, True),
        ("sprig:TOURS.corp.example", "sprig", False, True),
    ],
)
def test_allowed_hosts_are_per_provider(
    allowed: str, provider: str, self_hosted: bool, sent: bool
) -> None:
    """A host allowed for one vendor's key never receives the other's (issue 23.3)."""
    environ = {"RECONCILER_ALLOWED_HOSTS": allowed}
    url = "https://tours.corp.example"

    def check() -> str:
        return check_destination("t", url, (), environ, provider=provider, self_hosted=self_hosted)

    if sent:
        assert check() == url
        return
    with pytest.raises(ConfigError, match=f"RECONCILER_ALLOWED_HOSTS={provider}:tours"):
        check()


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
        (httpx.ConnectError("[Errno -2] Name or service not known"), "does not resolve (DNS)"),
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "(DNS)"),
        (
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
            "certificate is not trusted",
        ),
        (httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version"), "TLS handshake failed"),
        (httpx.ConnectTimeout("timed out"), "connect timeout"),
    ],
)
def test_a_connection_that_never_opened_says_why(error: Exception, reason: str) -> None:
    """Issue 14: not just "ConnectError" (the words httpx passes on from the OS and TLS)."""
    assert reason in why_not_connected(error)
