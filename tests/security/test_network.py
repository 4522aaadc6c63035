"""Where a key may travel: never through a proxy to a loopback target, never to ``localhost.``.

The "proxy" is a socket on 127.0.0.1 that records what reaches it; the target is a closed port
on 127.0.0.1, so nothing leaves the machine whatever happens.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.security.attacker import SECRETS, Attacker, assert_nothing_leaked


@pytest.fixture
def proxy() -> Iterator[list[bytes]]:
    """A listening socket standing in for a proxy; yields what it received."""
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    received.append(conn.recv(65536))
                except OSError:
                    received.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    received.append(str(server.getsockname()[1]).encode())  # first item: the port
    yield received
    stop.set()
    thread.join()
    server.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "ALL_PROXY", "http_proxy"])
def test_a_loopback_target_never_goes_through_a_proxy(
    attacker: Attacker, proxy: list[bytes], variable: str
) -> None:
    port = proxy[0].decode()
    config = (
        "targets:\n  production:\n    provider: sprig\n    api_key_env: SPRIG_API_KEY\n"
        f"    base_url: http://127.0.0.1:{_closed_port()}\n"
    )
    attacker.write({"users/a.yaml": 'users:\n  - id: "1"\n'}, config=config)
    outcome = attacker.run(
        "plan", env={variable: f"http://127.0.0.1:{port}", "RECONCILER_RETRY_ATTEMPTS": "1"}
    )
    assert_nothing_leaked([outcome])
    assert outcome.code == 1
    assert "cannot connect to http://127.0.0.1:" in outcome.stderr
    assert proxy[1:] == []  # not even a connection
    assert SECRETS["SPRIG_API_KEY"].encode() not in b"".join(proxy)


def test_localhost_with_a_trailing_dot_is_not_loopback(attacker: Attacker) -> None:
    """``localhost.`` is looked up in DNS, which may answer any address: no key goes there."""
    config = (
        "targets:\n  production:\n    provider: sprig\n    api_key_env: SPRIG_API_KEY\n"
        f"    base_url: http://localhost.:{_closed_port()}\n"
    )
    attacker.write({"users/a.yaml": 'users:\n  - id: "1"\n'}, config=config)
    outcomes = attacker.run_all_formats("plan")
    assert_nothing_leaked(outcomes)
    assert all(outcome.code == 1 for outcome in outcomes)
    assert "refusing to send the API key to localhost" in outcomes[0].stderr
    assert "nor loopback" in outcomes[0].stderr


def test_parallelism_is_capped(attacker: Attacker) -> None:
    config = "targets:\n  local:\n    provider: sandbox\n"
    config = config.replace("sandbox\n", "sprig\n    api_key_env: SPRIG_API_KEY\n")
    attacker.write({}, config=config + "    parallelism: 100000\n")
    outcome = attacker.run("validate")
    assert outcome.code == 1
    assert "targets.local.parallelism: must be at most 64, got 100000" in outcome.stderr
    assert attacker.run("plan", "--parallelism", "65").code == 1


#: Secrets a CI job may hold that pass every name rule but the allow-list (issue 23.3).
OTHER_SECRETS = {
    "GH_TOKEN": "gho_other-secret-1",
    "AWS_SECRET_ACCESS_KEY": "aws-other-secret-2",
    "NPM_TOKEN": "npm-other-secret-3",
    "DEPLOY_PASSWORD": "deploy-other-secret-4",
    "USERTOUR_API_KEY": "usertour-other-secret-5",
}


@pytest.mark.parametrize("provider", ["sprig", "usertour"])
@pytest.mark.parametrize("variable", sorted(OTHER_SECRETS))
def test_api_key_env_cannot_name_another_secret(
    attacker: Attacker, proxy: list[bytes], provider: str, variable: str
) -> None:
    """A pull request points a loopback target's api_key_env at another secret of the job:
    refused before it is read, and nothing reaches the listener standing in for the target."""
    if provider == "usertour" and variable == "USERTOUR_API_KEY":
        pytest.skip("the Usertour key is a Usertour target's to read")
    port = proxy[0].decode()
    config = (
        f"targets:\n  prod:\n    provider: {provider}\n"
        f"    base_url: http://127.0.0.1:{port}\n    api_key_env: {variable}\n"
    )
    attacker.write({"users/a.yaml": 'users:\n  - id: "1"\n'}, config=config)
    outcome = attacker.run("plan", env=OTHER_SECRETS)
    assert outcome.code == 1, outcome
    assert f"api_key_env '{variable}' is not a {provider} key variable" in outcome.stderr
    assert f"RECONCILER_KEY_VARIABLES={provider}:<variable>" in outcome.stderr
    assert_nothing_leaked([outcome], *OTHER_SECRETS.values())
    assert proxy[1:] == []  # no connection at all


def test_the_operator_may_allow_a_key_variable_for_one_provider(
    attacker: Attacker, proxy: list[bytes]
) -> None:
    port = proxy[0].decode()
    config = (
        "targets:\n  prod:\n    provider: sprig\n"
        f"    base_url: http://127.0.0.1:{port}\n    api_key_env: SURVEYS_KEY\n"
    )
    attacker.write({"users/a.yaml": 'users:\n  - id: "1"\n'}, config=config)
    env = {"SURVEYS_KEY": "surveys-key-value", "RECONCILER_KEY_VARIABLES": "usertour:SURVEYS_KEY"}
    refused = attacker.run("plan", env=env)
    assert refused.code == 1 and "is not a sprig key variable" in refused.stderr
    assert proxy[1:] == []
    allowed = attacker.run("plan", env={**env, "RECONCILER_KEY_VARIABLES": "sprig:SURVEYS_KEY"})
    assert allowed.code == 1  # the listener is no Sprig: but the key was read and sent there
    assert "is not a sprig key variable" not in allowed.stderr
    assert any(b"surveys-key-value" in received for received in proxy[1:])
