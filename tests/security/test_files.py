"""A pull request cannot make reconciler read a file outside its repository, nor print one.

Each test commits what a pull request could (a ``users:`` entry, a symlink, a file name) and
runs validate and plan in every format with secrets in the environment.
"""

from __future__ import annotations

import json

import pytest

from tests.gitrepo import GitRepo, isolate_git, requires_git
from tests.security.attacker import OUTSIDE_TEXT, Attacker, assert_nothing_leaked

USER = """\
users:
  - id: "1"
    email: one@example.com
"""


def _config(users: str) -> str:
    return f"targets:\n  local:\n    provider: sandbox\nusers: {users}\n"


@pytest.mark.parametrize(
    ("users", "written"),
    [
        ("[{outside}/token.yaml]", "{outside}/token.yaml"),
        ('["../outside/token.yaml"]', "../outside/token.yaml"),
        ('["../outside/*.yaml"]', "../outside/*.yaml"),
        ('["../outside/"]', "../outside/"),
        ('["users/../../outside/users.yaml"]', "users/../../outside/users.yaml"),
        ('["${HOME}/.netrc"]', "${HOME}"),  # never expanded (issue 23.4)
        ('"~/.netrc"', "~/.netrc"),
    ],
)
def test_a_users_entry_outside_the_repository_is_a_located_error(
    attacker: Attacker, users: str, written: str
) -> None:
    users = users.replace("{outside}", str(attacker.outside))
    written = written.replace("{outside}", str(attacker.outside))
    attacker.write({"users/a.yaml": USER}, config=_config(users))
    outcomes = attacker.run_all_formats("validate") + attacker.run_all_formats("plan")
    assert_nothing_leaked(outcomes)
    for outcome in outcomes:
        assert outcome.code == 1, outcome
    text = outcomes[0].stderr
    assert "reconciler.yaml:4:" in text  # located at the users: entry
    assert repr(written) in text or f"{written} is not expanded" in text  # as written
    assert any(why in text for why in ("outside the folder", "absolute path", "never read"))


def test_a_symlink_in_users_leading_outside_is_refused_and_not_read(attacker: Attacker) -> None:
    attacker.write({"users/a.yaml": USER})
    attacker.symlink("users/token.yaml", attacker.outside / "token.yaml")
    attacker.symlink("users/list.yml", "../../outside/list.yaml")
    attacker.symlink("users/private", attacker.outside)  # a folder: never entered
    outcomes = attacker.run_all_formats("validate") + attacker.run_all_formats("plan")
    assert_nothing_leaked(outcomes)
    assert all(outcome.code == 1 for outcome in outcomes)
    text = outcomes[0].stderr
    assert "users/token.yaml: not read: it resolves outside the folder" in text
    assert "users/list.yml: not read" in text
    assert "users/private" not in text  # not entered, so nothing to say


def test_a_glob_does_not_follow_a_symlink_out(attacker: Attacker) -> None:
    attacker.write({"users/a.yaml": USER}, config=_config('["**/*.yaml"]'))
    attacker.symlink("more", attacker.outside)
    outcomes = attacker.run_all_formats("validate")
    assert_nothing_leaked(outcomes)
    for outcome in outcomes:  # the folder is not entered: not even a name from there is shown
        assert "token.yaml" not in outcome.stdout + outcome.stderr, outcome


def test_a_glob_does_not_go_round_a_symlink_to_its_own_folder(attacker: Attacker) -> None:
    """``users/loop -> .`` and ``users/**/*.yaml``: glob.glob followed it until the OS refused
    the depth, reading one file dozens of times (two such links: never ending)."""
    attacker.write({"users/a.yaml": USER}, config=_config('["users/**/*.yaml"]'))
    attacker.symlink("users/loop", ".")
    attacker.symlink("users/again", ".")
    outcome = attacker.run("validate", "--format", "json")
    assert outcome.code == 0, outcome
    assert "loop" not in outcome.stdout + outcome.stderr


def test_a_symlink_inside_the_repository_is_followed(attacker: Attacker) -> None:
    attacker.write({"shared/a.yaml": USER})
    attacker.symlink("users/a.yaml", "../shared/a.yaml")
    outcome = attacker.run("validate")
    assert (outcome.code, outcome.stdout) == (0, "Valid: 1 users in 1 file, 1 target.\n")


def test_a_symlinked_reconciler_yaml_leading_outside_is_refused(attacker: Attacker) -> None:
    attacker.symlink("reconciler.yaml", attacker.outside / "token.yaml")
    outcomes = attacker.run_all_formats("validate") + attacker.run_all_formats("plan")
    assert_nothing_leaked(outcomes)
    assert all(outcome.code == 1 for outcome in outcomes)
    assert "reconciler.yaml resolves outside the folder" in outcomes[0].stderr


@pytest.mark.parametrize("name", ["token.txt", "id_rsa"])
def test_a_named_file_must_be_yaml(attacker: Attacker, name: str) -> None:
    (attacker.root / name).write_text(f"{OUTSIDE_TEXT}\n")
    attacker.write({}, config=_config(f'["{name}"]'))
    outcomes = attacker.run_all_formats("validate")
    assert_nothing_leaked(outcomes)
    assert "names a file that is not YAML" in outcomes[0].stderr


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (f"{OUTSIDE_TEXT}\n", "a string"),
        ("4711471147114711\n", "a number"),
        (f"- {OUTSIDE_TEXT}\n", "a list"),
        (f"--- |\n  {OUTSIDE_TEXT}\n  more\n", "a string"),
    ],
)
def test_a_file_that_is_no_mapping_is_described_never_echoed(
    attacker: Attacker, content: str, kind: str
) -> None:
    attacker.write({"users/token.yaml": content})
    outcomes = attacker.run_all_formats("validate")
    assert_nothing_leaked(outcomes, "4711471147114711")
    assert f"the file must hold a mapping (key: value lines), found {kind}" in outcomes[0].stderr


