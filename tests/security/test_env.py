"""``${VAR}`` in a pull request's reconciler.yaml never prints, nor sends, a secret.

The environment holds the CI token and both vendors' keys (``SECRETS``) and one variable that
is allowed to be read but whose value must still never be printed (``VISIBLE``): messages
quote the text as written.
"""

from __future__ import annotations

import atexit
import socket

import pytest

from tests.security.attacker import SECRETS, Attacker, assert_nothing_leaked

#: Allowed by name, so it is expanded; its value must still never appear in a message.
VISIBLE = {"STAGE": "stage-value-31337"}


def _refusing_socket() -> socket.socket:
    """A port of 127.0.0.1 that refuses connections for as long as the tests run: bound (no
    other program can take it) but never listening. Port 9 (discard) may have a listener."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    atexit.register(probe.close)
    return probe


#: Nothing listens there: a plan that gets that far fails fast, and only on 127.0.0.1.
CLOSED = f"http://127.0.0.1:{_refusing_socket().getsockname()[1]}"


def _same_id_in_every_process(value: object) -> str | None:
    """Test ids name the closed port ``CLOSED``, not its number: pytest-xdist's workers each
    bind their own and must collect the same ids."""
    return value.replace(CLOSED, "CLOSED") if isinstance(value, str) else None


def _sprig(**fields: str) -> str:
    lines = "".join(f"    {name}: {value}\n" for name, value in fields.items())
    return f"targets:\n  production:\n    provider: sprig\n{lines}"


def _outcomes(attacker: Attacker, env: dict[str, str] | None = None) -> list:
    environ = {**VISIBLE, **(env or {})}
    return attacker.run_all_formats("validate", env=environ) + attacker.run_all_formats(
        "plan", env=environ
    )


@pytest.mark.parametrize("name", sorted(SECRETS))
@pytest.mark.parametrize(
    "config",
    [
        _sprig(api_key_env="SPRIG_API_KEY", base_url='"${NAME}"'),
        _sprig(api_key_env="SPRIG_API_KEY", base_url='"https://[${NAME}]"'),
        _sprig(api_key_env="${NAME}", base_url=CLOSED),
        _sprig(api_key_env="SPRIG_API_KEY", parallelism="${NAME}"),
        "targets:\n  local:\n    provider: ${NAME}\n",
        "targets:\n  local:\n    provider: sandbox\n    path: .reconciler/${NAME}.db\n",
        "targets:\n  local:\n    provider: sandbox\nusers: ['users/${NAME}.yaml']\n",
        "targets:\n  local:\n    provider: sandbox\nsafety:\n  max_changes: ${NAME}\n",
        "targets:\n  local:\n    provider: sandbox\nsensitive: [email, '${NAME}']\n",
    ],
    ids=_same_id_in_every_process,
)
def test_a_secret_variable_is_never_expanded(attacker: Attacker, config: str, name: str) -> None:
    attacker.write({"users/a.yaml": 'users:\n  - id: "1"\n'}, config=config.replace("NAME", name))
    outcomes = _outcomes(attacker)
    assert_nothing_leaked(outcomes)
    for outcome in outcomes:
        assert outcome.code == 1, outcome
    assert f"${{{name}}} is not expanded" in outcomes[0].stderr
    assert not (attacker.root / ".reconciler").exists()


@pytest.mark.parametrize(
    ("config", "said"),
    [
        (_sprig(api_key_env="SPRIG_API_KEY", base_url='"${STAGE}"'), "'${STAGE}' does not give"),
        (
            _sprig(api_key_env="SPRIG_API_KEY", base_url='"https://[${STAGE}]"'),
            "'https://[${STAGE}]' is not a valid URL",
        ),
        (
            _sprig(api_key_env="SPRIG_API_KEY", base_url='"https://${STAGE}.example.com"'),
            "refusing to send the API key to the host of 'https://${STAGE}.example.com'",
        ),
        (
            _sprig(api_key_env="SPRIG_API_KEY", base_url='"https://x:${STAGE}/"'),
            "'https://x:${STAGE}/' is not a valid URL",
        ),
        (_sprig(api_key_env="${STAGE}", base_url=CLOSED), "'${STAGE}' does not give"),
        (_sprig(api_key_env="X${STAGE}", base_url=CLOSED), "'X${STAGE}' does not give"),
        (_sprig(api_key_env="SPRIG_API_KEY", parallelism="${STAGE}"), "'${STAGE}' does not give"),
        ("targets:\n  local:\n    provider: ${STAGE}\n", "'${STAGE}' does not give one of"),
        (
            "targets:\n  local:\n    provider: sandbox\n    path: /tmp/${STAGE}.db\n",
            "${STAGE} is not expanded: paths and globs (users:, path:) never read a variable",
        ),
        (
            "targets:\n  local:\n    provider: sandbox\nusers: ['${STAGE}/']\n",
            "${STAGE} is not expanded: paths and globs (users:, path:) never read a variable",
        ),
        (
            "targets:\n  local:\n    provider: sandbox\nsafety: {max_changes: '${STAGE}'}\n",
            "'${STAGE}' does not give an integer",
        ),
    ],
    ids=_same_id_in_every_process,
)
def test_messages_quote_an_expanded_field_as_written(
    attacker: Attacker, config: str, said: str
) -> None:
    attacker.write({"users/a.yaml": 'users:\n  - id: "1"\n'}, config=config)
    outcomes = _outcomes(attacker)
    assert_nothing_leaked(outcomes, VISIBLE["STAGE"])
    for outcome in outcomes[3:]:  # plan; validate needs no network, so may pass a host
        assert outcome.code == 1, outcome
    assert said in "".join(outcome.output for outcome in outcomes)


def test_a_trailing_line_break_in_base_url_is_a_located_error(attacker: Attacker) -> None:
    attacker.write({}, config=_sprig(api_key_env="SPRIG_API_KEY", base_url='"https://x.io\\n"'))
    outcomes = _outcomes(attacker)
    assert_nothing_leaked(outcomes)
    assert "reconciler.yaml:5:5: targets.production.base_url: 'https://x.io\\n' holds a space" in (
        outcomes[0].stderr
    )


def test_a_targets_key_variable_is_never_expanded(attacker: Attacker) -> None:
    """The key's variable is named freely (no secret-like suffix), yet stays unreadable."""
    config = (
        _sprig(api_key_env="SPRIGCRED", base_url=f'"{CLOSED}/${{SPRIGCRED}}"')
        + "  local:\n    provider: sandbox\nsensitive: ['${SPRIGCRED}']\n"
    )
    attacker.write({}, config=config)
    outcomes = _outcomes(attacker, {"SPRIGCRED": "sprig-cred-value-5150"})
    assert_nothing_leaked(outcomes, "sprig-cred-value-5150")
    assert "${SPRIGCRED} is the API key variable of target production" in outcomes[0].stderr
    assert not list(attacker.root.glob("*.db"))


