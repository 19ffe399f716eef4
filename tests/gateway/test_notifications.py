"""E-mail notices of a challenge's life: the right mail to the right trader, in the
firm's branding, links from configuration, hostile names escaped, optional notices
turned off by the user while the essential ones still arrive."""

from __future__ import annotations

import re
from email.message import EmailMessage

import jinja2
import pytest

from gateway import mail
from gateway.notifications import KINDS, rules_summary
from gateway.tenants import Branding, Tenant
from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import PROGRAM, admin_token, wait_until

FIRM_NAME = 'Acme <b>"Funding"</b> & Co'
ACME = {"Host": "trade.acme.test"}
HOSTILE_NAME = "<script>alert('x')</script> Ann"


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def mails_to(gateway: Gateway, address: str) -> list[EmailMessage]:
    return [m for m in gateway.sink.messages if m["To"] == address]


def acme_firm(gateway: Gateway) -> int:
    gateway.verified_user("root@platform.test")
    gateway.promote("root@platform.test", "owner")
    owner = gateway.login("root@platform.test")["access_token"]
    created = gateway.post("/api/v1/owner/tenants", {
        "slug": "acme", "domains": ["trade.acme.test"],
        "branding": {"name": FIRM_NAME, "primary_color": "#123456",
                     "support_email": "help@acme.test"}}, owner)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def buy_and_pay(gateway: Gateway, token: str, admin: str, **kwargs: object) -> dict:
    """The trader buys; the firm's admin settles the manual payment."""
    bought = gateway.post("/api/v1/challenges", {"program": "gold-10k",
                                                 "addons": ["no-time-limit"]}, token,
                          **kwargs)
    assert bought.status_code == 201, bought.text
    paid = gateway.post(f"/api/v1/admin/payments/{bought.json()['payment']['id']}/settle",
                        None, admin, **kwargs)
    assert paid.status_code == 200, paid.text
    return paid.json()


