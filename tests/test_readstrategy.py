"""The read strategy: list pages while they pay, then GET the rest (readstrategy.py).

The environment is plain data here: its users in creation order, served as lazy pages whose
every ``next`` counts as one request, and a GET that counts the ids it is asked for.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.errors import ListingBroken
from reconciler.model import ListedPage, LiveUser
from reconciler.plan.readstrategy import (
    MIN_TO_LIST,
    keep_listing,
    lists_first,
    read_declared,
    read_whole,
)


@dataclass
class Environment:
    """A target's users in creation order, with request counters."""

    ids: list[str]
    page_size: int = 100
    pages_sent: int = 0
    got: list[str] = field(default_factory=list)

    def pages(self) -> Iterator[ListedPage]:
        for start in range(0, max(len(self.ids), 1), self.page_size):
            self.pages_sent += 1
            chunk = self.ids[start : start + self.page_size]
            last = start + self.page_size >= len(self.ids)
            yield ListedPage(tuple(LiveUser(user_id) for user_id in chunk), last)

    def get(self, ids: Sequence[str]) -> Mapping[str, LiveUser]:
        self.got.extend(ids)
        known = set(self.ids)
        return {user_id: LiveUser(user_id) for user_id in ids if user_id in known}

    @property
    def list_everything(self) -> int:
        """Requests to list the whole environment (an empty one still answers one page)."""
        return max(1, math.ceil(len(self.ids) / self.page_size))


def _read(env: Environment, wanted: Sequence[str]) -> tuple[dict[str, LiveUser], int]:
    pages = env.pages() if lists_first(len(wanted), True) else None
    result = read_declared(wanted, env.get, pages)
    assert result.pages == env.pages_sent and result.gets == len(env.got)
    return result.live, env.pages_sent + len(env.got)


def _users(count: int, prefix: str = "u") -> list[str]:
    return [f"{prefix}{n:05d}" for n in range(count)]


def test_a_full_plan_of_1000_in_1000_lists_10_pages() -> None:
    env = Environment(_users(1000))
    live, requests = _read(env, _users(1000))
    assert requests == 10 and env.got == []
    assert list(live) == _users(1000)


def test_fewer_than_a_page_of_users_are_read_with_gets() -> None:
    env = Environment(_users(1000))
    wanted = ["u00999", "u00500", "nobody", "u00001", "u00002"]
    live, requests = _read(env, wanted)
    assert requests == 5 and env.pages_sent == 0
    assert list(live) == ["u00999", "u00500", "u00001", "u00002"]


def test_listing_stops_once_the_pages_paid_reach_the_gets_left() -> None:
    # 200 declared users, every 50th of 10,000: each page shows 2 of them. After 67 pages,
    # 66 are unseen (67 >= 66): stop and GET those, never a user the listing showed.
    env = Environment(_users(10_000))
    wanted = _users(10_000)[::50]
    live, requests = _read(env, wanted)
    assert (env.pages_sent, len(env.got)) == (67, 66)
    assert env.got == wanted[134:]
    assert set(live) == set(wanted)
    assert requests <= 2 * min(env.list_everything, len(wanted))


def test_declared_users_the_whole_listing_did_not_show_are_confirmed_by_gets() -> None:
    env = Environment(_users(150))
    wanted = _users(120) + _users(30, "ghost")
    live, requests = _read(env, wanted)
    assert requests == 32 and env.got == _users(30, "ghost")  # two pages, then 30 GETs
    assert set(live) == set(_users(120))


def _skipping(env: Environment, skipped: set[str]) -> Iterator[ListedPage]:
    """Usertour's real listing: it ends, but users tied in createdAt at a page boundary
    are never shown (apis/usertour.md)."""
    for page in env.pages():
        users = tuple(user for user in page.users if user.id not in skipped)
        yield ListedPage(users, page.last)


def test_a_user_the_listing_skipped_is_read_by_get_not_planned_as_new() -> None:
    env = Environment(_users(300))
    result = read_declared(_users(300), env.get, _skipping(env, {"u00100", "u00200"}))
    assert (result.pages, result.gets) == (3, 2) and env.got == ["u00100", "u00200"]
    assert list(result.live) == _users(300)


