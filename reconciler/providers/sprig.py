"""Sprig (formerly UserLeap) v2 over HTTP: GET /v2/users/{id} to read, POST /v2/users to upsert.

Vendor facts relied on (apis/sprig.md): ``Authorization: API-Key <key>``; upserts answer 202
``Accepted`` and are applied asynchronously (a GET right after may 404 or show the old state);
errors come as ``{"error": "..."}`` or plain text. What Sprig holds and its wire format are its
kind's (``reconciler/kinds/sprig.py``, known offline).
"""

from __future__ import annotations

from reconciler.errors import LostAnswer, NotSent, TargetError
from reconciler.kinds import sprig as sprig_kind
from reconciler.model import LiveUser, Upsert
from reconciler.providers.answers import Answer
from reconciler.providers.rest import HttpProvider

#: The whole body of Sprig's answer to an upsert (202, plain text).
ACCEPTED = "Accepted"


def describe_error(response: Answer) -> str:
    """Sprig's errors in its own words: ``{"error": "..."}`` or a plain-text body (an excerpt)."""
    detail = response.text
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        detail = body["error"]
    return f"{response.status} {response.words(detail)}".strip()


def missing_user(response: Answer) -> bool:
    """A 404 whose body is the plain text ``Not Found`` is a missing user (or one not processed
    yet); any other 404 (JSON, an HTML page, a proxy's text) is not Sprig's answer, so the URL
    is wrong.

    Sprig documents no body that tells a missing user from a route it lacks, and a wrong path
    on Sprig's own host answers the same text (seen: ``/api`` appended to base_url made all 31
    users "new"). So a plan that found none of its users confirms the route before it shows
    anything (``SprigProvider.confirm_absence``): the upsert route never answers 404.
    """
    return response.text.strip() == "Not Found"


class SprigProvider(HttpProvider):
    kind = sprig_kind.SPRIG
    auth_scheme = "API-Key"
    users_path = sprig_kind.USERS_PATH
    default_base_url = "https://api.sprig.com"
    official_hosts = ("api.sprig.com", "api.userleap.com")
    key_words = ("SPRIG", "USERLEAP")  # UserLeap: Sprig's former name, and host
    describe_error = staticmethod(describe_error)
    missing_user = staticmethod(missing_user)
    to_live_user = staticmethod(sprig_kind.to_live_user)

    def answered(self, response: Answer, upsert: Upsert) -> LiveUser | None:
        """Sprig answers ``Accepted`` and applies later: the applier reads the user back. Any
        other body (a proxy's HTML page, an empty 200) is not Sprig accepting the write."""
        if response.text.strip() != ACCEPTED:
            raise self.not_the_vendors(response, upsert, f"Sprig's {ACCEPTED!r}")
        return None

    def confirm_absence(self) -> None:
        """Every user read answered ``404 Not Found``: new users, or a wrong base_url path,
        which Sprig's answers do not tell apart. ``POST /v2/users`` with an empty object tells:
        Sprig's route refuses it (no userId: 400) and writes nothing, while a path without a
        route answers 404. One request, only when a plan found nobody."""
        response = self._probe()
        if response.status == 404:
            raise TargetError(
                self.target,
                f"every user read answered 404, and POST {self._api.shown_url}{self.users_path} "
                f"(an empty body, which Sprig's own route refuses without writing anything) "
                f"answered {self.describe_error(response)} too: the server has no such route, "
                "so those users are not known to be new; check base_url. Nothing was sent",
            )

    def _probe(self) -> Answer:
        """``POST /v2/users`` with ``{}``; it can write nothing, so an answer lost to a 5xx or
        a dropped connection is simply sent again, within the usual retry budget."""
        headers = {"Content-Type": "application/json"}
        budget = self.retry.start("confirming the route")
        while True:
            try:
                return self._api.request(
                    "POST", self.users_path, budget, content=b"{}", headers=headers
                )
            except LostAnswer as lost:
                delay = budget.delay()
                if delay is None:
                    raise TargetError(self.target, f"could not confirm the route: {lost}") from None
                if self.stopping.wait(delay):
                    raise NotSent(self.target, "not sent: apply was interrupted") from None
