"""The one small interface every target implements, and the facts each kind declares once.

The planner and the validator never ask "is this Sprig?": they ask what the target can hold
(``Capabilities``), read from the target's ``ProviderKind``, a value known offline.
"""

from __future__ import annotations

import abc
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.errors import TargetError
from reconciler.model import AttributeValue, ListedPage, LiveUser, Upsert
from reconciler.providers.retry import Attempts, RetryPolicy

if TYPE_CHECKING:
    from reconciler.load.config import TargetConfig
    from reconciler.providers.transports import TransportFor

#: Value type names used in capabilities and messages.
STRING, INTEGER, NUMBER, BOOLEAN, LIST = "string", "integer", "number", "boolean", "list"

P = TypeVar("P", bound="Provider")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a kind of target can hold; known without a key or a connection (validate is offline)."""

    #: Historical events (append-only, aggregated per name).
    events: bool
    #: Companies and memberships.
    companies: bool
    #: A null attribute value removes the attribute.
    remove_attributes: bool
    #: Attribute value types accepted: subset of string/integer/number/boolean/list.
    #: "number" means any JSON number (int or float); "integer" alone refuses floats.
    value_types: frozenset[str]
    #: Max attributes on one user (Sprig: 100), None for no limit.
    max_attributes: int | None = None
    #: Attribute names with this prefix belong to the vendor and may not be declared.
    reserved_prefix: str | None = None
    #: The attribute in which the target keeps the email (Usertour: ``email``; Sprig: ``!email``).
    #: Declaring it as an attribute would fight the ``email:`` field, so it is an error.
    email_attribute: str | None = None
    #: Whether 12 and 12.0 are different values on this target. JSON-only APIs answer 12 for
    #: 12.0, so comparing the declared 12.0 with the live 12 must not show a change.
    keeps_float_type: bool = True
    #: The target can list all users (import --all, prune).
    can_list: bool = False
    #: Why it cannot list or delete users, in the vendor's terms (None: it can).
    cannot_list_because: str | None = None
    #: Attributes the server writes on every new user and company; nobody declares them, so
    #: import leaves them out at every level (they move whenever the user is active) unless asked.
    seeded_attributes: frozenset[str] = frozenset()
    #: The first type seen for an attribute name is kept per environment and values of
    #: another type are silently dropped (Usertour; see typelock.py).
    locks_types: bool = False
    #: Significant digits the target keeps of a number that is not a 64-bit integer
    #: (Usertour: 16, so ``0.30000000000000004`` comes back ``0.3``); None: every double.
    number_digits: int | None = None
    #: Largest request body the target accepts, in bytes (Usertour: 100 KB, its web
    #: framework's default; larger bodies get 413); None: no known limit.
    max_request_bytes: int | None = None


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """Everything reconciler knows about one vendor without a key or a connection.

    octoDNS declares ``SUPPORTS_*`` on each provider class; here a kind's facts are one value
    in a module that imports no HTTP stack (``*_kind.py``), so the offline ``validate``, the
    planner and saved plans read them, and only opening a target imports its provider class.
    """

    #: As written in reconciler.yaml (``provider: sprig``).
    name: str
    capabilities: Capabilities
    #: ``module:Class`` of the Provider that talks to it, imported by ``open_provider`` only.
    provider: str
    #: The exact request apply sends for an upsert (method, path, body), for saved plans and
    #: reviews; the HTTP providers send this very request.
    describe_request: Callable[[Upsert], dict[str, Any]]
    #: Writes show up on reads only later (Sprig's 202): verification polls instead of
    #: reading once.
    eventually_consistent: bool = False
    #: Requests in flight at once on every target of this kind (the sandbox's single SQLite
    #: writer gains nothing from more); None: each target's ``parallelism`` setting.
    parallelism: int | None = None
    #: How often a write whose answer was lost is sent again, before the ``RECONCILER_RETRY_*``
    #: variables adjust it.
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: Seconds within which the vendor shows every write it accepted (eventually consistent
    #: kinds): a write-ahead record started this long ago speaks for every earlier write, and
    #: a write in flight for longer was lost (load/journal.py). None: reads show writes at once.
    settles_within: float | None = None
    #: Users per list request, on kinds where listing can save requests over reading users
    #: one by one (see readstrategy); None where it never does: Sprig cannot list, and the
    #: sandbox reads any set of users in one batched call.
    list_page_size: int | None = None


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


def normalise(value: AttributeValue, capabilities: Capabilities) -> AttributeValue:
    """The value as the target will give it back for what we send.

    JSON-only APIs answer ``12`` for ``12.0``; a target that keeps fewer digits answers
    ``0.3`` for ``0.30000000000000004``: comparing without this would show a change forever.
    """
    if isinstance(value, float) and capabilities.number_digits is not None:
        value = kept_digits(value, capabilities.number_digits)
    if not capabilities.keeps_float_type and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [normalise(item, capabilities) for item in value]
    return value


def kept_digits(number: float, digits: int) -> float:
    """``number`` rounded to ``digits`` significant digits, as a target that keeps only those
    gives it back (Usertour, measured: ``256.35699999999997`` -> ``256.357``)."""
    if not math.isfinite(number):
        return number
    return float(f"{number:.{digits}g}")


def same_value(want: AttributeValue, have: AttributeValue) -> bool:
    """Equal by value and type: ``True`` is not ``1``, ``"12"`` is not ``12``."""
    if type(want) is not type(have):
        return False
    if isinstance(want, list):
        return len(want) == len(have) and all(map(same_value, want, have))
    return bool(want == have)
