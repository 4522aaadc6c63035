"""Target kinds and what each can hold, known offline: the vocabulary load and providers share.

Each vendor declares its facts once, as a ``ProviderKind`` in its module here (``sprig``,
``usertour``, ``sandbox``; no HTTP stack), so ``validate`` checks declarations against every
configured target without a key, and the provider class that talks to it
(reconciler/providers/) names that value and is imported only when a target is opened.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.kinds.kind import Capabilities, ProviderKind
from reconciler.kinds.sandbox import SANDBOX
from reconciler.kinds.sprig import SPRIG
from reconciler.kinds.usertour import USERTOUR

#: Every kind by the name reconciler.yaml writes (``provider: sprig``).
KINDS: Mapping[str, ProviderKind] = {kind.name: kind for kind in (SANDBOX, SPRIG, USERTOUR)}

PROVIDER_KINDS = tuple(sorted(KINDS))

#: What each kind can hold (a view of ``KINDS``), known offline, so validate can check
#: declarations against every configured target without a key.
CAPABILITIES: Mapping[str, Capabilities] = {
    name: kind.capabilities for name, kind in sorted(KINDS.items())
}

__all__ = ["CAPABILITIES", "KINDS", "PROVIDER_KINDS", "Capabilities", "ProviderKind"]
