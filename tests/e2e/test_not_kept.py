"""Issue 21 point 5: Sprig keeps the rest of a write but never shows one attribute. Sprig
applies a write whole, so that attribute was not kept: exit 1 with the field named, not "not
visible yet" (exit 4). A stand-in Sprig on 127.0.0.1 that drops one attribute name plays it."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import yaml

from tests.cli_process import run_reconciler
from tests.faults import HostileServer, answer_bytes

KEY = {"SPRIG_API_KEY": "k-sprig", "RECONCILER_SETTLE_SECONDS": "0"}
DROPPED = "nickname"


class ForgetfulSprig:
    """Stores what POST /v2/users sends, but never ``nickname``; GET shows what it stored."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def __call__(self, request: bytes) -> tuple[bytes, bytes]:
        head, _, body = request.partition(b"\r\n\r\n")
        method, path = head.split(b" ")[:2]
        with self.lock:
            if method == b"GET":
                user_id = path.decode().rsplit("/", 1)[-1]
                stored = self.users.get(user_id)
                if stored is None:
                    return answer_bytes(404, b"Not Found"), b""
                return answer_bytes(200, json.dumps(stored).encode()), b""
            sent = json.loads(body or b"{}")
            if "userId" not in sent:
                return answer_bytes(400, b'{"error": "userId is required"}'), b""
            user = self.users.setdefault(
                sent["userId"], {"externalUserId": sent["userId"], "attributes": {}, "events": []}
            )
            kept = {k: v for k, v in sent.get("attributes", {}).items() if k != DROPPED}
            user["attributes"].update(kept)
            return answer_bytes(202, b"Accepted"), b""


def _repo(root: Path, url: str) -> Path:
    config = {
        "targets": {"prod": {"provider": "sprig", "base_url": url, "api_key_env": "SPRIG_API_KEY"}},
        "users": ["users.yaml"],
    }
    (root / "reconciler.yaml").write_text(yaml.safe_dump(config))
    declared = [
        {"id": "u1", "attributes": {"plan": "pro", DROPPED: "Bo"}},
        {"id": "u2", "attributes": {"plan": "pro"}},
    ]
    (root / "users.yaml").write_text(yaml.safe_dump({"users": declared}))
    return root


def test_a_field_sprig_never_shows_while_the_rest_of_the_write_does_is_not_kept(
    tmp_path: Path,
) -> None:
    # The field never shows, so apply always waits its --wait out, then judges the last read:
    # the first read comes at once whatever the wait (reconciler/apply/polling.py), so a short
    # wait gives the same verdict with fewer reads to lose on a loaded machine (was 2 s).
    with HostileServer(route=ForgetfulSprig(), give_up=30) as server:
        applied = run_reconciler(
            "apply", "--yes", "--wait", "0.5", cwd=_repo(tmp_path, server.url), env=KEY
        )
    assert applied.code == 1, applied.both
    assert "user u1 on prod: the target did not keep these values:" in applied.stdout
    assert f'attributes.{DROPPED} = "Bo"' in applied.stdout
    assert "it applies a write whole, so it did not keep them" in applied.stdout
    assert "not visible yet" not in applied.stdout
    assert "Apply complete: 1 applied, 1 failed." in applied.stdout
