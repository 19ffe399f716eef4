"""Registration, e-mail verification, sessions, two-factor auth, password reset — and the
attacks on them — through HTTP against a running gateway with real PostgreSQL, Redis and
SMTP."""

from __future__ import annotations

import base64
import json
import re
import time

import jwt
import pyotp
import requests

from gateway import ratelimit
from tests.gateway.conftest import PASSWORD, Gateway, token_in


def error_of(answer) -> dict:
    body = answer.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_register_verify_login_me(gateway: Gateway) -> None:
    created = gateway.register("Ada@Example.com")
    assert created["email"] == "ada@example.com"
    assert created["email_verified"] is False and created["role"] == "trader"
    # Not before the address is confirmed.
    early = gateway.post("/api/v1/auth/login",
                         {"email": "ada@example.com", "password": PASSWORD})
    assert early.status_code == 401 and error_of(early)["code"] == "email_not_verified"

    message = gateway.sink.wait_for("ada@example.com")[0]
    assert "Confirm your e-mail address" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    token = token_in(message)
    assert f"/verify-email?token={token}" in html
    assert gateway.post("/api/v1/auth/verify", {"token": token}).json()["email_verified"]
    again = gateway.post("/api/v1/auth/verify", {"token": token})
    assert again.status_code == 400 and error_of(again)["code"] == "token_invalid"

    tokens = gateway.login("ada@example.com")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    me = gateway.get("/api/v1/me", tokens["access_token"])
    assert me.status_code == 200 and me.json()["email"] == "ada@example.com"
    # The password is stored as an argon2id hash, never as given.
    [row] = gateway.sql("SELECT password_hash FROM users")
    assert row["password_hash"].startswith("$argon2id$") and PASSWORD not in row[0]


def test_bad_registrations_name_the_field(gateway: Gateway) -> None:
    cases = [
        ({"email": "not-an-address", "password": PASSWORD}, "$.email"),
        ({"email": "a@b.co", "password": "short"}, "$.password"),
        ({"email": "a@b.co", "password": "aaaaaaaaaaaa"}, "$.password"),
        ({"email": "a@b.co", "password": "qwertyuiop123"}, "$.password"),
        ({"email": "marguerite@b.co", "password": "xMargueriteX1"}, "$.password"),
        ({"email": "a@b.co", "password": PASSWORD, "role": "admin"}, "$"),
        ({"email": "a@b.co"}, "$"),
        ({"email": "a@b.co", "password": PASSWORD, "display_name": "x\x00y"},
         "$.display_name"),
    ]
    for body, path in cases:
        answer = gateway.post("/api/v1/auth/register", body)
        assert answer.status_code == 422, (body, answer.text)
        error = error_of(answer)
        assert error["code"] == "validation_failed"
        assert error["fields"][0]["path"] == path, (body, error)
    not_json = gateway.request("POST", "/api/v1/auth/register", data=b"{nope",
                               headers={"Content-Type": "application/json"})
    assert not_json.status_code == 422
    assert gateway.sql("SELECT count(*) FROM users")[0][0] == 0


def test_duplicate_address_is_a_conflict(gateway: Gateway) -> None:
    gateway.register("bo@example.com")
    answer = gateway.post("/api/v1/auth/register",
                          {"email": "BO@example.com", "password": PASSWORD})
    assert answer.status_code == 409 and error_of(answer)["code"] == "email_taken"


def test_wrong_password_and_unknown_user_look_alike(gateway: Gateway) -> None:
    gateway.verified_user("cy@example.com")
    wrong = gateway.post("/api/v1/auth/login", {"email": "cy@example.com", "password": "x" * 12})
    nobody = gateway.post("/api/v1/auth/login", {"email": "no@example.com", "password": PASSWORD})
    assert wrong.status_code == nobody.status_code == 401
    assert error_of(wrong) == error_of(nobody)


