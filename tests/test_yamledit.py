"""Editing a declaration file in place: only the added lines change, and the result reads
back as intended or nothing is written."""

from __future__ import annotations

import pytest

from reconciler.errors import UnwritableError
from reconciler.importing import yamledit
from reconciler.importing.merge import EntryEdit
from reconciler.load import yamlload

FILE = """\
# A person's header comment.
defaults:
  attributes: {customer: true}   # everyone

users:
  - id: u1   # the first
    email: a@example.com
    attributes:
      plan: pro    # keep me
    targets: [research]

  # between users
  - id: u2
    attributes: {plan: free}
  - {id: u3, attributes: {x: 1}}
# trailer
"""


def _users(text: str) -> list[dict[str, object]]:
    document = yamlload.parse_mapping(text, "f")
    assert document.value is not None, document.problems
    return list(document.value["users"])


def test_only_the_added_lines_change() -> None:
    edits = [
        EntryEdit("f", 0, "u1", attributes={"country": "NO"}, targets=("onboarding", "research")),
        EntryEdit("f", 1, "u2", fields={"email": "b@example.com"}, attributes={"seats": 4}),
    ]
    edited = yamledit.edit_file(FILE, "f", edits, [{"id": "u4", "targets": ["onboarding"]}])
    assert edited == FILE.replace(
        "      plan: pro    # keep me\n    targets: [research]\n",
        '      plan: pro    # keep me\n      country: "NO"\n    targets: [onboarding, research]\n',
    ).replace(
        "    attributes: {plan: free}\n",
        "    attributes: {plan: free, seats: 4}\n    email: b@example.com\n",
    ).replace(
        "  - {id: u3, attributes: {x: 1}}\n",
        "  - {id: u3, attributes: {x: 1}}\n\n  - id: u4\n    targets: [onboarding]\n",
    )


def test_targets_everywhere_removes_the_key_and_a_one_line_entry_is_rewritten() -> None:
    edits = [
        EntryEdit("f", 0, "u1", targets=("onboarding", "research"), everywhere=True),
        EntryEdit("f", 2, "u3", attributes={"on": "yes"}),
    ]
    edited = yamledit.edit_file(FILE, "f", edits, [])
    assert "targets" not in edited
    assert '  - {id: u3, attributes: {x: 1, "on": "yes"}}\n' in edited
    assert _users(edited)[2] == {"id": "u3", "attributes": {"x": 1, "on": "yes"}}
    assert edited.count("#") == FILE.count("#")  # every comment kept


def test_appending_to_an_empty_users_list() -> None:
    edited = yamledit.edit_file("users: []  # none yet\n", "f", [], [{"id": "u1"}])
    assert _users(edited) == [{"id": "u1"}]
    assert "# none yet" in edited


def test_what_would_not_read_back_is_not_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net: a splice that breaks the file is refused, never written."""
    monkeypatch.setattr(yamledit, "flow_text", lambda value: "[unclosed")
    with pytest.raises(UnwritableError, match="would not read back as intended"):
        yamledit.edit_file(FILE, "f", [EntryEdit("f", 0, "u1", targets=("a", "b"))], [])
