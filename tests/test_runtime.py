"""The runtime is a value, not the process: two use-case calls in one process, each with its own
``Runtime`` (environment, transport, clock), reach only their own target with only their own
keys, even at the same time and on the same base URL. A process-wide table of transports (what
tests mounted before issue 25) could not promise that: the second mount on a URL was refused,
and every run in the process sent to whatever was mounted.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import reconciler
from reconciler import ApplyRequest, PlanRequest, RefusedError, Runtime, Scope, TargetError
from reconciler.cli.main import main
from reconciler.providers.transports import by_url
from reconciler.sandbox.app import EmulatorApp
from reconciler.sandbox.options import EmulatorOptions, resolve_keys
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.transport import EmulatorTransport
from tests.fakeclock import FakeClock

#: Nothing listens there: a request that missed its runtime's transport fails, never lands.
URL = "http://127.0.0.1:9"
CONFIG = Path("reconciler.yaml")
ONBOARDING = Scope(target_names=("onboarding",))
FAST = {"RECONCILER_RETRY_BASE": "0.01", "RECONCILER_RETRY_CAP": "0.05"}
#: Another apply, in another process, holding the target's lock until killed.
HOLD = """
import sys, time
from pathlib import Path
from reconciler.apply.lock import target_locks
with target_locks(Path(sys.argv[1]), ["onboarding"]):
    print("held", flush=True)
    time.sleep(60)
"""

REPOSITORY = {
    "reconciler.yaml": f"""\
targets:
  onboarding:
    provider: usertour
    base_url: {URL}
    api_key_env: USERTOUR_API_KEY
users: [users/]
""",
    "users/team.yaml": """\
users:
  - id: "u1"
    attributes: {plan: pro}
  - id: "u2"
    attributes: {plan: free}
""",
}


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in REPOSITORY.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _emulator(path: Path, key: str) -> EmulatorApp:
    """A Usertour environment that opens only with ``key``."""
    options = EmulatorOptions(usertour_key=key)
    return EmulatorApp(UserStore(path), options, resolve_keys(options, {}))


def _runtime(app: EmulatorApp, key: str) -> Runtime:
    environ = {"USERTOUR_API_KEY": key, **FAST}
    return Runtime(environ=environ, transport=by_url({URL: EmulatorTransport(app)}))


def test_two_runtimes_in_one_process_reach_only_their_own_target(
    repository: Path, tmp_path: Path
) -> None:
    first, second = _emulator(tmp_path / "a.db", "ak_first"), _emulator(tmp_path / "b.db", "ak_b")
    runtimes = {"first": _runtime(first, "ak_first"), "second": _runtime(second, "ak_b")}
    applied = reconciler.apply_changes(
        ApplyRequest(CONFIG, scope=ONBOARDING, assume_yes=True), runtimes["first"]
    )
    assert applied.report is not None and applied.report.applied == 2
    assert second.requests.snapshot() == []  # the first run's writes reached the first only

    def creates(name: str) -> int:
        return reconciler.plan_changes(PlanRequest(CONFIG, ONBOARDING), runtimes[name]).plan.creates

    # At the same time, on the same URL: each sees its own environment's users.
    names = ["first", "second"] * 4
    with ThreadPoolExecutor(max_workers=2) as pool:
        seen = list(pool.map(creates, names))
    assert seen == [0, 2] * 4
    for app in (first, second):  # each key reached only the emulator that accepts it
        statuses = {r.status for r in app.requests.snapshot()}
        assert statuses and statuses <= {200, 201, 404}  # 404: a user not there yet


def test_a_runtime_s_environment_is_its_own(repository: Path, tmp_path: Path) -> None:
    """The same emulator, two runtimes: the one whose environment holds the wrong key is
    refused, whatever the other run's environment (or the process's) says."""
    app = _emulator(tmp_path / "a.db", "ak_right")
    right = _runtime(app, "ak_right")
    wrong = dataclasses.replace(right, environ={"USERTOUR_API_KEY": "ak_wrong", **FAST})
    assert reconciler.plan_changes(PlanRequest(CONFIG, ONBOARDING), right).plan.creates == 2
    with pytest.raises(TargetError, match="rejected the API key"):
        reconciler.plan_changes(PlanRequest(CONFIG, ONBOARDING), wrong)
    assert reconciler.plan_changes(PlanRequest(CONFIG, ONBOARDING), right).plan.creates == 2


def test_a_runtime_without_a_transport_for_the_url_uses_the_network(
    repository: Path, tmp_path: Path
) -> None:
    """The default runtime sends to the network: nothing listens on URL, so the read fails
    (and the emulator another runtime would reach is never asked)."""
    app = _emulator(tmp_path / "a.db", "ak_right")
    plain = Runtime(environ={"USERTOUR_API_KEY": "ak_right", **FAST})
    _runtime(app, "ak_right")  # built, never used: building one mounts nothing anywhere
    with pytest.raises(TargetError):
        reconciler.plan_changes(PlanRequest(CONFIG, ONBOARDING), plain)
    assert app.requests.snapshot() == []


def test_the_cli_runs_in_the_runtime_main_is_given(
    repository: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``main(argv, runtime=...)``, the CLI's one seam: its key and its transport are the
    runtime's, not the process's (which has neither)."""
    monkeypatch.delenv("USERTOUR_API_KEY", raising=False)
    app = _emulator(tmp_path / "a.db", "ak_right")
    with pytest.raises(SystemExit) as ended:
        main(["plan", "--detailed-exitcode"], runtime=_runtime(app, "ak_right"))
    assert ended.value.code == 2, capsys.readouterr().err  # changes pending
    assert "2 to create" in capsys.readouterr().out
    assert app.requests.snapshot() != []


def test_apply_waits_on_the_runtime_s_clock(repository: Path, tmp_path: Path) -> None:
    """--lock-timeout 30 while another process holds the target: the wait is the runtime's
    clock's (30 s of it slept, none of the test's), and nothing reached the target."""
    app = _emulator(tmp_path / "a.db", "ak_right")
    clock = FakeClock()
    runtime = dataclasses.replace(_runtime(app, "ak_right"), clock=clock)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(repository)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        request = ApplyRequest(CONFIG, scope=ONBOARDING, assume_yes=True, lock_timeout=30)
        with pytest.raises(RefusedError, match="after waiting 30s"):
            reconciler.apply_changes(request, runtime)
    finally:
        holder.kill()
        holder.wait()
    assert 29.99 < sum(clock.slept) < 30.5
    assert app.requests.snapshot() == []