@pytest.mark.parametrize(
    ("allow", "expanded"), [("", False), ("OTHER", False), ("OTHER, STAGE", True)]
)
def test_the_operator_lists_the_variables_reconciler_yaml_may_read(
    attacker: Attacker, allow: str, expanded: bool
) -> None:
    attacker.write(
        {"users/a.yaml": 'users:\n  - id: "1"\n'},
        config="targets:\n  local:\n    provider: sandbox\nsensitive: [email, '${STAGE}']\n",
    )
    outcome = attacker.run("validate", env={**VISIBLE, "RECONCILER_ALLOW_ENV": allow})
    assert_nothing_leaked([outcome], VISIBLE["STAGE"])
    assert outcome.code == (0 if expanded else 1), outcome
    if not expanded:
        assert "${STAGE} is not expanded: it is not listed in RECONCILER_ALLOW_ENV" in (
            outcome.stderr
        )


@pytest.mark.parametrize(
    ("config", "said"),
    [
        (_sprig(api_key_env="GITHUB_TOKEN"), "'GITHUB_TOKEN' is a variable of the CI itself"),
        (_sprig(api_key_env="RUNNER_TEMP"), "'RUNNER_TEMP' is a variable of the CI itself"),
        (
            _sprig(api_key_env="USERTOUR_API_KEY")
            + "  onboarding:\n    provider: usertour\n    api_key_env: USERTOUR_API_KEY\n",
            "'USERTOUR_API_KEY' already holds the key of a",
        ),
    ],
)
def test_api_key_env_cannot_name_the_ci_token_or_another_vendors_key(
    attacker: Attacker, config: str, said: str
) -> None:
    attacker.write({}, config=config)
    outcomes = _outcomes(attacker)
    assert_nothing_leaked(outcomes)
    assert all(outcome.code == 1 for outcome in outcomes)
    assert said in outcomes[0].stderr


@pytest.mark.parametrize("allow", [None, "PGPASSWORD"])
def test_a_glob_cannot_tell_which_characters_a_variable_holds(
    attacker: Attacker, allow: str | None
) -> None:
    """Issue 23.4: ``users/o/[${PGPASSWORD}].yaml`` matched the files named by the characters
    of the password, and the plan listed their users. Paths and globs read no variable, even
    one the operator allows; in CI an unset RECONCILER_ALLOW_ENV allows none anyway."""
    files = {f"users/o/{c}.yaml": f'users:\n  - id: "user-{c}"\n' for c in "abcxyz"}
    config = "targets:\n  local:\n    provider: sandbox\nusers: ['users/o/[${PGPASSWORD}].yaml']\n"
    attacker.write(files, config=config)
    env = {"PGPASSWORD": "s3cabc", **({"RECONCILER_ALLOW_ENV": allow} if allow else {})}
    outcomes = _outcomes(attacker, env)
    assert_nothing_leaked(outcomes, "s3cabc")
    for outcome in outcomes:
        assert outcome.code == 1, outcome
        assert "user-" not in outcome.output
    assert "${PGPASSWORD} is not expanded" in outcomes[0].stderr
