"""How to read a target's declared users: one GET each, or its listing page by page.

Requests are what a plan spends (vendors limit them per minute), and a list page answers up to
100 users in one request with the same expanded objects as a GET. Which is cheaper depends on
the environment's size, and the list has no total: only reading it tells. So the choice is
made online, with the ski-rental rule (rent skis until the rent paid equals the price):

    read page after page; as soon as the pages read are at least the number of declared users
    not yet seen, stop listing and GET those.

A listing that ends does not prove a user absent: Usertour's cursor orders by ``createdAt``
alone, and users created in the same millisecond that straddle a page boundary are repeated or
skipped (apis/usertour.md; 2 of 3,000 users a parallel client created were never listed). So a
declared user the listing did not show is confirmed by a GET before it is planned as new: the
listing saves requests on the users it shows, never decides that one is missing.

Bound. Let L be the pages of the whole listing (at least 1: an empty environment still answers
one page), D the declared users to read, D >= 1, and A those of them that are absent (each
needs its own GET whatever is done: only a GET proves absence). Say the rule stops after k
pages, with u_k users still unseen. It did not stop after page k - 1, so k - 1 < u_(k-1) <= D,
hence k <= D; and k <= L. If the listing ended (k = L), the unseen are the absent ones (and any
the listing skipped): the total is L + A, the cost of "list everything, GET the rest", and
L <= D gives L + A <= 2 D. Otherwise u_k <= k and the total is k + u_k <= 2k <= 2 min(L, D).
So the total is never more than twice the cheaper of "list everything and confirm the rest"
and "GET every declared user", whichever the environment turns out to be; no online rule can
promise better than 2 (the environment's size is revealed only by paying for it).

One exception, on purpose: fewer than MIN_TO_LIST users to read are read with GETs directly,
so a ``--changed-since`` plan of k users stays exactly k requests whatever the environment's
size. (On an environment of a few pages that can cost more than twice the listing, at most
MIN_TO_LIST - 1 requests.) Reading for pruning needs the whole listing anyway: it lists every
page, then GETs only the declared users the listing did not show.

A ``--shard I/N`` job applies the same rule to its own share: it counts only its users, so a
small share is read by GETs, and a large one lists while that pays. Every job pays for the pages
it reads (the listing cannot be filtered by shard), which the rule has already weighed against
the GETs of that job's users.

This module decides and counts; the caller passes the requests in as a lazy iterator of pages
(each ``next`` is one request) and a function that GETs a list of ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from reconciler.errors import ListingBroken
from reconciler.model import ListedPage, LiveUser

#: Fewer users than this are read with GETs directly (about one page's worth).
MIN_TO_LIST = 100

#: ``get(ids)``: the live users among ``ids`` (absent ids left out), one request per id.
Get = Callable[[Sequence[str]], Mapping[str, LiveUser]]
#: ``on_page(pages_read, users_on_page, declared_unseen)``, after each page.
OnPage = Callable[[int, int, int], None]


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The live users among those asked for, and what reading them cost."""

    live: dict[str, LiveUser]
    #: Every listed user, sorted by id, when the whole listing was read for pruning; else None.
    listed: tuple[LiveUser, ...] | None
    pages: int
    gets: int
    #: The listing broke off (ListingBroken) and the users it had not shown were read by GETs.
    broken: ListingBroken | None = None
    #: Why a whole listing could not be proved complete (it may have skipped users).
    unproven: str | None = None

    @property
    def requests(self) -> int:
        return self.pages + self.gets


def lists_first(wanted: int, can_list: bool, min_to_list: int | None = MIN_TO_LIST) -> bool:
    """Whether reading ``wanted`` users starts with the listing (``min_to_list`` None: never)."""
    return can_list and min_to_list is not None and wanted >= min_to_list


def keep_listing(pages_read: int, unseen: int) -> bool:
    """The ski-rental rule: list on while the pages paid are fewer than the GETs left."""
    return pages_read < unseen


def read_declared(
    wanted: Iterable[str],
    get: Get,
    pages: Iterator[ListedPage] | None = None,
    on_page: OnPage | None = None,
) -> ReadResult:
    """Read ``wanted`` by listing ``pages`` while the rule says so, then GET the rest.

    ``pages`` None means "GET only" (the target cannot list, or too few users are wanted:
    see ``lists_first``). A user seen in the listing is never read again. A listing that
    breaks off (a user deleted meanwhile broke its cursor) is left there: the users it had
    not shown are read by GETs, as if the rule had stopped (at most D GETs more).
    """
    ids = list(dict.fromkeys(wanted))
    unseen = set(ids)
    live: dict[str, LiveUser] = {}
    read = 0
    broken = None
    while pages is not None and keep_listing(read, len(unseen)):
        try:
            page = next(pages, None)
        except ListingBroken as error:
            broken = error
            break
        if page is None:
            break
        read += 1
        _take(page.users, unseen, live)
        if on_page is not None:
            on_page(read, len(page.users), len(unseen))
        if page.last:
            break
    # Even a listing that ended may have skipped a user (ties of createdAt at a page
    # boundary): the unseen are confirmed by GET, never taken as absent (module docstring).
    rest = [user_id for user_id in ids if user_id in unseen]
    if rest:
        live.update(get(rest))
    return ReadResult(_in_order(ids, live), None, read, len(rest), broken)


def read_whole(
    wanted: Iterable[str],
    pages: Iterable[ListedPage],
    get: Get,
    on_page: OnPage | None = None,
) -> ReadResult:
    """Read every page (pruning needs every live user); ``wanted`` come out of the listing,
    and those it did not show are confirmed by ``get`` (a listing may skip users).

    A ListingBroken goes up: deletions judged on part of a listing would be wrong.
    """
    ids = list(dict.fromkeys(wanted))
    unseen = set(ids)
    listed: dict[str, LiveUser] = {}
    read = 0
    unproven = None
    for page in pages:
        read += 1
        unproven = page.unproven
        listed.update((user.id, user) for user in page.users)
        unseen.difference_update(user.id for user in page.users)
        if on_page is not None:
            on_page(read, len(page.users), len(unseen))
        if page.last:
            break
    rest = [user_id for user_id in ids if user_id in unseen]
    found = get(rest) if rest else {}
    listed.update(found)
    live = {user_id: listed[user_id] for user_id in ids if user_id in listed}
    everyone = tuple(listed[user_id] for user_id in sorted(listed))
    return ReadResult(live, everyone, read, len(rest), unproven=unproven)


def _take(page: Sequence[LiveUser], unseen: set[str], live: dict[str, LiveUser]) -> None:
    """Keep the wanted users of one page (a user listed twice: the later copy)."""
    for user in page:
        if user.id in unseen or user.id in live:
            live[user.id] = user
            unseen.discard(user.id)


def _in_order(ids: Sequence[str], live: Mapping[str, LiveUser]) -> dict[str, LiveUser]:
    return {user_id: live[user_id] for user_id in ids if user_id in live}
