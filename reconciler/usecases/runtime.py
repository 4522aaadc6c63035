"""What a use case gets from the process that runs it, passed in rather than read globally: the
environment (API keys, tuning variables), where its requests go (the transport), its clock,
and its streams (how long steps report progress, and where notes go).

The CLI builds one from its process (``cli/console.py``: ``os.environ``, the network, the
system clock, progress lines and notes on stderr); a program or a test builds its own. By
default it sees nothing drawn and no note printed, sends to the network and uses the system
clock. Nothing below the use cases reads ``os.environ`` or sleeps on its own (the schema
cache's folder and the emulator's simulated latency aside: tests/test_runtime_boundary.py), so
two runs in one process with two runtimes never see each other's environment or transports.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.progress import Quiet, StepFactory

if TYPE_CHECKING:
    from reconciler.providers.transports import TransportFor


def _ignore(line: str) -> None:
    """A note nobody asked to see."""


@dataclass(frozen=True, slots=True)
class Runtime:
    """The environment a use case runs in."""

    #: The environment variables: the targets' key variables, the retry and settle tunings.
    environ: Mapping[str, str]
    #: Progress of long reads and writes (the CLI's draws on stderr; ``Quiet`` measures only).
    steps: StepFactory = Quiet
    #: A line for the person running it (skipped files, what import left out): already the
    #: words to show, never a value of a user. Called in the order they happen.
    note: Callable[[str], None] = field(default=_ignore)
    #: A target's base URL -> the httpx transport its requests go through (None for a URL: the
    #: network); None, the default, sends every request to the network. ``transports.by_url``
    #: builds one from a mapping: ``by_url({emulator.url: EmulatorTransport(emulator.app)})``.
    transport: TransportFor | None = None
    #: Wall time of records, deadlines, and the pauses between apply's polls and lock tries.
    clock: Clock = SYSTEM_CLOCK
