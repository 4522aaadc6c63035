"""`reconciler import` end to end: live users -> YAML -> `plan --detailed-exitcode` exits 0."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from reconciler.load import yamlload
from reconciler.sandbox.server import RunningEmulator
from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, methods, seed, write_repo

LOGIN_1 = 1_626_448_859_836
LOGIN_2 = LOGIN_1 + 86_400_000
#: Strings YAML 1.1 (or a careless emitter) would turn into something else.
AWKWARD = ["NO", "on", "012", "1e3", "12:30:00", "", "null", "~", "a: b", "日本", "+49 1", "0x1F"]


def _load(text: str) -> Any:
    """Read YAML as reconciler does (YAML 1.2 core: `NO` stays a string)."""
    document = yamlload.parse_mapping(text, "import.yaml")
    assert document.problems == [], document.problems
    return document.value


def _usertour_bodies(count: int) -> list[dict[str, Any]]:
    """Varied users; each attribute name keeps one type (Usertour locks it on first sight)."""
    bodies = []
    for n in range(count):
        attributes: dict[str, Any] = {
            "email": f"user{n}@example.com",
            "label": AWKWARD[n % len(AWKWARD)],
            "seats": n,
            "score": n + 0.5,
            "active": n % 2 == 0,
            "signed_up_at": "2024-03-20T08:30:00.000Z",  # a DateTime for Usertour
            "tags": ["beta", AWKWARD[n % len(AWKWARD)]],
        }
        body: dict[str, Any] = {"id": f"u{n:03d}", "attributes": attributes}
        if n % 5 == 1:
            body["companies"] = [{"id": "acme", "attributes": {"name": "Acme Inc", "size": 10}}]
        elif n % 7 == 2:
            body["memberships"] = [
                {
                    "company": {"id": "globex", "attributes": {"name": "Globex"}},
                    "attributes": {"role": "admin"},
                }
            ]
        bodies.append(body)
    return bodies


def _list_requests(running: RunningEmulator) -> list[str]:
    return [r.path for r in running.requests if urlsplit(r.path).path == "/v1/users"]


def test_usertour_import_all_three_pages_then_plan_is_clean(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    seed(running, "usertour", _usertour_bodies(250))
    repo = write_repo(tmp_path, running, "usertour", [])
    args = ("import", "--target", "prod", "--all", "--out", "users/all.yaml", "-vv")
    imported = run(*args, cwd=repo, env=KEYS)
    assert imported.code == 0, imported.stderr
    assert imported.stdout == ""
    assert "Imported 250 users from target prod into users/all.yaml." in imported.stderr
    assert set(methods(running)) == {"GET"}
    # 100 + 100 + 50, following `next`; then 93 + 93 + 64: a second walk, whose boundaries
    # fall elsewhere, proves that no user tied with a page's last one was skipped.
    assert len(_list_requests(running)) == 6
    text = (repo / "users" / "all.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../schemas/users.schema.json\n")
    assert "first_seen_at" not in text and "last_seen_at" not in text
    assert "@example.com" not in imported.stderr  # emails go to the file only, not to -vv logs
    users = _load(text)["users"]
    assert len(users) == 250
    assert yaml.safe_load(text)["users"] == users  # YAML 1.1 tools read the same values
    assert users[1]["companies"] == [{"id": "acme", "attributes": {"name": "Acme Inc", "size": 10}}]
    assert users[2]["memberships"][0]["attributes"] == {"role": "admin"}

    running.clear_requests()
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
    assert "Plan: 0 to create, 0 to update, 250 unchanged." in planned.stdout
    assert set(methods(running)) == {"GET"}


def test_usertour_include_system_declares_the_seeded_attributes(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    seed(running, "usertour", _usertour_bodies(3))
    repo = write_repo(tmp_path, running, "usertour", [])
    args = ("import", "--target", "prod", "--all", "--include-system", "--out", "users/all.yaml")
    assert run(*args, cwd=repo, env=KEYS).code == 0
    users = _load((repo / "users" / "all.yaml").read_text(encoding="utf-8"))["users"]
    assert {"first_seen_at", "last_seen_at"} <= set(users[0]["attributes"])
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_a_value_no_declaration_can_hold_is_named_not_written(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    seed(running, "usertour", [{"id": "u1", "attributes": {"email": "not-an-email", "a": 1}}])
    repo = write_repo(tmp_path, running, "usertour", [])
    imported = run(
        "import", "--target", "prod", "--all", "--out", "users/all.yaml", cwd=repo, env=KEYS
    )
    assert imported.code == 0, imported.stderr
    assert (
        "Not imported: email of 1 user (u1): not an email address a declaration accepts"
        in imported.stderr
    )
    assert "not-an-email" not in imported.stderr  # values are never shown
    text = (repo / "users" / "all.yaml").read_text(encoding="utf-8")
    assert "    # not imported: email: not an email address" in text
    assert _load(text)["users"] == [{"id": "u1", "attributes": {"a": 1}}]
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def _seed_sprig(running: RunningEmulator) -> None:
    seed(
        running,
        "sprig",
        [
            {
                "userId": "12347",
                "emailAddress": "ada@example.com",
                "attributes": {"plan": "enterprise", "seats": 12, "country": "NO", "!locale": "nb"},
                "events": [
                    {"event": "login", "timestamp": LOGIN_1},
                    {"event": "login", "timestamp": LOGIN_2},
                    {"event": "signup", "timestamp": LOGIN_1},
                ],
            },
            {"userId": "12348", "attributes": {"zip": "01234", "customer": True}},
            {"userId": "a/b ?#", "attributes": {"on_call": "on"}},
        ],
    )


def test_sprig_users_by_id_round_trip(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    running = emulator()
    _seed_sprig(running)
    repo = write_repo(tmp_path, running, "sprig", [])
    (repo / "ids.txt").write_text("12347\n\n12348\na/b ?#\n", encoding="utf-8")
    imported = run("import", "--target", "prod", "--ids-from", "ids.txt", cwd=repo, env=KEYS)
    assert imported.code == 0, imported.stderr
    users = _load(imported.stdout)["users"]
    assert users[0] == {
        "id": "12347",
        "email": "ada@example.com",
        "attributes": {"country": "NO", "plan": "enterprise", "seats": 12},
    }
    assert "!locale" not in imported.stdout and "events" not in imported.stdout
    assert [user["id"] for user in users] == ["12347", "12348", "a/b ?#"]
    (repo / "users" / "all.yaml").write_text(imported.stdout, encoding="utf-8")
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0

    # --user and stdin, with events and Sprig's own attributes.
    args = ["import", "--target", "prod", "--user", "12347", "--ids-from", "-"]
    args += ["--with-events", "--include-system", "--out", "users/all.yaml"]
    imported = run(*args, cwd=repo, env=KEYS, stdin="12348\n")
    assert imported.code == 0, imported.stderr
    # Declared already: merged into the file in place (issue 24), the events added.
    assert "Merged 1 user from target prod into users/all.yaml." in imported.stderr
    text = (repo / "users" / "all.yaml").read_text(encoding="utf-8")
    shown = run(*args[:-2], cwd=repo, env=KEYS, stdin="12348\n").stdout
    assert '#   "!locale": "nb"' in shown  # shown, not declared: validation refuses ! names
    assert "- {event: login, timestamp: 1626535259836}" in text
    assert "- {event: signup, timestamp: 1626448859836}" in text
    running.clear_requests()
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
    # The target holds more than the one declared per name: no news, no warning (issue 14).
    assert "declared at or before" not in planned.stdout
    assert set(methods(running)) == {"GET"}


def test_sprig_ids_not_found_are_named_and_exit_1(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    _seed_sprig(running)
    repo = write_repo(tmp_path, running, "sprig", [])
    args = ("import", "--target", "prod", "--user", "12347", "--user", "nobody")
    imported = run(*args, "--out", "users/all.yaml", cwd=repo, env=KEYS)
    assert imported.code == 1
    assert "1 of 2 users not found: nobody" in imported.stderr
    users = _load((repo / "users" / "all.yaml").read_text(encoding="utf-8"))["users"]
    assert [user["id"] for user in users] == ["12347"]
    # None found: the file is left as it was (a typo must not empty it).
    before = (repo / "users" / "all.yaml").read_bytes()
    assert (
        run(
            "import",
            "--target",
            "prod",
            "--user",
            "nobody",
            "--out",
            "users/all.yaml",
            cwd=repo,
            env=KEYS,
        ).code
        == 1
    )
    assert (repo / "users" / "all.yaml").read_bytes() == before


def test_sandbox_import_round_trip_and_same_bytes(run: Run, example_repo: Path) -> None:
    assert run("apply", "--yes", cwd=example_repo).code == 0
    for name in ("customers.yaml", "staff.yaml"):
        shutil.move(example_repo / "users" / name, example_repo / name)
    args = ("import", "--target", "local", "--all", "--with-events", "--out", "users/all.yaml")
    first = run(*args, cwd=example_repo)
    assert first.code == 0, first.stderr
    written = example_repo / "users" / "all.yaml"
    text = written.read_bytes()
    written.chmod(0o640)
    assert run(*args, cwd=example_repo).code == 0
    assert written.read_bytes() == text
    assert stat.S_IMODE(written.stat().st_mode) == 0o640  # replaced, permissions kept
    assert [p.name for p in written.parent.iterdir()] == ["all.yaml"]  # no temporary left
    assert (
        run(
            "import", "--target", "local", "--all", "--with-events", cwd=example_repo
        ).stdout.encode()
        == text
    )
    planned = run("plan", "--detailed-exitcode", cwd=example_repo)
    assert planned.code == 0, planned.stdout + planned.stderr
    assert "Plan: 0 to create, 0 to update, 5 unchanged." in planned.stdout


def test_targets_pin_the_file_when_the_config_has_others(run: Run, example_repo: Path) -> None:
    assert run("apply", "--yes", cwd=example_repo).code == 0
    config = example_repo / "reconciler.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "targets:\n", "targets:\n  other:\n    provider: sandbox\n    path: .reconciler/o.db\n"
        ),
        encoding="utf-8",
    )
    shutil.rmtree(example_repo / "users")
    imported = run(
        "import", "--target", "local", "--all", "--out", "users/all.yaml", cwd=example_repo
    )
    assert imported.code == 0, imported.stderr
    document = _load((example_repo / "users" / "all.yaml").read_text(encoding="utf-8"))
    assert document["defaults"] == {"targets": ["local"]}
    planned = run("plan", "--detailed-exitcode", cwd=example_repo)
    assert planned.code == 0, planned.stdout + planned.stderr
    assert "Target other (sandbox): 0 to create" in planned.stdout


def test_usage_mistakes_exit_1_and_send_nothing(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "sprig", [])
    cases = {
        ("--target", "prod", "--all"): "--ids-from",  # Sprig cannot list: name the users
        ("--target", "prod"): "--all",
        ("--target", "prod", "--all", "--user", "x"): "drop --user",
        ("--target", "nope", "--user", "x"): "unknown target nope",
        ("--user", "x"): "exactly one target",
        ("--target", "prod", "--user", "x"): "SPRIG_API_KEY",  # no key in the environment
        ("--target", "prod", "--ids-from", "missing.txt"): "missing.txt",
    }
    for args, message in cases.items():
        result = run("import", *args, cwd=repo)
        assert result.code == 1, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert running.requests == []
    assert _load((repo / "users" / "all.yaml").read_text(encoding="utf-8")) == {"users": []}


def test_import_all_leaves_the_seeded_company_stamps_out(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 13 bug 6: the real server seeds first_seen_at/last_seen_at on new companies too
    (seeded here as it answers them); import must not declare them at any level."""
    running = emulator()
    stamps = {"first_seen_at": "2024-03-20T08:30:00.000Z", "last_seen_at": "2024-03-21T08:30:00Z"}
    seed(
        running,
        "usertour",
        [
            {"id": "u1", "companies": [{"id": "acme", "attributes": {"name": "A", **stamps}}]},
            {
                "id": "u2",
                "memberships": [
                    {
                        "company": {"id": "globex", "attributes": stamps},
                        "attributes": {"role": "admin"},
                    }
                ],
            },
            {"id": "u3", "memberships": [{"company": {"id": "initech"}, "attributes": stamps}]},
        ],
    )
    repo = write_repo(tmp_path, running, "usertour", [])
    args = ("import", "--target", "prod", "--all", "--out", "users/all.yaml")
    assert run(*args, cwd=repo, env=KEYS).code == 0
    text = (repo / "users" / "all.yaml").read_text(encoding="utf-8")
    assert "_seen_at" not in text, text
    users = _load(text)["users"]
    assert users[0]["companies"] == [{"id": "acme", "attributes": {"name": "A"}}]
    assert users[1]["memberships"] == [
        {"company": {"id": "globex"}, "attributes": {"role": "admin"}}
    ]
    assert users[2]["companies"] == [{"id": "initech"}]
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0
    everything = ("import", "--target", "prod", "--all", "--include-system")
    assert text.count("_seen_at") < run(*everything, cwd=repo, env=KEYS).stdout.count("_seen_at")
