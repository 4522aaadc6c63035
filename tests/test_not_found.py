"""Which 404 is a missing user: the vendor's own answer only (issue 13 bug 3)."""

from __future__ import annotations

from reconciler.providers import sprig, usertour
from tests.faults import answer_of


def test_usertour_missing_user_is_only_e1001() -> None:
    missing = {"error": {"code": "E1001", "message": "User not found", "doc_url": "x"}}
    assert usertour.missing_user(answer_of(404, json=missing))
    no_route = {"message": "Cannot GET /v1/v1/users/u1", "error": "Not Found", "statusCode": 404}
    assert not usertour.missing_user(answer_of(404, json=no_route))
    company = {"error": {"code": "E1002", "message": "Company not found"}}
    assert not usertour.missing_user(answer_of(404, json=company))
    assert not usertour.missing_user(answer_of(404, text="<html>404</html>"))
    assert not usertour.missing_user(answer_of(404, json=["E1001"]))


def test_sprig_missing_user_is_only_the_plain_text_not_found() -> None:
    assert sprig.missing_user(answer_of(404, text="Not Found"))
    assert sprig.missing_user(answer_of(404, text="Not Found\n"))
    assert not sprig.missing_user(answer_of(404, json={"error": "Not Found"}))
    assert not sprig.missing_user(answer_of(404, text="<html><h1>404</h1></html>"))
    assert not sprig.missing_user(answer_of(404, text=""))
