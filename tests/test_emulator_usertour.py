"""The emulated Usertour v1 API, driven over real HTTP on 127.0.0.1 (apis/usertour.md)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e.emulator import StartEmulator, usertour_client

pytest_plugins = ("tests.e2e.emulator",)

ODD_IDS = ["a/b", "../x", "x?y#z", "100%", "with space", "a+b", "ünïcødé", "日本語"]
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
DOC_URL = "https://docs.usertour.io"


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    assert body["doc_url"] == DOC_URL
    return response.status_code, body["code"], body["message"]


def upsert(client: httpx.Client, user_id: str, **fields: Any) -> httpx.Response:
    return client.post("/v1/users", json={"id": user_id, **fields})


@pytest.mark.parametrize(
    "authorization", [None, "Basic YWs6", "bearer ak_sandbox", "Bearer", "ak_sandbox"]
)
def test_a_missing_or_non_bearer_header_is_401_e1010(
    emulator: StartEmulator, authorization: str | None
) -> None:
    running = emulator()
    headers = {"Authorization": authorization} if authorization else {}
    with httpx.Client(base_url=running.url, headers=headers) as client:
        response = client.get("/v1/users/x")
    assert error_of(response) == (401, "E1010", "Missing API key")


def test_an_unknown_key_is_403_e1000(emulator: StartEmulator) -> None:
    with usertour_client(emulator(), key="ak_other") as usertour:
        response = upsert(usertour, "u")
    assert error_of(response) == (403, "E1000", "Invalid API key provided")


def test_upsert_answers_201_with_the_user_object(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        response = upsert(usertour, "usr_1", attributes={"name": "Ada", "email": "ada@x.io"})
    assert response.status_code == 201
    user = response.json()
    assert user["id"] == "usr_1"
    assert user["object"] == "user"
    assert ISO.fullmatch(user["createdAt"])
    assert user["companies"] is None
    assert user["memberships"] is None
    attributes = user["attributes"]
    assert attributes["name"] == "Ada"
    assert attributes["email"] == "ada@x.io"
    assert ISO.fullmatch(attributes["first_seen_at"])
    assert ISO.fullmatch(attributes["last_seen_at"])


def test_first_and_last_seen_are_seeded_once(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        created = upsert(usertour, "u").json()["attributes"]
        updated = upsert(usertour, "u", attributes={"plan": "pro"}).json()["attributes"]
    assert set(created) == {"first_seen_at", "last_seen_at"}
    assert updated == {**created, "plan": "pro"}


def test_omitted_attributes_stay_and_null_deletes(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        upsert(usertour, "u", attributes={"a": "1", "b": 2, "c": True})
        upsert(usertour, "u", attributes={"b": None, "d": ["x"]})
        attributes = usertour.get("/v1/users/u").json()["attributes"]
    assert {k: v for k, v in attributes.items() if not k.endswith("_seen_at")} == {
        "a": "1",
        "c": True,
        "d": ["x"],
    }


def test_the_first_type_of_an_attribute_locks_it_silently(emulator: StartEmulator) -> None:
    first = {"seats": 12, "paid": True, "tags": ["a"], "since": "2024-03-20T08:30:00.000Z"}
    other = {"seats": "twelve", "paid": 1, "tags": "a", "since": "yesterday", "fresh": 1.5}
    with usertour_client(emulator()) as usertour:
        assert upsert(usertour, "one", attributes=first).status_code == 201
        # Another user, same environment: mismatched types are dropped, the upsert succeeds.
        response = upsert(usertour, "two", attributes=other)
        again = upsert(usertour, "one", attributes={"seats": "13", "paid": False})
    assert response.status_code == 201
    kept = {k: v for k, v in response.json()["attributes"].items() if not k.endswith("_seen_at")}
    assert kept == {"fresh": 1.5}
    assert again.json()["attributes"]["seats"] == 12
    assert again.json()["attributes"]["paid"] is False


def test_a_datetime_locked_by_a_string_drops_datetimes(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        upsert(usertour, "one", attributes={"when": "soon"})
        two = upsert(usertour, "two", attributes={"when": "2024-03-20T08:30:00.000Z"})
    assert "when" not in two.json()["attributes"]


def test_integral_numbers_come_back_as_javascript_numbers(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        response = upsert(usertour, "u", attributes={"n": 12.0, "f": 1.25})
    assert response.json()["attributes"]["n"] == 12
    assert isinstance(response.json()["attributes"]["n"], int)
    assert response.json()["attributes"]["f"] == 1.25


def test_unknown_top_level_keys_are_ignored(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        response = upsert(usertour, "u", email="ada@x.io", name="Ada")
    assert response.status_code == 201
    assert "email" not in response.json()["attributes"]


def test_companies_and_memberships_merge_and_are_never_removed(emulator: StartEmulator) -> None:
    acme = {"id": "acme", "attributes": {"name": "Acme", "size": 10}}
    with usertour_client(emulator()) as usertour:
        upsert(usertour, "u", companies=[acme])
        membership = {"company": {"id": "globex", "attributes": {"name": "Globex"}}}
        upsert(usertour, "u", memberships=[{**membership, "attributes": {"role": "admin"}}])
        upsert(usertour, "u", companies=[{"id": "acme", "attributes": {"size": 11}}])
        plain = usertour.get("/v1/users/u").json()
        expanded = usertour.get(
            "/v1/users/u",
            params=[("expand[]", "companies"), ("expand[]", "memberships.company")],
        ).json()
    assert plain["companies"] is None and plain["memberships"] is None
    declared = [(c["id"], c["object"], _unseeded(c["attributes"])) for c in expanded["companies"]]
    assert declared == [
        ("acme", "company", {"name": "Acme", "size": 11}),
        ("globex", "company", {"name": "Globex"}),
    ]
    memberships = expanded["memberships"]
    assert [(m["company"]["id"], m["attributes"]) for m in memberships] == [
        ("acme", {}),
        ("globex", {"role": "admin"}),
    ]
    assert all(m["object"] == "companyMembership" for m in memberships)


def _unseeded(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if k not in ("first_seen_at", "last_seen_at")}


def test_new_companies_are_seeded_once_and_sent_values_win(emulator: StartEmulator) -> None:
    """The real server seeds first/last seen on new companies too (usertour_session.json)."""
    with usertour_client(emulator()) as usertour:
        upsert(usertour, "u", companies=[{"id": "acme"}])
        upsert(usertour, "v", companies=[{"id": "acme", "attributes": {"size": 3}}])
        upsert(usertour, "w", companies=[{"id": "own", "attributes": {"first_seen_at": None}}])
        acme = usertour.get("/v1/users/v?expand[]=companies").json()["companies"][0]
        own = usertour.get("/v1/users/w?expand[]=companies").json()["companies"][0]
    assert acme["attributes"]["first_seen_at"] == acme["attributes"]["last_seen_at"]
    assert acme["attributes"]["size"] == 3
    assert "first_seen_at" not in own["attributes"] and "last_seen_at" in own["attributes"]
    assert acme["createdAt"].endswith("Z")


def test_companies_and_memberships_in_one_request_are_both_processed(
    emulator: StartEmulator,
) -> None:
    with usertour_client(emulator()) as usertour:
        response = upsert(
            usertour,
            "u",
            companies=[{"id": "acme"}],
            memberships=[{"company": {"id": "beta"}, "attributes": {"role": "admin"}}],
        )
        user = usertour.get("/v1/users/u?expand[]=memberships.company").json()
    assert response.status_code == 201
    assert [(m["company"]["id"], m["attributes"]) for m in user["memberships"]] == [
        ("acme", {}),
        ("beta", {"role": "admin"}),
    ]


def test_expand_memberships_alone_does_not_name_the_company(emulator: StartEmulator) -> None:
    """``companyId`` is Usertour's internal id; ``memberships.company`` gives the external one."""
    with usertour_client(emulator()) as usertour:
        upsert(usertour, "u", companies=[{"id": "acme"}])
        user = usertour.get("/v1/users/u?expand[]=memberships").json()
    [membership] = user["memberships"]
    assert "company" not in membership
    assert membership["companyId"] != "acme"
    assert user["companies"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "id must be a non-empty string"),
        ({"id": " \t"}, "id must be a non-empty string"),
        ({"id": "u", "attributes": ["a"]}, "attributes must be an object"),
        ({"id": "u", "companies": {"id": "a"}}, "companies must be an array"),
        ({"id": "u", "companies": ["acme"]}, "each value in nested property companies"),
        ({"id": "u", "companies": [{"name": "x"}]}, "companies.0.company id must be a non-empty"),
        ({"id": "u", "companies": [{"id": " "}]}, "companies.0.company id must be a non-empty"),
        ({"id": "u", "companies": [{"id": "a", "attributes": 1}]}, "companies.0.attributes must"),
        ({"id": "u", "memberships": [{"company": {}}]}, "memberships.0.company.company id must"),
        ({"id": "u", "memberships": [{"company": 5}]}, "nested property memberships.0.company"),
    ],
)
def test_invalid_bodies_are_400_e1017_first_message(
    emulator: StartEmulator, body: dict[str, Any], message: str
) -> None:
    with usertour_client(emulator()) as usertour:
        response = usertour.post("/v1/users", json=body)
        status, code, text = error_of(response)
        assert (status, code) == (400, "E1017")
        assert text.startswith(message)
        assert usertour.get("/v1/users/u").status_code == 404


