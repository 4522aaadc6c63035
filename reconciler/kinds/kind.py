"""What reconciler knows of each kind of target without a key or a connection.

The planner and the validator never ask "is this Sprig?": they ask what the target can hold
(``Capabilities``), read from the target's ``ProviderKind``, a value known offline. On the
floor, so that load checks declarations against it and the providers name it, neither
importing the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.model import Upsert
from reconciler.retry import RetryPolicy

#: Value type names used in capabilities and messages.
STRING, INTEGER, NUMBER, BOOLEAN, LIST = "string", "integer", "number", "boolean", "list"


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
    in a module that imports no HTTP stack (reconciler/kinds/), so the offline ``validate``, the
    planner and saved plans read them, and only opening a target imports its provider class.
    """

    #: As written in reconciler.yaml (``provider: sprig``).
    name: str
    capabilities: Capabilities
    #: ``module:Class`` of the Provider that talks to it, imported by ``open_provider`` only.
    class_path: str
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
