"""One view per command, its forms chosen once from --format (issue 25 point 4).

Each command's view (render/views/) is checked form by form as a pure function of values; the
source is checked for what the views replaced: no module compares a format's name (the lookup
in render/views/ is the one place a name selects anything), the views import no other command's
view, and they are as pure as the rest of render/.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

import reconciler
import reconciler.render.views
from reconciler.cli.main import cli
from reconciler.errors import Problem
from reconciler.model import Upsert
from reconciler.plan.guards import Refusal
from reconciler.planned import ApplyReport, FieldChange, Plan, TargetPlan, UserChange, UserOutcome
from reconciler.render.comment import DEFAULT_WHERE
from reconciler.render.documents import apply_json, plan_json, saved_plan_json
from reconciler.render.markdown import STEP_SUMMARY_LIMIT, render_apply_markdown
from reconciler.render.view import PlanView
from reconciler.render.views import (
    GITHUB,
    JSON,
    MARKDOWN,
    PLAN_FORMS,
    TEXT,
    VALIDATE_FORMS,
    Output,
    chosen,
)
from reconciler.render.views import apply as apply_views
from reconciler.render.views import plan as plan_views
from reconciler.render.views import validate as validate_views
from reconciler.render.views.apply import apply_view
from reconciler.render.views.imports import ImportText
from reconciler.render.views.plan import plan_view, rerun_pointer
from reconciler.render.views.schema import SchemaText
from reconciler.render.views.validate import validate_view
from tests.test_render_pure import FORBIDDEN_NAMES, _allowed, _runtime_imports

PACKAGE = Path(reconciler.__file__).parent
VIEWS = Path(reconciler.render.views.__file__).parent
LOOKUP = VIEWS / "__init__.py"
#: Every name a --format flag takes.
FORMAT_NAMES = {TEXT, MARKDOWN, JSON, GITHUB}


# --- the source: one lookup, no format branches -------------------------------------------


def _format_comparisons(tree: ast.AST) -> list[int]:
    """Lines that compare something with a format's name (``==``, ``!=``, ``in (...)``) or
    match on one."""
    found: list[int] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            operands += [
                e for o in operands if isinstance(o, ast.Tuple | ast.List | ast.Set) for e in o.elts
            ]
            if any(isinstance(o, ast.Constant) and o.value in FORMAT_NAMES for o in operands):
                found.append(node.lineno)
        elif isinstance(node, ast.MatchValue) and isinstance(node.value, ast.Constant):
            found += [node.lineno] if node.value.value in FORMAT_NAMES else []
    return sorted(found)


def _branches(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root.parent)}:{line}"
        for path in sorted(root.rglob("*.py"))
        for line in _format_comparisons(ast.parse(path.read_text(encoding="utf-8")))
    ]


def test_no_module_compares_a_format_name() -> None:
    assert _branches(PACKAGE) == []


def test_the_branch_finder_sees_each_way_of_comparing(tmp_path: Path) -> None:
    """The check above is only as good as what it sees (67b6bb4 had eleven such lines, in
    four modules)."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text(
        "if fmt == 'json': pass\n"
        "if 'markdown' != fmt: pass\n"
        "if fmt in ('text', 'github'): pass\n"
        "match fmt:\n    case 'json': pass\n"
        "if fmt == 'yaml' or kind == 'texts': pass\n",
        encoding="utf-8",
    )
    assert _branches(package) == ["pkg/a.py:1", "pkg/a.py:2", "pkg/a.py:3", "pkg/a.py:5"]


def test_only_the_lookup_spells_the_format_names() -> None:
    """cli/ and render/ name a form by the lookup's constants, never by a string of its own
    (so a renamed form cannot leave a stale spelling behind)."""
    spelled = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for folder in ("cli", "render")
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        if path != LOOKUP
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value in FORMAT_NAMES
    ]
    assert spelled == []


def _view_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {m for m in _runtime_imports(tree) if m.startswith("reconciler.render.views.")}


@pytest.mark.parametrize("path", sorted(VIEWS.glob("*.py")), ids=lambda path: path.name)
def test_a_view_never_calls_another_commands_view(path: Path) -> None:
    assert _view_imports(path) == set()


