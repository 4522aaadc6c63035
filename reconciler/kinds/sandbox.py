"""The sandbox's facts, known offline: the built-in local store holds every feature, so the
examples can show all of them. The store side is ``sandbox.py``."""

from __future__ import annotations

from typing import Any

from reconciler.kinds.kind import BOOLEAN, INTEGER, LIST, NUMBER, STRING, Capabilities, ProviderKind
from reconciler.model import Upsert, upsert_to_json


def describe_request(upsert: Upsert) -> dict[str, Any]:
    """The sandbox has no wire format: its request is the vendor-neutral upsert itself."""
    return {"method": "UPSERT", "path": "sandbox", "body": upsert_to_json(upsert)}


SANDBOX = ProviderKind(
    name="sandbox",
    capabilities=Capabilities(
        events=True,
        companies=True,
        remove_attributes=True,
        value_types=frozenset({STRING, INTEGER, NUMBER, BOOLEAN, LIST}),
        keeps_float_type=True,
        can_list=True,
    ),
    class_path="reconciler.providers.sandbox:SandboxProvider",
    describe_request=describe_request,
    # One SQLite writer: more requests in flight gain nothing.
    parallelism=1,
)
