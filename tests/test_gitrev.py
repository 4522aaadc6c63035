"""gitrev: --changed-since against real (small) git repositories built in tmp_path."""

from __future__ import annotations

import subprocess
import tracemalloc
from collections.abc import Mapping
from pathlib import Path

import pytest

from reconciler.errors import ConfigError
from reconciler.load import confine
from reconciler.load.changed_users import ChangedUsers
from reconciler.load.config import load_config
from reconciler.load.declarations import Declarations, load_declarations
from reconciler.load.gitrev import Revision, changed_since, open_revision
from reconciler.load.sources import find_files, reader
from tests.gitrepo import GitRepo, isolate_git, requires_git

pytestmark = requires_git

CONFIG = """\
targets:
  production:
    provider: sprig
    api_key_env: SPRIG_API_KEY
  local:
    provider: sandbox
"""

CUSTOMERS = """\
defaults:
  attributes: {customer: true, plan: free}
users:
  - id: "1"
  - id: "2"
    attributes: {seats: 3}
  - id: "3"
    attributes: {plan: pro}
"""

STAFF = """\
users:
  - id: "10"
    email: ten@example.com
  - id: "11"
    targets: [local]
"""


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(tmp_path, monkeypatch)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A repository whose first commit holds CONFIG, CUSTOMERS and STAFF; the current folder."""
    git_repo = GitRepo(tmp_path / "repo")
    git_repo.commit(
        {"reconciler.yaml": CONFIG, "users/customers.yaml": CUSTOMERS, "users/staff.yaml": STAFF}
    )
    monkeypatch.chdir(git_repo.top)
    return git_repo


def changes_in(folder: Path, rev: str = "HEAD~1", environ: Mapping[str, str] = {}) -> ChangedUsers:
    config = load_config(folder / "reconciler.yaml", environ)

    def load(unchanged: frozenset[Path]) -> Declarations:
        return load_declarations(config, summarise=unchanged)

    return changed_since(config, load, rev, environ)[1]


def changed(changes: ChangedUsers) -> dict[str, list[str]]:
    return {target: sorted(ids) for target, ids in changes.changed.items()}


def test_edit_add_and_remove(repo: GitRepo) -> None:
    repo.commit(
        {
            "users/customers.yaml": CUSTOMERS.replace("seats: 3", "seats: 4"),
            "users/staff.yaml": STAFF.replace('  - id: "10"\n    email: ten@example.com\n', "")
            + '  - id: "12"\n',
        }
    )
    changes = changes_in(repo.top)
    assert changed(changes) == {"local": ["12", "2"], "production": ["12", "2"]}
    assert changes.removed == ("10",)
    assert changes.left_alone == {"local": ("10",), "production": ("10",)}
    assert changes.full_targets == frozenset()
    assert changes.rev == "HEAD~1"
    assert changes.commit == repo.git("rev-parse", "HEAD~1").strip()
    assert changes.warnings == ()


def test_defaults_change_marks_the_users_that_inherit_it(repo: GitRepo) -> None:
    repo.commit({"users/customers.yaml": CUSTOMERS.replace("plan: free", "plan: team")})
    changes = changes_in(repo.top)
    # "3" declares its own plan: its effective declaration did not change.
    assert changed(changes) == {"local": ["1", "2"], "production": ["1", "2"]}


def test_targets_list_change(repo: GitRepo) -> None:
    repo.commit({"users/staff.yaml": STAFF.replace("targets: [local]", "targets: [production]")})
    changes = changes_in(repo.top)
    assert changed(changes) == {"local": [], "production": ["11"]}
    assert changes.left_alone == {"local": ("11",), "production": ()}
    assert changes.removed == ()


def test_moving_users_between_files_is_no_change(repo: GitRepo) -> None:
    moved = STAFF + '  - id: "3"\n    attributes: {customer: true, plan: pro}\n'
    repo.commit(
        {
            "users/customers.yaml": CUSTOMERS.replace(
                '  - id: "3"\n    attributes: {plan: pro}\n', ""
            ),
            "users/staff.yaml": moved,
        }
    )
    repo.commit({"users/staff.yaml": None, "users/team/staff.yml": moved})
    changes = changes_in(repo.top, "HEAD~2")
    assert changed(changes) == {"local": [], "production": []}
    assert changes.removed == ()


def test_reordering_and_comments_are_no_change(repo: GitRepo) -> None:
    reordered = 'users:\n  - id: "11"\n    targets: [local]\n  # staff\n  - id: "10"\n'
    repo.commit({"users/staff.yaml": reordered + "    email: ten@example.com\n"})
    changes = changes_in(repo.top)
    assert changed(changes) == {"local": [], "production": []}
    assert changes.removed == ()


def test_the_same_loader_reads_a_revision_like_the_disk(repo: GitRepo) -> None:
    config = load_config(repo.top / "reconciler.yaml", {})
    with open_revision(repo.top, "HEAD", {}) as revision:
        assert load_config(config.path, {}, read=revision.read_bytes) == config
        assert load_declarations(config, tree=revision) == load_declarations(config)


def test_invalid_config_at_the_revision_plans_everything(repo: GitRepo) -> None:
    repo.commit(
        {"reconciler.yaml": CONFIG.replace("provider: sandbox", "provider: sandbox\n    pth: x")}
    )
    repo.commit({"reconciler.yaml": CONFIG})
    changes = changes_in(repo.top)
    assert changes.full_targets == {"local", "production"}
    (warning,) = changes.warnings
    assert warning.startswith(
        "reconciler.yaml at HEAD~1 does not validate (1 problem found; first:"
    )
    assert warning.endswith(": planning every user")


def test_a_changed_target_is_planned_in_full(repo: GitRepo) -> None:
    repo.commit(
        {
            "reconciler.yaml": CONFIG.replace(
                "provider: sandbox", "provider: sandbox\n    path: other.db"
            )
        }
    )
    changes = changes_in(repo.top)
    assert changes.full_targets == {"local"}
    assert changes.users_for("local") is None
    assert changes.users_for("production") == frozenset()


def test_uncommitted_and_untracked_files_are_the_new_side(repo: GitRepo) -> None:
    repo.write(
        {
            "users/customers.yaml": CUSTOMERS.replace("plan: pro", "plan: team"),
            "users/new.yaml": 'users:\n  - id: "20"\n',
        }
    )
    changes = changes_in(repo.top, "HEAD")
    assert changed(changes) == {"local": ["20", "3"], "production": ["20", "3"]}


def test_config_in_a_subfolder_of_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit(
        {
            "README.md": "top\n",
            "ops/users/reconciler.yaml": CONFIG.replace("users/", "people/"),
            "ops/users/users/customers.yaml": CUSTOMERS,
        }
    )
    repo.commit({"ops/users/users/customers.yaml": CUSTOMERS.replace("seats: 3", "seats: 5")})
    monkeypatch.chdir(tmp_path)
    changes = changes_in(repo.top / "ops" / "users")
    assert changed(changes) == {"local": ["2"], "production": ["2"]}


def test_sources_expand_alike_on_disk_and_at_a_revision(repo: GitRepo) -> None:
    sources = [
        "users/",
        "users/*.yaml",
        "**/*.yml",
        "users/**",
        "users/team/",
        "users/staff.yaml",
        "notes.txt",
        "*/t*/",
        "missing/",
    ]
    repo.commit(
        {
            "users/team/a.yml": 'users:\n  - id: "30"\n',
            "users/.hidden/b.yaml": 'users:\n  - id: "31"\n',
            "users/.c.yaml": 'users:\n  - id: "32"\n',
            "users/readme.md": "not yaml\n",
            "notes.txt": "users: []\n",
        }
    )
    listed = "\n".join(f"  - {source!r}" for source in sources)
    repo.commit({"reconciler.yaml": CONFIG + f"users:\n{listed}\n"})
    config = load_config(repo.top / "reconciler.yaml", {})
    with open_revision(repo.top, "HEAD", {}) as revision:
        at_revision = find_files(config, tree=revision)
    assert at_revision == find_files(config)
    # "notes.txt" is not YAML and "missing/" matches nothing, in both
    assert [problem.field for problem in at_revision[1]] == ["users[6]", "users[8]"]


def test_reconciler_yaml_missing_at_the_revision_plans_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "repo")
    monkeypatch.chdir(repo.top)
    repo.commit({"README.md": "top\n"})
    repo.commit({"reconciler.yaml": CONFIG, "users/customers.yaml": CUSTOMERS})
    changes = changes_in(repo.top)
    assert changes.full_targets == {"local", "production"}
    assert changes.warnings == ("reconciler.yaml did not exist at HEAD~1: planning every user",)


def test_invalid_declarations_at_the_revision_plan_everything(repo: GitRepo) -> None:
    repo.commit({"users/staff.yaml": STAFF + "    atributes: {}\n"})
    repo.commit({"users/staff.yaml": STAFF})
    changes = changes_in(repo.top)
    assert changes.full_targets == {"local", "production"}
    (warning,) = changes.warnings
    assert warning.startswith("the declarations at HEAD~1 do not validate (1 problem found; first:")
    assert "unknown key 'atributes'" in warning


def test_not_a_git_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(ConfigError, match=r"^not a git repository \(--changed-since needs one\): "):
        open_revision(tmp_path / "plain", "HEAD", {})


@pytest.mark.parametrize(
    ("environ", "hint"),
    [
        ({}, False),
        ({"GITHUB_ACTIONS": "true"}, True),
    ],
)
def test_unknown_revision(repo: GitRepo, environ: dict[str, str], hint: bool) -> None:
    with pytest.raises(ConfigError) as raised:
        open_revision(repo.top, "nope", environ)
    message = str(raised.value)
    assert message.startswith("unknown revision 'nope'")
    assert ("actions/checkout fetches one commit by default: set fetch-depth: 0" in message) == hint


def test_options_are_not_revisions(repo: GitRepo) -> None:
    with pytest.raises(ConfigError, match="unknown revision '--output=x'"):
        open_revision(repo.top, "--output=x", {})


def test_a_tree_is_not_a_commit(repo: GitRepo) -> None:
    with pytest.raises(ConfigError, match="is not a commit"):
        open_revision(repo.top, "HEAD^{tree}", {})


def test_shallow_clone_missing_the_revision(repo: GitRepo, tmp_path: Path) -> None:
    repo.commit({"users/staff.yaml": STAFF.replace("ten@", "10@")})
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.top}", str(clone)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(ConfigError) as raised:
        open_revision(clone, "HEAD~1", {"GITHUB_ACTIONS": "true"})
    assert str(raised.value) == (
        "this is a shallow clone: 'HEAD~1' is not in it; fetch more history "
        "(actions/checkout: fetch-depth: 0)"
    )


def test_git_not_installed(repo: GitRepo) -> None:
    # git runs in the run's environment (its runtime's), not the process's: its PATH is asked.
    with pytest.raises(ConfigError, match="needs git, which is not installed"):
        open_revision(repo.top, "HEAD", {"PATH": str(repo.top / "no-bin")})


def test_revision_reads_files_and_refuses_absent_ones(repo: GitRepo) -> None:
    repo.commit({"users/staff.yaml": None})
    with open_revision(repo.top, "HEAD~1", {}) as revision:
        assert revision.read_bytes(repo.top / "users" / "staff.yaml") == STAFF.encode()
        assert revision.read_bytes(repo.top / "reconciler.yaml") == CONFIG.encode()
        with pytest.raises(FileNotFoundError):
            revision.read_bytes(repo.top / "users" / "nope.yaml")
        assert revision.files_below(repo.top.parent) == []  # outside the repository
    assert isinstance(revision, Revision)


def test_the_issue_scenario_in_small(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """200 users in 20 files; the last commit edits 2, removes 1, changes the defaults 5 inherit:
    exactly the 7 changed users still declared are planned."""
    repo = GitRepo(tmp_path / "repo")
    files = {f"users/team{n:02}.yaml": _team(n, "free") for n in range(20)}
    repo.commit({"reconciler.yaml": CONFIG, **files})
    edited = files["users/team03.yaml"].replace("{seats: 31}", "{seats: 99}")
    edited = edited.replace("{seats: 32}", "{seats: 98}")
    edited = edited.replace('  - id: "u033"\n    attributes: {seats: 33}\n', "")
    repo.commit({"users/team03.yaml": edited, "users/team07.yaml": _team(7, "pro")})
    monkeypatch.chdir(repo.top)
    changes = changes_in(repo.top)
    expected = ["u031", "u032", "u070", "u071", "u072", "u073", "u074"]
    assert changed(changes) == {"local": expected, "production": expected}
    assert changes.removed == ("u033",)


def _team(number: int, plan: str) -> str:
    """Ten users; the last five declare their own plan (they do not inherit the default)."""
    lines = [f"defaults:\n  attributes: {{plan: {plan}}}\nusers:\n"]
    for index in range(10):
        own = ", plan: own" if index >= 5 else ""
        seats = number * 10 + index
        lines.append(f'  - id: "u{number:02}{index}"\n    attributes: {{seats: {seats}{own}}}\n')
    return "".join(lines)


def test_a_blob_beyond_the_limit_is_skipped_not_held(repo: GitRepo) -> None:
    """Review finding: the blob was read whole before its size was checked. A 24 MiB file at
    the revision is refused without the reader ever holding it; the next read still works."""
    big = repo.top / "users" / "big.yaml"
    with big.open("wb") as file:
        file.write(b"# " + b"x" * (24 * 1024 * 1024) + b"\n")
    repo.git("add", "--all")
    repo.git("commit", "-q", "-m", "big")
    with open_revision(repo.top, "HEAD", {}) as revision:
        tracemalloc.start()
        try:
            with pytest.raises(confine.TooLarge, match="larger than 8,388,608 bytes"):
                revision.read_bytes(big)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < confine.MAX_FILE_BYTES // 4, peak
        assert revision.read_bytes(repo.top / "users" / "staff.yaml") == STAFF.encode()


def test_the_config_at_a_revision_has_the_config_limit(repo: GitRepo) -> None:
    """Review finding: reconciler.yaml at the revision was allowed 8 MiB, not the 1 MiB the
    working tree's gets."""
    padded = CONFIG + "# " + "x" * (2 * 1024 * 1024) + "\n"
    repo.commit({"reconciler.yaml": padded})
    repo.commit({"reconciler.yaml": CONFIG})
    changes = changes_in(repo.top)
    assert any("larger than 1,048,576 bytes" in warning for warning in changes.warnings), changes
    assert changes.changed is None or changed(changes) == {}


def test_re_reads_are_bounded_like_the_first_read(repo: GitRepo) -> None:
    """Review finding: sources.reader (positions of cross-file problems) and
    Revision.unchanged_on_disk read files again without the size limit."""
    big = repo.top / "users" / "big.yaml"
    with big.open("wb") as file:
        file.write(b"# " + b"x" * (9 * 1024 * 1024) + b"\n")
    repo.git("add", "--all")
    repo.git("commit", "-q", "-m", "big")
    with pytest.raises(confine.TooLarge):
        reader(None)(big)
    with pytest.raises(confine.TooLarge):
        reader(None, confine.MAX_CONFIG_BYTES)(big)
    with open_revision(repo.top, "HEAD", {}) as revision:
        assert big in revision.files_below(repo.top / "users")
        assert not revision.unchanged_on_disk(big)  # not read whole to say "unchanged"
        assert revision.unchanged_on_disk(repo.top / "users" / "staff.yaml")
        with pytest.raises(confine.TooLarge):
            reader(revision, confine.MAX_CONFIG_BYTES)(repo.top / "users" / "big.yaml")