@pytest.mark.parametrize("path", sorted(VIEWS.glob("*.py")), ids=lambda path: path.name)
def test_the_views_are_as_pure_as_the_renderers(path: Path) -> None:
    """render/views/ passes tests/test_render_pure.py's checks: values and pure helpers only,
    no file, environment or clock."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert [module for module in _runtime_imports(tree) if not _allowed(module)] == []
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    assert used & FORBIDDEN_NAMES == set()


def _choices(command: str) -> tuple[str, ...]:
    loaded = cli.get_command(click.Context(cli), command)
    assert loaded is not None
    [option] = [p for p in loaded.params if p.name == "output_format"]
    assert isinstance(option.type, click.Choice)
    return tuple(option.type.choices)


def test_each_commands_flag_offers_exactly_its_views_forms() -> None:
    assert _choices("validate") == VALIDATE_FORMS == tuple(validate_views.FORMS)
    assert _choices("plan") == PLAN_FORMS == tuple(plan_views.FORMS)
    assert _choices("apply") == PLAN_FORMS == tuple(apply_views.FORMS)


def test_an_unknown_form_is_named_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match="no form 'yaml': one of text, markdown, json"):
        plan_view("yaml")
    assert chosen({"a": 1}, "a") == 1


# --- validate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    users: int = 5
    files: int = 2
    targets: int = 1
    warnings: Sequence[Problem] = ()


WARNING = Problem("users/a.yaml", 3, 5, "users[0].seats", "a float \x1b[31m")
PROBLEM = Problem("users/b.yaml", 7, 9, "users[1].id", "duplicate id 'x'")


def test_validate_text_says_the_count_and_the_warnings_on_stderr() -> None:
    view = validate_view(TEXT)
    assert view.valid(_Checked(warnings=(WARNING,))) == (
        Output("users/a.yaml:3:5: users[0].seats: a float \\x1b[31m\n", stderr=True),
        Output("Valid: 5 users in 2 files, 1 target.\n"),
    )
    assert view.valid(_Checked(1, 1, 2))[1] == Output("Valid: 1 users in 1 file, 2 targets.\n")
    assert view.invalid([PROBLEM]) is None  # main says them on stderr, like every error


def test_validate_github_annotates_warnings_and_problems() -> None:
    view = validate_view(GITHUB)
    [valid] = view.valid(_Checked(warnings=(WARNING,)))
    assert valid.text.splitlines() == [
        "::warning file=users/a.yaml,line=3,col=5,title=reconciler::users[0].seats: "
        "a float \\x1b[31m",
        "Valid: 5 users in 2 files, 1 target.",
    ]
    printed = view.invalid([PROBLEM])
    assert printed == (
        Output(
            "::error file=users/b.yaml,line=7,col=9,title=reconciler::"
            "users[1].id: duplicate id 'x'\n"
        ),
    )


def test_validate_json_is_one_document_on_stdout() -> None:
    view = validate_view(JSON)
    [valid] = view.valid(_Checked(warnings=(WARNING,)))
    assert json.loads(valid.text) == {"valid": True, "problems": [], "users": 5, "files": 2}
    printed = view.invalid([PROBLEM])
    assert printed is not None
    [invalid] = printed
    assert not invalid.stderr and invalid.text.endswith("}\n")
    assert json.loads(invalid.text)["problems"][0]["field"] == "users[1].id"


# --- plan ---------------------------------------------------------------------------------


def _view(refusals: tuple[Refusal, ...] = ()) -> PlanView:
    change = UserChange(
        "u1",
        "create",
        (FieldChange(("attributes", "plan"), "+", None, "pro"),),
        Upsert("u1", {"plan": "pro"}),
    )
    return PlanView(
        masked=Plan((TargetPlan("local", "sandbox", (change,), unchanged=2),)),
        checksum="c" * 64,
        digest="d" * 64,
        created_at="2026-01-02T03:04:05Z",
        selection={"targets": [], "users": [], "shard": None},
        refusals=refusals,
        requests={("local", "u1"): {"method": "UPSERT", "path": "sandbox", "body": {}}},
    )


REFUSAL = Refusal("max_changes", "1 change exceeds max_changes 0", "--max-changes 1")
TEXT_PLAN = [
    "Target local (sandbox): 1 to create, 0 to update, 2 unchanged",
    "  + user u1",
    '      + attributes.plan = "pro"',
    "",
    "Plan: 1 to create, 0 to update, 2 unchanged.",
    "Apply would refuse: 1 change exceeds max_changes 0",
    f"Plan checksum: {'c' * 64}",
]


def test_plan_text_is_the_diff_coloured_only_when_the_cli_says() -> None:
    shown = _view((REFUSAL,))
    assert "".join(plan_view(TEXT).plan(shown)).splitlines() == TEXT_PLAN
    assert "\x1b[" not in "".join(plan_view(TEXT).plan(shown))
    assert "\x1b[32m  + user u1\x1b[0m" in "".join(plan_view(TEXT, colour=True).plan(shown))


def test_plan_markdown_is_the_comment_within_its_limit_saying_where_the_rest_is() -> None:
    shown = _view((REFUSAL,))
    full = "".join(plan_view(MARKDOWN).plan(shown))
    assert full.startswith("**reconciler plan:** 1 to create, 0 to update, 2 unchanged.")
    assert full.endswith(f"Plan checksum: `{'c' * 64}`\n")
    short = "".join(
        plan_view(MARKDOWN, markdown_limit=len(full) - 1).plan(shown, "Look in the log.")
    )
    assert len(short) < len(full) and short.endswith(
        f"Look in the log._\n\nPlan checksum: `{'c' * 64}`\n"
    )


def test_plan_json_is_the_document_and_the_saved_plan_its_sorted_copy() -> None:
    shown = _view()
    assert "".join(plan_view(JSON).plan(shown)) == plan_json(shown)
    for form in PLAN_FORMS:
        assert plan_view(form).saved(shown) == saved_plan_json(shown)


def test_each_plan_form_says_where_the_full_plan_is_for_markdown_written_elsewhere() -> None:
    log = "The full plan is in this run's {} output (in CI: the job log)"
    assert plan_view(TEXT).elsewhere(None) == log.format("text") + "."
    assert plan_view(JSON).elsewhere("p.json") == (
        log.format("json") + "; as JSON in `p.json`, the file `--out` saved."
    )
    # The Markdown form's stdout is the Markdown: the full plan takes another run.
    assert plan_view(MARKDOWN).elsewhere(None) == rerun_pointer(None) == DEFAULT_WHERE


def test_every_plan_form_writes_the_same_comment_and_summary() -> None:
    shown = _view((REFUSAL,))
    where = plan_view(TEXT).elsewhere("p.json")
    comments = {plan_view(form, markdown_limit=900).comment(shown, where) for form in PLAN_FORMS}
    summaries = {plan_view(form).summary(shown, where) for form in PLAN_FORMS}
    assert len(comments) == len(summaries) == 1
    assert comments == {"".join(plan_view(MARKDOWN, markdown_limit=900).plan(shown, where))}
    assert summaries == {"".join(plan_view(MARKDOWN, STEP_SUMMARY_LIMIT).plan(shown, where))}
    assert len(comments.pop()) <= 900


# --- apply --------------------------------------------------------------------------------


def _report() -> ApplyReport:
    return ApplyReport((UserOutcome("local", "u1", "applied"),), {"local": 0.25})


def test_apply_text_shows_the_plan_before_and_the_counts_after() -> None:
    view = apply_view(TEXT)
    assert "".join(view.plan(_view((REFUSAL,)))).splitlines() == TEXT_PLAN
    assert "".join(view.outcome(_view(), None)) == ""  # nothing was to do
    assert "".join(view.outcome(_view(), _report())).splitlines() == [
        "",
        "Target local: 1 applied, 0 not, in 0.2s",
        "Apply complete: 1 applied, 0 failed.",
    ]


def test_apply_markdown_shows_the_comment_before_and_text_after() -> None:
    view = apply_view(MARKDOWN, markdown_limit=5000)
    assert "".join(view.plan(_view())) == "".join(plan_view(MARKDOWN, 5000).plan(_view()))
    assert "".join(view.outcome(_view(), _report())) == "".join(
        apply_view(TEXT).outcome(_view(), _report())
    )


def test_apply_json_says_nothing_before_and_one_document_after() -> None:
    view = apply_view(JSON)
    assert "".join(view.plan(_view())) == ""
    assert "".join(view.outcome(_view(), _report())) == apply_json(_view(), _report()) + "\n"
    assert json.loads("".join(view.outcome(_view(), None)))["apply"] is None


def test_every_apply_form_writes_the_same_step_summary() -> None:
    summaries = {apply_view(form).summary(_report()) for form in PLAN_FORMS}
    assert summaries == {render_apply_markdown(_report())}


# --- import -------------------------------------------------------------------------------


def test_import_prints_the_file_then_its_report_escaped_on_stderr() -> None:
    printed = ImportText().imported("users: []\n", ("Left out \x1b[2J of u1", "done"))
    assert printed == (
        Output("users: []\n"),
        Output("Left out \\x1b[2J of u1\ndone\n", stderr=True),
    )
    assert ImportText().imported(None, ())[0] == Output("")  # --out wrote the file


# --- schema -------------------------------------------------------------------------------


def test_schema_lists_prints_and_says_how_an_editor_uses_a_copy() -> None:
    view = SchemaText()
    described = {"users": "declaration files", "plan": "saved plans"}
    installed = {"users": Path("/s/users.json"), "plan": Path("/s/plan.json")}
    assert view.listed(described, installed) == (
        Output("users  declaration files: /s/users.json\nplan   saved plans: /s/plan.json\n"),
    )
    assert view.shown('{"a": 1}') == (Output('{"a": 1}'),)  # byte for byte, no newline added
    assert view.located(Path("/s/plan.json")) == (Output("/s/plan.json\n"),)
    [users] = view.written("users", Path("schemas/users.schema.json"))
    assert (
        users.stderr and "$schema=<path of users.schema.json relative to that file>" in users.text
    )
    [plan] = view.written("plan", Path("p.json"))  # written by reconciler: no hint
    assert plan == Output("Wrote the plan schema to p.json.\n", stderr=True)
