"""What ``validate`` was asked to do, built once from its flags (as cli/arguments.py does for the
other commands, and re-exports): apart, so that the validate command creates none of the other
commands' arguments and requests at start (each frozen dataclass costs ~0.5 ms)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.render.views import VALIDATE_FORMS
from reconciler.usecases.validate_request import ValidateRequest


@dataclass(frozen=True, slots=True)
class ValidateArgs:
    """``reconciler validate [FILES]``."""

    request: ValidateRequest
    #: --format: the name of validate's view (render/views/validate.py).
    output_format: str = VALIDATE_FORMS[0]
    verbose: int = 0


def validate_request(flags: Mapping[str, Any]) -> ValidateArgs:
    """The flags of ``validate``."""
    request = ValidateRequest(
        config_path=flags["config_path"],
        target_names=tuple(flags["target_names"]),
        files=tuple(flags["files"]),
    )
    return ValidateArgs(request, flags["output_format"], flags["verbose"])