def test_pruning_confirms_declared_users_the_listing_skipped() -> None:
    env = Environment(_users(300))
    result = read_whole(["u00100", "ghost"], _skipping(env, {"u00100"}), env.get)
    assert (result.pages, result.gets) == (3, 2) and env.got == ["u00100", "ghost"]
    assert list(result.live) == ["u00100"]


def test_a_user_listed_twice_is_kept_as_last_seen() -> None:
    first = ListedPage((LiveUser("a", email="old@example.com"),), last=False)
    second = ListedPage((LiveUser("a", email="new@example.com"), LiveUser("b")), last=True)
    pages = iter([first, second])
    result = read_declared(["a", "b", *_users(200)], lambda ids: {}, pages)
    assert result.live["a"].email == "new@example.com"


def test_pruning_reads_the_whole_listing_and_gets_only_what_it_did_not_show() -> None:
    env = Environment(_users(250))
    result = read_whole(["u00003", "u00249"], env.pages(), env.get)
    assert (result.pages, result.gets) == (3, 0)
    assert list(result.live) == ["u00003", "u00249"]
    assert result.listed is not None and [u.id for u in result.listed] == _users(250)


def _breaking(env: Environment, after: int) -> Iterator[ListedPage]:
    """The environment's pages, until a deletion breaks the cursor after ``after`` pages."""
    for number, page in enumerate(env.pages()):
        if number == after:
            raise ListingBroken("prod", "listing users: 400 E1007 Invalid cursor parameter")
        yield page


def test_a_broken_listing_reads_the_users_it_had_not_shown_by_gets() -> None:
    env = Environment(_users(1000))
    result = read_declared(_users(1000), env.get, _breaking(env, after=3))
    assert result.broken is not None and (result.pages, result.gets) == (3, 700)
    assert env.got == _users(1000)[300:]
    assert list(result.live) == _users(1000)


def test_pruning_never_judges_a_broken_listing() -> None:
    env = Environment(_users(1000))
    with pytest.raises(ListingBroken):
        read_whole(_users(10), _breaking(env, after=3), env.get)


def test_the_rule_and_the_threshold() -> None:
    assert keep_listing(0, 1) and keep_listing(4, 5)
    assert not keep_listing(5, 5) and not keep_listing(0, 0)
    assert not lists_first(MIN_TO_LIST - 1, True)
    assert lists_first(MIN_TO_LIST, True)
    assert not lists_first(10_000, False)  # Sprig, or the sandbox's batched reads
    assert not lists_first(10_000, True, None)  # GETs only, asked for


ORDERS = ("random", "created first", "created last")


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(0, 4000),
    live_declared=st.integers(0, 4000),
    absent=st.integers(0, 300),
    page_size=st.integers(1, 100),
    order=st.sampled_from(ORDERS),
    seed=st.integers(0, 2**32),
)
def test_never_more_than_twice_the_cheaper_way(
    size: int, live_declared: int, absent: int, page_size: int, order: str, seed: int
) -> None:
    """Whatever the environment: the right users, and at most 2 x min(list all and GET the
    absent, GET all) requests; below MIN_TO_LIST users, exactly one GET each."""
    env = Environment(_users(size), page_size)
    count = min(live_declared, size)
    if order == "random":
        declared = random.Random(seed).sample(env.ids, count)
    else:
        declared = env.ids[:count] if order == "created first" else env.ids[size - count :]
    wanted = declared + _users(absent, "ghost")
    random.Random(seed).shuffle(wanted)

    live, requests = _read(env, wanted)

    assert set(live) == set(declared)
    if len(wanted) < MIN_TO_LIST:
        assert requests == len(wanted) and env.pages_sent == 0
    else:
        absent = len(set(wanted) - set(env.ids))
        assert requests <= 2 * min(env.list_everything + absent, len(set(wanted)))
    assert len(env.got) == len(set(env.got))
    listed = set(env.ids[: env.pages_sent * page_size])
    assert not listed & set(env.got), "a user seen in the listing was read again"
