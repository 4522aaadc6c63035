"""Workflow-command injection (issue 12, Medium 7, and the Markdown mentions of Low): the pull
request's author writes ids, names, values, file names and paths holding line breaks, ANSI/OSC
sequences and bidi overrides; nothing CI prints may start a line of its own or carry them raw."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

from reconciler.cli.logsetup import PrintableFormatter
from reconciler.escape import json_text, printable
from reconciler.planned import ApplyReport, UserOutcome
from reconciler.render.markdown import render_apply_markdown
from reconciler.render.text import report_lines, styled
from tests.security.attacker_outputs import (
    apply_outputs,
    injections,
    plan_outputs,
    reconciler,
    write_files,
)

#: What a hostile string holds: a forged workflow command after a line break (LF, CR, NEL and
#: the Unicode line separator), an OSC 8 hyperlink, a CSI colour, a bidi override.
FORGED = "x\n::error::forged\r::add-mask::y\x85::stop-commands::z\u2028##[error]w"
ANSI = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07 \x1b[31mred\x9b0m \u202eevil"

SANDBOX = 'targets:\n  local:\n    provider: sandbox\nusers: ["users/"]\n'


@pytest.mark.parametrize(
    "text",
    [FORGED, ANSI, "::add-mask::x", "  ##[error]x", "\ufeff\u2066\u200d\U000e0041"],
)
def test_printable_keeps_one_line_with_nothing_raw(text: str) -> None:
    shown = printable(text)
    assert "\n" not in shown and "\r" not in shown
    assert shown.isprintable()
    assert not shown.lstrip().startswith(("::", "##["))
    assert injections({"shown": shown}) == []


def test_json_output_keeps_the_value_and_holds_nothing_raw() -> None:
    text = json_text({"name": FORGED + ANSI}, indent=2)
    assert json.loads(text) == {"name": FORGED + ANSI}
    assert injections({"json": text}) == []


def test_hostile_attribute_names_and_values_print_escaped_everywhere(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {
            "reconciler.yaml": SANDBOX,
            "users/a.yaml": {
                "users": [
                    {"id": "u1", "attributes": {FORGED: ANSI, "plan": FORGED}},
                    {"id": "u2", "companies": [{"id": "acme", "attributes": {ANSI: FORGED}}]},
                ]
            },
        },
    )
    outputs = plan_outputs(repo)
    outputs.update(apply_outputs(repo))
    assert "Apply complete: 2 applied, 0 failed." in outputs["apply text stdout"]
    assert injections(outputs) == []
    assert "\\n::error::forged" in outputs["plan text stdout"]


def test_a_hostile_declaration_file_name_is_escaped_in_problems(tmp_path: Path) -> None:
    name = "users/a\n::error file=README.md::forged\x1b[2K.yaml"
    repo = write_files(
        tmp_path / "repo", {"reconciler.yaml": SANDBOX, name: "users:\n  - id: 12345\n"}
    )
    outputs = {}
    for output_format in ("text", "github", "json"):
        result = reconciler("validate", "--format", output_format, cwd=repo)
        assert result.code == 1, result.both
        outputs[f"validate {output_format}"] = result.both
    planned = reconciler("plan", cwd=repo)
    assert planned.code == 1
    outputs["plan"] = planned.both
    assert injections(outputs) == []
    assert "users/a\\n::error file=README.md::forged\\x1b[2K.yaml:2:" in outputs["validate text"]
    [annotation] = outputs["validate github"].splitlines()
    assert annotation.startswith("::error file=users/a\\n%3A%3Aerror file=README.md")


def test_event_names_are_validated_like_ids(tmp_path: Path) -> None:
    repo = write_files(
        tmp_path / "repo",
        {
            "reconciler.yaml": SANDBOX,
            "users/a.yaml": {
                "users": [
                    {"id": "u1", "events": [{"event": FORGED, "timestamp": 1626448859836}]},
                    {"id": "u2", "events": [{"event": "log\u202ein", "timestamp": 1626448859836}]},
                    {"id": "u3\u200d", "events": [{"event": "login", "timestamp": 1626448859836}]},
                ]
            },
        },
    )
    result = reconciler("validate", cwd=repo)
    assert result.code == 1
    assert "users/a.yaml:1:" in result.stderr
    for field in ("users[0].events[0].event", "users[1].events[0].event", "users[2].id"):
        assert field in result.stderr
    assert "3 problems found" in result.stderr
    assert injections({"validate": result.both}) == []
    # Nothing was planned or sent from such a file.
    assert reconciler("plan", cwd=repo).code == 1


def test_a_hostile_sandbox_path_is_escaped_on_stderr(tmp_path: Path) -> None:
    folder = "store\n::add-mask::x"
    config = SANDBOX.replace("sandbox\n", f"sandbox\n    path: {json.dumps(folder)}\n")
    repo = write_files(
        tmp_path / "repo",
        {
            "reconciler.yaml": config,
            "users/a.yaml": {"users": [{"id": "u1", "attributes": {"plan": "pro"}}]},
        },
    )
    (repo / folder).mkdir()  # a folder, not a store: the message names the path
    result = reconciler("plan", cwd=repo)
    assert result.code == 1
    assert "store\\n::add-mask::x" in result.stderr
    assert injections({"plan": result.both}) == []


def test_vendor_messages_are_escaped_in_the_apply_report() -> None:
    outcome = UserOutcome("prod", "u1", "failed", message=f"400: bad value {FORGED} {ANSI}")
    report = ApplyReport((outcome,), {"prod": 0.1})
    text = styled(report_lines(report), colour=False)
    markdown = render_apply_markdown(report)
    assert injections({"text": text, "markdown": markdown}) == []
    assert "bad value x\\n::error::forged" in text


def test_log_lines_are_escaped() -> None:
    record = logging.LogRecord("reconciler", logging.INFO, "f", 1, "GET %s", (FORGED,), None)
    line = PrintableFormatter("%(levelname)s %(message)s").format(record)
    assert injections({"log": line}) == []
    assert line.startswith("INFO GET x\\n::error::forged")


def _outside_code(markdown: str) -> str:
    """The comment's text where GitHub looks for mentions, references and links."""
    without_fences = re.sub(r"^(`{3,}).*?^\1$", "", markdown, flags=re.S | re.M)
    return re.sub(r"<code>.*?</code>|(`+).+?\1", "", without_fences)


