"""Which variables reconciler.yaml may read (envvars.refusal), and what expansion records."""

from __future__ import annotations

import pytest

from reconciler.load import envvars, yamlload


@pytest.mark.parametrize(
    "name",
    [
        "GITHUB_TOKEN",
        "github_sha",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "RUNNER_TEMP",
        "NPM_TOKEN",
        "aws_secret",
        "SSH_KEY",
        "DB_PASSWORD",
        "TOKEN",
        "GOOGLE_CREDENTIALS",
    ],
)
def test_ci_and_secret_looking_names_are_refused(name: str) -> None:
    assert envvars.refusal(name, {}) is not None


@pytest.mark.parametrize("name", ["STATE_DIR", "REGION", "KEYBOARD", "TOKENIZER_MODE", "HOME"])
def test_other_names_may_be_read(name: str) -> None:
    assert envvars.refusal(name, {}) is None


def test_the_operator_allowlist_narrows_but_never_widens() -> None:
    allow = {envvars.ALLOW_ENV: "REGION, GITHUB_TOKEN"}
    assert envvars.refusal("REGION", allow) is None
    assert envvars.refusal("STATE_DIR", allow) is not None
    assert envvars.refusal("GITHUB_TOKEN", allow) is not None  # the deny rules still hold
    assert envvars.refusal("REGION", {envvars.ALLOW_ENV: ""}) is not None


def test_expansion_keeps_the_text_as_written_and_never_reports_a_value() -> None:
    root, _ = yamlload.compose('a: "${REGION}-x"\nb: "${GITHUB_TOKEN}"\n', "f.yaml")
    assert root is not None
    environ = {"REGION": "eu", "GITHUB_TOKEN": "ghs_value"}
    expansion = envvars.expand_variables(root, environ, "f.yaml")
    assert expansion.written == {("a",): "${REGION}-x", ("b",): "${GITHUB_TOKEN}"}
    assert [reference.name for reference in expansion.references] == ["REGION"]
    [problem] = expansion.problems
    assert (problem.line, problem.field) == (2, "b")
    assert "ghs_value" not in str(problem)