def test_malformed_json_gets_nestjs_body_even_before_auth(emulator: StartEmulator) -> None:
    running = emulator()
    headers = {"Content-Type": "application/json"}
    with httpx.Client(base_url=running.url, headers=headers) as anonymous:
        response = anonymous.post("/v1/users", content=b'{"id": "u",}')
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400
    assert body["error"] == "Bad Request"
    assert "JSON at position 11" in body["message"]


def test_get_unknown_user_is_404_e1001(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        response = usertour.get("/v1/users/nobody")
    assert error_of(response) == (404, "E1001", "User not found")


@pytest.mark.parametrize("user_id", ODD_IDS)
def test_percent_encoded_ids_are_data_not_path(emulator: StartEmulator, user_id: str) -> None:
    with usertour_client(emulator()) as usertour:
        assert upsert(usertour, user_id).status_code == 201
        fetched = usertour.get(f"/v1/users/{quote(user_id, safe='')}")
        deleted = usertour.delete(f"/v1/users/{quote(user_id, safe='')}")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == user_id
    assert deleted.json() == {"id": user_id, "object": "user", "deleted": True}


def test_list_pages_cover_every_user_once(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        for index in range(250):
            assert upsert(usertour, f"user-{index:03d}").status_code == 201
        seen: list[str] = []
        url: str | None = "/v1/users?limit=100"
        pages = 0
        while url is not None:
            page = usertour.get(url).json()
            assert page["previous"] is None or isinstance(page["previous"], str)
            seen += [user["id"] for user in page["results"]]
            url = page["next"]
            assert url is None or url.startswith("/v1/users?")
            pages += 1
    assert pages == 3
    assert seen == [f"user-{index:03d}" for index in range(250)]


def test_list_default_limit_and_kept_parameters(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        for index in range(25):
            upsert(usertour, f"u{index}", companies=[{"id": "acme"}])
        first = usertour.get("/v1/users?expand[]=companies").json()
        second = usertour.get(first["next"]).json()
    assert len(first["results"]) == 20
    assert "expand%5B%5D=companies" in first["next"] and "limit=20" in first["next"]
    assert len(second["results"]) == 5
    assert second["results"][0]["companies"][0]["id"] == "acme"
    assert second["next"] is None


def test_list_filters_by_email_and_company(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        upsert(usertour, "a", attributes={"email": "a@x.io"}, companies=[{"id": "acme"}])
        upsert(usertour, "b", attributes={"email": "b@x.io"})
        upsert(usertour, "c", attributes={"email": "a@x.io"})
        upsert(usertour, "c", attributes={"email": None})
        by_email = usertour.get("/v1/users", params={"email": "a@x.io"}).json()["results"]
        by_company = usertour.get("/v1/users", params={"companyId": "acme"}).json()["results"]
    assert [user["id"] for user in by_email] == ["a"]
    assert [user["id"] for user in by_company] == ["a"]


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("limit=0", "E1017", "limit must not be less than 1"),
        ("limit=101", "E1017", "limit must not be greater than 100"),
        ("limit=ten", "E1017", "limit must not be greater than 100"),
        ("limit=", "E1017", "limit must not be less than 1"),
        ("cursor=nope", "E1007", "Invalid cursor parameter"),
        ("expand[]=everything", "E1017", "each value in expand must be one of"),
    ],
)
def test_list_refuses_bad_parameters(
    emulator: StartEmulator, query: str, code: str, message: str
) -> None:
    with usertour_client(emulator()) as usertour:
        response = usertour.get(f"/v1/users?{query}")
    status, got_code, text = error_of(response)
    assert (status, got_code) == (400, code)
    assert text.startswith(message)


def test_delete_user(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        upsert(usertour, "u", companies=[{"id": "acme"}])
        deleted = usertour.delete("/v1/users/u")
        gone = usertour.get("/v1/users/u")
        again = usertour.delete("/v1/users/u")
    assert deleted.status_code == 200
    assert deleted.json() == {"id": "u", "object": "user", "deleted": True}
    assert gone.status_code == 404
    assert error_of(again) == (404, "E1001", "User not found")


def test_delete_membership(emulator: StartEmulator) -> None:
    path = "/v1/company-memberships"
    with usertour_client(emulator()) as usertour:
        upsert(usertour, "u", companies=[{"id": "acme"}, {"id": "globex"}])
        deleted = usertour.delete(path, params={"userId": "u", "companyId": "acme"})
        again = usertour.delete(path, params={"userId": "u", "companyId": "acme"})
        missing = usertour.delete(path, params={"userId": "u"})
        user = usertour.get("/v1/users/u?expand[]=companies").json()
    assert deleted.status_code == 200
    assert deleted.json()["object"] == "companyMembership"
    assert deleted.json()["deleted"] is True
    assert error_of(again) == (404, "E1003", "Company membership not found")
    assert error_of(missing) == (400, "E1017", "companyId should not be empty")
    assert [company["id"] for company in user["companies"]] == ["globex"]


def test_unknown_routes_are_nestjs_404(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        response = usertour.put("/v1/users/u", json={})
        other = usertour.get("/v1/segments")
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "Cannot PUT /v1/users/u",
        "error": "Not Found",
    }
    assert other.status_code == 404


def test_what_the_real_server_takes_that_a_validator_would_not(emulator: StartEmulator) -> None:
    """Seen on the real server (issue 22.7): numeric and boolean ids become strings; a
    membership without a company fails whole with 500 E0000; numbers keep 16 significant
    digits and one beyond the doubles is not kept as a number; built-in attributes are locked to
    their type from the start; a JSON body over 100 KB is 413 in Express's own shape."""
    with usertour_client(emulator()) as usertour:
        assert usertour.post("/v1/users", json={"id": 12345}).json()["id"] == "12345"
        assert usertour.post("/v1/users", json={"id": True}).json()["id"] == "true"
        lone = {"id": "m", "memberships": [{"attributes": {"role": "x"}}]}
        assert error_of(usertour.post("/v1/users", json=lone))[:2] == (500, "E0000")
        assert usertour.get("/v1/users/m").status_code == 404
        body = b'{"id":"n","attributes":{"a":256.35699999999997,"b":1e400,"name":5,"c":3}}'
        headers = {"Content-Type": "application/json"}
        kept = usertour.post("/v1/users", content=body, headers=headers).json()["attributes"]
        # 1e400: the real server keeps the name with null; the emulator leaves it out.
        assert {k: kept.get(k) for k in "abc"} == {"a": 256.357, "b": None, "c": 3}
        assert "name" not in kept  # a built-in text attribute: 5 is dropped
        big = b'{"id":"big","attributes":{"x":"' + b"x" * 102_400 + b'"}}'
        refused = usertour.post("/v1/users", content=big, headers=headers)
        assert refused.status_code == 413
        assert refused.json() == {"statusCode": 413, "message": "request entity too large"}


def test_attribute_definitions_list_every_locked_type(emulator: StartEmulator) -> None:
    with usertour_client(emulator()) as usertour:
        body = {
            "id": "u",
            "attributes": {"seats": 3, "tags": ["a"], "when": "2024-03-20T08:30:00Z"},
            "memberships": [{"company": {"id": "c", "attributes": {"size": 2}},
                             "attributes": {"role": "admin"}}],
        }  # fmt: skip
        assert usertour.post("/v1/users", json=body).status_code == 201
        found, path = {}, "/v1/attribute-definitions?limit=3"
        while path:
            page = usertour.get(path).json()
            found.update({(d["scope"], d["codeName"]): d["dataType"] for d in page["results"]})
            path = page["next"]
        assert {
            ("user", "seats"): "number",
            ("user", "tags"): "list",
            ("user", "when"): "datetime",
            ("user", "name"): "string",
            ("company", "size"): "number",
            ("companyMembership", "role"): "string",
        }.items() <= found.items()
        membership = usertour.get("/v1/attribute-definitions?scope=companyMembership").json()
        assert [d["codeName"] for d in membership["results"]] == ["role"]
