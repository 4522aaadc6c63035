"""The digest of the live state a planned change was computed from: a saved plan or a reviewed
checksum is stale when the user's live state no longer has it. Values are hashed, never stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from reconciler.kinds.kind import Capabilities
from reconciler.model import Attributes, AttributeValue, FieldPath, LiveUser, UserSpec

#: The values to leave out of the digest (compared at apply: plan/blind.py); None: none.
LeftOut = Callable[[FieldPath], bool] | None


def _managed(
    declared: Attributes, live: Attributes, prefix: FieldPath, left_out: LeftOut
) -> dict[str, AttributeValue]:
    return {
        name: live[name]
        for name in sorted(declared)
        if name in live and not (left_out is not None and left_out((*prefix, name)))
    }


def fingerprint(
    spec: UserSpec, live: LiveUser | None, capabilities: Capabilities, left_out: LeftOut = None
) -> str:
    """A digest of the part of the live user that the declaration manages.

    Only declared fields count: Usertour bumps ``last_seen_at`` whenever the user is active,
    and that must not make every saved plan stale. Values are hashed, never stored, so a plan
    file holds no undeclared live value. Values compared at apply (``left_out``, plan/blind.py)
    are left out: the digest is printed, and must not tell a guessed value from a wrong one.
    """
    if live is None:
        managed: dict[str, object] = {"absent": True}
    else:
        managed = {
            "attributes": _managed(spec.attributes, live.attributes, ("attributes",), left_out)
        }
        if spec.email is not None and not (left_out is not None and left_out(("email",))):
            managed["email"] = live.email
        if capabilities.events:
            names = sorted({e.name for e in spec.events})
            stats = {n: live.events[n] for n in names if n in live.events}
            managed["events"] = {n: [s.count, s.first, s.latest] for n, s in stats.items()}
        if capabilities.companies:
            managed["companies"] = {
                c.id: _managed(c.attributes, live.companies[c.id], ("companies", c.id), left_out)
                for c in spec.companies
                if c.id in live.companies
            }
            managed["memberships"] = {
                m.company.id: [
                    _managed(
                        m.company.attributes,
                        current.company.attributes,
                        ("memberships", m.company.id, "company"),
                        left_out,
                    ),
                    _managed(
                        m.attributes, current.attributes, ("memberships", m.company.id), left_out
                    ),
                ]
                for m in spec.memberships
                if (current := live.memberships.get(m.company.id)) is not None
            }
    canonical = json.dumps(managed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
