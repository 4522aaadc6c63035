"""What the Sprig and Usertour providers share: where a key may go, and how ids become paths.

Keys go only where they belong (SPEC section 8): a pull request can edit ``base_url`` while CI
plans it with the keys in the environment, so a key is sent only over HTTPS to the provider's
official hosts, to loopback (plain HTTP allowed there, for the emulator), or to hosts an operator
listed in ``RECONCILER_ALLOWED_HOSTS`` for that provider. Everything else is refused before
connecting. And a key is read only from a variable named for its vendor (``SPRIG_API_KEY``) or
listed by the operator in ``RECONCILER_KEY_VARIABLES``: ``api_key_env`` is the pull request's to
write, and must not name another secret of the CI (``GH_TOKEN``, ``AWS_SECRET_ACCESS_KEY``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlsplit

from reconciler.errors import ConfigError, MissingKey
from reconciler.quoting import PATH_CHARS, excerpt
from reconciler.settings import TargetConfig
from reconciler.urlpolicy import url_problem

ALLOWED_HOSTS_ENV = "RECONCILER_ALLOWED_HOSTS"
#: ``provider:NAME,...``: variables the operator allows as a provider's key on top of the
#: vendor-named ones (set in the CI environment, never in reconciler.yaml).
KEY_VARIABLES_ENV = "RECONCILER_KEY_VARIABLES"


def read_api_key(
    target: TargetConfig, environ: Mapping[str, str], key_words: Iterable[str] = ()
) -> str:
    """The key from the variable the target names; missing or empty is an error naming both.

    The variable must be named for the vendor (its name holds one of ``key_words``, e.g.
    ``SPRIG``) or be listed for the provider in ``RECONCILER_KEY_VARIABLES``; otherwise it is
    refused before it is read, so a pull request cannot send another secret as the key."""
    variable = target.api_key_env
    if not variable:
        raise ConfigError(f"target {target.name}: api_key_env is not set in reconciler.yaml")
    refused = _key_variable_refusal(target, variable, tuple(key_words), environ)
    if refused:
        raise ConfigError(refused)
    key = environ.get(variable, "").strip()
    if not key:
        # Named as reconciler.yaml writes it: a name that came from ${VAR} stays ${VAR}.
        raise MissingKey(target.name, target.shown("api_key_env"))
    return key


def _key_variable_refusal(
    target: TargetConfig, variable: str, key_words: tuple[str, ...], environ: Mapping[str, str]
) -> str | None:
    if any(word in variable.upper() for word in key_words):
        return None
    if variable in _listed(environ.get(KEY_VARIABLES_ENV, ""), target.provider):
        return None
    shown = excerpt(target.shown("api_key_env"))
    words = " or ".join(key_words) or "the provider's name"
    return (
        f"target {target.name}: api_key_env {shown} is not a {target.provider} key variable: "
        f"a {target.provider} target reads its key only from a variable whose name holds "
        f"{words}, or one the CI environment allows (never reconciler.yaml): "
        f"{KEY_VARIABLES_ENV}={target.provider}:<variable>"
    )


def _listed(setting: str, provider: str | None, bare: bool = False) -> set[str]:
    """The entries of a ``provider:item,...`` setting for ``provider``; ``bare`` items (no
    ``provider:``) count too when asked (RECONCILER_ALLOWED_HOSTS' older form)."""
    found = set()
    for entry in setting.split(","):
        prefix, colon, item = entry.strip().partition(":")
        if colon and prefix.strip().lower() == (provider or "").lower():
            found.add(item.strip())
        elif not colon and bare:
            found.add(prefix)
    found.discard("")
    return found


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
    provider: str | None = None,
    self_hosted: bool = True,
) -> str:
    """Return the normalised base URL, or refuse (before any connection) to send a key there.

    ``shown`` is the URL as reconciler.yaml writes it (``${VAR}`` unexpanded): messages quote
    that, and name the host only when the URL held no variable.

    ``RECONCILER_ALLOWED_HOSTS`` lists hosts per provider (``usertour:tours.example.com``), so
    that a host allowed for one vendor's key never receives the other's. A bare host (the
    older form) counts only for a provider that can be ``self_hosted`` (Usertour), the one it
    was documented for.
    """
    quoted = excerpt(shown if shown is not None else base_url, PATH_CHARS)
    problem = url_problem(base_url)
    if problem is not None:
        raise ConfigError(f"target {target}: base_url {quoted} {problem}")
    parts = urlsplit(base_url)
    raw_host = parts.hostname or ""
    host = raw_host.rstrip(".")
    named = host if shown is None or shown == base_url else f"the host of {quoted}"
    listed = _listed(environ.get(ALLOWED_HOSTS_ENV, ""), provider, bare=self_hosted)
    allowed = {entry.lower() for entry in listed}
    if is_loopback(raw_host):
        pass
    elif host in set(official_hosts) | allowed:
        if parts.scheme != "https":
            raise ConfigError(
                f"target {target}: refusing to send the API key over plain http to {named}; "
                "use https://"
            )
    else:
        prefix = f"{provider}:" if provider else ""
        shown_host = host if named == host else "<host>"
        hint = f"{ALLOWED_HOSTS_ENV}={prefix}{shown_host}"
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
