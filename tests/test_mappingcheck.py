"""validate checks each target's mapping: in reconciler.yaml, against each user, and against
every declaration, each problem at file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

from reconciler.load.changed_users import changed_targets
from reconciler.load.config import load_config
from reconciler.mapping import AttributeRule, TargetMapping, map_user
from reconciler.model import UserSpec
from tests.cli_process import run_reconciler

CONFIG = """\
targets:
  research:
    provider: sprig
    api_key_env: SPRIG_API_KEY
    mapping:
{mapping}
  local:
    provider: sandbox
"""


def _repo(tmp_path: Path, mapping: str, users: str) -> Path:
    (tmp_path / "users").mkdir()
    indented = textwrap.indent(textwrap.dedent(mapping), "      ")
    (tmp_path / "reconciler.yaml").write_text(CONFIG.format(mapping=indented.rstrip()))
    (tmp_path / "users" / "all.yaml").write_text(textwrap.dedent(users))
    return tmp_path


def _validate(repo: Path) -> tuple[int, str]:
    result = run_reconciler("validate", cwd=repo)
    return result.code, result.stdout + result.stderr


USERS = """\
users:
  - id: u1
    attributes:
      tags: [beta, panel]
      plan: pro
      tier: gold
"""


def test_a_valid_mapping_validates(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "tags: {join: ','}\nplan: {rename: plan_name}\ntier: drop\n", USERS)
    code, said = _validate(repo)
    assert code == 0, said


def test_two_attributes_renamed_to_one_name(tmp_path: Path) -> None:
    mapping = "tags: {join: ','}\nplan: {rename: level}\ntier: {rename: level}\n"
    code, said = _validate(_repo(tmp_path, mapping, USERS))
    assert code == 1
    assert (
        "reconciler.yaml:8:7: targets.research.mapping.tier: 'plan' and 'tier' would both be "
        "sent as 'level': rename one of them to another name" in said
    )


def test_a_rename_onto_a_declared_attribute_is_located_at_the_user(tmp_path: Path) -> None:
    code, said = _validate(_repo(tmp_path, "tags: {join: ','}\nplan: {rename: tier}\n", USERS))
    assert code == 1
    assert (
        "users/all.yaml:6:7: users[0].attributes.tier: attributes 'plan' and 'tier' both reach "
        "target research (sprig) as 'tier' (reconciler.yaml:7): declare one of them, or rename"
    ) in said


def test_a_rename_to_a_name_the_target_reserves(tmp_path: Path) -> None:
    mapping = "tags: {join: ','}\nplan: {rename: '!plan'}\ntier: {rename: '!email'}\n"
    code, said = _validate(_repo(tmp_path, mapping, USERS))
    assert code == 1
    assert "reconciler.yaml:7:14: targets.research.mapping.plan.rename: names starting with" in said
    assert "reconciler.yaml:8:14: targets.research.mapping.tier.rename: '!email' is where" in said


def test_an_unknown_attribute_says_which_was_meant(tmp_path: Path) -> None:
    code, said = _validate(_repo(tmp_path, "tags: {join: ','}\ntgs: {rename: x}\n", USERS))
    assert code == 1
    assert (
        "reconciler.yaml:7:7: targets.research.mapping.tgs: no user sent to target research "
        "declares the attribute 'tgs' (did you mean 'tags'?)"
    ) in said


def test_a_join_of_what_is_no_list(tmp_path: Path) -> None:
    code, said = _validate(
        _repo(
            tmp_path,
            "tags: {join: ','}\nseats: {join: ','}\n",
            """\
        users:
          - id: u1
            attributes: {tags: [a], seats: 12}
        """,
        )
    )
    assert code == 1
    assert (
        "users[0].attributes.seats: target research (sprig) joins 'seats' into one string "
        "(reconciler.yaml:7), which needs a list of strings, not an integer"
    ) in said


def test_a_list_item_holding_the_separator(tmp_path: Path) -> None:
    code, said = _validate(
        _repo(
            tmp_path,
            "tags: {join: ','}\n",
            """\
        users:
          - id: u1
            attributes:
              tags:
                - beta
                - a,b
        """,
        )
    )
    assert code == 1
    assert (
        "users/all.yaml:6:11: users[0].attributes.tags[1]: holds ',', the separator target "
        "research (sprig) joins 'tags' with (reconciler.yaml:6)"
    ) in said
    assert "a,b" not in said  # values are never quoted


def test_a_rule_the_schema_refuses(tmp_path: Path) -> None:
    code, said = _validate(_repo(tmp_path, "tags: keep\n", USERS))
    assert code == 1
    assert (
        "reconciler.yaml:6:7: targets.research.mapping.tags: must be drop or "
        "{rename: NAME, join: SEPARATOR} (one or both), not a string"
    ) in said


def test_the_unmapped_target_still_gets_the_list(tmp_path: Path) -> None:
    """The sandbox target has no mapping: the list goes there as declared."""
    spec = UserSpec("u1", attributes={"tags": ["a", "b"], "plan": "pro"})
    mapping = TargetMapping((AttributeRule("tags", join=";"), AttributeRule("plan", drop=True)))
    assert map_user(spec, mapping).attributes == {"tags": "a;b"}
    assert map_user(spec, TargetMapping()) is spec


def test_a_mapping_change_plans_the_target_in_full(tmp_path: Path) -> None:
    """--changed-since: every user's sent values change with the mapping."""
    repo = _repo(tmp_path, "tags: {join: ','}\n", USERS)
    before = load_config(repo / "reconciler.yaml", {})
    (repo / "reconciler.yaml").write_text(
        (repo / "reconciler.yaml").read_text().replace("join: ','", "join: ';'")
    )
    after = load_config(repo / "reconciler.yaml", {})
    assert changed_targets(before, after) == {"research": "mapping changed"}
    assert changed_targets(before, before) == {}
