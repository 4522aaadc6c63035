"""Sprig's own OpenAPI document (sprig_openapi.json, from the vendor's API pages) as a validator.

The vendor's document lists the tag ``V1`` three times, which OpenAPI forbids (tags are
unique): the loader keeps the first of each name, and changes nothing else. Requests are
validated as sent to ``https://api.sprig.com`` (the document's server), whatever host the
emulator listened on; the API key is never needed, only its scheme.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

DOCUMENT = Path(__file__).with_name("sprig_openapi.json")
SERVER = "https://api.sprig.com"


def vendor_document() -> dict[str, Any]:
    """The document exactly as the vendor publishes it (tags repeated)."""
    document: dict[str, Any] = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    return document


def deduplicated(document: dict[str, Any]) -> dict[str, Any]:
    """The document with each tag name once (the first one kept)."""
    seen: set[str] = set()
    tags = []
    for tag in document.get("tags", []):
        if tag["name"] not in seen:
            seen.add(tag["name"])
            tags.append(tag)
    return {**document, "tags": tags}


@cache
def sprig_api() -> OpenAPI:
    return OpenAPI.from_dict(deduplicated(vendor_document()))


def _request(
    method: str, target: str, body: bytes, content_type: str | None, auth: str | None
) -> MockRequest:
    path, _, query = target.partition("?")
    headers = {"Authorization": f"{auth} redacted"} if auth else {}
    return MockRequest(
        SERVER,
        method.lower(),
        path,
        args=dict(pair.split("=", 1) for pair in query.split("&") if "=" in pair),
        headers=headers,
        data=body or None,
        content_type=content_type or "application/json",
    )


def request_problem(
    method: str, target: str, body: bytes, content_type: str | None, auth: str | None
) -> str | None:
    """Why the document refuses this request, or None when it is valid."""
    try:
        sprig_api().validate_request(_request(method, target, body, content_type, auth))
    except Exception as error:  # openapi-core raises one of many classes: report any
        return f"{type(error).__name__}: {error} {error.__cause__ or ''}".strip()
    return None


def response_problem(
    request: tuple[str, str, bytes],
    status: int,
    body: bytes,
    content_type: str | None,
) -> str | None:
    """Why the document refuses this answer to ``(method, target, body)``, or None."""
    method, target, sent = request
    mock = _request(method, target, sent, "application/json", "API-Key")
    media_type = (content_type or "application/json").split(";", 1)[0]
    try:
        sprig_api().validate_response(mock, MockResponse(body, status, content_type=media_type))
    except Exception as error:
        return f"{type(error).__name__}: {error} {error.__cause__ or ''}".strip()
    return None
