"""Target kinds and what each can hold. Providers are imported lazily: validate needs none.

Each vendor declares its facts once, as a ``ProviderKind`` in its ``*_kind.py`` module (no
HTTP stack there); its provider class (``sprig.py``, ``usertour.py``, ``sandbox.py``) names
that value and is imported only when a target of that kind is opened.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import TargetError
from reconciler.providers.base import Capabilities, Provider, ProviderKind
from reconciler.providers.sandbox_kind import SANDBOX
from reconciler.providers.sprig_kind import SPRIG
from reconciler.providers.usertour_kind import USERTOUR

if TYPE_CHECKING:
    from reconciler.load.config import TargetConfig
    from reconciler.providers.transports import TransportFor

#: Every kind by the name reconciler.yaml writes (``provider: sprig``).
KINDS: Mapping[str, ProviderKind] = {kind.name: kind for kind in (SANDBOX, SPRIG, USERTOUR)}

PROVIDER_KINDS = tuple(sorted(KINDS))

#: What each kind can hold (a view of ``KINDS``), known offline, so validate can check
#: declarations against every configured target without a key.
CAPABILITIES: Mapping[str, Capabilities] = {
    name: kind.capabilities for name, kind in sorted(KINDS.items())
}


def provider_class(kind: ProviderKind) -> type[Provider]:
    """The class that talks to targets of ``kind``; importing it is what loads httpx."""
    module_name, _, class_name = kind.provider.partition(":")
    found = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(found, type) and issubclass(found, Provider) and found.kind is kind):
        raise TypeError(f"{kind.provider} is not the provider of kind {kind.name}")
    return found


def open_provider(
    target: TargetConfig,
    environ: Mapping[str, str],
    *,
    transport: TransportFor | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Provider:
    """Open the provider for one configured target (checks its key variable, no request yet),
    in the run's runtime: its requests go through ``transport`` and its waits use ``clock``."""
    kind = KINDS.get(target.provider)
    if kind is None:
        raise TargetError(
            target.name, f"provider {target.provider!r} is not supported by this version yet"
        )
    return provider_class(kind).from_config(target, environ, transport=transport, clock=clock)


__all__ = [
    "CAPABILITIES",
    "KINDS",
    "PROVIDER_KINDS",
    "Capabilities",
    "Provider",
    "ProviderKind",
    "open_provider",
    "provider_class",
]