def test_a_challenges_journey_mails_its_trader_in_the_firms_branding(
        live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    firm = acme_firm(gateway)
    gateway.verified_user("boss@acme.test", headers=ACME)
    gateway.sql("UPDATE users SET role = 'admin' WHERE email = 'boss@acme.test'")
    admin = gateway.login("boss@acme.test", headers=ACME)["access_token"]
    created = gateway.post("/api/v1/admin/programs", PROGRAM, admin, headers=ACME)
    assert created.status_code == 201, created.text
    trader_address = "tra@acme.test"
    gateway.verified_user(trader_address, headers=ACME)
    gateway.sql("UPDATE users SET display_name = $1 WHERE email = $2", HOSTILE_NAME,
                trader_address)
    trader = gateway.login(trader_address, headers=ACME)["access_token"]

    # Bought and paid (the request's host is not where links point: configuration is).
    challenge = buy_and_pay(gateway, trader, admin, headers=ACME)
    [login] = bridge.wait_opened(1)
    receipt, opened = gateway.sink.wait_for(trader_address, 3)[1:3]
    base = "https://trade.acme.test"
    link = f"{base}/challenges/{challenge['id']}"
    assert receipt["Subject"] == f"{FIRM_NAME}: payment received for Gold 10k"
    text = text_of(receipt)
    assert "Amount: 119.00 USD" in text
    assert f"Payment reference: {challenge['payment']['reference']} (manual)" in text
    assert "with no-time-limit" in text and link in text
    assert f"Hello {HOSTILE_NAME}," in text  # plain text shows the name as written
    for message in (receipt, opened):
        html = html_of(message)
        assert "<script>" not in html and "<b>" not in html
        assert "&lt;script&gt;" in html
        assert "Acme &lt;b&gt;&#34;Funding&#34;&lt;/b&gt; &amp; Co" in html
        assert "#123456" in html and "help@acme.test" in html
        assert f'href="{link}"' in html
    assert opened["Subject"] == f"{FIRM_NAME}: your Gold 10k account {login} is open"
    text = text_of(opened)
    assert f"Login: {login}" in text and "Balance: 10,000.00 USD" in text
    assert "Maximum loss limit: 10% of the initial balance (1,000.00 USD)" in text
    assert "Profit target: 10% (1,000.00 USD)" in text
    assert f"turn it off at {base}/settings/notifications" in text

    # A breach fails the challenge: which rule, equity and floor, when.
    bridge.publish(bridge.quote(2000.0), bridge.deal(login, 1, "buy", "in", 1.0, 2000.5),
                   bridge.quote(1990.0))
    failed = gateway.sink.wait_for(trader_address, 4, timeout=30)[3]
    assert failed["Subject"] == (f"{FIRM_NAME}: your Gold 10k challenge has failed "
                                 "(Maximum loss limit)")
    text = text_of(failed)
    assert f"account {login} (Gold 10k, phase Phase 1)" in text
    assert "Equity: 8,950.00 USD" in text and "Floor: 9,000.00 USD" in text
    assert re.search(r"Time: 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
    assert "turn it off" not in text  # essential: no opt-out offered

    # The desk overrides the breach (a new account), then stops that one.
    gateway.verified_user("desk@acme.test", headers=ACME)
    gateway.sql("UPDATE users SET role = 'risk' WHERE email = 'desk@acme.test'")
    desk = gateway.login("desk@acme.test", headers=ACME)["access_token"]
    [breach] = gateway.get("/api/v1/risk/events", desk, headers=ACME).json()
    assert gateway.post(f"/api/v1/risk/events/{breach['id']}/override",
                        {"reason": "bad tick"}, desk, headers=ACME).status_code == 200
    replacement = bridge.wait_opened(2)[1]
    reinstated = gateway.sink.wait_for(trader_address, 5)[4]
    assert reinstated["Subject"] == (f"{FIRM_NAME}: your Gold 10k challenge goes on on "
                                     f"account {replacement}")
    assert f"Login: {replacement}" in text_of(reinstated)
    assert gateway.post(f"/api/v1/risk/accounts/{replacement}/stop",
                        {"reason": "suspected copy trading"}, desk,
                        headers=ACME).status_code == 204
    stopped = gateway.sink.wait_for(trader_address, 6)[5]
    assert stopped["Subject"] == f"{FIRM_NAME}: your account {replacement} was stopped"
    text = text_of(stopped)
    assert "write to help@acme.test" in text
    assert "copy trading" not in text  # the desk's reason stays in the audit log

    # Nobody else got the trader's notices, and nothing more came.
    assert len(mails_to(gateway, trader_address)) == 6
    for staff in ("boss@acme.test", "desk@acme.test", "root@platform.test"):
        assert len(mails_to(gateway, staff)) == 1  # their own verification
    assert {row["tenant_id"] for row in gateway.sql(
        "SELECT tenant_id FROM mail_outbox WHERE recipient = $1", trader_address)} == {firm}


def test_a_pass_and_the_next_phase_and_optional_notices_turned_off(
        live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    # A host the default firm answers on; links still come from configuration.
    spoofed = {"Host": "localhost:31337"}
    keen = gateway.verified_user("keen@trader.test")["access_token"]
    quiet = gateway.verified_user("quiet@trader.test")["access_token"]
    off = gateway.request("PUT", "/api/v1/me/notifications", quiet, json={
        "account_opened": False, "passed": False, "phase_opened": False})
    assert off.status_code == 200, off.text

    logins = []
    for token in (keen, quiet):
        buy_and_pay(gateway, token, admin, headers=spoofed)
        logins.append(bridge.wait_opened(len(logins) + 1)[-1])
    for position, login in enumerate(logins, start=1):
        bridge.publish(bridge.quote(2000.0),
                       bridge.deal(login, position, "buy", "in", 1.0, 2000.5),
                       bridge.quote(2011.0),
                       bridge.deal(login, position + 10, "sell", "out", 1.0, 2011.0))
    opened = bridge.wait_opened(4, timeout=30)
    keen_p2 = next(login for login in opened if login.startswith(logins[0][:-2])
                   and login.endswith("P2"))
    quiet_p2 = next(login for login in opened if login.startswith(logins[1][:-2])
                    and login.endswith("P2"))

    # The keen trader: receipt, opening, pass, next phase.
    messages = gateway.sink.wait_for("keen@trader.test", 5, timeout=30)
    subjects = [m["Subject"] for m in messages[1:]]
    assert subjects == [
        "PropTrade: payment received for Gold 10k",
        f"PropTrade: your Gold 10k account {logins[0]} is open",
        "PropTrade: you passed Phase 1 of Gold 10k",
        f"PropTrade: Phase 2 of Gold 10k is open on account {keen_p2}"]
    passed_text = text_of(messages[3])
    assert f"your account {logins[0]} met every objective of Phase 1" in passed_text
    assert "Phase 2 opens now on a new account" in passed_text
    phase_text = text_of(messages[4])
    assert f"Login: {keen_p2}" in phase_text
    assert "Profit target: 5% (500.00 USD)" in phase_text
    configured = gateway.settings.default_firm_url
    for message in messages[1:]:
        assert f"{configured}/challenges/" in text_of(message)
        assert "31337" not in text_of(message) + html_of(message)

    # The quiet trader: the essential ones only, the stop included.
    wait_until(lambda: gateway.sql(
        "SELECT status FROM challenges c JOIN users u ON u.id = c.user_id "
        "WHERE u.email = 'quiet@trader.test'")[0][0] == "active" and gateway.sql(
        "SELECT count(*) FROM trading_accounts WHERE login = $1", quiet_p2)[0][0] == 1,
        what="the quiet trader's second phase")
    gateway.verified_user("desk@firm.test")
    gateway.promote("desk@firm.test", "risk")
    desk = gateway.login("desk@firm.test")["access_token"]
    assert gateway.post(f"/api/v1/risk/accounts/{quiet_p2}/stop",
                        {"reason": "hedging across accounts"}, desk).status_code == 204
    messages = gateway.sink.wait_for("quiet@trader.test", 3)
    assert [m["Subject"] for m in messages[1:]] == [
        "PropTrade: payment received for Gold 10k",
        f"PropTrade: your account {quiet_p2} was stopped"]
    assert gateway.sql("SELECT count(*) FROM mail_outbox WHERE recipient = $1",
                       "quiet@trader.test")[0][0] == 3
    assert len(mails_to(gateway, "keen@trader.test")) == 5


def test_notification_preferences_are_the_callers_own(gateway: Gateway) -> None:
    mine = gateway.verified_user("me@pref.test")["access_token"]
    theirs = gateway.verified_user("them@pref.test")["access_token"]
    path = "/api/v1/me/notifications"
    assert gateway.get(path).status_code == 401
    default = gateway.get(path, mine)
    assert default.status_code == 200, default.text
    assert default.json() == {**{kind: True for kind in KINDS},
                              "essential": ["purchase", "failed", "stopped", "reinstated"]}

    changed = gateway.request("PUT", path, mine, json={"passed": False, "failed": True})
    assert changed.status_code == 200, changed.text
    assert changed.json()["passed"] is False and changed.json()["phase_opened"] is True
    again = gateway.request("PUT", path, mine, json={"phase_opened": False})
    assert again.json()["passed"] is False  # a kind left out keeps its setting
    assert again.json()["phase_opened"] is False
    assert gateway.get(path, theirs).json()["passed"] is True  # only the caller's own

    essential = gateway.request("PUT", path, mine, json={"stopped": False})
    assert essential.status_code == 422
    assert essential.json()["error"]["fields"][0]["path"] == "$.stopped"
    assert "essential" in essential.json()["error"]["message"]
    for bad, field in (({"bogus": True}, "$"), ({"passed": "no"}, "$.passed")):
        answer = gateway.request("PUT", path, mine, json=bad)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["fields"][0]["path"] == field
    assert gateway.get(path, mine).json()["stopped"] is True
    back = gateway.request("PUT", path, mine, json={"passed": True})
    assert back.json()["passed"] is True and back.json()["phase_opened"] is False
    # The database refuses an essential opt-out whatever the code above it does.
    import asyncpg

    with pytest.raises(asyncpg.CheckViolationError):
        gateway.sql("INSERT INTO notification_optouts (user_id, kind) "
                    "SELECT id, 'failed' FROM users WHERE email = 'me@pref.test'")
    spec = gateway.get("/api/openapi.json").json()
    assert set(spec["paths"][path]) == {"get", "put"}


DOCUMENT = {
    "currency": "EUR", "initial_balance": 50000.0,
    "day": {"timezone": "America/New_York", "starts_at": "17:00"},
    "rules": {"daily_loss": {"amount": 1250, "reference": "intraday_peak_equity",
                             "action": "pause"},
              "max_loss": {"limit": 0.06, "mode": "trailing_equity", "lock_at": 50000},
              "profit_target": {"target": 0.08}, "min_trading_days": {"days": 3},
              "consistency": {"max_best_day_share": 0.4}, "max_exposure": {"lots": 10},
              "inactivity": {"days": 30}}}


def test_the_rules_summary_says_each_rule_in_words() -> None:
    assert rules_summary(DOCUMENT) == [
        "Starting balance: 50,000.00 EUR",
        "Daily loss limit: 1,250.00 EUR below the highest equity of the trading day "
        "(reaching it pauses trading until the next trading day)",
        "Maximum loss limit: 6% of the initial balance (3,000.00 EUR); the floor trails "
        "your highest equity, locked once it reaches 50,000.00 EUR",
        "Profit target: 8% (4,000.00 EUR), all positions closed",
        "Minimum trading days: 3",
        "Best day at most 40% of the profit",
        "Maximum exposure: 10 lots open at once",
        "Inactivity: trade at least every 30 days",
        "Trading day: starts at 17:00 America/New_York",
    ]


CONTEXT = {"name": "", "program": "P", "challenge_id": 1, "link": "https://x.test/c/1",
           "preferences_link": "https://x.test/s", "optional": True, "login": "L1",
           "phase_name": "Phase 1", "balance": "1.00 USD", "rules": ["a"],
           "amount": "1.00 USD", "reference": "R", "provider": "manual", "addons": [],
           "paid_at": "now", "rule": "Maximum exposure", "equity": "1.00 USD",
           "floor": None, "lots": 12.0, "max_lots": 10.0, "at": "now", "after": "next",
           "next_phase": "Phase 2"}


@pytest.mark.parametrize("kind", KINDS)
def test_every_notice_renders_and_keeps_its_subject_on_one_line(kind: str) -> None:
    tenant = Tenant(1, "x", "X", Branding(name="Evil\r\nBcc: all@victims.test"))
    for after in ("next", "review", "complete"):
        subject, text, html = mail.render(kind, tenant, **{**CONTEXT, "after": after})
        assert "\n" not in subject and "\r" not in subject
        assert "Evil Bcc: all@victims.test" in subject
        assert text.strip() and "<html>" in html
    if kind == "failed":
        assert "Open lots: 12.0 (at most 10.0)" in text and "Floor" not in text
    with pytest.raises(jinja2.UndefinedError):
        mail.render(kind, tenant)  # every template names what it needs


def test_a_notice_that_cannot_be_written_never_costs_the_verdict(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from streams.outputs import Breach
    from streams.wire import Answer

    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    gateway.verified_user("unlucky@trader.test")
    gateway.sql(
        "WITH c AS (INSERT INTO challenges (tenant_id, user_id, program_id, status) "
        "SELECT 1, u.id, p.id, 'active' FROM users u, programs p "
        "WHERE u.email = 'unlucky@trader.test' RETURNING *) "
        "INSERT INTO trading_accounts (tenant_id, challenge_id, user_id, phase, login, "
        "engine_program, broker) SELECT 1, c.id, c.user_id, 0, 'T1X', 'p', 'none' FROM c")

    def broken(*args: object, **kwargs: object) -> None:
        raise jinja2.TemplateError("a template fault")

    monkeypatch.setattr(mail, "render", broken)
    breach = Breach(account="T1X", rule="max_loss", ts="2026-03-02T08:00:00Z",
                    equity=8950.0, floor=9000.0, action="fail")
    assert gateway.call(gateway.services.outcomes.apply(Answer("0:1:0", 0, breach)))
    assert gateway.sql("SELECT status FROM challenges")[0][0] == "failed"
    assert gateway.sql("SELECT status FROM trading_accounts")[0][0] == "failed"
    assert gateway.sql("SELECT count(*) FROM mail_outbox WHERE recipient = $1",
                       "unlucky@trader.test")[0][0] == 1  # the verification only
    assert "the failure notice could not be queued" in caplog.text


def test_an_account_without_a_challenge_gets_no_notice(
        gateway: Gateway, caplog: pytest.LogCaptureFixture) -> None:
    from streams.outputs import Breach

    assert gateway.services is not None
    notifier = gateway.services.challenges.notifier
    pool = gateway.services.pool
    account = {"challenge_id": None, "login": "SIM7", "phase": 0, "tenant_id": 1}
    breach = Breach(account="SIM7", rule="daily_loss", ts="2026-03-02T08:00:00Z",
                    equity=1.0, floor=2.0, action="fail")

    async def notices() -> None:
        async with pool.acquire() as connection, connection.transaction():
            await notifier.failed(connection, account, breach)
            await notifier.passed(connection, account)
            await notifier.stopped(connection, account)

    gateway.call(notices())
    assert gateway.sql("SELECT count(*) FROM mail_outbox")[0][0] == 0
    assert "could not be queued" not in caplog.text
