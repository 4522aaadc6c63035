"""reconciler.yaml -> Config: defaults, ${VAR}, provider rules, located problems."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ALL_KINDS_CONFIG, WriteRepo

from reconciler.errors import ConfigError, Problem, ValidationError
from reconciler.load.config import DEFAULT_MAX_CHANGES, Config, load_config
from reconciler.settings import DEFAULT_PARALLELISM


def problems_of(config_path: Path, environ: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ValidationError) as raised:
        load_config(config_path, environ or {})
    return raised.value.problems


def test_a_complete_config(repo: WriteRepo, tmp_path: Path) -> None:
    path = repo(
        config="""\
        targets:
          production:
            provider: sprig
            base_url: https://api.sprig.com
            api_key_env: SPRIG_API_KEY
            parallelism: 4
            rate_limit: 20
          onboarding:
            provider: usertour
            api_key_env: USERTOUR_API_KEY
          local:
            provider: sandbox
            path: state/sandbox.db
        users: [users/, extra/*.yaml]
        safety: {max_changes: 200, max_change_ratio: 0.25, max_deletes: 0}
        sensitive: [email, phone]
        """
    )
    config = load_config(path, {})
    assert isinstance(config, Config)
    assert config.path == path.absolute()
    assert config.root == tmp_path
    assert list(config.targets) == ["local", "onboarding", "production"]
    production = config.targets["production"]
    assert production.provider == "sprig"
    assert production.base_url == "https://api.sprig.com"
    assert production.api_key_env == "SPRIG_API_KEY"
    assert (production.parallelism, production.rate_limit) == (4, 20.0)
    assert production.path is None
    assert production.source is not None and production.source.file == "reconciler.yaml"
    assert config.targets["onboarding"].parallelism == DEFAULT_PARALLELISM
    assert config.targets["local"].path == tmp_path / "state" / "sandbox.db"
    assert config.users == ("users/", "extra/*.yaml")
    assert (config.max_changes, config.max_change_ratio, config.max_deletes) == (200, 0.25, 0)
    assert config.sensitive == frozenset({"email", "phone"})


def test_defaults(repo: WriteRepo, tmp_path: Path) -> None:
    config = load_config(repo(), {})
    assert config.users == ("users/",)
    assert config.sensitive == frozenset({"email"})
    assert config.max_changes == DEFAULT_MAX_CHANGES == 500
    assert config.targets["local"].path == tmp_path / ".reconciler" / "sandbox.db"


def test_users_may_be_one_string(repo: WriteRepo) -> None:
    path = repo(config="targets: {local: {provider: sandbox}}\nusers: people/\n")
    assert load_config(path, {}).users == ("people/",)


def test_the_api_key_itself_is_not_read(repo: WriteRepo) -> None:
    # validate is offline and keyless: a missing key variable is the provider's concern.
    config = load_config(repo(config=ALL_KINDS_CONFIG), {})
    assert config.targets["production"].api_key_env == "SPRIG_API_KEY"


def test_variables_are_expanded_before_validation(repo: WriteRepo, tmp_path: Path) -> None:
    path = repo(
        config="""\
        targets:
          production:
            provider: sprig
            api_key_env: ${KEY_VAR}
            base_url: ${SPRIG_URL:-https://api.sprig.com}
            parallelism: ${PARALLELISM:-2}
          local:
            provider: sandbox
        sensitive: [email, "${STATE_DIR}-$$1"]
        """
    )
    environ = {"KEY_VAR": "MY_SPRIG_KEY", "PARALLELISM": "16", "STATE_DIR": "state"}
    config = load_config(path, environ)
    production = config.targets["production"]
    assert production.api_key_env == "MY_SPRIG_KEY"
    assert production.base_url == "https://api.sprig.com"
    assert production.parallelism == 16  # an unquoted ${VAR} becomes the number it spells
    assert "state-$1" in config.sensitive


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("users: ['users/o/[${PGPASSWORD}].yaml']", "users[0]"),
        ("users: users/${STAGE}/", "users"),
        ("users: ['users/$$x/']", "users[0]"),
        ("targets: {local: {provider: sandbox, path: '${STATE_DIR}/x.db'}}", "targets.local.path"),
    ],
)
def test_paths_and_globs_never_read_a_variable(repo: WriteRepo, entry: str, field: str) -> None:
    """Issue 23.4: ``users/o/[${PGPASSWORD}].yaml`` would list the characters the variable
    holds, as the files it matches; even a variable the operator allows is not read there."""
    config = (
        entry
        if entry.startswith("targets")
        else f"targets: {{local: {{provider: sandbox}}}}\n{entry}"
    )
    path = repo(config=config + "\n")
    environ = {
        "PGPASSWORD": "abc",
        "STAGE": "x",
        "STATE_DIR": "s",
        "RECONCILER_ALLOW_ENV": "PGPASSWORD,STAGE,STATE_DIR",
    }
    with pytest.raises(ValidationError) as refused:
        load_config(path, environ)
    [problem] = refused.value.problems
    assert problem.field == field
    assert (
        "is not expanded: paths and globs (users:, path:) never read a variable" in problem.message
    )
    assert "abc" not in problem.message


@pytest.mark.parametrize(
    ("environ", "expanded"),
    [
        ({"CI": "true"}, False),
        ({"CI": "true", "RECONCILER_ALLOW_ENV": "STAGE"}, True),
        ({"CI": "false"}, True),
        ({}, True),
    ],
)
def test_in_ci_no_variable_is_read_unless_the_operator_lists_it(
    repo: WriteRepo, environ: dict[str, str], expanded: bool
) -> None:
    path = repo(config="targets: {local: {provider: sandbox}}\nsensitive: ['${STAGE}']\n")
    environ = {**environ, "STAGE": "stage-value"}
    if expanded:
        assert "stage-value" in load_config(path, environ).sensitive
        return
    with pytest.raises(ValidationError) as refused:
        load_config(path, environ)
    [problem] = refused.value.problems
    assert "in CI (CI is set) reconciler.yaml reads only the variables RECONCILER_ALLOW_ENV" in (
        problem.message
    )


def test_an_unset_variable_is_located_and_named(repo: WriteRepo) -> None:
    path = repo(
        config="""\
        targets:
          local:
            provider: sprig
            base_url: ${SPRIG_URL}
            api_key_env: SPRIG_API_KEY
        """
    )
    [problem] = problems_of(path)
    assert (problem.file, problem.line, problem.column) == ("reconciler.yaml", 4, 15)
    assert problem.field == "targets.local.base_url"
    assert "environment variable SPRIG_URL is not set" in problem.message


def test_unknown_keys_suggest_the_close_name(repo: WriteRepo) -> None:
    path = repo(
        config="""\
        targets:
          production:
            provider: sprig
            api_key_env: SPRIG_API_KEY
            paralelism: 4
        safty: {max_changes: 3}
        """
    )
    problems = problems_of(path)
    assert [(p.line, p.field, p.message) for p in problems] == [
        (
            5,
            "targets.production.paralelism",
            "unknown key 'paralelism' (did you mean 'parallelism'?)",
        ),
        (6, "safty", "unknown key 'safty' (did you mean 'safety'?)"),
    ]


def test_every_schema_problem_at_once(repo: WriteRepo) -> None:
    path = repo(
        config="""\
        targets:
          production:
            provider: sprg
            parallelism: 0
          onboarding:
            provider: usertour
            path: x.db
          local:
            provider: sandbox
            api_key_env: KEY
          "bad name":
            provider: sandbox
        safety: {max_change_ratio: 1.5}
        users: []
        """
    )
    found = {(p.line, p.field): p.message for p in problems_of(path)}
    assert "must be one of sprig, usertour, sandbox" in found[(3, "targets.production.provider")]
    assert "did you mean 'sprig'?" in found[(3, "targets.production.provider")]
    assert found[(4, "targets.production.parallelism")] == "must be at least 1, got 0"
    assert (
        found[(5, "targets.onboarding")]
        == "missing required key 'api_key_env' for provider usertour"
    )
    assert found[(7, "targets.onboarding.path")] == "'path' is not allowed for provider usertour"
    assert (
        found[(10, "targets.local.api_key_env")]
        == "'api_key_env' is not allowed for provider sandbox"
    )
    assert found[(11, 'targets["bad name"]')] == "'bad name' is not a valid target name"
    assert found[(13, "safety.max_change_ratio")] == "must be at most 1, got 1.5"
    assert found[(14, "users")] == "must not be empty"


def test_an_api_key_in_place_of_its_variable_name_is_refused(repo: WriteRepo) -> None:
    path = repo(config="targets:\n  p:\n    provider: sprig\n    api_key_env: sk-live 1234/abcd\n")
    [problem] = problems_of(path)
    assert (problem.line, problem.field) == (4, "targets.p.api_key_env")
    assert "not a valid environment variable name" in problem.message


def test_at_least_one_target(repo: WriteRepo) -> None:
    [problem] = problems_of(repo(config="targets: {}\n"))
    assert (problem.line, problem.field, problem.message) == (
        1,
        "targets",
        "needs at least one entry",
    )
    [problem] = problems_of(repo(config="users: [users/]\n"))
    assert problem.message == "missing required key 'targets'"


def test_yaml_problems_are_reported_as_such(repo: WriteRepo) -> None:
    [problem] = problems_of(repo(config="targets:\n  local: {provider: sandbox}\n  zip: 01234\n"))
    assert problem.line == 3
    assert "leading zero" in problem.message


def test_a_missing_config_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no reconciler.yaml in .*: create one or pass --config"):
        load_config(tmp_path / "reconciler.yaml", {})
    with pytest.raises(ConfigError, match="not found: check --config"):
        load_config(tmp_path / "other.yaml", {})


def test_a_folder_means_its_reconciler_yaml(repo: WriteRepo, tmp_path: Path) -> None:
    repo()
    assert load_config(tmp_path, {}).path == tmp_path / "reconciler.yaml"


def test_problems_name_the_file_relative_to_the_current_folder(
    repo: WriteRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "reconciler.yaml"
    path.write_text("targets:\n  local: {provider: sandbox, atributes: 1}\n")
    [problem] = problems_of(path)
    assert problem.file == "conf/reconciler.yaml"
    monkeypatch.chdir(tmp_path / "conf")
    [problem] = problems_of(Path("reconciler.yaml"))
    assert str(problem).startswith("reconciler.yaml:2:")


def test_every_unknown_key_is_reported_when_another_field_holds_a_variable(
    repo: WriteRepo,
) -> None:
    path = repo(
        config="""\
        targets:
          local:
            provider: sandbox
        sensitive: ["${STATE:-state}"]
        colour: red
        shape: round
        """
    )
    problems = problems_of(path)
    assert [(p.field, p.message.split(" (")[0]) for p in problems] == [
        ("colour", "unknown key 'colour'"),
        ("shape", "unknown key 'shape'"),
    ]
