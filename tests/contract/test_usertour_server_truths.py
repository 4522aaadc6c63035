"""What the real Usertour server does on its own, recorded, against the product's and the
emulator's facts (issue 22): the list cursor's ties, number precision, the body limit, the
company race, the attribute definitions.

The fixtures are the real server's answers (record_usertour.py re-records them); no server is
needed here. Where the session's structural comparison is lenient (doubles to 15 digits), these
tests compare exactly.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from reconciler.kinds.usertour import MAX_REQUEST_BYTES, NUMBER_DIGITS, USERTOUR
from reconciler.kinds.values import kept_digits
from reconciler.providers.usertour import WALK_SIZES
from reconciler.sandbox.usertour_definitions import BUILT_IN
from reconciler.sandbox.usertour_ties import tied_page
from reconciler.sandbox.usertour_values import js_value
from tests.contract.test_usertour_contract import RACE, SESSION, _app, _send

HERE = Path(__file__).parent
TIES = json.loads((HERE / "usertour_listing_ties.json").read_text(encoding="utf-8"))
STEPS = {entry["name"]: entry for entry in SESSION["exchanges"]}

Page = list[list[Any]]


def _skipped_and_repeated(walk: list[Page], users: int) -> tuple[set[int], int]:
    listed = [user for page in walk for user, _ in page]
    repeats = sum(count - 1 for count in Counter(listed).values())
    return set(range(users)) - set(listed), repeats


def _boundaries(walk: list[Page]) -> set[str]:
    """The createdAt of each page's last user followed by a cursor."""
    return {page[-1][1] for page in walk[:-1]}


def test_the_real_cursor_skips_only_users_tied_with_a_page_boundary() -> None:
    """The premise of import's proof (UsertourProvider.list_pages): a user is skipped only
    where a page's last user has the same createdAt."""
    created = {user: at for walk in TIES["walks"].values() for page in walk for user, at in page}
    assert len(created) == TIES["users"]  # the walks together showed everyone
    skipped_anywhere = 0
    for walk in TIES["walks"].values():
        skipped, _ = _skipped_and_repeated(walk, TIES["users"])
        skipped_anywhere += len(skipped)
        assert {created[user] for user in skipped} <= _boundaries(walk)
    assert skipped_anywhere > 0, "the recording shows no skip: record again with more threads"


def test_import_walks_the_real_listing_until_no_user_can_be_missing() -> None:
    """Import's rule (UsertourProvider.list_pages) on the real walks of WALK_SIZES: once no
    millisecond is a boundary of every walk taken, their union is every user."""
    risky: set[str] | None = None
    union: set[int] = set()
    for size in WALK_SIZES:
        walk = TIES["walks"][str(size)]
        union |= {user for page in walk for user, _ in page}
        risky = _boundaries(walk) if risky is None else risky & _boundaries(walk)
        if not risky:
            break
    assert not risky, "the recorded walks do not prove the listing complete"
    assert union == set(range(TIES["users"]))


def test_the_emulated_cursor_repeats_and_skips_like_the_real_one() -> None:
    """listing_ties mode: skips and repeats at small pages, every skip at a boundary's
    millisecond; walks of WALK_SIZES prove the listing complete."""
    rows = [(n + 1, f"u{n:04d}", 1_000 + n) for n in range(TIES["users"])]
    created = tied_page(rows, None, len(rows), 3).created_at  # everyone's, in one page
    boundaries_of = []
    for size in (3, 7, *WALK_SIZES):
        seen: list[str] = []
        boundaries: set[int] = set()
        cursor = None
        while True:
            page = tied_page(rows, cursor, size, 3)
            seen += page.ids
            if page.next_cursor is None:
                break
            boundaries.add(page.created_at[page.ids[-1]])
            cursor = int(page.next_cursor)
        skipped = {row[1] for row in rows} - set(seen)
        assert {created[user] for user in skipped} <= boundaries
        if size in (3, 7):
            assert skipped and len(seen) > len(set(seen))
        boundaries_of.append(boundaries)
    assert not boundaries_of[2] & boundaries_of[3]  # WALK_SIZES' first two prove it


def test_numbers_are_kept_as_the_real_server_keeps_them() -> None:
    sent = STEPS["numbers rounded"]["request"]["body"]["attributes"]
    kept = STEPS["numbers read back"]["body"]["attributes"]
    for name, value in sent.items():
        assert js_value(value) == kept[name] and type(js_value(value)) is type(kept[name])
        if isinstance(value, float):
            assert kept_digits(value, NUMBER_DIGITS) == kept[name]  # what the plan compares


def test_the_body_limit_is_the_servers() -> None:
    at, over = STEPS["body at the limit"], STEPS["body over the limit"]
    assert (at["request"]["pad_to"], at["status"]) == (MAX_REQUEST_BYTES, 201)
    assert (over["request"]["pad_to"], over["status"]) == (MAX_REQUEST_BYTES + 1, 413)
    assert USERTOUR.capabilities.max_request_bytes == MAX_REQUEST_BYTES


def test_the_first_creation_of_one_company_races_in_the_emulator_too(tmp_path: Path) -> None:
    assert 500 in RACE["company_statuses"]  # seen on the real server
    app = _app(tmp_path / "emulator.db", first_write_race_ms=300)
    _send(app, {"method": "POST", "path": "/v1/users", "auth": "key",
                "body": {"id": "seed", "companies": [{"id": "first"}]}}, {})  # fmt: skip
    statuses: list[int] = []
    barrier = threading.Barrier(RACE["concurrent"])

    def join(index: int) -> None:
        body = {"id": f"joiner{index}", "companies": [{"id": "acme"}]}
        barrier.wait()
        status, _, _ = _send(app, {"method": "POST", "path": "/v1/users", "auth": "key",
                                   "body": body}, {})  # fmt: skip
        statuses.append(status)

    threads = [threading.Thread(target=join, args=(i,)) for i in range(RACE["concurrent"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) == {201, 500}
    app.close()


def test_attribute_definitions_have_the_servers_shape_and_built_ins(tmp_path: Path) -> None:
    recorded = STEPS["attribute definitions"]["body"]["results"]
    app = _app(tmp_path / "emulator.db")
    _, _, emulated = _send(app, STEPS["attribute definitions"]["request"], {})
    app.close()
    assert {tuple(sorted(d)) for d in emulated["results"]} == {tuple(sorted(recorded[0]))}
    real = {f"type:{d['scope']}:{d['codeName']}": d["dataType"] for d in recorded}
    for key, kind in BUILT_IN.items():
        assert real[key] == kind, key