def test_validate_files_outside_the_repository_are_skipped_unread(attacker: Attacker) -> None:
    attacker.write({"users/a.yaml": USER})
    outside = str(attacker.outside / "users.yaml")
    outcomes = attacker.run_all_formats("validate", outside, "../outside/token.yaml")
    assert_nothing_leaked(outcomes)
    assert all(outcome.code == 0 for outcome in outcomes)
    assert "Skipped ../outside/token.yaml: not a declaration file" in outcomes[0].stderr


def test_a_huge_file_is_refused_before_parsing(attacker: Attacker) -> None:
    attacker.write({})
    big = attacker.root / "users" / "big.yaml"
    big.parent.mkdir(exist_ok=True)
    with big.open("w") as file:
        file.write("users:\n")
        file.writelines(f'  - id: "{i}"\n' for i in range(800_000))
    outcomes = attacker.run_all_formats("validate")
    assert_nothing_leaked(outcomes)
    assert "users/big.yaml: cannot read: the file is larger than 8,388,608 bytes" in (
        outcomes[0].stderr
    )


def test_long_declared_values_are_cut_in_messages(attacker: Attacker) -> None:
    long_key, long_id = "k" * 1000, "i" * 5000
    users = f'users:\n  - id: "{long_id}"\n  - id: "{long_id}"\n  - id: "2"\n    {long_key}: 1\n'
    attacker.write({"users/a.yaml": users})
    outcomes = attacker.run_all_formats("validate")
    assert_nothing_leaked(outcomes, long_key[:100], long_id[:100])
    assert "unknown key 'kkkkkkkk" in outcomes[0].stderr
    assert "duplicate id 'iiiiiiii" in outcomes[0].stderr
    assert max(len(line) for line in outcomes[0].stderr.splitlines()) < 300


@requires_git
def test_changed_since_confines_the_revision_too(
    attacker: Attacker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At the base revision, users: led out of the config's folder (into the repository's
    top): that side is refused like the working tree's, never read."""
    isolate_git(attacker.home, monkeypatch)  # the machine's git config changes nothing here
    config_dir = attacker.root / "infra"
    (attacker.root / "private.yaml").write_text(f"{OUTSIDE_TEXT}\n")
    attacker.write({"infra/users/a.yaml": USER}, config="")
    (config_dir / "reconciler.yaml").write_text(_config('["../private.yaml"]'))
    repo = GitRepo(attacker.root)
    repo.git("add", "--all")
    repo.git("commit", "-q", "-m", "base")
    (config_dir / "reconciler.yaml").write_text(_config('["users/"]'))
    outcomes = [
        attacker.run(
            "plan", "--format", fmt, "--config", "infra/reconciler.yaml", "--changed-since", "HEAD"
        )
        for fmt in ("text", "markdown", "json")
    ]
    assert_nothing_leaked(outcomes)
    for outcome in outcomes:
        assert outcome.code == 0, outcome
    assert "resolves outside the folder" in outcomes[0].output
    assert "planning every user" in outcomes[0].output


def test_at_most_200_problems_are_printed_in_every_format(attacker: Attacker) -> None:
    users = "users:\n" + "".join(f'  - id: "{i}"\n    bad: 1\n' for i in range(250))
    attacker.write({"users/a.yaml": users})
    text, github, json_output = attacker.run_all_formats("validate")
    assert_nothing_leaked([text, github, json_output])
    assert text.stderr.count("unknown key 'bad'") == 200
    assert "... and 50 more problems not shown" in text.stderr
    assert github.stdout.count("::error ") == 200
    assert "... and 50 more problems not shown" in github.stdout
    document = json.loads(json_output.stdout)
    assert (len(document["problems"]), document["problems_not_shown"]) == (200, 50)


@pytest.mark.parametrize("config", ["infra/token.yaml", "infra/../infra/users.yaml"])
def test_a_config_folder_committed_as_a_symlink_out_is_refused(
    attacker: Attacker, config: str
) -> None:
    """The workflow says ``--config infra/FILE``; the pull request makes ``infra`` a symlink to a
    folder outside the checkout: nothing there is read (not even to say it is no mapping)."""
    attacker.symlink("infra", attacker.outside)
    outcomes = attacker.run_all_formats("validate", "--config", config)
    outcomes += attacker.run_all_formats("plan", "--config", config)
    assert_nothing_leaked(outcomes)
    for outcome in outcomes:
        assert outcome.code == 1, outcome
        assert "leads out of the current folder through a symlink" in outcome.stderr, outcome
        assert "mapping" not in outcome.stderr


def test_a_config_outside_the_current_folder_stays_the_workflows_choice(
    attacker: Attacker,
) -> None:
    """``--config ../repo/reconciler.yaml`` is written by the workflow, not committed: it is
    followed."""
    attacker.write({"users/a.yaml": USER})
    outcome = attacker.run("validate", "--config", f"../{attacker.root.name}/reconciler.yaml")
    assert outcome.code == 0, outcome
