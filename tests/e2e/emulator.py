"""The sandbox emulator as a pytest fixture, for tests that need real Sprig/Usertour HTTP.

    from tests.e2e.emulator import StartEmulator

    # Tests under tests/e2e get the fixture from conftest.py; elsewhere, register it:
    pytest_plugins = ("tests.e2e.emulator",)

    def test_retries(emulator: StartEmulator) -> None:
        running = emulator(fail_rate=0.3, seed=7)
        ...  # point a target's base_url at running.url

Each call starts an emulator on a free port of 127.0.0.1 with its own SQLite file in
``tmp_path``; all of them stop at teardown. CLI runs in the test process reach it through its
socket-free transport (``tests.cli_process``); a CLI process, or a client of your own, through
the port. Keys are the documented defaults whatever the environment says, so tests never
depend on the developer's shell.

(``pytest_plugins`` rather than importing the fixture: a test parameter named like an imported
function is a redefinition for ruff. This module has no asserts, hence PYTEST_DONT_REWRITE,
which keeps pytest from warning that it was imported before being registered.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.providers.transports import TransportFor, by_url
from reconciler.sandbox.app import EmulatorApp
from reconciler.sandbox.options import (
    DEFAULT_SPRIG_KEY,
    DEFAULT_USERTOUR_KEY,
    EmulatorOptions,
    resolve_keys,
)
from reconciler.sandbox.server import RunningEmulator, start_emulator
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.transport import EmulatorTransport
from tests.cli_process import serve_in_process, stop_serving

SPRIG_KEY = DEFAULT_SPRIG_KEY
USERTOUR_KEY = DEFAULT_USERTOUR_KEY

#: ``emulator(db_path=None, **EmulatorOptions fields) -> RunningEmulator``
StartEmulator = Callable[..., RunningEmulator]


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[StartEmulator]:
    """A factory of running emulators; options are EmulatorOptions' fields."""
    running: list[RunningEmulator] = []

    def start(db_path: Path | None = None, **options: Any) -> RunningEmulator:
        path = db_path or tmp_path / f"emulator-{len(running)}.db"
        started = start_emulator(path, EmulatorOptions(**options), environ={})
        running.append(started)
        serve_in_process(started)
        return started

    yield start
    for started in reversed(running):
        stop_serving(started)
        started.stop()


def sprig_client(running: RunningEmulator, key: str = SPRIG_KEY) -> httpx.Client:
    """An httpx client speaking to the emulated Sprig with ``Authorization: API-Key``."""
    return httpx.Client(base_url=running.url, headers={"Authorization": f"API-Key {key}"})


def usertour_client(running: RunningEmulator, key: str = USERTOUR_KEY) -> httpx.Client:
    """An httpx client speaking to the emulated Usertour with ``Authorization: Bearer``."""
    return httpx.Client(base_url=running.url, headers={"Authorization": f"Bearer {key}"})


#: A base URL nothing listens on: ``emulator_app`` serves there, in this process, for a
#: provider opened with ``transport=nowhere(app)`` (a runtime's transport).
NOWHERE = "http://127.0.0.1:9"


def nowhere(app: EmulatorApp) -> TransportFor:
    """Requests to ``NOWHERE`` go to ``app`` without a socket; any other URL to the network."""
    return by_url({NOWHERE: EmulatorTransport(app)})


@pytest.fixture
def emulator_app(tmp_path: Path) -> Iterator[EmulatorApp]:
    """The emulator's app, reached at ``NOWHERE`` through ``nowhere(app)``, without a socket."""
    options = EmulatorOptions()
    app = EmulatorApp(UserStore(tmp_path / "emulator.db"), options, resolve_keys(options, {}))
    yield app
