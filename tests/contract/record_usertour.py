"""Record the real Usertour server's answers to the scripted session, as contract fixtures.

    python tests/contract/record_usertour.py --base-url http://127.0.0.1:3300 [--key ak_...]

The key defaults to $USERTOUR_API_KEY (a key on the command line shows in ``ps``) and is never
written anywhere. Writes usertour_session.json (every step: request, status, body),
usertour_race.json (concurrent first writes of new attribute names and of one new company) and
usertour_listing_ties.json (the list cursor over users created in parallel) next to this file. The
users the session creates are deleted before and after; its companies stay (v1 cannot delete
them). Build and start the server with ../shared/usertour-server/start-server.sh.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):  # run as a script: make ``tests.contract`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from reconciler.providers.usertour import WALK_SIZES
from tests.contract.exchange import Outgoing, answer_body, media_type, outgoing
from tests.contract.usertour_session import session, user_ids

HERE = Path(__file__).resolve().parent
#: Concurrent upserts introducing the same new attribute names.
RACERS = 8


class Server:
    """The real server, spoken to with raw targets: ``%2E`` must reach it as sent."""

    def __init__(self, base_url: str, key: str) -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("record only against a local server (127.0.0.1)")
        self.host, self.port, self.key = parts.hostname, parts.port or 80, key

    def send(self, request: Outgoing) -> tuple[int, Any, str | None]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(request.method, request.target, request.body or None, request.headers)
            response = conn.getresponse()
            content_type = response.getheader("Content-Type")
            return response.status, answer_body(response.read(), content_type), content_type
        finally:
            conn.close()

    def delete_users(self, ids: list[str]) -> None:
        for user_id in ids:
            entry = {"method": "DELETE", "path": f"/v1/users/{user_id}", "auth": "key"}
            self.send(outgoing(entry, self.key, {}))


def record_session(server: Server, tag: str) -> list[dict[str, Any]]:
    answers: dict[str, Any] = {}
    exchanges = []
    for step in session(tag):
        request = step.request()
        status, body, content_type = server.send(outgoing(request, server.key, answers))
        answers[step.name] = body
        if not step.compare:
            body = _shortened(body)
        exchanges.append(
            {
                "name": step.name,
                "why": step.why,
                "compare": step.compare,
                "request": request,
                "status": status,
                "content_type": media_type(content_type),
                "body": body,
            }
        )
        print(f"{status} {request['method']} {request['path'] or step.follow}", file=sys.stderr)
    return exchanges


def _shortened(value: Any) -> Any:
    """An answer kept for the record only, its long texts (a padded body) as their length."""
    if isinstance(value, str) and len(value) > 1000:
        return f"<{len(value)} characters>"
    if isinstance(value, list):
        return [_shortened(item) for item in value]
    if isinstance(value, dict):
        return {key: _shortened(item) for key, item in value.items()}
    return value


def record_race(server: Server, tag: str) -> dict[str, Any]:
    """Upserts that all introduce the same new attribute names at once, then resends of the
    failed ones: the real server answers some with 500 E0000 (a unique-key race)."""
    names = [f"race_{tag}_{n}" for n in range(4)]
    requests = [
        {"method": "POST", "path": "/v1/users", "auth": "key",
         "body": {"id": f"racer{i}-{tag}", "attributes": dict.fromkeys(names, i)}}
        for i in range(RACERS)
    ]  # fmt: skip
    results: list[tuple[int, Any]] = [(0, None)] * RACERS
    barrier = threading.Barrier(RACERS)

    def race(index: int) -> None:
        barrier.wait()
        status, body, _ = server.send(outgoing(requests[index], server.key, {}))
        results[index] = (status, body)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failures = [body for status, body in results if status >= 500]
    resent = [
        server.send(outgoing(requests[i], server.key, {}))[0]
        for i, (status, _) in enumerate(results)
        if status >= 500
    ]
    server.delete_users([f"racer{i}-{tag}" for i in range(RACERS)])
    company = _race(server, [
        {"method": "POST", "path": "/v1/users", "auth": "key",
         "body": {"id": f"joiner{i}-{tag}", "companies": [{"id": f"raceco-{tag}"}]}}
        for i in range(RACERS)
    ])  # fmt: skip
    server.delete_users([f"joiner{i}-{tag}" for i in range(RACERS)])
    return {
        "concurrent": RACERS,
        "statuses": sorted(status for status, _ in results),
        "failure": failures[0] if failures else None,
        "resent_statuses": resent,
        "company_statuses": company,
    }


def _race(server: Server, requests: list[dict[str, Any]]) -> list[int]:
    """The statuses of ``requests`` sent at once (sorted)."""
    statuses = [0] * len(requests)
    barrier = threading.Barrier(len(requests))

    def send(index: int) -> None:
        barrier.wait()
        statuses[index] = server.send(outgoing(requests[index], server.key, {}))[0]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


#: Users created at once by TIE_THREADS threads, then walked TIE_LIMITS to a page.
TIE_USERS, TIE_THREADS, TIE_LIMITS = 1000, 16, (3, 7, *WALK_SIZES)


def record_ties(server: Server, tag: str) -> dict[str, Any]:
    """The listing's cursor over users created in parallel (createdAt ties): each walk's pages
    as [id number, createdAt], filtered to one email so other users never show (an email,
    not a company: a lighter write, so more of them land in one millisecond)."""
    email = f"ties-{tag}@example.com"
    ids = [f"tie{n}-{tag}" for n in range(TIE_USERS)]

    local = threading.local()

    def create(user_id: str) -> None:
        """One upsert on this thread's kept-alive connection (a new connection per request
        would space the requests out: few would share a millisecond)."""
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        body = json.dumps({"id": user_id, "attributes": {"email": email}})
        headers = {"Authorization": f"Bearer {server.key}", "Content-Type": "application/json"}
        status = 0
        while status == 0 or status >= 500:  # a lost first-write race: resent, as apply does
            local.conn.request("POST", "/v1/users", body, headers)
            response = local.conn.getresponse()
            response.read()
            status = response.status

    with ThreadPoolExecutor(TIE_THREADS) as pool:
        list(pool.map(create, ids))
    query = urlencode({"email": email})
    walks = {str(limit): _walk(server, f"/v1/users?{query}&limit={limit}")
             for limit in TIE_LIMITS}  # fmt: skip
    server.delete_users(ids)
    return {"users": TIE_USERS, "threads": TIE_THREADS, "walks": walks}


def _walk(server: Server, path: str) -> list[list[list[Any]]]:
    pages: list[list[list[Any]]] = []
    target: str | None = path
    while target:
        status, body, _ = server.send(outgoing({"method": "GET", "path": target, "auth": "key"},
                                               server.key, {}))  # fmt: skip
        if status != 200:
            raise SystemExit(f"{target}: {status} {body}")
        # [user number, createdAt's minutes, seconds and milliseconds]: the rest is one run's
        pages.append([[int(u["id"][3:].split("-")[0]), u["createdAt"][14:23]]
                      for u in body["results"]])  # fmt: skip
        target = body["next"]
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:3300")
    parser.add_argument("--key", default=os.environ.get("USERTOUR_API_KEY"))
    parser.add_argument("--commit", default="f9f8065f1", help="the server's source commit")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("no key: pass --key or set USERTOUR_API_KEY")
    server = Server(args.base_url, args.key)
    tag = secrets.token_hex(3)
    server.delete_users(user_ids(tag))
    exchanges = record_session(server, tag)
    server.delete_users(user_ids(tag))
    meta = {
        "server": "usertour",
        "commit": args.commit,
        "recorded_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tag": tag,
    }
    _write(args.out / "usertour_session.json", {**meta, "exchanges": exchanges})
    _write(args.out / "usertour_race.json", {**meta, **record_race(server, tag)})
    ties = {**meta, **record_ties(server, tag)}
    _write(args.out / "usertour_listing_ties.json", ties, indent=None)
    return 0


def _write(path: Path, value: Any, indent: int | None = 1) -> None:
    text = json.dumps(value, indent=indent) + "\n"  # ASCII: lone surrogates are data here
    if any(secret in text for secret in _secrets()):
        raise SystemExit(f"{path}: an answer contains the key; nothing written")
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}", file=sys.stderr)


def _secrets() -> list[str]:
    key = os.environ.get("USERTOUR_API_KEY", "")
    return [key] if key else []


if __name__ == "__main__":
    raise SystemExit(main())
