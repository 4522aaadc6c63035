"""Sending one recorded request to a server and reading its answer back as fixture data.

Shared by the recorder (against the real server, over a socket) and the contract test (against
the emulator, in process): both build the request the same way from a fixture entry, so what is
replayed is byte for byte what was recorded, the key excepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Stand-ins for the roles of ``auth`` other than the real key; never a working key.
WRONG_KEY = "ak_not_a_key_of_this_server"
BASIC = "Basic dXNlcjpwYXNzd29yZA=="


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A request ready to send: the target exactly as sent (still percent-encoded)."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def outgoing(request: dict[str, Any], key: str, answers: dict[str, Any]) -> Outgoing:
    """The request of a fixture entry; ``answers`` maps step names to their answer bodies,
    for entries that follow a cursor (``follow: [step, field]``)."""
    target = request["path"]
    if "follow" in request:
        step, name = request["follow"]
        target = answers[step][name]
    headers = _auth(request["auth"], key)
    body = b""
    if "raw_body" in request:
        body = request["raw_body"].encode("utf-8")
    elif "body" in request:
        body = json.dumps(request["body"]).encode("utf-8")
    if "pad_to" in request:
        body = _padded(request["body"], request["pad_to"])
    if body:
        headers["Content-Type"] = "application/json"
    return Outgoing(request["method"], target, headers, body)


def _padded(value: dict[str, Any], size: int) -> bytes:
    """``value`` with an attribute ``pad`` of x's making the JSON exactly ``size`` bytes."""
    bare = json.dumps({**value, "attributes": {"pad": ""}}).encode("utf-8")
    padded = {**value, "attributes": {"pad": "x" * (size - len(bare))}}
    return json.dumps(padded).encode("utf-8")


def _auth(mode: str, key: str) -> dict[str, str]:
    if mode == "key":
        return {"Authorization": f"Bearer {key}"}
    if mode == "wrong":
        return {"Authorization": f"Bearer {WRONG_KEY}"}
    if mode == "basic":
        return {"Authorization": BASIC}
    return {}


def answer_body(body: bytes, content_type: str | None) -> Any:
    """The answer as the fixture stores it: JSON when it is JSON, else its text."""
    text = body.decode("utf-8", errors="replace")
    if content_type and "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def media_type(content_type: str | None) -> str | None:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower()
