"""Validation problems as GitHub annotations and as JSON."""

from __future__ import annotations

import json

from reconciler.errors import Problem
from reconciler.render.problems import (
    escape_data,
    escape_property,
    render_github,
    render_problems_json,
    render_validation_json,
)

PROBLEMS = [
    Problem("users/b.yaml", 7, 3, "users[2].id", "duplicate id 'u1'"),
    Problem("users/a.yaml", None, None, "", "not a YAML mapping"),
    Problem("users/a.yaml", 4, None, "users[0].email", "not an e-mail"),
]


def test_github_annotations_sorted_with_known_positions_only() -> None:
    assert render_github(PROBLEMS) == [
        "::error file=users/a.yaml,title=reconciler::not a YAML mapping",
        "::error file=users/a.yaml,line=4,title=reconciler::users[0].email: not an e-mail",
        "::error file=users/b.yaml,line=7,col=3,title=reconciler::users[2].id: duplicate id 'u1'",
    ]


def test_github_escaping_of_properties_and_message() -> None:
    """Line breaks are shown as ``\\n`` (reconciler.escape), not decoded by GitHub into the
    annotation: a file name or message cannot lay out text of its own."""
    problem = Problem("we,ird:dir/100%\n.yaml", 1, 2, "a:b", "50% done\r\nnext, line: x")
    [line] = render_github([problem])
    assert line == (
        "::error file=we%2Cird%3Adir/100%25\\n.yaml,line=1,col=2,title=reconciler"
        "::a:b: 50%25 done\\r\\nnext, line: x"
    )


def test_escape_helpers() -> None:
    assert escape_data("%\r\n:,") == "%25%0D%0A:,"
    assert escape_property("%\r\n:,") == "%25%0D%0A%3A%2C"
    # ``%`` first, so the escapes themselves are not escaped again.
    assert escape_property("%3A") == "%253A"


def test_column_without_line_is_left_out() -> None:
    [line] = render_github([Problem("f.yaml", None, 5, "x", "bad")])
    assert line == "::error file=f.yaml,title=reconciler::x: bad"


def test_problem_without_file() -> None:
    [line] = render_github([Problem("", None, None, "", "no users found")])
    assert line == "::error title=reconciler::no users found"


def test_problems_json_parses_and_is_sorted() -> None:
    document = json.loads(render_problems_json(PROBLEMS))
    assert document["valid"] is False
    assert [(p["file"], p["line"]) for p in document["problems"]] == [
        ("users/a.yaml", None),
        ("users/a.yaml", 4),
        ("users/b.yaml", 7),
    ]
    assert document["problems"][2] == {
        "file": "users/b.yaml",
        "line": 7,
        "column": 3,
        "field": "users[2].id",
        "message": "duplicate id 'u1'",
    }
    assert "users" not in document


def test_problems_json_is_deterministic() -> None:
    assert render_problems_json(PROBLEMS) == render_problems_json(list(reversed(PROBLEMS)))


def test_success_document_counts_users_and_files() -> None:
    document = json.loads(render_validation_json([], users=12, files=3))
    assert document == {"valid": True, "problems": [], "users": 12, "files": 3}
