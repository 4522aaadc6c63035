"""Usertour over HTTP against the emulator: companies, memberships, dropped values, auth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Run
from tests.e2e.emulator import StartEmulator
from tests.e2e.http_repo import KEYS, methods, seed, write_repo


def test_loop_with_companies_and_memberships_ends_clean(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    users = [
        {
            "id": f"u{i}",
            "email": f"u{i}@example.com",
            "attributes": {"plan": "pro", "seats": i, "score": 1.5, "tags": ["a", "b"]},
            "companies": [{"id": "acme", "attributes": {"name": "Acme Inc", "size": 10}}],
        }
        for i in range(5)
    ]
    users.append(
        {
            "id": "m1",
            "memberships": [
                {
                    "company": {"id": "globex", "attributes": {"name": "Globex"}},
                    "attributes": {"role": "admin"},
                }
            ],
        }
    )
    repo = write_repo(tmp_path, running, "usertour", users)
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 2, planned.stderr
    assert "Plan: 6 to create, 0 to update, 0 unchanged." in planned.stdout
    assert set(methods(running)) == {"GET"}
    assert {r.auth for r in running.requests} == {"Bearer"}
    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    running.clear_requests()
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0
    assert run("apply", "--yes", cwd=repo, env=KEYS).code == 0
    assert "POST" not in methods(running)


def test_null_deletes_and_unmanaged_attributes_stay(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    seed(running, "usertour", [{"id": "u1", "attributes": {"legacy": "x", "mine": "keep"}}])
    repo = write_repo(tmp_path, running, "usertour", [{"id": "u1", "attributes": {"legacy": None}}])
    planned = run("plan", cwd=repo, env=KEYS)
    assert '- attributes.legacy (was "x")' in planned.stdout
    assert "mine" not in planned.stdout and "first_seen_at" not in planned.stdout
    assert run("apply", "--yes", cwd=repo, env=KEYS).code == 0
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_a_value_the_target_drops_is_reported(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    # "seats" is locked to number by its first value; a string is then silently dropped.
    seed(running, "usertour", [{"id": "other", "attributes": {"seats": 3}}])
    repo = write_repo(tmp_path, running, "usertour", [{"id": "u1", "attributes": {"seats": "ten"}}])
    result = run("apply", "--yes", cwd=repo, env=KEYS)
    assert result.code == 1
    assert "user u1 on prod: the target did not keep these values:" in result.stdout
    assert "attributes.seats" in result.stdout
    # Issue 13 bug 5: why, and what to do.
    assert "Usertour keeps the first type it saw for an attribute name" in result.stdout
    assert "declare these with the type the environment already holds" in result.stdout


def test_plan_predicts_the_values_usertour_would_drop(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 13 bug 5: the live values read show each name's type in the environment."""
    running = emulator()
    seed(running, "usertour", [{"id": "u1", "attributes": {"seats": 3, "phone": "+47 1"}}])
    users = [
        {"id": "u1", "attributes": {"seats": 3, "phone": 47}},
        {"id": "u2", "attributes": {"seats": "2", "at": "2024-03-20T08:30:00Z"}},
    ]
    repo = write_repo(tmp_path, running, "usertour", users)
    (repo / "reconciler.yaml").write_text(
        (repo / "reconciler.yaml").read_text() + "sensitive: [phone]\n"
    )
    planned = run("plan", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stderr
    assert (
        "  ! user u2: attributes.seats is a number in this Usertour environment; the server "
        'would drop text "2" (it keeps the first type it saw for a name): declare a number, '
        "or use another attribute name" in planned.stdout
    )
    assert (
        "  ! user u1: attributes.phone is text in this Usertour environment; the server would "
        "drop a number (it keeps" in planned.stdout
    )
    assert "47" not in planned.stdout.replace("+47", "")  # sensitive: the value is not shown
    assert "attributes.at is" not in planned.stdout
    # Two users, then the definitions: "at" is a name no user read shows.
    paths = [r.path.split("?")[0] for r in running.requests]
    assert sorted(paths[:2]) == ["/v1/users/u1", "/v1/users/u2"]
    assert paths[2:] == ["/v1/attribute-definitions"]


def test_a_plan_of_new_users_alone_forecasts_drops_from_the_definitions(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 22.5: ``plan --user NEW`` reads no live user that shows ``seats``' type; the
    environment's attribute definitions do, and the built-in ``name`` is text from the start."""
    running = emulator()
    seed(
        running,
        "usertour",
        [{"id": "old", "attributes": {"seats": 3},
          "memberships": [{"company": {"id": "acme", "attributes": {"size": 5}}}]}],
    )  # fmt: skip
    users = [
        {"id": "old", "attributes": {"seats": 3}},
        {"id": "new", "attributes": {"seats": "thirty", "name": 5, "fresh": "x"},
         "memberships": [{"company": {"id": "beta", "attributes": {"size": "big"}}}]},
    ]  # fmt: skip
    repo = write_repo(tmp_path, running, "usertour", users)
    planned = run("plan", "--user", "new", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stderr
    out = planned.stdout
    assert "! user new: attributes.seats is a number in this Usertour environment" in out
    assert "! user new: attributes.name is text in this Usertour environment" in out
    assert "memberships.beta.company.size is a number in this Usertour environment" in out
    assert "attributes.fresh is" not in out
    paths = [r.path.split("?")[0] for r in running.requests]
    assert paths == ["/v1/users/new", "/v1/attribute-definitions"]
    running.clear_requests()
    unchanged = run("plan", "--user", "old", cwd=repo, env=KEYS)
    assert unchanged.code == 0, unchanged.stderr
    # Nothing to send: no definitions needed.
    assert [r.path.split("?")[0] for r in running.requests] == ["/v1/users/old"]


def test_unknown_key_is_403_in_vendor_words(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    running = emulator()
    repo = write_repo(tmp_path, running, "usertour", [{"id": "u1"}])
    result = run("plan", cwd=repo, env={"USERTOUR_API_KEY": "ak_wrong_secret"})
    assert result.code == 1
    assert "rejected the API key from $USERTOUR_API_KEY (403 E1000" in result.stderr
    assert "ak_wrong_secret" not in result.stdout + result.stderr


COMPANIES = {"companies": [{"id": "acme", "attributes": {"name": "Acme Inc"}}]}
MEMBERSHIPS = {
    "memberships": [
        {"company": {"id": "globex", "attributes": {"name": "Globex"}}, "attributes": {"r": 1}}
    ]
}


@pytest.mark.parametrize("relations", [COMPANIES, MEMBERSHIPS], ids=["companies", "memberships"])
def test_updating_a_user_with_companies_or_memberships_verifies(
    run: Run, emulator: StartEmulator, tmp_path: Path, relations: dict[str, Any]
) -> None:
    """Issue 13 bug 1: the upsert's answer has ``companies: null`` (the real server never
    expands it); changing one attribute must not report the declared companies as not kept."""
    running = emulator()
    user = {"id": "u1", "attributes": {"plan": "pro"}, **relations}
    repo = write_repo(tmp_path, running, "usertour", [user])
    assert run("apply", "--yes", cwd=repo, env=KEYS).code == 0
    user["attributes"] = {"plan": "enterprise"}
    write_repo(tmp_path, running, "usertour", [user])
    running.clear_requests()
    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    posts = [r for r in running.requests if r.method == "POST"]
    assert [p.json() for p in posts] == [{"id": "u1", "attributes": {"plan": "enterprise"}}]
    assert posts[0].status == 201
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_dot_ids_are_one_encoded_segment(run: Run, emulator: StartEmulator, tmp_path: Path) -> None:
    """Issue 13 bug 2: ``GET /v1/users/.`` reached the list endpoint and aborted the plan."""
    running = emulator()
    repo = write_repo(tmp_path, running, "usertour", [{"id": "."}, {"id": ".."}])
    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    paths = {r.path.split("?")[0] for r in running.requests if r.method == "GET"}
    assert paths == {"/v1/users/%2E", "/v1/users/%2E%2E"}
    assert run("plan", "--detailed-exitcode", cwd=repo, env=KEYS).code == 0


def test_a_wrong_base_url_path_is_an_error_not_absent_users(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 13 bug 3: only ``404 E1001`` is a missing user; the server's ``Cannot GET`` 404
    (a route it does not have) names the URL instead of planning every user as new."""
    running = emulator()
    repo = write_repo(tmp_path, running, "usertour", [{"id": "u1"}, {"id": "u2"}])
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text().replace(running.url, f"{running.url}/v1"))
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 1, planned.stdout
    assert f"GET {running.url}/v1/v1/users/u" in planned.stderr
    assert "Cannot GET /v1/v1/users/u" in planned.stderr and "check base_url" in planned.stderr
    assert KEYS["USERTOUR_API_KEY"] not in planned.stdout + planned.stderr
    assert run("apply", "--yes", cwd=repo, env=KEYS).code == 1
    listed = run("import", "--target", "prod", "--all", cwd=repo, env=KEYS)
    assert listed.code == 1
    assert f"GET {running.url}/v1/v1/users answered 404 Cannot GET" in listed.stderr
    assert "check base_url" in listed.stderr
    assert "POST" not in methods(running)


def test_a_wrong_route_names_base_url_as_written_not_its_variables_value(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """The route error quotes ``${USERTOUR_URL}`` as written, never the value it expands to."""
    running = emulator()
    repo = write_repo(tmp_path, running, "usertour", [{"id": "u1"}])
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text().replace(running.url, "${USERTOUR_URL}"))
    hidden = f"{running.url}/v1"
    planned = run("plan", cwd=repo, env={**KEYS, "USERTOUR_URL": hidden})
    assert planned.code == 1, planned.stdout + planned.stderr
    assert "check base_url" in planned.stderr and "${USERTOUR_URL}" in planned.stderr
    assert hidden not in planned.stdout + planned.stderr


def test_validate_warns_of_one_name_with_two_types(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 13 bug 5: allowed (exit 0, nothing sent), but Usertour would drop one of them."""
    running = emulator()
    users = [{"id": "u1", "attributes": {"seats": 3}}, {"id": "u2", "attributes": {"seats": "2"}}]
    repo = write_repo(tmp_path, running, "usertour", users)
    result = run("validate", cwd=repo, env=KEYS)
    assert result.code == 0
    assert result.stderr.startswith(
        "users/all.yaml:12:5: users[1].attributes.seats: warning: attribute 'seats' is declared "
        "as text here and as a number at users/all.yaml:6:5; target prod (usertour) keeps the "
        "first type it sees for a name and drops values of another type: declare one type\n"
    ), result.stderr
    github = run("validate", "--format", "github", cwd=repo, env=KEYS)
    assert github.stdout.startswith("::warning file=users/all.yaml,line=12,col=5,"), github.stdout
    assert running.requests == []


def test_numbers_usertour_rounds_are_compared_at_its_precision(
    run: Run, emulator: StartEmulator, tmp_path: Path
) -> None:
    """Issue 22.3: the real server keeps 16 significant digits (256.35699999999997 comes back
    256.357): apply does not blame type locking, and the next plan shows no drift."""
    running = emulator()
    users = [
        {"id": "u1", "attributes": {"ratio": 256.35699999999997, "share": 0.30000000000000004},
         "memberships": [{"company": {"id": "acme", "attributes": {"p": 1.0000000000000002}}}]},
    ]  # fmt: skip
    repo = write_repo(tmp_path, running, "usertour", users)
    validated = run("validate", cwd=repo, env=KEYS)
    assert validated.code == 0 and validated.stderr.count("significant digits") == 3
    applied = run("apply", "--yes", cwd=repo, env=KEYS)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert "first type" not in applied.stdout + applied.stderr
    posts = [r.json() for r in running.requests if r.method == "POST"]
    assert posts[0]["attributes"] == {"ratio": 256.357, "share": 0.3}  # as the target keeps
    assert posts[0]["memberships"][0]["company"]["attributes"] == {"p": 1}
    planned = run("plan", "--detailed-exitcode", cwd=repo, env=KEYS)
    assert planned.code == 0, planned.stdout + planned.stderr
