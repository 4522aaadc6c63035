"""`reconciler plan` against hostile loopback servers (issue 21): wall time, peak memory, message.

    python bench/hostile_vendor.py [--code PATH] [--cases "300 MB answer,drip 1 byte / 5 s"]

Each case is one `plan` process (one Sprig user) against a server of tests/faults.py on
127.0.0.1. ``--code`` is the folder whose ``reconciler`` package runs (default: this checkout),
so an older commit can be replayed the same way (``git archive REV reconciler schemas``).
Peak memory is the process's own high-water mark (``VmHWM``), not its parent's.
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults import HostileServer, answer_bytes  # noqa: E402

CHILD = """import runpy, sys
sys.argv = ['reconciler', 'plan']
try:
    runpy.run_module('reconciler', run_name='__main__')
except SystemExit:
    pass
hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1]
print('PEAK', hwm, file=sys.stderr)
"""


def _cases() -> dict[str, Callable[[], HostileServer]]:
    big = b'{"attributes": {"x": "' + b"a" * (300 * 1024 * 1024) + b'"}}'
    slow = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
    bomb = gzip.compress(b"\0" * 1024**3, 9)
    return {
        "300 MB answer": lambda: HostileServer(head=answer_bytes(200, big)),
        "gzip 1 MB -> 1 GiB": lambda: HostileServer(
            head=answer_bytes(200, bomb, {"Content-Encoding": "gzip"})
        ),
        "JSON 100000 deep": lambda: HostileServer(
            head=answer_bytes(200, b"[" * 10**5 + b"]" * 10**5)
        ),
        "8 MiB error body": lambda: HostileServer(head=answer_bytes(400, b"e" * 8 * 1024 * 1024)),
        "a gzip lie": lambda: HostileServer(
            head=answer_bytes(200, b"{}", {"Content-Encoding": "gzip"})
        ),
        "drip 1 byte / 5 s": lambda: HostileServer(drip=slow, every=5, give_up=600),
    }


def replay(name: str, server: HostileServer, code: Path) -> str:
    with tempfile.TemporaryDirectory() as scratch, server:
        repo = Path(scratch)
        (repo / "reconciler.yaml").write_text(
            f"targets:\n  prod: {{provider: sprig, base_url: '{server.url}', "
            "api_key_env: SPRIG_API_KEY}\nusers: [users.yaml]\n"
        )
        (repo / "users.yaml").write_text('users:\n  - {id: "u1", attributes: {plan: pro}}\n')
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(code), "SPRIG_API_KEY": "k"},
            capture_output=True,
            text=True,
            timeout=900,
        )
        wall = time.monotonic() - started
    lines = done.stderr.strip().splitlines()
    peak = next((int(line.split()[1]) / 1024 for line in lines if line.startswith("PEAK")), 0)
    shown = [line for line in lines if line.startswith(("Error:", "Traceback", "RecursionError"))]
    last = "Traceback" if "Traceback" in done.stderr else (shown or ["(no error)"])[-1]
    return f"{name:20} {wall:6.1f} s {peak:6.0f} MB  {last[:100]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--cases", default=",".join(_cases()))
    args = parser.parse_args()
    cases = _cases()
    for name in args.cases.split(","):
        print(replay(name, cases[name](), args.code), flush=True)


if __name__ == "__main__":
    main()
