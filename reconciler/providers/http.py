"""What the Sprig and Usertour providers share: where a key may go, and how ids become paths.

Keys go only where they belong (SPEC section 8): a pull request can edit ``base_url`` while CI
plans it with the keys in the environment, so a key is sent only over HTTPS to the provider's
official hosts, to loopback (plain HTTP allowed there, for the emulator), or to hosts an operator
listed in ``RECONCILER_ALLOWED_HOSTS``. Everything else is refused before connecting.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit

from reconciler.errors import ConfigError, MissingKey
from reconciler.load.config import TargetConfig
from reconciler.load.configcheck import url_problem
from reconciler.quoting import PATH_CHARS, excerpt

ALLOWED_HOSTS_ENV = "RECONCILER_ALLOWED_HOSTS"


def read_api_key(target: TargetConfig, environ: Mapping[str, str]) -> str:
    """The key from the variable the target names; missing or empty is an error naming both."""
    variable = target.api_key_env
    if not variable:
        raise ConfigError(f"target {target.name}: api_key_env is not set in reconciler.yaml")
    key = environ.get(variable, "").strip()
    if not key:
        # Named as reconciler.yaml writes it: a name that came from ${VAR} stays ${VAR}.
        raise MissingKey(target.name, target.shown("api_key_env"))
    return key


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP literal: names that never leave the machine.

    ``localhost.`` (a fully qualified name) and names like ``127.0.0.1.nip.io`` are resolved
    through DNS, which may answer anything, so they are not loopback.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def check_destination(
    target: str,
    base_url: str,
    official_hosts: Iterable[str],
    environ: Mapping[str, str],
    shown: str | None = None,
) -> str:
    """Return the normalised base URL, or refuse (before any connection) to send a key there.

    ``shown`` is the URL as reconciler.yaml writes it (``${VAR}`` unexpanded): messages quote
    that, and name the host only when the URL held no variable.
    """
    quoted = excerpt(shown if shown is not None else base_url, PATH_CHARS)
    problem = url_problem(base_url)
    if problem is not None:
        raise ConfigError(f"target {target}: base_url {quoted} {problem}")
    parts = urlsplit(base_url)
    raw_host = parts.hostname or ""
    host = raw_host.rstrip(".")
    named = host if shown is None or shown == base_url else f"the host of {quoted}"
    allowed = {h.strip().lower() for h in environ.get(ALLOWED_HOSTS_ENV, "").split(",")}
    allowed.discard("")
    if is_loopback(raw_host):
        pass
    elif host in set(official_hosts) | allowed:
        if parts.scheme != "https":
            raise ConfigError(
                f"target {target}: refusing to send the API key over plain http to {named}; "
                "use https://"
            )
    else:
        hint = f"{ALLOWED_HOSTS_ENV}={host}" if named == host else f"{ALLOWED_HOSTS_ENV}=<host>"
        raise ConfigError(
            f"target {target}: refusing to send the API key to {named}: it is not an official "
            f"host of this provider ({', '.join(sorted(official_hosts))}) nor loopback. If this "
            f"host is yours (e.g. a self-hosted Usertour), allow it in the CI environment: "
            f"{hint}"
        )
    return base_url.rstrip("/")


def user_path(prefix: str, user_id: str) -> str:
    """A user id as ONE path segment: ``a/b``, ``../x``, ``?``, ``#``, ``%`` are data, not path.

    ``.`` and ``..`` are unreserved, so ``quote`` leaves them; as a whole segment they are
    dot-segments, which httpx (RFC 3986) removes before sending: ``/v1/users/.`` would reach
    the list route. Encoded (``%2E``), they are one segment holding the id, on both vendors.
    """
    if user_id in (".", ".."):
        return f"{prefix}/{'%2E' * len(user_id)}"
    return f"{prefix}/{quote(user_id, safe='')}"
