"""Flags become one frozen value per command (cli/arguments.py), holding the use case's request
(usecases/requests.py): what each flag sets, which combinations are usage errors, and that the
overrides of reconciler.yaml resolve in one place.

The flags are parsed by the real commands (click's ``make_context``), so a renamed option or a
changed default fails here; nothing is loaded or sent.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
import pytest

from reconciler.cli.apply_cmd import DEFAULT_WAIT
from reconciler.cli.arguments import (
    ApplyArgs,
    ApplyRequest,
    ImportRequest,
    Overrides,
    PlanArgs,
    PlanRequest,
    Scope,
    ValidateArgs,
    ValidateRequest,
    View,
    apply_request,
    import_request,
    plan_request,
    validate_request,
)
from reconciler.cli.main import cli, main
from reconciler.load.config import Config
from reconciler.plan.guards import Limits
from reconciler.render.markdown import COMMENT_LIMIT
from reconciler.settings import TargetConfig

R = TypeVar("R")


def built(builder: Callable[[Mapping[str, Any]], R], command: str, *args: str) -> R:
    """The request ``builder`` makes of the flags click hands ``command`` for ``args``."""
    parent = click.Context(cli)
    loaded = cli.get_command(parent, command)  # imported on demand (cli/lazy.py)
    assert loaded is not None
    with loaded.make_context(command, list(args), parent=parent) as context:
        return builder(context.params)  # before the context closes the files it opened


def usage_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run the CLI in process; a usage error exits 1 (never 2) and says why on stderr."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    assert exited.value.code == 1
    return capsys.readouterr().err


def test_plan_without_flags_is_every_user_of_every_target() -> None:
    args = built(plan_request, "plan")
    assert args == PlanArgs(PlanRequest(Path("reconciler.yaml")), view=View("text", COMMENT_LIMIT))
    assert not args.request.scope.narrowed
    assert args.request.scope.selection() == {"targets": [], "users": [], "shard": None}


def test_plan_flags_land_in_scope_view_and_overrides() -> None:
    request = built(
        plan_request,
        "plan",
        *("--config", "infra/reconciler.yaml", "--target", "b", "--target", "a"),
        *("--user", "u2", "--user", "u1", "--shard", "2/4", "--prune"),
        *("--changed-since", "origin/main", "--format", "markdown"),
        *("--markdown-limit", "15000", "--parallelism", "8", "--detailed-exitcode"),
        *("--out", "plan.json", "-vv"),
    )
    assert request == PlanArgs(
        PlanRequest(
            config_path=Path("infra/reconciler.yaml"),
            scope=Scope(("b", "a"), ("u2", "u1"), (2, 4), True, "origin/main"),
            overrides=Overrides(parallelism=8),
        ),
        view=View("markdown", 15000),
        detailed_exitcode=True,
        out_path=Path("plan.json"),
        verbose=2,
    )
    # What a saved plan records: sorted, and prune / changed_since only when set.
    assert request.request.scope.selection() == {
        "targets": ["a", "b"],
        "users": ["u1", "u2"],
        "shard": "2/4",
        "prune": True,
        "changed_since": "origin/main",
    }


def test_a_request_is_frozen() -> None:
    args = built(plan_request, "plan")
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.detailed_exitcode = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.request.scope = Scope()  # type: ignore[misc]


def test_apply_defaults_wait_and_ask() -> None:
    args = built(apply_request, "apply")
    assert args == ApplyArgs(
        ApplyRequest(config_path=Path("reconciler.yaml"), wait=DEFAULT_WAIT),
        view=View("text", COMMENT_LIMIT),
    )


def test_apply_overrides_are_one_value() -> None:
    request = built(
        apply_request,
        "apply",
        *("--yes", "--max-changes", "600", "--max-change-ratio", "0.5"),
        *("--max-deletes", "3", "--force", "--parallelism", "4", "--wait", "5"),
        *("--checksum", "3F1C9A0B7D2E"),
    ).request
    assert request.overrides == Overrides(
        parallelism=4, max_changes=600, max_change_ratio=0.5, max_deletes=3, force=True
    )
    assert (request.assume_yes, request.wait, request.checksum) == (True, 5.0, "3f1c9a0b7d2e")


def test_no_wait_wins_over_wait() -> None:
    assert built(apply_request, "apply", "--no-wait").request.wait is None
    assert built(apply_request, "apply", "--wait", "5", "--no-wait").request.wait is None


def test_apply_planfile_alone_is_applied_whole() -> None:
    request = built(apply_request, "apply", "plan.json", "--yes", "--parallelism", "2").request
    assert request.planfile == Path("plan.json")
    assert request.scope == Scope()
    assert request.overrides.parallelism == 2


@pytest.mark.parametrize(
    "selecting",
    [
        ("--user", "u1"),
        ("--target", "prod"),
        ("--shard", "1/2"),
        ("--prune",),
        ("--changed-since", "HEAD~1"),
        ("--checksum", "3f1c9a0b7d2e"),
    ],
)
def test_a_planfile_with_a_selection_is_a_usage_error(
    selecting: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(click.UsageError, match="PLANFILE is applied whole"):
        built(apply_request, "apply", "plan.json", *selecting)
    err = usage_error(capsys, "apply", "plan.json", "--yes", *selecting)
    assert "Error: PLANFILE is applied whole" in err
    assert "drop --user/--shard/--target/--checksum/--prune/--changed-since" in err


def test_overrides_resolve_the_targets_and_the_limits() -> None:
    target = TargetConfig(name="prod", provider="sandbox", parallelism=2)
    assert Overrides().target(target) is target
    assert Overrides(parallelism=9).targets([target]) == (
        dataclasses.replace(target, parallelism=9),
    )
    config = Config(
        path=Path("reconciler.yaml"),
        root=Path("."),
        targets={"prod": target},
        max_changes=50,
        max_change_ratio=0.2,
        max_deletes=5,
    )
    assert Overrides().limits(config) == Limits(50, 0.2, 5, None, False)
    given = Overrides(max_changes=600, max_change_ratio=1.0, max_deletes=0, force=True)
    # --max-deletes is kept apart from safety.max_deletes: it cannot turn pruning on.
    assert given.limits(config) == Limits(600, 1.0, 5, 0, True)


def test_validate_flags() -> None:
    args = built(validate_request, "validate", "--format", "github", "--target", "t", "-v")
    assert args == ValidateArgs(
        ValidateRequest(config_path=Path("reconciler.yaml"), target_names=("t",)),
        output_format="github",
        verbose=1,
    )


def test_import_reads_ids_from_flags_and_file_in_order_without_repeats(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("c\n\na\n  d  \n", encoding="utf-8")
    request = built(
        import_request,
        "import",
        *("--target", "t", "--user", "b", "--user", "a", "--out", "x.yaml"),
        *("--ids-from", str(ids)),
    )
    assert request.target_names == ("t",)
    assert request.request == ImportRequest(
        config_path=Path("reconciler.yaml"),
        target="t",
        wanted=("b", "a", "c", "d"),
        out_path=Path("x.yaml"),
    )


def test_import_all_wants_every_user() -> None:
    request = built(
        import_request, "import", "--target", "t", "--all", "--parallelism", "3"
    ).request
    assert request.wanted is None
    assert request.overrides == Overrides(parallelism=3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--target", "t"), "which users? --all"),
        (("--target", "t", "--user", ""), "which users? --all"),
        (("--target", "t", "--all", "--user", "u1"), "--all imports every user"),
    ],
)
def test_import_without_one_clear_choice_of_users_is_a_usage_error(
    args: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(click.UsageError, match=re.escape(message)):
        built(import_request, "import", *args)
    assert message in usage_error(capsys, "import", *args)


def test_import_ids_from_an_empty_file_is_a_usage_error(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n \n", encoding="utf-8")
    with pytest.raises(click.UsageError, match=r"ids\.txt: no ids in it"):
        built(import_request, "import", "--target", "t", "--ids-from", str(ids))
