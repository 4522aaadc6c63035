"""PlanView: everything the formats show of one plan, as a value the renderers only read.

Built once per plan by :func:`reconciler.usecases.present.present_plan` (masking, the checksum, the
guards' forecast, each vendor's request), so that no renderer masks, reads a file, asks a
provider or looks at the clock: every format of ``plan`` and ``apply`` is a pure function of
this value (and of apply's masked report).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reconciler.model import FieldPath
from reconciler.planned import Plan
from reconciler.render.documents import plan_document

if TYPE_CHECKING:
    from reconciler.plan.guards import Refusal

#: A vendor's request as the plan document shows it (method, path, body), by (target, user id).
Requests = Mapping[tuple[str, str], Mapping[str, Any]]


@dataclass(frozen=True)
class PlanView:
    """One plan as every format shows it. Only :attr:`checksum` comes from the unmasked plan,
    because it covers what is sent; everything else is the masked plan's."""

    #: The plan with every sensitive value replaced by ``(sensitive)`` (plan/mask.py).
    masked: Plan
    #: ``plan_checksum`` of the unmasked plan (what ``apply --checksum`` compares).
    checksum: str
    #: The inputs' digest, computed when they were loaded (load/digest.py).
    digest: str
    #: When the plan was made, ``YYYY-MM-DDTHH:MM:SSZ`` (the saved plan records it).
    created_at: str
    #: The flags that chose what was planned (targets, users, shard, prune, changed_since).
    selection: Mapping[str, Any]
    #: What apply would refuse this plan with, in the order apply checks the guards.
    refusals: tuple[Refusal, ...] = ()
    #: The request each change sends, described from its masked upsert by its provider kind.
    requests: Requests = field(default_factory=dict)
    #: ``file:line`` where each masked value is declared, by (user id, field path): what a
    #: reviewer can check of a value the comment does not show.
    declared_at: Mapping[tuple[str, FieldPath], str] = field(default_factory=dict)

    @functools.cached_property
    def document(self) -> dict[str, Any]:
        """The plan document of ``--format json`` and ``plan --out``, built once per view."""
        return plan_document(self)
