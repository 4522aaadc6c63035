"""Target kinds and what each can hold. Providers are imported lazily: validate needs none."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reconciler.errors import TargetError
from reconciler.model import Upsert
from reconciler.providers.base import (
    BOOLEAN,
    INTEGER,
    LIST,
    NUMBER,
    STRING,
    Capabilities,
    Provider,
)

#: What each provider kind can hold. Known offline, so validate can check declarations
#: against every configured target without a key.
CAPABILITIES: dict[str, Capabilities] = {
    # Sprig v2: attributes string/int/bool only, at most 100, cannot be deleted; `!`-prefixed
    # names are Sprig's own (`!email`); events are append-only history. No list endpoint.
    "sprig": Capabilities(
        events=True,
        companies=False,
        remove_attributes=False,
        value_types=frozenset({STRING, INTEGER, BOOLEAN}),
        max_attributes=100,
        reserved_prefix="!",
        email_attribute="!email",
        keeps_float_type=False,
        can_list=False,
        cannot_list_because=(
            "Sprig has no list endpoint and no delete (its only removal is the GDPR purge, "
            "which reconciler never sends)"
        ),
    ),
    # Usertour v1: JSON numbers, lists of strings, null deletes; companies and memberships.
    "usertour": Capabilities(
        events=False,
        companies=True,
        remove_attributes=True,
        value_types=frozenset({STRING, INTEGER, NUMBER, BOOLEAN, LIST}),
        email_attribute="email",
        keeps_float_type=False,
        can_list=True,
        # New users and new companies get both, seeded by the server (apis/usertour.md).
        seeded_attributes=frozenset({"first_seen_at", "last_seen_at"}),
        locks_types=True,
    ),
    # The built-in local store holds everything, so the examples can show every feature.
    "sandbox": Capabilities(
        events=True,
        companies=True,
        remove_attributes=True,
        value_types=frozenset({STRING, INTEGER, NUMBER, BOOLEAN, LIST}),
        keeps_float_type=True,
        can_list=True,
    ),
}

PROVIDER_KINDS = tuple(sorted(CAPABILITIES))

#: Modules implementing each kind; each exposes ``from_config(target, environ) -> Provider``.
_MODULES = {
    "sandbox": "reconciler.providers.sandbox",
    "sprig": "reconciler.providers.sprig",
    "usertour": "reconciler.providers.usertour",
}

if TYPE_CHECKING:
    from reconciler.load.config import TargetConfig


def describe_request(kind: str, upsert: Upsert) -> dict[str, Any]:
    """The exact request a provider kind sends for ``upsert`` (method, path, body)."""
    module = importlib.import_module(_MODULES[kind])
    request: dict[str, Any] = module.describe_request(upsert)
    return request


def open_provider(target: TargetConfig, environ: Mapping[str, str]) -> Provider:
    """Open the provider for one configured target (checks its key variable, no request yet)."""
    module_name = _MODULES.get(target.provider)
    if module_name is None:
        raise TargetError(
            target.name, f"provider {target.provider!r} is not supported by this version yet"
        )
    module = importlib.import_module(module_name)
    provider: Provider = module.from_config(target, environ)
    return provider


__all__ = ["CAPABILITIES", "PROVIDER_KINDS", "Capabilities", "Provider", "open_provider"]