def test_markdown_makes_no_mention_reference_or_link(tmp_path: Path) -> None:
    """Ids and event names such as ``@org/team``, ``#1`` or a URL must not notify anyone or
    link anywhere from the pull-request comment (they are code, or defanged text)."""
    hostile = [
        "@octocat",
        "@org/team",
        "#1",
        "GH-2",
        "https://evil.example",
        "www.evil.example",
        "deadbeef1",  # a commit SHA to GitHub
    ]
    stamp = 1626448859836
    users = [
        {"id": name, "attributes": {name: name}, "events": [{"event": name, "timestamp": stamp}]}
        for name in hostile
    ]
    repo = write_files(
        tmp_path / "repo", {"reconciler.yaml": SANDBOX, "users/a.yaml": {"users": users}}
    )
    assert reconciler("apply", "--yes", cwd=repo).code == 0
    # The live history now disagrees with the declaration: the warnings quote the event names.
    for user in users:
        user["events"] = [{"event": user["id"], "timestamp": stamp - n} for n in (1, 2)]
        user["attributes"] = {user["id"]: "changed @octocat #3"}
    write_files(repo, {"users/a.yaml": {"users": users}})
    planned = reconciler("plan", "--format", "markdown", cwd=repo)
    assert planned.code == 0, planned.both
    assert "<code>@org/team</code>" in planned.stdout
    assert "**Warnings on <code>local</code>**" in planned.stdout
    text = _outside_code(planned.stdout)
    assert "@&#8203;org/team" in text
    text = text.replace("&#8203;", "\u200b")  # as GitHub reads it
    sha = r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b"
    for trigger in (r"@\w", r"#\d", r"GH-\d", r"https?://", r"www\.", sha):
        assert re.search(trigger, text) is None, (trigger, text)
