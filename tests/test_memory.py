"""What keeps plan and apply small at 100,000 users (issue 25 point 6), checked by structure and
by bytes: the figures themselves are bench/memory_100k.py's, never asserted here."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import model, planned
from reconciler.load.config import Config, load_config
from reconciler.load.declarations import load_declarations
from reconciler.load.declared import declared_at
from reconciler.load.yamlevents import event_lines
from reconciler.load.yamlload import Locator
from reconciler.model import MASK, Company, Event, Masked, Membership, Upsert, upsert_to_json
from reconciler.plan.mask import mask_plan
from reconciler.plan.planfile import plan_checksum
from reconciler.plan.planner import field_path
from reconciler.planned import FieldChange, Plan, TargetPlan, UserChange, UserDeletion
from reconciler.providers import KINDS
from reconciler.render.text import render_text, styled
from reconciler.usecases.present import present_plan


def _change(user_id: str, **values: Any) -> UserChange:
    fields = tuple(FieldChange(("attributes", k), "+", new=v) for k, v in values.items())
    return UserChange(user_id, "create", fields, Upsert(user_id, dict(values)), f"fp-{user_id}")


def _plan() -> Plan:
    rich = UserChange(
        "ü-2",
        "update",
        (FieldChange(("email",), "~", "old@example.com", "new@example.com"),),
        Upsert(
            "ü-2",
            {"plan": "pro", "gone": None},
            email="new@example.com",
            events=(Event("login", 1626448859836),),
            companies=(Company("acme", {"name": "Acme Ø", "phone": "+47"}),),
            memberships=(Membership(Company("acme", {"name": "Acme Ø"}), {"role": "admin"}),),
        ),
        "fp-2",
    )
    deletions = (UserDeletion("b", "fp-b", "b@example.com"), UserDeletion("c", "fp-c"))
    pruned = TargetPlan(
        "onboarding", "usertour", (_change("a", seats=3), rich), 7, deletions=deletions, listed=9
    )
    plain = TargetPlan("research", "sprig", (_change("z", plan="free"),), 3)
    return Plan((pruned, TargetPlan("empty", "sandbox", (), 0), plain))


def _one_document_checksum(plan: Plan) -> str:
    """The checksum as it was computed before: the whole content as one canonical JSON text."""
    content = []
    for t in plan.targets:
        entry: list[Any] = [
            t.target,
            t.provider,
            [[c.user_id, c.action, upsert_to_json(c.upsert), c.fingerprint] for c in t.changes],
        ]
        if t.pruned:
            entry.append([[d.user_id, d.fingerprint] for d in t.deletions])
        content.append(entry)
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize("targets", [slice(0, 0), slice(0, 1), slice(1, 2), slice(None)])
def test_the_streamed_checksum_is_the_one_document_checksum(targets: slice) -> None:
    plan = Plan(_plan().targets[targets])
    assert plan_checksum(plan) == _one_document_checksum(plan)


@pytest.mark.parametrize("count", [0, 1, 2047, 2048, 2049, 4096, 5000])
def test_styled_text_is_the_same_across_chunk_boundaries(count: int) -> None:
    lines = [("+" if n % 3 else "", f"line {n}") for n in range(count)]
    assert styled(lines, colour=False) == "".join(f"{line}\n" for _, line in lines)
    assert styled([("", ""), ("", "")], colour=False) == "\n\n"


def test_the_masked_plan_shares_every_change_with_nothing_sensitive() -> None:
    plan = _plan()
    masked = mask_plan(plan, {"email", "phone"})
    first, rich = masked.targets[0].changes
    assert first is plan.targets[0].changes[0]  # nothing sensitive: not copied
    assert masked.targets[2].changes[0] is plan.targets[2].changes[0]
    # The rich change is masked where it must be and shares the rest.
    original = plan.targets[0].changes[1].upsert
    assert rich.upsert.email is MASK
    assert rich.upsert.attributes is original.attributes
    assert isinstance(rich.upsert.companies[0].attributes["phone"], Masked)
    assert rich.upsert.companies[0].attributes["name"] == "Acme Ø"
    assert rich.upsert.memberships[0] is original.memberships[0]
    assert original.email == "new@example.com"  # the plan itself is never changed


def test_a_declared_string_reading_sensitive_is_not_taken_for_a_masked_one() -> None:
    plan = Plan((TargetPlan("t", "sandbox", (_change("a", note="(sensitive)"),), 0),))
    masked = mask_plan(plan, {"note"})
    value = masked.targets[0].changes[0].upsert.attributes["note"]
    assert isinstance(value, Masked)  # masked, although equal to the declared text
    field = masked.targets[0].changes[0].fields[0]
    assert isinstance(field.new, Masked)
    unmasked = mask_plan(plan, set()).targets[0].changes[0].upsert.attributes["note"]
    assert not isinstance(unmasked, Masked)


def test_requests_are_described_when_read_as_they_were_built(tmp_path: Path) -> None:
    plan = _plan()
    config = Config(tmp_path / "reconciler.yaml", tmp_path, {}, sensitive=frozenset({"email"}))
    view = present_plan(plan, config, "d" * 64, {}, created_at="then")
    keys = [(t.target, c.user_id) for t in plan.targets for c in t.changes]
    assert list(view.requests) == keys and len(view.requests) == len(keys)
    masked = mask_plan(plan, {"email"})
    for target in masked.targets:
        for change in target.changes:
            described = KINDS[target.provider].describe_request(change.upsert)
            assert view.requests[target.target, change.user_id] == described
    assert "new@example.com" not in json.dumps([view.requests[key] for key in keys])
    assert view.requests["research", "z"]["body"]["attributes"] == {"plan": "free"}
    with pytest.raises(KeyError):
        view.requests["research", "a"]


def test_field_paths_are_shared() -> None:
    assert field_path(("attributes",), "plan") is field_path(("attributes",), "plan")
    assert field_path(("companies", "acme"), "size") == ("companies", "acme", "size")


def test_text_lines_are_the_same_as_the_list() -> None:
    plan = mask_plan(_plan(), {"email"})
    text = styled(render_text(plan), colour=False)
    assert "  ~ user ü-2" in text and text.endswith(
        "Plan: 2 to create, 1 to update, 2 to delete, 10 unchanged.\n"
    )


def test_model_values_have_no_dict() -> None:
    """Every value class of the model and the plan is slotted: no per-instance __dict__ on
    100k users."""
    classes = [
        value
        for module in (model, planned)
        for value in vars(module).values()
        if isinstance(value, type) and dataclasses.is_dataclass(value)
    ]
    assert len(classes) > 10
    for value_class in classes:
        assert "__dict__" not in dir(value_class), value_class.__name__


FILES = {
    "block": """\
