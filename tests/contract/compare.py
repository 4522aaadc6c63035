"""Structural comparison of a recorded answer with the emulator's, with DeepDiff.

Equal means equal except what a server generates: timestamps (any ISO instant matches any
other), database ids (any non-empty string), the cursors inside next/previous URLs, and the
last digit of a double printed in e-notation. Everything else, keys present or absent, types,
null against a value, list lengths and order, must match.
"""

from __future__ import annotations

import math
import re
from typing import Any

from deepdiff import DeepDiff
from deepdiff.operator import BaseOperator

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
_CURSOR = re.compile(r"([?&]cursor=)[^&]*")
#: Keys whose values the server stamps with the time.
TIMESTAMPS = r"\['(createdAt|first_seen_at|last_seen_at)'\]$"
#: Internal database ids: a membership's own, its company's and its user's, and the id a
#: membership deletion answers.
GENERATED_IDS = (
    r"\['memberships'\]\[\d+\]\['(id|companyId|userId)'\]$",
    r"^root\['id'\]$",
)
PAGE_LINKS = r"^root\['(next|previous)'\]$"


class Timestamps(BaseOperator):
    """Both are ISO instants with milliseconds, like ``toISOString()`` writes them."""

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        return all(isinstance(t, str) and _ISO.fullmatch(t) for t in (level.t1, level.t2))


class GeneratedIds(BaseOperator):
    """Both are non-empty strings (the server's are cuids, the emulator's UUIDs)."""

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        return all(isinstance(t, str) and t for t in (level.t1, level.t2))


class PageLinks(BaseOperator):
    """The same URL once each ``cursor=`` value is blanked out (cursors are database ids)."""

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        if not (isinstance(level.t1, str) and isinstance(level.t2, str)):
            return False
        return bool(_CURSOR.sub(r"\1*", level.t1) == _CURSOR.sub(r"\1*", level.t2))


class Doubles(BaseOperator):
    """Two doubles equal to 15 significant digits: the server's storage gave the double
    1.2345678901234568e+23 back as 1.234567890123457e+23 (integers are compared exactly)."""

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        return math.isclose(level.t1, level.t2, rel_tol=1e-15)


def structural_diff(recorded: Any, emulated: Any, *, ids: bool = False) -> dict[str, Any]:
    """What differs between two answer bodies, ignoring generated values (empty: none).

    ``ids``: the answer's own top-level ``id`` is generated too (a membership deletion).
    """
    id_paths = list(GENERATED_IDS if ids else GENERATED_IDS[:1])
    diff = DeepDiff(
        recorded,
        emulated,
        custom_operators=[
            Timestamps(regex_paths=[TIMESTAMPS]),
            GeneratedIds(regex_paths=id_paths),
            PageLinks(regex_paths=[PAGE_LINKS]),
            Doubles(types=[float]),
        ],
        verbose_level=2,
    )
    return dict(diff)
