"""The one small interface every target implements: read users, upsert one user.

What a kind of target can hold is its ``ProviderKind`` (reconciler/kinds/, on the floor, known
offline); a provider class names its kind's value and does the I/O.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, ClassVar, TypeVar

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import TargetError
from reconciler.kinds.kind import Capabilities, ProviderKind
from reconciler.model import ListedPage, LiveUser, Upsert
from reconciler.retry import Attempts, RetryPolicy

if TYPE_CHECKING:
    from reconciler.providers.transports import TransportFor
    from reconciler.settings import TargetConfig

P = TypeVar("P", bound="Provider")


class Provider(abc.ABC):
    """A configured target: read live users, upsert one user. The only code that does I/O to it."""

    #: The vendor's facts; each provider class names its kind's one value.
    kind: ClassVar[ProviderKind]

    def __init__(self, target: str, parallelism: int = 1, retry: RetryPolicy | None = None) -> None:
        self.target = target
        fixed = self.kind.parallelism
        #: Requests this target may have in flight at once.
        self.parallelism = fixed if fixed is not None else max(1, parallelism)
        #: The retry budget of each write (shared by the client and the applier's resending).
        self.retry = retry if retry is not None else self.kind.retry
        #: Set once the run is interrupted (``stop_sending``): no new request starts, and a
        #: retry's pause ends at once (the HTTP client waits on it instead of sleeping).
        self.stopping = threading.Event()
        #: The run's clock: the pauses of apply's polls (apply/polling.py) are timed by it.
        self.clock: Clock = SYSTEM_CLOCK

    def stop_sending(self) -> None:
        """The run was interrupted (SIGINT, SIGTERM): start no new request; requests already
        in flight may finish. A request refused for this raises ``errors.NotSent``."""
        self.stopping.set()

    @classmethod
    def from_config(
        cls: type[P],
        target: TargetConfig,
        environ: Mapping[str, str],
        *,
        transport: TransportFor | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> P:
        """Open the provider of one configured target: check its settings and key variable
        (no request yet), its requests sent through ``transport`` (the runtime's: None for
        its URL is the network) and its waits timed by ``clock``. Each kind's provider class
        implements it."""
        raise NotImplementedError

    @property
    def capabilities(self) -> Capabilities:
        """What the target can hold: its kind's, the same for every target of it."""
        return self.kind.capabilities

    @property
    def eventually_consistent(self) -> bool:
        """Whether verification must poll: its kind's."""
        return self.kind.eventually_consistent

    @property
    def list_page_size(self) -> int | None:
        """Users per list request: its kind's."""
        return self.kind.list_page_size

    @abc.abstractmethod
    def read_users(
        self, user_ids: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> Mapping[str, LiveUser]:
        """Return the live users among ``user_ids``; ids the target does not know are absent.

        ``progress(n)`` is called as users are read (for the progress line on stderr).
        """

    @abc.abstractmethod
    def upsert(self, upsert: Upsert, attempts: Attempts | None = None) -> LiveUser | None:
        """Send one user's changes. Return the user as the target answered, if it answers with it.

        ``attempts``: the retry budget of this user's writes (the applier's, shared with its own
        resending); None starts a fresh one.
        Returning None means the caller must read the user back to verify what stuck.
        """

    def list_pages(self, complete: bool = False) -> Iterator[ListedPage]:
        """The target's users page by page, one request per page, sent only as pages are taken.

        ``complete``: the caller needs every user (import --all, prune), so a target whose
        listing may skip users walks it until proved complete, or says on the last page why
        it could not (``ListedPage.unproven``).
        Only targets whose capabilities say ``can_list``; the others (Sprig has no list
        endpoint) refuse with a TargetError that says what to do instead.
        """
        why = self.capabilities.cannot_list_because or f"{self.kind.name} cannot list its users"
        raise TargetError(self.target, f"{why}: name the users with --user or --ids-from")

    def list_users(self, progress: Callable[[int], None] | None = None) -> list[LiveUser]:
        """Every live user of the target, sorted by id (import --all); ``progress(n)`` per page.

        A user listed twice (created or changed between pages) is kept once, as last seen.
        """
        users: dict[str, LiveUser] = {}
        for page in self.list_pages():
            users.update((user.id, user) for user in page.users)
            if progress is not None:
                progress(len(page.users))
        return [users[user_id] for user_id in sorted(users)]

    def confirm_absence(self) -> None:
        """Called when a plan found none of the users it read: make sure "absent" was the
        vendor's answer, not a wrong URL's (a TargetError if not). Most vendors' "no such
        user" cannot be mistaken for a missing route, so there is nothing to do."""

    def attribute_types(self) -> Mapping[tuple[str, str], str] | None:
        """The type each attribute name is locked to, by (level, name), level ``user``,
        ``company`` or ``membership``, on a target that locks types and can list them in a
        few requests (typelock.py); None: it cannot tell."""
        return None

    def delete_user(self, user_id: str) -> bool:
        """Delete one user for good (prune); False when the target did not have it.

        Only targets that can list users can be pruned; the others refuse.
        """
        raise TargetError(self.target, f"{self.kind.name} cannot delete users")

    def close(self) -> None:
        """Release connections or files. Safe to call twice."""

    def __enter__(self: P) -> P:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
