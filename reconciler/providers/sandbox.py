"""The built-in local target: users in a SQLite file, no network, no key.

It makes the README's first command work on a fresh machine and can hold every feature (events,
companies, memberships, attribute removal), so the examples can show all of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import ConfigError, TargetError
from reconciler.kinds.sandbox import SANDBOX
from reconciler.model import ListedPage, LiveUser, Upsert
from reconciler.providers.base import Provider
from reconciler.quoting import PATH_CHARS, excerpt
from reconciler.retry import Attempts
from reconciler.sandbox.store import StoredUser, StoreError, UserStore

if TYPE_CHECKING:
    from reconciler.providers.transports import TransportFor
    from reconciler.settings import TargetConfig

#: The store namespace of sandbox targets; the emulator uses other namespaces in the same schema.
NAMESPACE = "sandbox"


class SandboxProvider(Provider):
    """A target kept in a local SQLite file (``path:`` in reconciler.yaml)."""

    kind = SANDBOX

    def __init__(self, target: str, path: Path, label: str | None = None) -> None:
        super().__init__(target)
        self.path = path
        #: The path as reconciler.yaml writes it, for messages.
        self.label = label if label is not None else str(path)
        self._store: UserStore | None = None
        self._retired: list[UserStore] = []
        self._open_lock = threading.Lock()

    @classmethod
    def from_config(
        cls,
        target: TargetConfig,
        environ: Mapping[str, str],
        *,
        transport: TransportFor | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> SandboxProvider:
        """A ``provider: sandbox`` target needs a path and no key (and no transport: it
        sends no request)."""
        if target.path is None:
            raise ConfigError(f"target {target.name}: provider sandbox needs a `path`")
        provider = cls(target.name, target.path, excerpt(target.shown("path"), PATH_CHARS))
        provider.clock = clock
        return provider

    @contextmanager
    def _opened(self, *, write: bool = False) -> Iterator[UserStore]:
        """The store, opened on first use (so constructing a provider never touches the disk),
        with its errors turned into a TargetError that names the target.

        Read-only until the first write: ``plan`` only reads, so it creates and changes no
        file (a missing store reads as empty); ``apply`` reopens it for writing when it sends.
        """
        try:
            with self._open_lock:
                if self._store is not None and write and self._store.read_only:
                    # Closed with the provider: another thread may still be reading from it.
                    self._retired.append(self._store)
                    self._store = None
                if self._store is None:
                    self._store = UserStore(self.path, read_only=not write, label=self.label)
                store = self._store
            yield store
        except StoreError as exc:
            raise TargetError(self.target, str(exc)) from exc

    def read_users(
        self, user_ids: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> Mapping[str, LiveUser]:
        """Return the stored users among ``user_ids``, in one batched store call."""
        ids = list(user_ids)
        with self._opened() as store:
            stored = store.get_users(NAMESPACE, ids)
        if progress is not None:
            progress(len(ids))
        return {user_id: to_live_user(user) for user_id, user in stored.items()}

    def upsert(self, upsert: Upsert, attempts: Attempts | None = None) -> LiveUser:
        """Write one user and return it as stored, so the applier verifies without a read."""
        with self._opened(write=True) as store:
            return to_live_user(store.upsert(NAMESPACE, upsert))

    def list_user_ids(self) -> list[str]:
        """Every stored user id, sorted (for import and prune)."""
        with self._opened() as store:
            return store.list_user_ids(NAMESPACE)

    def list_pages(self, complete: bool = False) -> Iterator[ListedPage]:
        """Every stored user, sorted by id, as one page: one batched store call, no requests."""
        with self._opened() as store:
            ids = store.list_user_ids(NAMESPACE)
            stored = store.get_users(NAMESPACE, ids)
        users = tuple(to_live_user(stored[user_id]) for user_id in ids if user_id in stored)
        yield ListedPage(users, last=True)

    def delete_user(self, user_id: str) -> bool:
        """Delete one stored user with its events and memberships."""
        with self._opened(write=True) as store:
            return store.delete_user(NAMESPACE, user_id)

    def close(self) -> None:
        """Close the SQLite file if it was opened. Safe to call twice."""
        with self._open_lock:
            for store in (*self._retired, *([self._store] if self._store else [])):
                store.close()
            self._store, self._retired = None, []


def to_live_user(user: StoredUser) -> LiveUser:
    """A stored user as the planner sees it: its companies are the ones it is a member of,
    as in Usertour, whether it declared ``companies:`` or ``memberships:``."""
    return LiveUser(
        id=user.id,
        email=user.email,
        attributes=user.attributes,
        events=user.events,
        companies={
            company_id: membership.company.attributes
            for company_id, membership in user.memberships.items()
        },
        memberships=user.memberships,
    )
