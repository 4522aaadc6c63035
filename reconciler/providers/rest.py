"""The shape both HTTP vendors share: GET one user (the vendor's 404 = absent), POST one upsert.

A vendor module says only what differs: its auth scheme, hosts and error wording; its kind
(reconciler/kinds/) holds its paths and wire format, which this class sends as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from reconciler.clock import SYSTEM_CLOCK, Clock
from reconciler.concurrency import fan_out
from reconciler.errors import TargetError
from reconciler.escape import printable
from reconciler.model import LiveUser, Upsert
from reconciler.providers.answers import Answer, AnswerLimits, Unreadable
from reconciler.providers.base import Provider
from reconciler.providers.client import ApiClient
from reconciler.providers.http import check_destination, read_api_key, user_path
from reconciler.retry import Attempts, RetryPolicy
from reconciler.settings import TargetConfig

if TYPE_CHECKING:
    import httpx

    from reconciler.providers.transports import TransportFor

H = TypeVar("H", bound="HttpProvider")


class HttpProvider(Provider):
    """Reads fan out over the target's connection pool; each upsert is one JSON POST."""

    #: ``Authorization: <scheme> <key>``.
    auth_scheme: ClassVar[str]
    #: Collection path: GET ``{users_path}/{id}`` reads one user.
    users_path: ClassVar[str]
    read_params: ClassVar[list[tuple[str, str]]] = []
    default_base_url: ClassVar[str]
    official_hosts: ClassVar[tuple[str, ...]]
    #: Words a variable holding this vendor's key has in its name (http.read_api_key).
    key_words: ClassVar[tuple[str, ...]]
    #: Whether customers run the vendor's server themselves (a bare RECONCILER_ALLOWED_HOSTS
    #: entry counts for it).
    self_hosted: ClassVar[bool] = False

    def __init__(
        self,
        target: TargetConfig,
        base_url: str,
        api_key: str,
        retry: RetryPolicy | None = None,
        limits: AnswerLimits | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        super().__init__(target.name, target.parallelism, retry)
        self.clock = clock
        header = f"{self.auth_scheme} {api_key}"
        self._api = ApiClient(
            target,
            base_url,
            header,
            self.describe_error,
            self.retry,
            transport=transport,
            stopping=self.stopping,
            limits=limits,
            clock=clock,
        )

    @classmethod
    def from_config(
        cls: type[H],
        target: TargetConfig,
        environ: Mapping[str, str],
        *,
        transport: TransportFor | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> H:
        """Check where the key would go and read it, before any connection."""
        base_url = target.base_url or cls.default_base_url
        shown = target.shown("base_url") if target.base_url else None
        checked = check_destination(
            target.name,
            base_url,
            cls.official_hosts,
            environ,
            shown,
            provider=target.provider,
            self_hosted=cls.self_hosted,
        )
        key = read_api_key(target, environ, cls.key_words)
        retry = RetryPolicy.from_env(environ, cls.kind.retry)
        limits = AnswerLimits.from_env(environ)
        routed = transport(checked) if transport is not None else None
        return cls(target, checked, key, retry, limits, transport=routed, clock=clock)

    @staticmethod
    def describe_error(response: Answer) -> str:
        """The vendor's refusal in its own words, e.g. ``403 E1000 Invalid API key``."""
        raise NotImplementedError

    @staticmethod
    def to_live_user(user_id: str, body: Any) -> LiveUser:
        """The vendor's answer to ``GET {users_path}/{user_id}`` -> LiveUser (its kind's
        pure function)."""
        raise NotImplementedError

    @staticmethod
    def missing_user(response: Answer) -> bool:
        """Whether a 404 is the vendor's "no such user", not a route the server lacks."""
        raise NotImplementedError

    def wrong_route(self, method: str, path: str, response: Answer) -> TargetError:
        """A 404 that is not a missing user: the URL is wrong, so every read would be."""
        return TargetError(
            self.target,
            f"{method} {self._api.shown_url}{path} answered {self._api.describe(response)}, "
            "which is not a missing user: the server has no such route; check base_url",
        )

    def answered(self, response: Answer, upsert: Upsert) -> LiveUser | None:
        """The user as the upsert's answer shows it; None: the applier reads it back. An
        answer that is not the vendor's (HTML, garbage, empty) is that user's failure
        (:meth:`not_the_vendors`): nothing says the write was accepted."""
        return None

    def not_the_vendors(self, response: Answer, upsert: Upsert, expected: str) -> TargetError:
        """A success status whose body is not what the vendor answers: not counted as applied."""
        body = repr(response.words()) if response.body.strip() else "an empty body"
        return TargetError(
            self.target,
            f"upserting user {upsert.user_id}: the server answered {response.status} with "
            f"{body}, not {expected}: not counted as applied (is base_url the vendor's API?)",
        )

    def read_users(
        self, user_ids: Iterable[str], progress: Callable[[int], None] | None = None
    ) -> Mapping[str, LiveUser]:
        found = fan_out(self._read_one, list(user_ids), self.parallelism, progress)
        return {user.id: user for user in found if user is not None}

    def _read_one(self, user_id: str) -> LiveUser | None:
        path = user_path(self.users_path, user_id)
        response = self._api.request("GET", path, params=self.read_params or None)
        if response.status == 404:
            if self.missing_user(response):
                return None
            raise self.wrong_route("GET", path, response)
        if response.status != 200:
            raise self._api.failure(response, f"reading user {user_id}")
        return self.parse(response, user_id)

    def parse(self, response: Answer, user_id: str) -> LiveUser:
        try:
            return self.to_live_user(user_id, response.json())
        except Unreadable as error:
            why = f"unreadable answer for user {user_id}: {error}"
            raise TargetError(self.target, why) from None
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise TargetError(self.target, f"unreadable answer for user {user_id}") from error

    def upsert(self, upsert: Upsert, attempts: Attempts | None = None) -> LiveUser | None:
        """Send the request the kind describes (the one saved plans show), as JSON."""
        request = self.kind.describe_request(upsert)
        method, path = request["method"], request["path"]
        content = json.dumps(request["body"], ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        budget = attempts or self.retry.start(f"user {printable(upsert.user_id)}")
        response = self._api.request(method, path, budget, content=content, headers=headers)
        if response.status == 404:
            # The upsert route creates users: it never answers "no such user".
            raise self.wrong_route(method, path, response)
        if not response.is_success:
            raise self._api.failure(response, f"upserting user {upsert.user_id}")
        return self.answered(response, upsert)

    def close(self) -> None:
        self._api.close()
