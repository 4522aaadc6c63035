"""Reading the live users a plan needs from one target: the read strategy over a provider.

readstrategy decides (pure) when listing pays; this module hands it the provider's pages and
GETs, shows progress (pages and users while listing, then the GETs left) and logs each page
at ``-v``. Plans (and apply, which plans again before it sends), pruning and import all read
through here, so they agree on the live users whichever way they were read (a list page carries
the same expanded user objects as a GET). A declared user the listing did not show is read by a
GET too: a listing may skip users (readstrategy), so only a GET proves one absent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from reconciler.model import LiveUser
from reconciler.plan.readstrategy import (
    MIN_TO_LIST,
    ReadResult,
    lists_first,
    read_declared,
    read_whole,
)
from reconciler.progress import Quiet, Step, StepFactory
from reconciler.providers.base import Provider

log = logging.getLogger("reconciler.read")


class _Listing:
    """The listing's progress step, opened at its first page (most reads never list)."""

    def __init__(self, target: str, steps: StepFactory) -> None:
        self._target = target
        self._steps = steps
        self._step: Step | None = None

    def page(self, pages: int, users: int, unseen: int) -> None:
        if self._step is None:
            self._step = self._steps(f"{self._target}: listing users", 0)
        self._step.page(users)
        log.info(
            "%s: list page %d: %d users; %d of the users to read not seen yet",
            self._target,
            pages,
            users,
            unseen,
        )

    def close(self) -> None:
        if self._step is not None:
            self._step.close()


def read_live(
    provider: Provider,
    user_ids: Iterable[str],
    steps: StepFactory = Quiet,
    whole: bool = False,
    min_to_list: int | None = MIN_TO_LIST,
    complete: bool = False,
) -> ReadResult:
    """The live users among ``user_ids``, by listing and/or GETs (see readstrategy).

    ``whole``: read the entire listing (pruning), which then also holds every live user.
    ``min_to_list``: read at least this many users by listing first (None: GETs only).
    ``complete`` (with ``whole``): every live user is needed, as import --all writes them
    and a user left out would later look undeclared: the provider proves the listing
    complete, or the result says why not. Pruning does not ask: a user the listing skipped
    is merely not deleted this time, and declared users it did not show are read by GETs.
    """
    ids = list(dict.fromkeys(user_ids))
    target = provider.target
    listing = _Listing(target, steps)

    def get(rest: Sequence[str]) -> Mapping[str, LiveUser]:
        reading = steps(f"{target}: reading users", len(rest))
        found = provider.read_users(rest, reading.advance)
        reading.close()
        return found

    try:
        if whole:
            result = read_whole(ids, provider.list_pages(complete), get, listing.page)
        else:
            can_list = provider.list_page_size is not None and provider.capabilities.can_list
            first = lists_first(len(ids), can_list, min_to_list)
            result = read_declared(ids, get, provider.list_pages() if first else None, listing.page)
    finally:
        listing.close()
    if result.unproven is not None:
        log.warning("%s: the listing is not proved complete: %s", target, result.unproven)
    if result.broken is not None:
        log.warning("%s; read the %d users not listed yet by GETs", result.broken, result.gets)
    if result.pages:
        log.info(
            "%s: read %d of %d users with %d list pages and %d GETs",
            *(target, len(result.live), len(ids), result.pages, result.gets),
        )
    return result
