"""Build config repositories whose targets point at a running emulator, and its live users."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from reconciler.model import Upsert
from reconciler.sandbox import sprig_api, usertour_writes
from reconciler.sandbox.server import RecordedRequest, RunningEmulator
from reconciler.sandbox.store import UserStore
from reconciler.sandbox.usertour_values import iso_ms
from tests.e2e.emulator import SPRIG_KEY, USERTOUR_KEY

#: The keys, and a settle time of 0: a fresh emulator holds no write of an earlier run, so a
#: new write-ahead record covers every write at once and Sprig users' events are sent without
#: a barrier first (the tests of runs after runs, tests/e2e/test_exactly_once.py, use the
#: real settle time instead).
KEYS = {
    "SPRIG_API_KEY": SPRIG_KEY,
    "USERTOUR_API_KEY": USERTOUR_KEY,
    "RECONCILER_SETTLE_SECONDS": "0",
}


def write_repo(
    root: Path, emulator: RunningEmulator, provider: str, users: Iterable[Mapping[str, Any]]
) -> Path:
    """A repo with one target ``prod`` of ``provider`` at the emulator, and users/all.yaml."""
    variable = "SPRIG_API_KEY" if provider == "sprig" else "USERTOUR_API_KEY"
    config = {
        "targets": {
            "prod": {
                "provider": provider,
                "base_url": emulator.url,
                "api_key_env": variable,
                "parallelism": 4,
            }
        },
        "users": ["users/"],
    }
    (root / "users").mkdir(parents=True, exist_ok=True)
    (root / "reconciler.yaml").write_text(yaml.safe_dump(config))
    # JSON is YAML: what the test means is exactly what the loader reads.
    (root / "users" / "all.yaml").write_text(json.dumps({"users": list(users)}, indent=1))
    return root


def seed(emulator: RunningEmulator, provider: str, bodies: Iterable[Mapping[str, Any]]) -> None:
    """Create live users through the vendor API itself, then forget those requests."""
    if provider == "sprig":
        path, auth = "/v2/users", f"API-Key {SPRIG_KEY}"
    else:
        path, auth = "/v1/users", f"Bearer {USERTOUR_KEY}"
    with httpx.Client(base_url=emulator.url, headers={"Authorization": auth}) as client:
        for body in bodies:
            client.post(path, json=dict(body)).raise_for_status()
    emulator.flush()
    emulator.clear_requests()


def seed_store(
    db_path: Path, provider: str, users: Iterable[tuple[str, Mapping[str, Any]]]
) -> None:
    """Create live users (id, attributes) in an emulator's store file in one transaction, as
    the vendor's upsert would leave them: thousands in a fraction of a second, where ``seed``
    sends one request each. Start the emulator on ``db_path`` afterwards."""
    if provider == "sprig":
        namespace, seeded = sprig_api.NAMESPACE, {}
    else:
        # What Usertour adds to a new user (usertour_writes): sent values win.
        now = iso_ms(int(time.time() * 1000))
        namespace = usertour_writes.NAMESPACE
        seeded = dict.fromkeys(usertour_writes.SEEDED_ATTRIBUTES, now)
    upserts = (Upsert(user_id, {**seeded, **attributes}) for user_id, attributes in users)
    with UserStore(db_path) as store:
        store.upsert_many(namespace, upserts)


def upserts(emulator: RunningEmulator) -> list[RecordedRequest]:
    """The POSTs that carry a user: not the empty body a Sprig plan that found nobody sends
    to confirm the route (SprigProvider.confirm_absence), which Sprig refuses unwritten."""
    return [r for r in emulator.requests if r.method == "POST" and r.body != b"{}"]


def methods(emulator: RunningEmulator) -> list[str]:
    return [r.method for r in emulator.requests]