def test_refresh_rotates_and_reuse_revokes_the_family(gateway: Gateway) -> None:
    first = gateway.verified_user("di@example.com")
    second = gateway.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    # The spent token comes back (a thief, or a confused client): the family dies.
    reused = gateway.post("/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and error_of(reused)["code"] == "token_reused"
    later = gateway.post("/api/v1/auth/refresh", {"refresh_token": second["refresh_token"]})
    assert later.status_code == 401
    # Another session of the same user (another family) is untouched.
    other = gateway.login("di@example.com")
    assert gateway.post("/api/v1/auth/refresh",
                        {"refresh_token": other["refresh_token"]}).status_code == 200


def test_logout_revokes_the_access_token_and_its_refresh_family(gateway: Gateway) -> None:
    tokens = gateway.verified_user("ed@example.com")
    access = tokens["access_token"]
    out = gateway.post("/api/v1/auth/logout", {"refresh_token": tokens["refresh_token"]},
                       access)
    assert out.status_code == 204
    after = gateway.get("/api/v1/me", access)
    assert after.status_code == 401 and error_of(after)["code"] == "token_revoked"
    assert gateway.post("/api/v1/auth/refresh",
                        {"refresh_token": tokens["refresh_token"]}).status_code == 401
    [ttl] = gateway.call(gateway.services.cache.client.ttl(
        gateway.services.cache.key("revoked", jwt.decode(
            access, options={"verify_signature": False})["jti"]))),
    assert 0 < ttl <= 900  # kept only until the token would have expired anyway


def test_forged_tokens_are_refused(gateway: Gateway) -> None:
    tokens = gateway.verified_user("fay@example.com")
    access = tokens["access_token"]
    claims = jwt.decode(access, options={"verify_signature": False})
    header, payload, signature = access.split(".")

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    promoted = b64({**claims, "role": "owner"})
    forged = {
        "tampered": f"{header}.{promoted}.{signature}",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "other key": jwt.encode(claims, "not-the-secret-" * 3, algorithm="HS256"),
        "expired": jwt.encode({**claims, "iat": int(time.time()) - 3600,
                               "exp": int(time.time()) - 60},
                              gateway.services.users.signer.secret, algorithm="HS256"),
        "garbage": "abc.def.ghi",
    }
    for name, token in forged.items():
        answer = gateway.get("/api/v1/me", token)
        assert answer.status_code == 401, name
        expected = "token_expired" if name == "expired" else "token_invalid"
        assert error_of(answer)["code"] == expected, name
    assert gateway.get("/api/v1/me").status_code == 401
    assert gateway.get("/api/v1/me", access).status_code == 200


def test_two_factor_setup_login_replay_and_recovery(gateway: Gateway) -> None:
    access = gateway.verified_user("gus@example.com")["access_token"]
    setup = gateway.post("/api/v1/me/2fa/setup", None, access).json()
    assert setup["otpauth_uri"].startswith("otpauth://totp/")
    totp = pyotp.TOTP(setup["secret"])
    wrong = gateway.post("/api/v1/me/2fa/confirm", {"code": "000000"}, access)
    assert wrong.status_code == 422
    confirmed = gateway.post("/api/v1/me/2fa/confirm", {"code": totp.now()}, access)
    assert confirmed.status_code == 200, confirmed.text
    codes = confirmed.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert gateway.get("/api/v1/me", access).json()["two_factor"] is True

    # A password alone no longer logs in.
    bare = gateway.post("/api/v1/auth/login", {"email": "gus@example.com", "password": PASSWORD})
    assert bare.status_code == 401 and error_of(bare)["code"] == "totp_required"
    # The code used to confirm belongs to the current step: it is spent. The next step's
    # code (accepted for clock drift) logs in once; replayed, it is refused.
    next_code = totp.at(time.time() + 30)
    assert gateway.login("gus@example.com", totp_code=next_code)["access_token"]
    replay = gateway.post("/api/v1/auth/login", {"email": "gus@example.com",
                                                 "password": PASSWORD, "totp_code": next_code})
    assert replay.status_code == 401 and error_of(replay)["code"] == "totp_invalid"

    # A recovery code works once.
    assert gateway.login("gus@example.com", recovery_code=codes[0])["access_token"]
    spent = gateway.post("/api/v1/auth/login", {"email": "gus@example.com",
                                                "password": PASSWORD,
                                                "recovery_code": codes[0]})
    assert spent.status_code == 401
    [row] = gateway.sql("SELECT count(*) FROM recovery_codes WHERE code_hash = $1", codes[1])
    assert row[0] == 0  # stored hashed, never as shown

    disabled = gateway.post("/api/v1/me/2fa/disable", {"code": codes[1]}, access)
    assert disabled.status_code == 204
    assert gateway.login("gus@example.com")["access_token"]


def test_password_reset_by_mail_ends_every_session(gateway: Gateway) -> None:
    tokens = gateway.verified_user("hal@example.com")
    unknown = gateway.post("/api/v1/auth/password/forgot", {"email": "nobody@example.com"})
    known = gateway.post("/api/v1/auth/password/forgot", {"email": "hal@example.com"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    message = gateway.sink.wait_for("hal@example.com", count=2)[-1]
    assert "Reset your" in message["Subject"]
    token = token_in(message)
    weak = gateway.post("/api/v1/auth/password/reset", {"token": token, "password": "short"})
    assert weak.status_code == 422
    new_password = "a much better passphrase"
    # The weak attempt spent nothing: the token still works.
    reset = gateway.post("/api/v1/auth/password/reset",
                         {"token": token, "password": new_password})
    assert reset.status_code == 204, reset.text
    assert gateway.post("/api/v1/auth/password/reset",
                        {"token": token, "password": new_password}).status_code == 400
    assert gateway.get("/api/v1/me", tokens["access_token"]).status_code == 401
    assert gateway.post("/api/v1/auth/refresh",
                        {"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert gateway.post("/api/v1/auth/login", {"email": "hal@example.com",
                                               "password": PASSWORD}).status_code == 401
    assert gateway.login("hal@example.com", new_password)["access_token"]
    assert not [m for m in gateway.sink.messages if "nobody@example.com" in m["To"]]


PROXY = {"trusted_proxies": ("127.0.0.1/32",)}  # the tests play the reverse proxy
WRONG = "wrong password!"


def attempt(gateway: Gateway, address: str, password: str, client: str,
            device: requests.Session | None = None, **extra: str):
    """A login from ``client``; on ``device`` (a session keeping its cookies), else on a
    device the gateway has never seen (no cookies: an attacker's, or a new one)."""
    http = device if device is not None else requests
    return http.post(f"{gateway.url}/api/v1/auth/login",
                     json={"email": address, "password": password, **extra},
                     headers={"X-Forwarded-For": client}, timeout=30)


def test_an_attackers_failures_do_not_lock_the_owner_out(configured) -> None:
    gateway = configured(**PROXY)
    gateway.verified_user("ivy@example.com")
    codes = []
    for _ in range(12):
        answer = attempt(gateway, "ivy@example.com", WRONG, "203.0.113.9")
        codes.append(answer.status_code)
        if answer.status_code == 429:
            assert 0 < int(answer.headers["Retry-After"]) <= 300
            assert error_of(answer)["code"] == "rate_limited"
    assert codes == [401] * 10 + [429] * 2
    # The attacker's address stays held for this account, even with the right password...
    assert attempt(gateway, "ivy@example.com", PASSWORD, "203.0.113.9").status_code == 429
    # ... while the owner, from anywhere else, signs in.
    assert attempt(gateway, "ivy@example.com", PASSWORD, "198.51.100.7").status_code == 200


def test_a_distributed_guess_is_held_per_account_but_not_at_the_owners_address(
        configured) -> None:
    gateway = configured(**PROXY)
    gateway.verified_user("kai@example.com")
    # The owner signed in from home once: that address is known to the account.
    assert attempt(gateway, "kai@example.com", PASSWORD, "198.51.100.7").status_code == 200
    codes = [attempt(gateway, "kai@example.com", WRONG, f"203.0.113.{n}").status_code
             for n in range(ratelimit.LOGIN_ACCOUNT.count + 3)]
    assert codes == [401] * ratelimit.LOGIN_ACCOUNT.count + [429] * 3
    # A new address is held with the account (even with the right password) ...
    assert attempt(gateway, "kai@example.com", PASSWORD, "192.0.2.50").status_code == 429
    # ... but the owner's known address is not.
    assert attempt(gateway, "kai@example.com", PASSWORD, "198.51.100.7").status_code == 200


def test_a_password_reset_clears_the_lock(configured) -> None:
    gateway = configured(**PROXY)
    gateway.verified_user("lea@example.com")
    for n in range(ratelimit.LOGIN_ACCOUNT.count):
        attempt(gateway, "lea@example.com", WRONG, f"203.0.113.{n}")
    for _ in range(ratelimit.LOGIN_PAIR.count):
        attempt(gateway, "lea@example.com", WRONG, "192.0.2.50")
    assert attempt(gateway, "lea@example.com", PASSWORD, "192.0.2.50").status_code == 429
    assert attempt(gateway, "lea@example.com", PASSWORD, "192.0.2.51").status_code == 429
    assert gateway.post("/api/v1/auth/password/forgot", {"email": "lea@example.com"},
                        headers={"X-Forwarded-For": "192.0.2.50"}).status_code == 202
    token = token_in(gateway.sink.wait_for("lea@example.com", count=2)[-1])
    renewed = "a much better passphrase"
    assert gateway.post("/api/v1/auth/password/reset", {"token": token, "password": renewed},
                        headers={"X-Forwarded-For": "192.0.2.50"}).status_code == 204
    assert attempt(gateway, "lea@example.com", renewed, "192.0.2.50").status_code == 200
    assert attempt(gateway, "lea@example.com", renewed, "192.0.2.51").status_code == 200


def test_refused_attempts_do_not_count_against_the_account(configured) -> None:
    # One address could lock the owner out of every new device: attempts the pair limit
    # had refused (never checked) counted against the account all the same.
    gateway = configured(**PROXY)
    gateway.verified_user("mia@example.com")
    assert attempt(gateway, "mia@example.com", PASSWORD, "198.51.100.7").status_code == 200
    codes = [attempt(gateway, "mia@example.com", WRONG, "203.0.113.9").status_code
             for _ in range(31)]
    assert codes == [401] * 10 + [429] * 21
    # The owner, on a new device at a new address, with the right password.
    assert attempt(gateway, "mia@example.com", PASSWORD, "192.0.2.77").status_code == 200


def test_a_known_device_is_never_held_by_the_account_limit(configured) -> None:
    gateway = configured(**PROXY)
    gateway.verified_user("noa@example.com")
    owner = requests.Session()  # the owner's browser
    signed_in = attempt(gateway, "noa@example.com", PASSWORD, "198.51.100.7", owner)
    assert signed_in.status_code == 200
    cookie = signed_in.headers["Set-Cookie"]
    assert cookie.startswith("proptrade_device=") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Path=/api/v1/auth" in cookie
    # A guess spread over many addresses holds the account for new devices ...
    codes = [attempt(gateway, "noa@example.com", WRONG, f"203.0.113.{n}").status_code
             for n in range(ratelimit.LOGIN_ACCOUNT.count + 3)]
    assert codes == [401] * ratelimit.LOGIN_ACCOUNT.count + [429] * 3
    held = attempt(gateway, "noa@example.com", PASSWORD, "192.0.2.50")
    assert held.status_code == 429 and "reset your password" in error_of(held)["message"]
    # ... a forged or another account's device cookie is a new device ...
    forged = requests.Session()
    forged.cookies.set("proptrade_device", "2|1:0|10:1700000000|16:proptrade_device|"
                       "44:MDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA=|" + "0" * 64)
    assert attempt(gateway, "noa@example.com", PASSWORD, "192.0.2.51", forged
                   ).status_code == 429
    for garbage in ("", "x", "2|", "1|a|b", "2|1:0|1:x|" + "9" * 300, "\u00e9"):
        jar = requests.Session()
        jar.headers["Cookie"] = f"proptrade_device={garbage}"
        assert attempt(gateway, "noa@example.com", PASSWORD, "192.0.2.51", jar
                       ).status_code == 429, garbage
    other = requests.Session()
    gateway.verified_user("oli@example.com")
    assert attempt(gateway, "oli@example.com", PASSWORD, "192.0.2.52", other
                   ).status_code == 200
    assert attempt(gateway, "noa@example.com", PASSWORD, "192.0.2.52", other
                   ).status_code == 429
    # ... while the owner's own device signs in from anywhere (travelling: a new address).
    assert attempt(gateway, "noa@example.com", PASSWORD, "192.0.2.60", owner
                   ).status_code == 200
    # A device's own failures hold that device for the account (a stolen cookie guesses
    # no faster than an address), never the account.
    codes = [attempt(gateway, "noa@example.com", WRONG, f"192.0.2.{70 + n}", owner
                     ).status_code for n in range(ratelimit.LOGIN_PAIR.count + 1)]
    assert codes == [401] * ratelimit.LOGIN_PAIR.count + [429]
    assert attempt(gateway, "noa@example.com", PASSWORD, "198.51.100.7").status_code == 200


def two_factor_user(gateway: Gateway, address: str) -> tuple[pyotp.TOTP, list[str]]:
    access = gateway.verified_user(address)["access_token"]
    secret = gateway.post("/api/v1/me/2fa/setup", None, access).json()["secret"]
    totp = pyotp.TOTP(secret)
    confirmed = gateway.post("/api/v1/me/2fa/confirm", {"code": totp.now()}, access)
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


def test_a_new_device_with_the_second_factor_passes_the_account_limit(configured) -> None:
    gateway = configured(**PROXY)
    _, codes = two_factor_user(gateway, "pia@example.com")
    guesses = [attempt(gateway, "pia@example.com", WRONG, f"203.0.113.{n}").status_code
               for n in range(ratelimit.LOGIN_ACCOUNT.count + 1)]
    assert guesses == [401] * ratelimit.LOGIN_ACCOUNT.count + [429]
    # Held for new devices: whatever is wrong, the answer is the same 429 (no oracle for
    # the password) ...
    for password, extra in ((PASSWORD, {}), (WRONG, {"totp_code": "123456"}),
                            (PASSWORD, {"totp_code": "000000"}),
                            (WRONG, {"recovery_code": codes[0]})):
        refused = attempt(gateway, "pia@example.com", password, "192.0.2.9", **extra)
        assert refused.status_code == 429, (password, extra, refused.text)
    # ... but the right password with a right second factor is the owner.
    assert attempt(gateway, "pia@example.com", PASSWORD, "192.0.2.9",
                   recovery_code=codes[1]).status_code == 200


def test_wrong_passwords_do_not_spend_the_second_factors_limit(configured) -> None:
    # The 2FA limit was charged before the password was checked, keyed by the e-mail
    # address alone: anyone could hold a 2FA user, at any address, at every firm.
    gateway = configured(**PROXY)
    totp, codes = two_factor_user(gateway, "quin@example.com")
    assert attempt(gateway, "quin@example.com", PASSWORD, "198.51.100.7",
                   recovery_code=codes[0]).status_code == 200  # home: a known address
    for n in range(ratelimit.TWO_FACTOR.count + 2):
        answer = attempt(gateway, "quin@example.com", WRONG, f"203.0.113.{n}",
                         totp_code="123456")
        assert answer.status_code == 401, answer.text
    assert attempt(gateway, "quin@example.com", PASSWORD, "198.51.100.7",
                   totp_code=totp.at(time.time() + 30)).status_code == 200
    # Whoever knows the password is held after 10 wrong codes (from anywhere) ...
    for n in range(ratelimit.TWO_FACTOR.count):
        answer = attempt(gateway, "quin@example.com", PASSWORD, f"192.0.2.{n}",
                         totp_code="000000")
        assert answer.status_code == 401 and error_of(answer)["code"] == "totp_invalid"
    held = attempt(gateway, "quin@example.com", PASSWORD, "198.51.100.7",
                   recovery_code=codes[1])
    assert held.status_code == 429
    # ... and a password reset (the owner's way out) starts the second factor's count too.
    assert gateway.post("/api/v1/auth/password/forgot", {"email": "quin@example.com"},
                        headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 202
    token = token_in(gateway.sink.wait_for("quin@example.com", count=2)[-1])
    renewed = "a much better passphrase"
    assert gateway.post("/api/v1/auth/password/reset", {"token": token, "password": renewed},
                        headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 204
    assert attempt(gateway, "quin@example.com", renewed, "198.51.100.7",
                   recovery_code=codes[1]).status_code == 200


def test_nobody_can_block_a_password_reset(configured) -> None:
    from tests.gateway.test_hygiene import add_tenant

    gateway = configured(**PROXY)
    gateway.verified_user("ray@example.com")
    add_tenant(gateway, "acme", "trade.acme.test")
    gateway.verified_user("ray@example.com", headers={"Host": "trade.acme.test"})

    def forgot(client: str, host: str = "127.0.0.1") -> int:
        return gateway.post("/api/v1/auth/password/forgot", {"email": "ray@example.com"},
                            headers={"X-Forwarded-For": client, "Host": host}).status_code

    def resets(firm: str) -> list:
        return [m for m in gateway.sink.messages if m["To"] == "ray@example.com"
                and "Reset" in m["Subject"] and firm in m["Subject"]]

    # An attacker asks again and again: its own address is held ...
    assert [forgot("203.0.113.9") for _ in range(6)] == [202] * 5 + [429]
    # ... from many addresses, the account's mail stops after 5 an hour, silently ...
    assert [forgot(f"203.0.113.{n}") for n in range(10, 20)] == [202] * 10
    # ... and the owner is answered as anyone: never a 429 for the account.
    assert forgot("198.51.100.7") == 202
    deadline = time.monotonic() + 5
    while len(resets("PropTrade")) < ratelimit.RESET_MAIL.count and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    mails = resets("PropTrade")
    assert len(mails) == ratelimit.RESET_MAIL.count
    # The links the attacker caused went to the owner: any of them resets the password.
    assert gateway.post("/api/v1/auth/password/reset", {
        "token": token_in(mails[0]), "password": "a much better passphrase"},
        headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 204
    # Per firm: the same address at another firm still gets its mail.
    assert forgot("198.51.100.7", "trade.acme.test") == 202
    deadline = time.monotonic() + 5
    while not resets("Acme") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(resets("Acme")) == 1


def test_a_spray_across_accounts_from_one_address_is_held(gateway: Gateway) -> None:
    # 30 accounts, one guess each, from one address that claims to be 30 (no proxy is
    # trusted here, so X-Forwarded-For is not believed).
    codes = [gateway.post("/api/v1/auth/login",
                          {"email": f"u{n}@spray.test", "password": "Summer2024!!"},
                          headers={"X-Forwarded-For": f"10.9.{n}.1",
                                   "X-Real-IP": f"10.8.{n}.1"}).status_code
             for n in range(30)]
    limit = ratelimit.LOGIN_ADDRESS.count
    assert codes == [401] * limit + [429] * (30 - limit)


def test_mail_survives_an_smtp_outage(gateway: Gateway) -> None:
    gateway.sink.stop()
    gateway.register("jo@example.com")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        [row] = gateway.sql("SELECT attempts, last_error, sent_at FROM mail_outbox")
        if row["attempts"] >= 1:
            break
        time.sleep(0.1)
    assert row["attempts"] >= 1 and row["last_error"] and row["sent_at"] is None
    gateway.sink.start()
    gateway.sql("UPDATE mail_outbox SET next_attempt_at = now()")  # skip the backoff wait
    message = gateway.sink.wait_for("jo@example.com")[0]
    assert token_in(message)
    deadline = time.monotonic() + 10  # marked sent when its transaction commits
    while time.monotonic() < deadline:
        [row] = gateway.sql("SELECT attempts, sent_at FROM mail_outbox")
        if row["sent_at"] is not None:
            break
        time.sleep(0.05)
    assert row["sent_at"] is not None and row["attempts"] >= 2


def test_registration_and_reset_are_rate_limited_per_address(gateway: Gateway) -> None:
    codes = [gateway.post("/api/v1/auth/register",
                          {"email": f"r{n}@limits.test", "password": PASSWORD}).status_code
             for n in range(6)]
    assert codes == [201] * 5 + [429]
    resets = [gateway.post("/api/v1/auth/password/forgot",
                           {"email": "r0@limits.test"}).status_code for _ in range(6)]
    assert resets == [202] * 5 + [429]


def test_mail_links_come_from_configuration_never_from_the_host(configured) -> None:
    from tests.gateway.test_hygiene import add_tenant

    gateway = configured(public_base_domain="platform.test",
                         public_url="https://demo.proptrade.test")
    add_tenant(gateway, "acme", "trade.acme.test")
    gateway.sql("INSERT INTO tenants (slug, name) VALUES ('beta', 'Beta Funding')")
    gateway.services.tenants.forget()

    def link(address: str) -> str:
        body = gateway.sink.wait_for(address, count=len(
            [m for m in gateway.sink.messages if m["To"] == address]) or 1)[-1]
        match = re.search(r"(\S+)\?token=", body.get_body(("plain",)).get_content())
        assert match, body.get_body(("plain",)).get_content()
        return match.group(1)

    # The default firm, whatever loopback host the request names.
    gateway.register("ann@example.com", headers={"Host": "localhost:31337"})
    assert link("ann@example.com") == "https://demo.proptrade.test/verify-email"
    # A firm with a claimed domain: that domain, over https, even when reached by its
    # subdomain of the platform.
    gateway.register("bob@acme.test", headers={"Host": "acme.platform.test"})
    assert link("bob@acme.test") == "https://trade.acme.test/verify-email"
    # A firm without a domain of its own: its subdomain of the platform.
    gateway.register("cat@beta.test", headers={"Host": "beta.platform.test:8443"})
    assert link("cat@beta.test") == "https://beta.platform.test/verify-email"
    forgot = gateway.post("/api/v1/auth/password/forgot", {"email": "bob@acme.test"},
                          headers={"Host": "trade.acme.test"})
    assert forgot.status_code == 202
    assert gateway.sink.wait_for("bob@acme.test", count=2)
    assert link("bob@acme.test") == "https://trade.acme.test/reset-password"
    # Hosts nobody claimed: a slug under another domain, deeper subdomains, other
    # addresses, *.localhost.
    for host in ("acme.attacker.test", "beta.platform.test.attacker.test",
                 "x.beta.platform.test", "10.1.2.3", "beta.localhost", "platform.test"):
        answer = gateway.post("/api/v1/auth/password/forgot", {"email": "bob@acme.test"},
                              headers={"Host": host})
        assert answer.status_code == 404, host
        assert error_of(answer)["code"] == "unknown_tenant"
    time.sleep(0.5)
    assert len([m for m in gateway.sink.messages if m["To"] == "bob@acme.test"]) == 2


def test_without_a_base_domain_only_claimed_hosts_and_loopback_are_served(
        gateway: Gateway) -> None:
    from tests.gateway.test_hygiene import add_tenant

    add_tenant(gateway, "acme", "trade.acme.test")
    assert gateway.get("/api/v1/tenant", headers={"Host": "acme.platform.test"}
                       ).status_code == 404
    for host in ("localhost", "127.0.0.1:9", "[::1]:8000"):
        assert gateway.get("/api/v1/tenant", headers={"Host": host}).json()["slug"] \
            == "default", host
    gateway.register("dan@example.com", headers={"Host": "localhost:31337"})
    body = gateway.sink.wait_for("dan@example.com")[0].get_body(("plain",)).get_content()
    assert f"http://localhost:{gateway.settings.http_port}/verify-email?token=" in body
    assert "31337" not in body


def test_bodies_that_are_not_utf8_are_refused(gateway: Gateway) -> None:
    bodies = [b'{"email": "a\xff@b.co", "password": "correct horse battery"}',
              b'{"email": "a@b.co", "password": "\xc3\x28\xa0\xa1 horse battery"}',
              b'{"email": "\xed\xa0\x80@b.co", "password": "x"}']
    for path in ("/api/v1/auth/login", "/api/v1/auth/register",
                 "/api/v1/auth/password/forgot"):
        for body in bodies:
            answer = gateway.request("POST", path, data=body,
                                     headers={"Content-Type": "application/json"})
            assert answer.status_code == 422, (path, body, answer.text)
            error = error_of(answer)
            assert "UTF-8" in error["message"], error
            assert error["fields"][0]["path"] == "$"
    assert gateway.sql("SELECT count(*) FROM users")[0][0] == 0


def test_tokens_out_of_range_or_living_too_long_are_refused(gateway: Gateway) -> None:
    tokens = gateway.verified_user("gil@example.com")
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    key = gateway.services.users.signer.secret
    now = int(time.time())

    def without(name: str) -> dict:
        return {k: v for k, v in claims.items() if k != name}

    forged = {
        "sub beyond int64": {**claims, "sub": str(2**63)},
        "sub of 40 digits": {**claims, "sub": "9" * 40},
        "sub not an integer": {**claims, "sub": "1.5"},
        "sub negative": {**claims, "sub": "-1"},
        "sub in Arabic digits": {**claims, "sub": "\u0661"},
        "sub a number": {**claims, "sub": 1},
        "tid beyond int64": {**claims, "tid": 2**64},
        "epoch beyond int32": {**claims, "ep": 10**30},
        "a year long": {**claims, "iat": now, "exp": now + 365 * 86400},
        "16 minutes long": {**claims, "iat": now - 30, "exp": now + 15 * 60},
        "no iat": without("iat"),
        "no exp": without("exp"),
    }
    for name, payload in forged.items():
        answer = gateway.get("/api/v1/me", jwt.encode(payload, key, algorithm="HS256"))
        assert answer.status_code == 401, (name, answer.text)
        assert error_of(answer)["code"] == "token_invalid", name
    # As long as the gateway issues, and no longer: accepted.
    fresh = jwt.encode({**claims, "iat": now, "exp": now + 15 * 60}, key, algorithm="HS256")
    assert gateway.get("/api/v1/me", fresh).status_code == 200
