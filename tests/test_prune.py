"""Pruning with plain values: which users are deleted, the two guards, outputs, saved plans."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import jsonschema
import pytest

from reconciler.apply.applier import delete_target
from reconciler.errors import ConfigError, RefusedError, TargetError
from reconciler.kinds.usertour import USERTOUR
from reconciler.load.config import Config
from reconciler.load.schemas import load_schema
from reconciler.load.workspace import load_workspace
from reconciler.model import EventStats, LiveUser, Upsert, UserSpec
from reconciler.plan.engine import check_prunable, make_plan
from reconciler.plan.guards import Limits, check
from reconciler.plan.mask import mask_plan, mask_report
from reconciler.plan.planfile import plan_checksum, read_saved_plan
from reconciler.plan.planner import live_fingerprint, plan_deletions
from reconciler.planned import ApplyReport, Plan, TargetPlan, UserChange, UserDeletion
from reconciler.providers.base import Provider
from reconciler.render.comment import render_markdown
from reconciler.render.markdown import render_apply_markdown
from reconciler.render.text import render_text, report_lines
from reconciler.settings import TargetConfig
from reconciler.usecases.present import present_plan


def _live(*ids: str) -> list[LiveUser]:
    return [LiveUser(user_id, email=f"{user_id}@example.com") for user_id in ids]


def _pruned(target: str, deleting: int, listed: int) -> TargetPlan:
    deletions = tuple(UserDeletion(f"x{n}", "f") for n in range(deleting))
    return TargetPlan(target, "usertour", (), listed - deleting, deletions=deletions, listed=listed)


# --- the planner: which users are deleted ------------------------------------------------


def test_only_users_no_file_declares_for_the_target_are_deleted_sorted() -> None:
    declared = [UserSpec("a"), UserSpec("c"), UserSpec("e", targets=("research",))]
    deletions = plan_deletions("onboarding", _live("z", "c", "b", "a", "e"), declared)
    assert [d.user_id for d in deletions] == ["b", "e", "z"]
    # A user declared only for other targets is deleted here, and says why.
    assert [d.note for d in deletions] == [None, "declared only for target research", None]
    assert deletions[0].email == "b@example.com"


def test_a_user_declared_for_the_target_is_never_deleted() -> None:
    declared = [UserSpec("a", targets=("onboarding", "research")), UserSpec("b")]
    assert plan_deletions("onboarding", _live("a", "b"), declared) == ()


def test_the_deletion_fingerprint_covers_undeclared_values() -> None:
    before = LiveUser("u", attributes={"last_seen_at": "2024-01-01"})
    after = LiveUser("u", attributes={"last_seen_at": "2024-01-02"})
    with_event = dataclasses.replace(before, events={"login": EventStats(1, 5, 5)})
    prints = {live_fingerprint(u) for u in (before, after, with_event, None)}
    assert len(prints) == 4
    assert plan_deletions("t", [before], [])[0].fingerprint == live_fingerprint(before)


# --- where pruning is allowed at all -------------------------------------------------------


def _config(name: str, provider: str) -> TargetConfig:
    return TargetConfig(name, provider)


def test_sprig_cannot_be_pruned_and_the_message_names_what_can() -> None:
    research, onboarding = _config("research", "sprig"), _config("onboarding", "usertour")
    with pytest.raises(ConfigError) as refused:
        check_prunable([research, onboarding], [onboarding, research])
    message = str(refused.value)
    assert "target research (sprig): Sprig has no list endpoint and no delete" in message
    assert "GDPR purge" in message and "--target onboarding" in message
    check_prunable([onboarding, _config("local", "sandbox")], [onboarding])


def test_prune_with_user_is_refused() -> None:
    with pytest.raises(ConfigError, match="--prune cannot be combined with --user"):
        check_prunable([_config("local", "sandbox")], [], user_ids=["u1"])


# --- the two guards ------------------------------------------------------------------------


def _check_deletions(plan: Plan, configured: int | None, override: int | None, force: bool) -> None:
    """safety.max_deletes ``configured``, --max-deletes ``override``, --force; no change guard."""
    check(plan, Limits(None, None, configured, override, force))


def test_no_deletion_needs_no_permission() -> None:
    _check_deletions(Plan((_pruned("t", 0, 50),)), None, None, False)


@pytest.mark.parametrize(("configured", "said"), [(None, "is not set"), (0, "is 0")])
def test_pruning_must_be_allowed_in_the_config(configured: int | None, said: str) -> None:
    plan = Plan((_pruned("t", 1, 50),))
    with pytest.raises(RefusedError, match=f"pruning is not allowed.*max_deletes {said}"):
        _check_deletions(plan, configured, None, True)
    # --max-deletes raises a configured limit but cannot turn pruning on.
    with pytest.raises(RefusedError, match=r"Set safety\.max_deletes in reconciler\.yaml"):
        _check_deletions(plan, configured, 10, True)


def test_max_deletes_counts_every_target_and_names_its_override() -> None:
    plan = Plan((_pruned("a", 2, 50), _pruned("b", 2, 50)))
    with pytest.raises(
        RefusedError, match=r"delete 4 users: safety.max_deletes is 3.*--max-deletes 4"
    ):
        _check_deletions(plan, 3, None, False)
    with pytest.raises(RefusedError, match="--max-deletes is 2"):
        _check_deletions(plan, 3, 2, False)
    _check_deletions(plan, 3, 4, False)
    _check_deletions(plan, 4, None, False)


def test_ratio_guard_refuses_over_30_percent_unless_forced() -> None:
    _check_deletions(Plan((_pruned("t", 3, 10),)), 100, None, False)  # exactly 30%
    over = Plan((_pruned("ok", 1, 10), _pruned("t", 4, 10)))
    with pytest.raises(RefusedError, match=r"delete 4 of the 10 live users \(40%\) of target t"):
        _check_deletions(over, 100, None, False)
    _check_deletions(over, 100, None, True)


def test_ratio_guard_waits_for_ten_live_users() -> None:
    _check_deletions(Plan((_pruned("t", 9, 9),)), 100, None, False)


def test_max_changes_does_not_count_deletions() -> None:
    check(Plan((_pruned("t", 5, 50),)), Limits(max_changes=0, max_change_ratio=0.0, max_deletes=5))


def test_a_workspace_of_only_some_files_cannot_be_pruned(tmp_path: Path) -> None:
    (tmp_path / "users").mkdir()
    (tmp_path / "reconciler.yaml").write_text("targets: {local: {provider: sandbox}}\n")
    for name in ("a", "b"):
        (tmp_path / "users" / f"{name}.yaml").write_text(f"users: [{{id: {name}}}]\n")
    workspace = load_workspace(tmp_path / "reconciler.yaml", {})
    partial = dataclasses.replace(
        workspace,
        declarations=dataclasses.replace(workspace.declarations, complete=False),
    )
    with pytest.raises(ConfigError, match="--prune needs every declaration file"):
        make_plan(partial, {}, prune=True)


# --- sending the deletions -----------------------------------------------------------------


class _Deleting(Provider):
    """A target that records deletions; ``gone`` were deleted already, ``broken`` fail."""

    kind = USERTOUR

    def __init__(self, gone: Iterable[str] = (), broken: Iterable[str] = ()) -> None:
        super().__init__("t", parallelism=4)
        self.gone, self.broken = set(gone), set(broken)
        self.deleted: list[str] = []
        self._lock = threading.Lock()

    def read_users(
        self, user_ids: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> Mapping[str, LiveUser]:
        return {}

    def upsert(self, upsert: Upsert) -> LiveUser | None:
        raise AssertionError("pruning sends no upsert")

    def delete_user(self, user_id: str) -> bool:
        if user_id in self.broken:
            raise TargetError(self.target, f"deleting user {user_id}: 500 E0000 boom")
        with self._lock:
            self.deleted.append(user_id)
        return user_id not in self.gone


def test_deletions_report_each_user_and_a_failure_does_not_stop_the_others() -> None:
    provider = _Deleting(gone={"x1"}, broken={"x2"})
    done: list[int] = []
    outcomes = delete_target(_pruned("t", 4, 40), provider, threading.Event(), done.append)
    assert sorted(provider.deleted) == ["x0", "x1", "x3"]
    assert [(o.user_id, o.status) for o in outcomes] == [
        ("x0", "deleted"),
        ("x1", "deleted"),
        ("x2", "failed"),
        ("x3", "deleted"),
    ]
    assert outcomes[1].message == "it was already gone"
    assert outcomes[2].message == "not deleted: target t: deleting user x2: 500 E0000 boom"
    assert sum(done) == 4
    report = ApplyReport(tuple(outcomes), {"t": 0.5})
    assert (report.deleted, len(report.problems)) == (3, 1)
    text = [line for _, line in report_lines(mask_report(report, Plan(()), {"email"}))]
    assert "Target t: 0 applied, 3 deleted, 1 not, in 0.5s" in text
    assert text[-1] == "Apply complete: 0 applied, 3 deleted, 1 failed."
    markdown = render_apply_markdown(mask_report(report, Plan(()), {"email"}))
    assert markdown.startswith("**reconciler apply:** 0 applied, 3 deleted, 1 failed.")
    assert "| target | applied | deleted | failed |" in markdown


def test_nothing_is_deleted_once_stopped() -> None:
    provider = _Deleting()
    stop = threading.Event()
    stop.set()
    outcomes = delete_target(_pruned("t", 2, 40), provider, stop)
    assert provider.deleted == []
    assert {o.status for o in outcomes} == {"skipped"}


# --- outputs and saved plans ---------------------------------------------------------------


def _plan_with_both() -> Plan:
    change = UserChange("a", "create", (), Upsert("a", {"plan": "pro"}), "fp-a")
    deletions = (
        UserDeletion("b", "fp-b", "b@example.com"),
        UserDeletion("c", "fp-c", None, "declared only for target research"),
    )
    pruned = TargetPlan("onboarding", "usertour", (change,), 7, deletions=deletions, listed=9)
    plain = TargetPlan("research", "sprig", (), 3)
    return Plan((pruned, plain))


def test_text_shows_deletions_masked_with_counts() -> None:
    lines = render_text(mask_plan(_plan_with_both(), {"email"}))
    text = "\n".join(line for _, line in lines)
    assert (
        "Target onboarding (usertour): 1 to create, 0 to update, 2 to delete, 7 unchanged" in text
    )
    assert "  - user b will be deleted (email: (sensitive))" in text
    assert "  - user c will be deleted (declared only for target research)" in text
    # A target planned without --prune keeps the usual counts.
    assert "Target research (sprig): 0 to create, 0 to update, 3 unchanged" in text
    assert text.endswith("Plan: 1 to create, 0 to update, 2 to delete, 10 unchanged.")
    assert ("-", "  - user b will be deleted (email: (sensitive))") in lines
    shown = "\n".join(line for _, line in render_text(_plan_with_both()))
    assert '- user b will be deleted (email: "b@example.com")' in shown


def test_markdown_shows_deletions() -> None:
    markdown = render_markdown(mask_plan(_plan_with_both(), {"email"}))
    assert markdown.startswith("**reconciler plan:** 1 to create, 0 to update, 2 to delete")
    heading = "**<code>onboarding</code>** (usertour): 1 to create, 0 to update, 2 to delete"
    assert heading + ", 7 unchanged" in markdown
    assert "- user deleted — 2 users: b, c" in markdown
    assert "- user <code>b</code> will be deleted (email: (sensitive))" in markdown
    assert "b@example.com" not in markdown


def test_an_unpruned_plan_renders_and_sums_as_before() -> None:
    plan = Plan((TargetPlan("t", "sandbox", (), 3),))
    assert not plan.pruned and not plan.has_changes
    heading = "**<code>t</code>** (sandbox): 0 to create, 0 to update, 3 unchanged"
    assert heading in render_markdown(plan).splitlines()
    assert render_text(plan)[-1] == ("", "Plan: 0 to create, 0 to update, 3 unchanged.")


def test_saved_pruned_plan_validates_reads_back_and_holds_no_email(tmp_path: Path) -> None:
    plan = _plan_with_both()
    config = Config(tmp_path / "reconciler.yaml", tmp_path, {})
    document = present_plan(plan, config, "0" * 64, {"prune": True}, created_at="now").document
    jsonschema.validate(document, load_schema("plan"))
    assert document["summary"] == {"create": 1, "update": 0, "delete": 2, "unchanged": 10}
    assert document["targets"][0]["prune"]["listed"] == 9
    assert "prune" not in document["targets"][1]
    assert "b@example.com" not in str(document)
    assert document["targets"][0]["prune"]["deletions"] == [
        {"user_id": "b", "fingerprint": "fp-b", "note": None},
        {"user_id": "c", "fingerprint": "fp-c", "note": "declared only for target research"},
    ]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    saved = read_saved_plan(path)
    assert saved.document == document and saved.selection == {"prune": True}
    assert document["checksum"] == plan_checksum(plan)


def test_the_checksum_covers_deletions_and_pruning_itself() -> None:
    plan = _plan_with_both()
    onboarding = plan.targets[0]
    fewer = dataclasses.replace(onboarding, deletions=onboarding.deletions[:1])
    unpruned = dataclasses.replace(onboarding, deletions=(), listed=None)
    none_found = dataclasses.replace(onboarding, deletions=())
    checksums = {
        plan_checksum(Plan((target, plan.targets[1])))
        for target in (onboarding, fewer, unpruned, none_found)
    }
    assert len(checksums) == 4