# a comment
defaults:
  attributes: {plan: free, phone: "1"}
users:
  - id: "1"
    email: a@example.com
    attributes:
      phone: "+47 555"
      plan: pro
  - {id: "2", attributes: {phone: x}}
  -
    id: "3"
    email: c@example.com
""",
    "repeated keys and odd values": """\
users:
  - id: "1"
    attributes: {phone: first}
    attributes: {phone: second, extra: 1}
  - id: "2"
    "email": 'quoted@example.com'
    attributes:
      ? phone
      : "+1"
      list: [1, {phone: nested}]
""",
    "merge key": """\
defaults: &base
  attributes: {phone: "1"}
users:
  - <<: *base
    id: "1"
""",
    "anchor only": "users:\n  - &one {id: '1', email: a@example.com}\n",
    "two documents": "users: [{id: '1', email: a@example.com}]\n---\nusers: []\n",
    "broken": "users:\n  - id: '1'\n    email: [unclosed\n",
    "tagged key": "users:\n  - !!str id: '1'\n    email: a@example.com\n",
}
WANTED = [
    ("users", n, *rest)
    for n in range(4)
    for rest in [(), ("email",), ("attributes", "phone"), ("attributes", "extra"), ("id",)]
] + [("defaults", "email"), ("defaults", "attributes", "phone"), ("defaults",), ("users",), ()]


@pytest.mark.parametrize("name", sorted(FILES))
def test_event_lines_are_the_lines_the_composed_file_gives(name: str) -> None:
    data = FILES[name].encode()
    lines = event_lines(data, WANTED)
    try:
        locator = Locator.from_data(data)
    except yaml.YAMLError:
        locator = Locator(None)
    composed = {p: pos[0] for p in WANTED if (pos := locator.find(p)) is not None}
    if name in ("merge key", "anchor only", "two documents", "tagged key"):
        assert lines is None  # the caller composes the file instead
    else:
        assert lines == composed
        assert lines or name == "broken"


def test_declared_at_names_the_line_of_each_masked_value(tmp_path: Path) -> None:
    (tmp_path / "users").mkdir()
    (tmp_path / "users" / "a.yaml").write_text(FILES["block"])
    (tmp_path / "users" / "b.yaml").write_text(FILES["merge key"].replace('"1"', '"9"', 2))
    (tmp_path / "reconciler.yaml").write_text(
        "targets:\n  local: {provider: sandbox, path: s.db}\nusers: [users/]\n"
    )
    wanted = [
        ("1", ("email",)),
        ("1", ("attributes", "phone")),
        ("2", ("email",)),
        ("3", ("attributes", "phone")),
        ("2", ("companies", "acme", "size")),  # the entry itself
        ("nobody", ("email",)),
        ("9", ("attributes", "phone")),  # a merge key: the composed file answers
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tmp_path)  # files are named relative to the current folder
        declarations = load_declarations(load_config(tmp_path / "reconciler.yaml", {}))
        found = declared_at(declarations, wanted)
    assert found == {
        ("1", ("email",)): "users/a.yaml:6",
        ("1", ("attributes", "phone")): "users/a.yaml:8",
        ("2", ("email",)): "users/a.yaml:10",  # not written: the entry itself
        ("3", ("attributes", "phone")): "users/a.yaml:3",  # from the file's defaults
        ("2", ("companies", "acme", "size")): "users/a.yaml:10",
        ("9", ("attributes", "phone")): "users/b.yaml:2",
    }
