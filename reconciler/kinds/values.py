"""Values compared as a target gives them back: the one rule for "is this a change?".

Load checks declared values with it (a value a target would round) and the planner and the
applier compare with it; pure, on the floor.
"""

from __future__ import annotations

import math

from reconciler.kinds.kind import Capabilities
from reconciler.model import AttributeValue


def normalise(value: AttributeValue, capabilities: Capabilities) -> AttributeValue:
    """The value as the target will give it back for what we send.

    JSON-only APIs answer ``12`` for ``12.0``; a target that keeps fewer digits answers
    ``0.3`` for ``0.30000000000000004``: comparing without this would show a change forever.
    """
    if isinstance(value, float) and capabilities.number_digits is not None:
        value = kept_digits(value, capabilities.number_digits)
    if not capabilities.keeps_float_type and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalise(item, capabilities) for item in value]
    return value


def kept_digits(number: float, digits: int) -> float:
    """``number`` rounded to ``digits`` significant digits, as a target that keeps only those
    gives it back (Usertour, measured: ``256.35699999999997`` -> ``256.357``)."""
    if not math.isfinite(number):
        return number
    return float(f"{number:.{digits}g}")


def same_value(want: AttributeValue, have: AttributeValue) -> bool:
    """Equal by value and type: ``True`` is not ``1``, ``"12"`` is not ``12``."""
    if type(want) is not type(have):
        return False
    if isinstance(want, list):
        return len(want) == len(have) and all(map(same_value, want, have))
    return bool(want == have)
