"""What a use case gets from the process that runs it, passed in rather than read globally: the
environment (API keys, tuning variables), how long steps report progress, and where notes go.

The CLI builds one from its process (``os.environ``, progress lines and notes on stderr); a
program or a test builds its own, and by default sees nothing drawn and no note printed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler.progress import Quiet, StepFactory


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
