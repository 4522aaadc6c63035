"""The scripted Usertour session whose real answers pin the emulator (see record_usertour.py).

Each step is one request reconciler relies on, or one quirk of the real server it must survive:
auth errors, missing users against unknown routes, encoded dot segments, blank ids, every type of
attribute value and the type locking between them, companies and memberships in one request, the
listing's cursors, deletion. Ids and attribute names carry a per-recording ``tag``: the real
server keeps attribute types per environment for good, so a re-recording on a used server needs
names it has never seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: An authorization header, by role: the key, none, a wrong key, another scheme.
AUTH_MODES = ("key", "none", "wrong", "basic")


@dataclass(frozen=True, slots=True)
class Step:
    """One request of the session and why it is in it."""

    name: str
    why: str
    method: str
    path: str
    body: Any = None
    #: Sent as is instead of ``body`` (malformed JSON).
    raw_body: str | None = None
    auth: str = "key"
    #: ``(step name, field)``: the path is that step's answer's field (``next``, ``previous``),
    #: so a replay follows its own server's cursors, not the recorded ones.
    follow: tuple[str, str] | None = None
    #: Sent but not compared (set-up and clean-up whose answers say nothing new, or a fact
    #: the emulator does not reproduce, recorded to be known: see the step's ``why``).
    compare: bool = True
    #: Pad ``body`` to this many bytes with an attribute ``pad`` of x's (a body too large to
    #: store in the fixture).
    pad_to: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def request(self) -> dict[str, Any]:
        """The request as the fixture stores it (never a key: ``auth`` names a role)."""
        request: dict[str, Any] = {"method": self.method, "path": self.path, "auth": self.auth}
        if self.body is not None:
            request["body"] = self.body
        if self.raw_body is not None:
            request["raw_body"] = self.raw_body
        if self.follow is not None:
            request["follow"] = list(self.follow)
        if self.pad_to is not None:
            request["pad_to"] = self.pad_to
        return request


EXPAND_ALL = "expand[]=companies&expand[]=memberships&expand[]=memberships.company"


def session(tag: str) -> list[Step]:
    """Every step, in order; ``tag`` makes ids and attribute names new to the server."""
    steps = [*_errors(tag), *_values(tag), *_unstorable(tag), *_relations(tag)]
    return [*steps, *_listing(tag), *_deletion(tag), *_server_changes(tag)]


def user_ids(tag: str) -> list[str]:
    """Users the session creates (the recorder deletes them before and after)."""
    names = ("ada", "bob", "cy", "dee", "eve", "fay", "gus", "hal", "ivy", "jo", "kim")
    return [*(f"{name}-{tag}" for name in names), numeric_id(tag), "true"]


def numeric_id(tag: str) -> str:
    """The user a number id creates (the server makes it a string)."""
    return str(int(tag, 16))


def _errors(tag: str) -> list[Step]:
    nobody = f"/v1/users/nobody-{tag}"
    return [
        Step("missing user", "a missing user is 404 E1001", "GET", nobody),
        Step("unknown route", "a path without a route is NestJS's 404", "GET", "/v1/nope"),
        Step("two segments", "an id never spans segments", "GET", f"/v1/users/a/{tag}"),
        Step("put user", "an unknown method is an unknown route", "PUT", nobody, body={}),
        Step("blank path id", "a whitespace id in the path", "GET", "/v1/users/%20"),
        Step("encoded dot", "%2E reaches the user endpoint", "GET", "/v1/users/%2E"),
        Step("encoded dot dot", "%2E%2E reaches the user endpoint", "GET", "/v1/users/%2E%2E"),
        Step("no auth", "no Authorization header: 401 E1010", "GET", nobody, auth="none"),
        Step("wrong key", "a key that opens nothing: 403 E1000", "GET", nobody, auth="wrong"),
        Step("basic auth", "another scheme: 401 E1010", "GET", nobody, auth="basic"),
        Step(
            "malformed json",
            "the body parser answers before the guard, in NestJS's shape",
            "POST",
            "/v1/users",
            raw_body='{"id": ',
        ),
        Step("no id", "id is required", "POST", "/v1/users", body={"attributes": {}}),
        Step("blank id", "whitespace-only ids: 400 E1017", "POST", "/v1/users", body={"id": "  "}),
        Step("empty id", "the empty id too", "POST", "/v1/users", body={"id": ""}),
        Step(
            "blank company id",
            "whitespace-only company ids: 400 E1017",
            "POST",
            "/v1/users",
            body={"id": f"ada-{tag}", "companies": [{"id": " \t"}]},
        ),
        Step(
            "blank membership company id",
            "and inside a membership",
            "POST",
            "/v1/users",
            body={"id": f"ada-{tag}", "memberships": [{"company": {"id": " "}}]},
        ),
        Step(
            "attributes not an object",
            "attributes must be an object",
            "POST",
            "/v1/users",
            body={"id": f"ada-{tag}", "attributes": ["a"]},
        ),
        Step(
            "companies not a list",
            "companies must be an array",
            "POST",
            "/v1/users",
            body={"id": f"ada-{tag}", "companies": {"id": "x"}},
        ),
    ]


def _values(tag: str) -> list[Step]:
    """One attribute of each type, then values of other types under the same names."""
    ada = f"ada-{tag}"

    def attr(name: str) -> str:
        return f"{name}_{tag}"

    first = {
        attr("name"): "Ada",
        "email": f"ada-{tag}@example.com",
        attr("seats"): 12,
        attr("ratio"): 0.25,
        attr("whole"): 3.0,
        attr("vip"): True,
        attr("tags"): ["a", "b"],
        attr("signed_ms"): "2024-03-20T08:30:00.000Z",
        attr("signed_s"): "2024-03-20T08:30:00Z",
        attr("not_date"): "2024-03-20 08:30:00",
        attr("bad_date"): "2024-02-30T08:30:00Z",
        attr("big"): 9007199254740993,
        attr("big_neg"): -9007199254740995,
        attr("huge"): 123456789012345678901234,
        attr("object"): {"a": 1},
    }
    others = {
        attr("name"): 5,
        attr("seats"): "2",
        attr("vip"): "yes",
        attr("tags"): "a",
        attr("signed_ms"): "soon",
        attr("signed_s"): "2024-03-21T09:00:00.123Z",
        attr("ratio"): None,
    }
    return [
        Step("new user", "each type; seeded first/last seen", "POST", "/v1/users",
             body={"id": ada, "attributes": first, "email": "top-level@example.com"}),
        Step("get user", "the same user read back", "GET", f"/v1/users/{ada}"),
        Step("other types", "first type wins, others dropped, null deletes", "POST", "/v1/users",
             body={"id": ada, "attributes": others}),
        Step("get user again", "what was kept", "GET", f"/v1/users/{ada}"),
        Step("same type again", "a value of the locked type replaces", "POST", "/v1/users",
             body={"id": ada, "attributes": {attr("seats"): 14, attr("name"): "Ada L."}}),
        Step("object replaced", "an object value is replaced whole, nested nulls kept",
             "POST", "/v1/users",
             body={"id": ada, "attributes": {attr("object"): {"b": 2, "c": {"e": None}}}}),
    ]  # fmt: skip


def _unstorable(tag: str) -> list[Step]:
    """Text PostgreSQL cannot hold: NUL and lone surrogates (JSON escapes carry them in)."""
    hal, gus = f"hal-{tag}", f"gus-{tag}"
    return [
        Step("nul in id", "the database refuses: 500 E0000", "POST", "/v1/users",
             body={"id": f"nul\x00{tag}"}),
        Step("surrogate in id", "the database refuses: 500 E0000", "POST", "/v1/users",
             body={"id": f"hal\ud800{tag}"}),
        Step("surrogate value", "a lone surrogate fails the whole upsert", "POST", "/v1/users",
             body={"id": hal, "attributes": {f"s_{tag}": "\ud800", f"ok_{tag}": "fine"}}),
        Step("nothing written", "the failed upsert created nobody", "GET", f"/v1/users/{hal}"),
        Step("nul value", "a NUL in a value fails the upsert too", "POST", "/v1/users",
             body={"id": gus, "attributes": {f"n_{tag}": "a\x00b", f"ok_{tag}": "fine"}}),
    ]  # fmt: skip


def _relations(tag: str) -> list[Step]:
    """Companies and memberships, alone and in one request, expanded every way."""
    bob, acme, beta = f"bob-{tag}", f"acme-{tag}", f"beta-{tag}"
    grown = {"id": f"cy-{tag}", "companies": [{"id": acme, "attributes": {f"size_{tag}": 3}}]}
    plan, role = f"plan_{tag}", f"role_{tag}"
    both = {
        "id": bob,
        "attributes": {f"name_{tag}": "Bob"},
        "companies": [{"id": acme, "attributes": {plan: "pro"}}],
        "memberships": [
            {"company": {"id": beta, "attributes": {plan: 7}}, "attributes": {role: "admin"}}
        ],
    }
    user = f"/v1/users/{bob}"
    return [
        Step("companies and memberships", "both lists in one request", "POST", "/v1/users",
             body=both),
        Step("expand all", "companies, memberships and their companies", "GET",
             f"{user}?{EXPAND_ALL}"),
        Step("expand companies", "companies only", "GET", f"{user}?expand[]=companies"),
        Step("expand memberships", "memberships without their company", "GET",
             f"{user}?expand[]=memberships"),
        Step("expand plain", "expand=... without brackets", "GET", f"{user}?expand=companies"),
        Step("expand bogus", "an unknown expand value", "GET", f"{user}?expand[]=teams"),
        Step("expand comma", "comma-separated values are not split", "GET",
             f"{user}?expand=companies,memberships"),
        Step("company update", "a company merge seen through another member", "POST",
             "/v1/users",
             body=grown),
        Step("company seen by bob", "acme's merged attributes", "GET",
             f"{user}?expand[]=companies"),
        Step("delete membership", "one membership removed", "DELETE",
             f"/v1/company-memberships?userId={bob}&companyId={beta}"),
        Step("delete membership again", "already gone", "DELETE",
             f"/v1/company-memberships?userId={bob}&companyId={beta}"),
        Step("delete membership no company", "companyId is required", "DELETE",
             f"/v1/company-memberships?userId={bob}"),
        Step("after membership delete", "bob is in acme only", "GET", f"{user}?{EXPAND_ALL}"),
    ]  # fmt: skip


def _listing(tag: str) -> list[Step]:
    """Three members of one company, listed two by two; the company filter keeps the listing
    free of other users on the server."""
    club = f"club-{tag}"
    members = [
        Step(f"member {name}", "set-up", "POST", "/v1/users",
             body={"id": f"{name}-{tag}", "companies": [{"id": club}]}, compare=False)
        for name in ("dee", "eve", "fay")
    ]  # fmt: skip
    base = f"/v1/users?companyId={club}"
    return [
        *members,
        Step("list page 1", "limit and expand[] are kept in next", "GET",
             f"{base}&limit=2&expand[]=companies"),
        Step("list page 2", "next followed: previous points back", "GET", "",
             follow=("list page 1", "next")),
        Step("list back", "previous followed", "GET", "", follow=("list page 2", "previous")),
        Step("list default", "no limit: 20, and not in next", "GET", base),
        Step("list expand plain", "expand=... comes back as expand[] in next", "GET",
             f"{base}&expand=memberships&limit=1"),
        Step("list by email", "the email filter", "GET",
             f"/v1/users?email=ada-{tag}%40example.com"),
        Step("list limit 0", "limit below 1", "GET", f"{base}&limit=0"),
        Step("list limit 101", "limit above 100", "GET", f"{base}&limit=101"),
        Step("list limit text", "limit not a number", "GET", f"{base}&limit=ten"),
        Step("list bad cursor", "a cursor the server never gave", "GET",
             f"{base}&cursor=nonsense"),
        Step("list trailing slash", "Express ignores a trailing slash", "GET",
             f"/v1/users/?companyId={club}&limit=1"),
        Step("list newest first", "orderBy=-createdAt", "GET",
             f"{base}&orderBy=-createdAt&limit=2"),
        Step("list newest page 2", "the cursor pages backwards in time", "GET", "",
             follow=("list newest first", "next")),
        Step("list one", "a page whose cursor is dee", "GET", f"{base}&limit=1"),
        Step("delete cursor user", "set-up", "DELETE", f"/v1/users/dee-{tag}", compare=False),
        Step("list after cursor deleted", "a deleted cursor user: 400 E1007", "GET", "",
             follow=("list one", "next")),
        Step("list bad order", "orderBy is an enum", "GET", f"{base}&orderBy=name"),
        Step("list bad email", "email must be an email", "GET", "/v1/users?email=nobody"),
        Step("list empty limit", "an empty limit is 0", "GET", f"{base}&limit="),
    ]  # fmt: skip


def _deletion(tag: str) -> list[Step]:
    ada = f"/v1/users/ada-{tag}"
    return [
        Step("delete user", "200 with a deletion object", "DELETE", ada),
        Step("get deleted", "gone", "GET", ada),
        Step("delete again", "a second delete is 404", "DELETE", ada),
    ]


#: Express's JSON body parser's limit ("100kb").
BODY_LIMIT = 102_400


def _server_changes(tag: str) -> list[Step]:
    """What the server does to values and requests on its own (issue 22): numbers rounded to
    16 significant digits, ids coerced, NUL in a name, a membership without a company, the
    body limit, and the attribute definitions that hold every name's type."""
    ivy, jo, kim = f"ivy-{tag}", f"jo-{tag}", f"kim-{tag}"
    rounded = {
        f"r_{tag}": 256.35699999999997,
        f"s_{tag}": 0.30000000000000004,
        f"t_{tag}": 0.1234567890123456789,
        f"u_{tag}": 123456789012345678,
        f"w_{tag}": 1.0000000000000002,
    }
    huge = json.dumps({"id": kim, "attributes": {f"inf_{tag}": 0, f"ok_{tag}": 1}})
    huge = huge.replace(": 0,", ": 1e400,")  # JSON has it; Python's json cannot write it
    return [
        Step("numbers rounded", "16 significant digits kept; 64-bit integers exact doubles",
             "POST", "/v1/users", body={"id": ivy, "attributes": rounded}),
        Step("numbers read back", "the same rounding on read", "GET", f"/v1/users/{ivy}"),
        Step("number beyond doubles", "1e400 is kept as null (the emulator leaves it out)",
             "POST", "/v1/users", raw_body=huge, compare=False),
        Step("numeric id", "a number id becomes a string", "POST", "/v1/users",
             body={"id": int(tag, 16)}),
        Step("boolean id", "true becomes the user \"true\"", "POST", "/v1/users",
             body={"id": True}),
        Step("nul in name", "a NUL in an attribute name: 500", "POST", "/v1/users",
             body={"id": jo, "attributes": {f"a\x00{tag}": 1}}),
        Step("membership without company", "no company: 500, nothing written", "POST",
             "/v1/users", body={"id": jo, "memberships": [{"attributes": {f"m_{tag}": 1}}]}),
        Step("nothing written for jo", "the failed upserts created nobody", "GET",
             f"/v1/users/{jo}"),
        Step("body at the limit", "102,400 bytes are accepted", "POST", "/v1/users",
             body={"id": jo}, pad_to=BODY_LIMIT, compare=False),
        Step("body over the limit", "one byte more: 413 in Express's shape, before the guard",
             "POST", "/v1/users", body={"id": jo}, pad_to=BODY_LIMIT + 1, auth="none"),
        Step("attribute definitions", "every name's type and scope (shape compared apart)",
             "GET", "/v1/attribute-definitions?limit=100&orderBy=createdAt", compare=False),
        Step("attribute definitions bad scope", "scope is an enum", "GET",
             "/v1/attribute-definitions?scope=teams"),
        Step("attribute definitions limit 0", "limit 1-100 as for users", "GET",
             "/v1/attribute-definitions?limit=0"),
    ]  # fmt: skip
