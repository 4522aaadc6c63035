"""The providers: the only code that speaks to a target. Imported lazily: validate needs none.

What each kind of target holds is on the floor (reconciler/kinds/); each kind names its
provider class (``sprig.py``, ``usertour.py``, ``sandbox.py``), imported only when a target of
that kind is opened.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import TargetError
from reconciler.kinds import KINDS
from reconciler.kinds.kind import ProviderKind
from reconciler.providers.base import Provider

if TYPE_CHECKING:
    from reconciler.providers.transports import TransportFor
    from reconciler.settings import TargetConfig


def provider_class(kind: ProviderKind) -> type[Provider]:
    """The class that talks to targets of ``kind``; importing it is what loads httpx."""
    module_name, _, class_name = kind.class_path.partition(":")
    found = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(found, type) and issubclass(found, Provider) and found.kind is kind):
        raise TypeError(f"{kind.class_path} is not the provider of kind {kind.name}")
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


__all__ = ["Provider", "open_provider", "provider_class"]
