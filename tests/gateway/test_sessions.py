"""Cookie sessions (the refresh token in an HttpOnly cookie, for the browser app), signing
out everywhere, changing the password while signed in, and the profile — and the attacks
on them — through HTTP against a running gateway with real PostgreSQL and Redis."""

from __future__ import annotations

import requests

from gateway import ratelimit
from gateway.security import REFRESH_SECONDS, digest
from tests.gateway.conftest import PASSWORD, Gateway
from tests.gateway.test_hygiene import add_tenant

COOKIE = "proptrade_refresh"
NEW_PASSWORD = "a much better passphrase"


def error_of(answer: requests.Response) -> dict:
    body = answer.json()
    assert set(body) == {"error"}, body
    return body["error"]


def web(gateway: Gateway, **extra: str) -> dict[str, str]:
    """The headers the firm's own web app sends (same origin)."""
    return {"X-PropTrade-Client": "web", "Origin": gateway.url, **extra}


def session_cookie(answer: requests.Response) -> str:
    """The Set-Cookie line of the session cookie in ``answer``."""
    lines = [line for line in answer.raw.headers.getlist("Set-Cookie")
             if line.startswith(f"{COOKIE}=")]
    assert len(lines) == 1, answer.raw.headers.getlist("Set-Cookie")
    return lines[0]


def no_session_cookie(answer: requests.Response) -> bool:
    return not any(line.startswith(f"{COOKIE}=")
                   for line in answer.raw.headers.getlist("Set-Cookie"))


def browser_login(gateway: Gateway, address: str, password: str = PASSWORD
                  ) -> tuple[requests.Session, dict]:
    """A browser (a session keeping cookies) signed in with a cookie session."""
    browser = requests.Session()
    answer = browser.post(f"{gateway.url}/api/v1/auth/login",
                          json={"email": address, "password": password,
                                "session": "cookie"}, headers=web(gateway), timeout=30)
    assert answer.status_code == 200, answer.text
    return browser, answer.json()


def refresh(gateway: Gateway, http: requests.Session | None = None, body: dict | None = None,
            headers: dict[str, str] | None = None, **kwargs) -> requests.Response:
    client = http if http is not None else requests
    return client.post(f"{gateway.url}/api/v1/auth/refresh", json=body,
                       headers=web(gateway) if headers is None else headers, timeout=30,
                       **kwargs)


def spent(gateway: Gateway, token: str) -> bool:
    [row] = gateway.sql("SELECT spent_at, revoked_at FROM refresh_tokens "
                        "WHERE token_hash = $1", digest(token))
    return row["spent_at"] is not None or row["revoked_at"] is not None


def test_a_cookie_session_keeps_the_refresh_token_out_of_the_body(gateway: Gateway) -> None:
    gateway.verified_user("ana@example.com")
    browser, tokens = browser_login(gateway, "ana@example.com")
    assert tokens["refresh_token"] is None and tokens["token_type"] == "Bearer"
    assert gateway.get("/api/v1/me", tokens["access_token"]).status_code == 200
    first = browser.cookies[COOKIE]
    # Stored hashed, like a body token; the cookie is the token itself.
    assert gateway.sql("SELECT count(*) FROM refresh_tokens WHERE token_hash = $1",
                       digest(first))[0][0] == 1
    # No body, no token in it: the cookie's is spent and a new one set.
    second = refresh(gateway, browser)
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] is None and second.json()["access_token"]
    line = session_cookie(second)
    assert "HttpOnly" in line and "SameSite=Strict" in line
    assert "Path=/api/v1/auth" in line and f"Max-Age={REFRESH_SECONDS}" in line
    assert "Secure" not in line  # plain HTTP here
    assert browser.cookies[COOKIE] != first and spent(gateway, first)
    # An empty JSON object is the same request.
    third = refresh(gateway, browser, {})
    assert third.status_code == 200 and third.json()["refresh_token"] is None


