"""How the emulator is configured: keys, fault injection, and where each key comes from.

``reconciler sandbox serve`` flags map one to one onto ``EmulatorOptions``; tests build the
dataclass directly. Keys left unset are read from the environment, then fall back to local
defaults that the README shows, so a fresh checkout has a working setup without any secret.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.errors import EmulatorError
from reconciler.sandbox.faults import FAILURE_STATUSES, FailMode

#: The Sprig key the emulator accepts when none is configured (``Authorization: API-Key ...``).
DEFAULT_SPRIG_KEY = "sprig-sandbox-key"
#: The Usertour key the emulator accepts when none is configured (``Authorization: Bearer ...``).
DEFAULT_USERTOUR_KEY = "ak_sandbox"
SPRIG_KEY_ENV = "RECONCILER_SANDBOX_SPRIG_KEY"
USERTOUR_KEY_ENV = "RECONCILER_SANDBOX_USERTOUR_KEY"


@dataclass(frozen=True, slots=True)
class EmulatorOptions:
    """Everything ``sandbox serve`` can be told, with the defaults of a well-behaved vendor."""

    #: Accepted keys; None reads the environment variable, then the documented default.
    sprig_key: str | None = None
    usertour_key: str | None = None
    #: Fraction of vendor requests answered with an injected failure (0 to 1).
    fail_rate: float = 0.0
    #: "before": fail without processing (500/429). "after": process and commit, then answer
    #: 502/500 as if the response was lost on the way back.
    fail_mode: FailMode = "before"
    #: Requests per second per key (token bucket); excess gets 429 with Retry-After.
    rate_limit: float | None = None
    #: Sleep before answering each vendor request.
    latency_ms: int = 0
    #: Sprig: an accepted upsert becomes visible this long after its 202.
    visibility_delay_ms: int = 0
    #: Usertour: for this long, an upsert introducing a new attribute name races with any
    #: other upsert introducing it, which fails whole with 500 E0000, as two transactions
    #: creating one attribute do on the real server (0: no race). New companies race alike.
    first_write_race_ms: int = 0
    #: Usertour: every this many users in creation order share one ``createdAt``, and the
    #: list cursor repeats or skips those that straddle a page boundary, as the real
    #: server's does (usertour_ties.py; 0: a cursor that never skips).
    listing_ties: int = 0
    #: Seeds the failure draws, so a run in a fixed order fails the same requests every time.
    seed: int = 0
    #: One line per request on stderr.
    verbose: bool = False

    def __post_init__(self) -> None:
        """Refuse nonsense early, with the flag's name, before anything listens."""
        problems = []
        if not (math.isfinite(self.fail_rate) and 0.0 <= self.fail_rate <= 1.0):
            problems.append(f"fail rate must be between 0 and 1, got {self.fail_rate}")
        if self.fail_mode not in FAILURE_STATUSES:
            problems.append(f"fail mode must be 'before' or 'after', got {self.fail_mode!r}")
        if self.rate_limit is not None and not (
            math.isfinite(self.rate_limit) and self.rate_limit > 0
        ):
            problems.append(f"rate limit must be a positive number, got {self.rate_limit}")
        if self.latency_ms < 0:
            problems.append(f"latency must not be negative, got {self.latency_ms} ms")
        if self.first_write_race_ms < 0:
            problems.append(
                f"first-write race must not be negative, got {self.first_write_race_ms} ms"
            )
        if self.listing_ties < 0:
            problems.append(f"listing ties must not be negative, got {self.listing_ties}")
        if self.visibility_delay_ms < 0:
            delay = self.visibility_delay_ms
            problems.append(f"visibility delay must not be negative, got {delay} ms")
        for name, key in (("Sprig", self.sprig_key), ("Usertour", self.usertour_key)):
            if key is not None and (not key or any(c.isspace() for c in key)):
                problems.append(f"the {name} key must be non-empty and without spaces")
        if problems:
            raise EmulatorError("sandbox emulator: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class Key:
    """An accepted key and where it came from; ``source`` is what may be printed."""

    value: str
    source: str

    @property
    def is_default(self) -> bool:
        return self.source == "default"


@dataclass(frozen=True, slots=True)
class Keys:
    sprig: Key
    usertour: Key


def resolve_keys(options: EmulatorOptions, environ: Mapping[str, str]) -> Keys:
    """Option, else environment variable (of ``environ``: the CLI passes its process's), else
    the documented default, for each vendor."""
    env = environ
    return Keys(
        sprig=_resolve(options.sprig_key, "--sprig-key", env, SPRIG_KEY_ENV, DEFAULT_SPRIG_KEY),
        usertour=_resolve(
            options.usertour_key, "--usertour-key", env, USERTOUR_KEY_ENV, DEFAULT_USERTOUR_KEY
        ),
    )


def _resolve(
    given: str | None, flag: str, environ: Mapping[str, str], variable: str, default: str
) -> Key:
    if given is not None:
        return Key(given, flag)
    from_env = environ.get(variable, "").strip()
    if from_env:
        return Key(from_env, variable)
    return Key(default, "default")
