"""``apply --format json`` is written as it is encoded (issue 21): the report of a large apply
is never held whole as text, which was most of apply's memory at 20,000 users."""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

import pytest

from reconciler.cli.console import echo_chunks
from reconciler.model import Upsert
from reconciler.planned import ApplyReport, FieldChange, Plan, TargetPlan, UserChange, UserOutcome
from reconciler.render.documents import apply_json
from reconciler.render.view import PlanView
from reconciler.render.views.apply import apply_view

#: 2,000 users (5,000 before): a 1.7 MB report, while writing it in pieces peaks at about
#: 0.45 MB whatever the size, so the bound below still sits between the two.
USERS = 2000


def _large() -> tuple[PlanView, ApplyReport]:
    changes = tuple(
        UserChange(
            f"user-{n:05d}",
            "create",
            (FieldChange(("attributes", "plan"), "+", None, "pro\u202e"),),
            Upsert(f"user-{n:05d}", {"plan": "pro\u202e"}),
        )
        for n in range(USERS)
    )
    view = PlanView(
        masked=Plan((TargetPlan("local", "sandbox", changes, unchanged=0),)),
        checksum="c" * 64,
        digest="d" * 64,
        created_at="2026-01-02T03:04:05Z",
        selection={"targets": []},
        requests={("local", c.user_id): {"method": "UPSERT", "path": "x"} for c in changes},
    )
    outcomes = tuple(UserOutcome("local", c.user_id, "applied") for c in changes)
    return view, ApplyReport(outcomes, {"local": 1.0})


def test_the_json_report_is_written_as_it_is_encoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    view, report = _large()
    expected = apply_json(view, report)
    assert "\\u202e" in expected and "\u202e" not in expected  # escaped in pieces as whole
    out = tmp_path / "report.json"
    with out.open("w", encoding="utf-8") as file:
        monkeypatch.setattr(sys, "stdout", file)
        tracemalloc.start()
        try:
            echo_chunks(apply_view("json").outcome(view, report))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    written = out.read_text(encoding="utf-8")
    assert written == expected + "\n"
    assert json.loads(written)["apply"]["applied"] == USERS
    # Holding the text once (let alone its escaped copy too) would take all of it.
    assert peak < len(expected) / 2
