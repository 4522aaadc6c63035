"""The view of ``reconciler validate``: what a valid or an invalid repository prints, as text,
GitHub annotations or JSON.

The text form prints no problems of its own: a failed validation ends like every failed command,
with its problems and ``Error:`` on stderr (cli/exits.py), so :meth:`ValidateText.invalid` says
None. The machine forms print the problems on stdout, where a workflow or a program reads them.
Pure: strings of counts and problems; the CLI writes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from reconciler.errors import Problem
from reconciler.escape import printable
from reconciler.render.views import GITHUB, JSON, TEXT, Output, Printed, chosen

# render/problems.py is imported by the two machine forms only: it brings the documents module
# (and the saved plan's format) along, which ``validate`` in a pre-commit hook does without.


# The protocols are for the type checker alone: every ``validate`` loads this module, and
# creating them would cost it start-up time for nothing.
if TYPE_CHECKING:

    class Checked(Protocol):
        """A valid repository (usecases.validating.Validated): counts and warnings."""

        @property
        def users(self) -> int: ...
        @property
        def files(self) -> int: ...
        @property
        def targets(self) -> int: ...
        @property
        def warnings(self) -> Sequence[Problem]: ...

    class ValidateForm(Protocol):
        """What ``validate`` prints, in one form."""

        def valid(self, checked: Checked) -> Printed:
            """The warnings, then how much was checked."""

        def invalid(self, problems: Sequence[Problem]) -> Printed | None:
            """The problems; None: the error itself says them (on stderr, like every error)."""


def _valid_line(checked: Checked) -> str:
    read, targets = checked.files, checked.targets
    return (
        f"Valid: {checked.users} users in {read} file{'s' if read != 1 else ''}, "
        f"{targets} target{'s' if targets != 1 else ''}.\n"
    )


class ValidateText:
    """For people: warnings on stderr, the count on stdout."""

    def valid(self, checked: Checked) -> Printed:
        warnings = "".join(f"{printable(str(warning))}\n" for warning in checked.warnings)
        return Output(warnings, stderr=True), Output(_valid_line(checked))

    def invalid(self, problems: Sequence[Problem]) -> Printed | None:
        return None


class ValidateGithub:
    """In GitHub Actions: ``::error`` and ``::warning`` annotations on the pull request's lines."""

    def valid(self, checked: Checked) -> Printed:
        from reconciler.render.problems import github_annotation

        annotations = "".join(
            f"{github_annotation(warning, 'warning')}\n" for warning in checked.warnings
        )
        return (Output(annotations + _valid_line(checked)),)

    def invalid(self, problems: Sequence[Problem]) -> Printed | None:
        from reconciler.render.problems import render_github

        return (Output("\n".join(render_github(problems)) + "\n"),)


class ValidateJson:
    """For programs: ``{"valid": ..., "problems": [...]}`` with the counts when valid."""

    def valid(self, checked: Checked) -> Printed:
        from reconciler.render.problems import render_validation_json

        document = render_validation_json([], users=checked.users, files=checked.files)
        return (Output(document + "\n"),)

    def invalid(self, problems: Sequence[Problem]) -> Printed | None:
        from reconciler.render.problems import render_validation_json

        return (Output(render_validation_json(problems) + "\n"),)


FORMS: dict[str, type[ValidateText | ValidateGithub | ValidateJson]] = {
    TEXT: ValidateText,
    GITHUB: ValidateGithub,
    JSON: ValidateJson,
}


def validate_view(form: str) -> ValidateForm:
    """The view of ``validate --format form``."""
    return chosen(FORMS, form)()