def test_a_reused_cookie_token_ends_the_family_and_clears_the_cookie(gateway: Gateway
                                                                     ) -> None:
    gateway.verified_user("bea@example.com")
    other = gateway.login("bea@example.com")  # another session, in the body
    browser, _ = browser_login(gateway, "bea@example.com")
    stolen = browser.cookies[COOKIE]
    assert refresh(gateway, browser).status_code == 200
    current = browser.cookies[COOKIE]
    # The thief presents the spent token: the family dies, the current cookie with it.
    thief = refresh(gateway, cookies={COOKIE: stolen})
    assert thief.status_code == 401 and error_of(thief)["code"] == "token_reused"
    owner = refresh(gateway, browser)
    assert owner.status_code == 401 and error_of(owner)["code"] == "token_reused"
    assert spent(gateway, current)
    # The refused cookie is cleared (it will never work again).
    assert session_cookie(owner).startswith(f'{COOKIE}="";') and COOKIE not in browser.cookies
    # Another family of the same user is untouched.
    assert gateway.post("/api/v1/auth/refresh",
                        {"refresh_token": other["refresh_token"]}).status_code == 200


def test_body_clients_are_answered_as_before(gateway: Gateway) -> None:
    first = gateway.verified_user("cai@example.com")
    assert set(first) == {"access_token", "refresh_token", "expires_in", "token_type"}
    assert isinstance(first["refresh_token"], str) and first["refresh_token"]
    login = gateway.post("/api/v1/auth/login",
                         {"email": "cai@example.com", "password": PASSWORD})
    assert login.status_code == 200 and no_session_cookie(login)
    answer = gateway.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert answer.status_code == 200 and no_session_cookie(answer)
    assert isinstance(answer.json()["refresh_token"], str)
    # No custom header, no Origin rule: a body token is no ambient credential.
    foreign = gateway.post("/api/v1/auth/refresh",
                           {"refresh_token": answer.json()["refresh_token"]},
                           headers={"Origin": "https://elsewhere.test"})
    assert foreign.status_code == 200 and isinstance(foreign.json()["refresh_token"], str)
    # A body token with a cookie present: the body's is used, the cookie left alone.
    browser, _ = browser_login(gateway, "cai@example.com")
    cookie = browser.cookies[COOKIE]
    both = refresh(gateway, browser, {"refresh_token": foreign.json()["refresh_token"]},
                   headers={})
    assert both.status_code == 200 and isinstance(both.json()["refresh_token"], str)
    assert no_session_cookie(both) and not spent(gateway, cookie)


