"""How an accepted Usertour upsert changes the store: seeded timestamps, type locking, and
(optionally) the real server's race between concurrent first writes of an attribute name.

Facts from the real server (tests/contract/usertour_session.json and usertour_race.json,
recorded from its source at f9f8065f1, ``biz.service.ts``): a new user *and a new company*
get ``first_seen_at``/``last_seen_at`` (sent values win); each new attribute name claims the
type of its first value for good, and values of another type are dropped; two transactions
that create the same new attribute name at once collide on a unique key, and one of them
fails whole with 500 E0000 (a resend succeeds), and so do two that create the same new
company at once (unique on environment and external id).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from reconciler.model import Company, Membership, Upsert
from reconciler.sandbox.store import StoredUser, UserStore
from reconciler.sandbox.usertour_definitions import BUILT_IN
from reconciler.sandbox.usertour_values import TypeLocks, UpsertRequest, iso_ms

#: The store namespace of the emulated Usertour environment (one key, one environment).
NAMESPACE = "usertour"
#: Attributes Usertour seeds on a new user or company; not declared by anyone.
SEEDED_ATTRIBUTES = ("first_seen_at", "last_seen_at")


class FirstWriteRace(Exception):
    """Another upsert is creating one of this upsert's new attribute names right now."""


class UsertourWriter:
    """Applies validated upserts to the store, one at a time (``_lock``).

    ``race_window_ms`` > 0 emulates the first-write race: an upsert that introduces new
    attribute names or new companies holds them "being created" that long before it writes;
    another upsert introducing one of them meanwhile raises FirstWriteRace and writes nothing.
    """

    def __init__(self, store: UserStore, clock: Callable[[], int], race_window_ms: int = 0) -> None:
        self._store = store
        self._clock = clock
        self._race_window = race_window_ms / 1000
        # "Is this user new?" and the write that seeds first_seen_at form one step.
        self._lock = threading.Lock()
        self._types: dict[str, Any] = {}
        self._creating: set[str] = set()

    def upsert(self, request: UpsertRequest) -> StoredUser:
        """Write one upsert and return the user as stored; FirstWriteRace when it lost."""
        names = self._enter_race(request) if self._race_window else frozenset()
        try:
            with self._lock:
                return self._write(request)
        finally:
            if names:
                with self._lock:
                    self._creating -= names

    def _enter_race(self, request: UpsertRequest) -> frozenset[str]:
        """Mark this upsert's new attribute names as being created, then hold the window."""
        seeds = dict.fromkeys(SEEDED_ATTRIBUTES, "")
        locks = _proposals(request, seeds, {c.id: seeds for c in _companies(request)})
        company_ids = {company.id for company in _companies(request)}
        with self._lock:
            new = frozenset(key for key in locks.proposals if key not in self._types)
            # A new company is a unique key (environment, external id) too (seen: 500).
            if company_ids:
                known = self._store.known_companies(NAMESPACE, company_ids)
                new |= {f"company:{company_id}" for company_id in company_ids - known}
            if new & self._creating:
                raise FirstWriteRace(", ".join(sorted(new & self._creating)))
            self._creating |= new
        if new:
            time.sleep(self._race_window)
        return new

    def _write(self, request: UpsertRequest) -> StoredUser:
        """Seed what is new, claim attribute types, keep the values that match them."""
        seen = dict.fromkeys(SEEDED_ATTRIBUTES, iso_ms(self._clock()))
        user_seeds = seen if self._store.get_user(NAMESPACE, request.id) is None else {}
        companies = [*(request.companies or ()), *(m.company for m in request.memberships or ())]
        known = self._store.known_companies(NAMESPACE, {c.id for c in companies})
        seeded = {c.id: seen for c in companies if c.id not in known}
        locks = _proposals(request, user_seeds, seeded)
        locked = self._claim_types(locks.proposals)

        def company(value: Company) -> Company:
            attributes = {**seeded.get(value.id, {}), **value.attributes}
            return Company(value.id, locks.keep("company", attributes, locked))

        kept = locks.keep("user", {**user_seeds, **request.attributes}, locked)
        email = kept.get("email")
        upsert = Upsert(
            request.id,
            kept,
            email if isinstance(email, str) else None,
            companies=tuple(company(c) for c in request.companies or ()),
            memberships=tuple(
                Membership(company(m.company), locks.keep("membership", m.attributes, locked))
                for m in request.memberships or ()
            ),
        )
        return self._store.upsert(NAMESPACE, upsert)

    def _claim_types(self, proposals: Mapping[str, str]) -> Mapping[str, Any]:
        """Claim types for names not seen yet; a claimed type never changes, so it is cached
        and most upserts need no transaction for it (the caller holds ``_lock``)."""
        # A built-in definition's type is locked from the start, whatever the value proposes.
        unknown = {
            key: BUILT_IN.get(key, kind)
            for key, kind in proposals.items()
            if key not in self._types
        }
        if unknown:
            self._types.update(self._store.setdefault_meta(NAMESPACE, unknown))
        return self._types


def _proposals(
    request: UpsertRequest,
    user_seeds: Mapping[str, Any],
    company_seeds: Mapping[str, Mapping[str, Any]] | None = None,
) -> TypeLocks:
    """The type each value of the request would claim, in the server's order: the user, then
    each company, then each membership's company and the membership."""
    seeds = company_seeds or {}
    locks = TypeLocks()
    locks.propose("user", {**user_seeds, **request.attributes})
    for company in _companies(request):
        locks.propose("company", {**seeds.get(company.id, {}), **company.attributes})
    for membership in request.memberships or ():
        locks.propose("membership", membership.attributes)
    return locks


def _companies(request: UpsertRequest) -> Iterable[Company]:
    yield from request.companies or ()
    yield from (membership.company for membership in request.memberships or ())