def test_a_body_session_moves_into_the_cookie_but_never_back(gateway: Gateway) -> None:
    tokens = gateway.verified_user("dov@example.com")
    browser = requests.Session()
    moved = refresh(gateway, browser, {"refresh_token": tokens["refresh_token"],
                                       "session": "cookie"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["refresh_token"] is None and browser.cookies[COOKIE]
    assert spent(gateway, tokens["refresh_token"])
    # A script asking for the cookie's token in the body is refused; nothing is spent.
    cookie = browser.cookies[COOKIE]
    back = refresh(gateway, browser, {"session": "body"})
    assert back.status_code == 422
    assert error_of(back)["fields"][0]["path"] == "$.session"
    assert not spent(gateway, cookie)
    assert refresh(gateway, browser).status_code == 200
    bad = refresh(gateway, browser, {"session": "jar"})
    assert bad.status_code == 422 and error_of(bad)["fields"][0]["path"] == "$.session"


def test_cross_site_shaped_requests_cannot_spend_or_plant_the_cookie(gateway: Gateway
                                                                     ) -> None:
    gateway.verified_user("eli@example.com")
    browser, _ = browser_login(gateway, "eli@example.com")
    cookie = browser.cookies[COOKIE]
    hostile = [
        ({}, 403, "client_header_required"),  # a form, a link: no custom header
        ({"X-PropTrade-Client": ""}, 403, "client_header_required"),
        (web(gateway, Origin="https://evil.test"), 403, "origin_refused"),
        (web(gateway, Origin=f"https://127.0.0.1.evil.test:{gateway.port}"), 403,
         "origin_refused"),
        (web(gateway, Origin="null"), 403, "origin_refused"),  # a sandboxed frame
        (web(gateway, Origin="http://[::1"), 403, "origin_refused"),  # unparseable
        (web(gateway, Origin="file://127.0.0.1"), 403, "origin_refused"),
        (web(gateway, **{"Sec-Fetch-Site": "cross-site"}), 403, "cross_site_refused"),
        # Another firm's subdomain is the same site (SameSite lets the cookie through).
        (web(gateway, **{"Sec-Fetch-Site": "same-site"}), 403, "cross_site_refused"),
    ]
    for headers, status, code in hostile:
        answer = refresh(gateway, browser, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
        assert error_of(answer)["code"] == code, headers
        assert no_session_cookie(answer), headers
    # A form posting text/plain that looks like JSON (no preflight for it).
    form = browser.post(f"{gateway.url}/api/v1/auth/refresh", data=b'{"session": "cookie"}',
                        headers=web(gateway, **{"Content-Type": "text/plain"}), timeout=30)
    assert form.status_code == 415 and error_of(form)["code"] == "unsupported_media_type"
    assert not spent(gateway, cookie)  # none of them touched the session
    # The same refusal for a login that would plant a session (login CSRF) ...
    planted = requests.post(f"{gateway.url}/api/v1/auth/login",
                            json={"email": "eli@example.com", "password": PASSWORD,
                                  "session": "cookie"},
                            headers=web(gateway, Origin="https://evil.test"), timeout=30)
    assert planted.status_code == 403 and error_of(planted)["code"] == "origin_refused"
    assert no_session_cookie(planted)
    # ... while the firm's own page (and a client sending no Origin) go on.
    assert refresh(gateway, browser, headers=web(
        gateway, **{"Sec-Fetch-Site": "same-origin"})).status_code == 200
    assert refresh(gateway, browser, headers={"X-PropTrade-Client": "cli"}
                   ).status_code == 200


def test_no_cookie_or_a_bad_one_is_refused(gateway: Gateway) -> None:
    none = refresh(gateway)
    assert none.status_code == 401 and error_of(none)["code"] == "token_missing"
    empty = requests.post(f"{gateway.url}/api/v1/auth/refresh", headers=web(gateway),
                          timeout=30)  # no body at all
    assert empty.status_code == 401 and error_of(empty)["code"] == "token_missing"
    for garbage in ("x", "y" * 600, "%00%ff"):
        answer = refresh(gateway, cookies={COOKIE: garbage})
        assert answer.status_code == 401, garbage
        assert error_of(answer)["code"] == "token_invalid", garbage
        assert session_cookie(answer).startswith(f'{COOKIE}="";'), garbage
    # A token of another firm's user is not valid here either.
    gateway.verified_user("fox@example.com")
    browser, _ = browser_login(gateway, "fox@example.com")
    add_tenant(gateway, "acme", "trade.acme.test")
    elsewhere = refresh(gateway, cookies={COOKIE: browser.cookies[COOKIE]},
                        headers={"X-PropTrade-Client": "web", "Host": "trade.acme.test"})
    assert elsewhere.status_code == 401 and error_of(elsewhere)["code"] == "token_invalid"


def test_the_cookie_is_secure_behind_tls(configured) -> None:
    gateway = configured(trusted_proxies=("127.0.0.1/32",))  # TLS ends at that proxy
    gateway.verified_user("gia@example.com")
    answer = requests.post(f"{gateway.url}/api/v1/auth/login",
                           json={"email": "gia@example.com", "password": PASSWORD,
                                 "session": "cookie"},
                           headers={"X-PropTrade-Client": "web", "X-Forwarded-Proto": "https",
                                    "Origin": f"https://127.0.0.1:{gateway.port}"},
                           timeout=30)
    assert answer.status_code == 200, answer.text
    line = session_cookie(answer)
    assert "Secure" in line and "HttpOnly" in line and "SameSite=Strict" in line


def test_logout_clears_the_cookie_and_ends_its_family(gateway: Gateway) -> None:
    gateway.verified_user("hub@example.com")
    browser, tokens = browser_login(gateway, "hub@example.com")
    cookie = browser.cookies[COOKIE]
    out = browser.post(f"{gateway.url}/api/v1/auth/logout",
                       headers={"Authorization": f"Bearer {tokens['access_token']}"},
                       timeout=30)
    assert out.status_code == 204
    assert session_cookie(out).startswith(f'{COOKIE}="";') and COOKIE not in browser.cookies
    assert gateway.get("/api/v1/me", tokens["access_token"]).status_code == 401
    again = refresh(gateway, cookies={COOKIE: cookie})
    assert again.status_code == 401 and error_of(again)["code"] == "token_reused"
    # Another user's cookie sent with my logout is not mine to end.
    gateway.verified_user("ivo@example.com")
    victim, _ = browser_login(gateway, "ivo@example.com")
    mine = gateway.login("hub@example.com")["access_token"]
    requests.post(f"{gateway.url}/api/v1/auth/logout", cookies={COOKIE: victim.cookies[COOKIE]},
                  headers={"Authorization": f"Bearer {mine}"}, timeout=30)
    assert refresh(gateway, victim).status_code == 200


def test_sign_out_everywhere(gateway: Gateway) -> None:
    here = gateway.verified_user("jon@example.com")
    there = gateway.login("jon@example.com")
    browser, web_tokens = browser_login(gateway, "jon@example.com")
    assert gateway.post("/api/v1/me/sessions/revoke").status_code == 401
    answer = gateway.post("/api/v1/me/sessions/revoke", None, here["access_token"])
    assert answer.status_code == 204 and answer.text == ""
    assert session_cookie(answer).startswith(f'{COOKIE}="";')
    # Every access token, this request's included, and every refresh token.
    for access in (here["access_token"], there["access_token"], web_tokens["access_token"]):
        me = gateway.get("/api/v1/me", access)
        assert me.status_code == 401 and error_of(me)["code"] == "token_revoked"
    for token in (here["refresh_token"], there["refresh_token"]):
        assert gateway.post("/api/v1/auth/refresh",
                            {"refresh_token": token}).status_code == 401
    assert refresh(gateway, browser).status_code == 401
    # Another user's sessions go on; the owner signs in again.
    other = gateway.verified_user("kay@example.com")
    assert gateway.get("/api/v1/me", other["access_token"]).status_code == 200
    fresh = gateway.login("jon@example.com")
    assert gateway.get("/api/v1/me", fresh["access_token"]).status_code == 200


def change(gateway: Gateway, access: str, current: str, new: str, **extra
           ) -> requests.Response:
    return gateway.post("/api/v1/me/password",
                        {"current_password": current, "new_password": new, **extra}, access)


def test_a_password_change_ends_the_other_sessions(gateway: Gateway) -> None:
    mine = gateway.verified_user("lou@example.com")
    other = gateway.login("lou@example.com")
    browser, web_tokens = browser_login(gateway, "lou@example.com")
    changed = change(gateway, mine["access_token"], PASSWORD, NEW_PASSWORD)
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert isinstance(fresh["refresh_token"], str) and no_session_cookie(changed)
    # The caller goes on with the new tokens ...
    assert gateway.get("/api/v1/me", fresh["access_token"]).status_code == 200
    assert gateway.post("/api/v1/auth/refresh",
                        {"refresh_token": fresh["refresh_token"]}).status_code == 200
    # ... every session before it is over, the caller's old tokens included.
    for access in (mine["access_token"], other["access_token"], web_tokens["access_token"]):
        me = gateway.get("/api/v1/me", access)
        assert me.status_code == 401 and error_of(me)["code"] == "token_revoked"
    for token in (mine["refresh_token"], other["refresh_token"]):
        assert gateway.post("/api/v1/auth/refresh",
                            {"refresh_token": token}).status_code == 401
    assert refresh(gateway, browser).status_code == 401
    assert gateway.post("/api/v1/auth/login", {"email": "lou@example.com",
                                               "password": PASSWORD}).status_code == 401
    # A cookie session asks for its new token in the cookie.
    browser, tokens = browser_login(gateway, "lou@example.com", NEW_PASSWORD)
    again = change(gateway, tokens["access_token"], NEW_PASSWORD, PASSWORD + " again",
                   session="cookie")
    assert again.status_code == 200 and again.json()["refresh_token"] is None
    line = session_cookie(again)
    assert "HttpOnly" in line and "Path=/api/v1/auth" in line
    browser.cookies.set(COOKIE, again.cookies[COOKIE], path="/api/v1/auth")
    assert refresh(gateway, browser).status_code == 200


def test_a_password_change_refuses_weak_or_wrong_passwords(gateway: Gateway) -> None:
    tokens = gateway.verified_user("marguerite@example.com")
    access = tokens["access_token"]
    weak = [("short", "must be at least 10 characters"),
            ("aaaaaaaaaaaa", "must use at least 4 different characters"),
            ("qwertyuiop123", "is one of the most common passwords"),
            ("xMargueriteX1", "must not contain your e-mail address"),
            (PASSWORD, "the same as the current password")]
    for password, message in weak:
        answer = change(gateway, access, PASSWORD, password)
        assert answer.status_code == 422, password
        [field] = error_of(answer)["fields"]
        assert field["path"] == "$.new_password" and message in field["message"], field
    for body in ({"current_password": PASSWORD}, {"new_password": NEW_PASSWORD},
                 {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "x": 1}):
        assert gateway.post("/api/v1/me/password", body, access).status_code == 422, body
    wrong = change(gateway, access, "not my password!", NEW_PASSWORD)
    assert wrong.status_code == 403
    error = error_of(wrong)
    assert error["code"] == "current_password_wrong"
    assert error["fields"][0]["path"] == "$.current_password"
    # Nothing changed: the session and the password are as they were.
    assert gateway.get("/api/v1/me", access).status_code == 200
    assert gateway.login("marguerite@example.com")["access_token"]
    assert change(gateway, None, PASSWORD, NEW_PASSWORD).status_code == 401


def test_wrong_current_passwords_are_limited_per_user(gateway: Gateway) -> None:
    access = gateway.verified_user("ned@example.com")["access_token"]
    neighbour = gateway.verified_user("ola@example.com")["access_token"]
    # Refused new passwords and right current passwords spend nothing of the limit.
    for _ in range(ratelimit.PASSWORD_CHANGE.count + 1):
        assert change(gateway, access, "not my password!", "short").status_code == 422
    codes = [change(gateway, access, f"guess number {n}!", NEW_PASSWORD).status_code
             for n in range(ratelimit.PASSWORD_CHANGE.count + 1)]
    assert codes == [403] * ratelimit.PASSWORD_CHANGE.count + [429]
    held = change(gateway, access, PASSWORD, NEW_PASSWORD)  # even the right one, now
    assert held.status_code == 429
    assert 0 < int(held.headers["Retry-After"]) <= ratelimit.PASSWORD_CHANGE.seconds
    # The limit is the user's, not everyone's.
    assert change(gateway, neighbour, PASSWORD, NEW_PASSWORD).status_code == 200


def test_the_profile_changes_the_display_name_only(gateway: Gateway) -> None:
    access = gateway.verified_user("pam@example.com")["access_token"]
    answer = gateway.request("PATCH", "/api/v1/me", access,
                             json={"display_name": "  Pam Beesly  "})
    assert answer.status_code == 200, answer.text
    user = answer.json()
    assert user["display_name"] == "Pam Beesly" and user["email"] == "pam@example.com"
    assert set(user) == {"id", "email", "display_name", "role", "email_verified",
                         "two_factor", "created_at"}
    assert gateway.get("/api/v1/me", access).json()["display_name"] == "Pam Beesly"
    hostile = [({"display_name": "x\x00y"}, "$.display_name"),
               ({"display_name": "line\nbreak"}, "$.display_name"),
               ({"display_name": "n" * 101}, "$.display_name"),
               ({"display_name": 7}, "$.display_name"),
               ({"display_name": "Pam", "role": "owner"}, "$"),
               ({"email": "boss@example.com"}, "$"),
               ({}, "$")]
    for body, path in hostile:
        refused = gateway.request("PATCH", "/api/v1/me", access, json=body)
        assert refused.status_code == 422, body
        assert error_of(refused)["fields"][0]["path"] == path, body
    [row] = gateway.sql("SELECT display_name, role, email FROM users")
    assert tuple(row) == ("Pam Beesly", "trader", "pam@example.com")
    assert gateway.request("PATCH", "/api/v1/me", json={"display_name": "x"}
                           ).status_code == 401


def test_the_document_describes_cookie_sessions(gateway: Gateway) -> None:
    spec = gateway.get("/api/openapi.json").json()
    schemas = spec["components"]["schemas"]
    tokens = schemas["TokensOut"]["properties"]["refresh_token"]
    assert {"type": "null"} in tokens["anyOf"] and "cookie" in tokens["description"]
    assert "refresh_token" in schemas["TokensOut"]["required"]
    assert "refresh_token" not in schemas["RefreshIn"].get("required", [])
    assert schemas["LoginIn"]["properties"]["session"]["enum"] == ["body", "cookie"]
    refresh_op = spec["paths"]["/api/v1/auth/refresh"]["post"]
    places = {(p["in"], p["name"]) for p in refresh_op["parameters"]}
    assert places == {("header", "X-PropTrade-Client"), ("cookie", COOKIE)}
    assert "HttpOnly" in refresh_op["description"]
    for path, method in (("/api/v1/me/password", "post"),
                         ("/api/v1/me/sessions/revoke", "post"), ("/api/v1/me", "patch")):
        assert spec["paths"][path][method]["security"] == [{"bearer": []}], path
    assert "204" in spec["paths"]["/api/v1/me/sessions/revoke"]["post"]["responses"]
