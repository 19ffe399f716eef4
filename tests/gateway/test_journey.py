"""The whole journey through HTTP, the broker and the risk engine: an admin publishes a
program, a trader registers, verifies, turns on 2FA, buys a challenge and pays; the
account opens in the feed; trades move it; the engine's verdicts fail or pass the
challenge, and the risk desk sees and handles the breach."""

from __future__ import annotations

import time

import pyotp

from streams.outputs import Breach
from streams.wire import Answer
from tests.gateway.conftest import Bridge, Gateway

PROGRAM = {
    "slug": "gold-10k", "name": "Gold 10k", "price": "99.00", "currency": "USD",
    "account_size": "10000", "advance": "auto",
    "phases": [
        {"name": "Phase 1", "document": {"rules": {
            "max_loss": {"limit": 0.10, "mode": "static"},
            "profit_target": {"target": 0.10}}}},
        {"name": "Phase 2", "document": {"rules": {
            "max_loss": {"limit": 0.10, "mode": "static"},
            "profit_target": {"target": 0.05}}}},
        {"name": "Funded", "document": {"rules": {"max_loss": {"limit": 0.10}}}},
    ],
    "addons": [{"name": "no-time-limit", "price": "20.00"}],
}


def wait_until(condition, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def admin_token(gateway: Gateway) -> str:
    gateway.verified_user("boss@firm.test")
    gateway.promote("boss@firm.test", "admin")
    return gateway.login("boss@firm.test")["access_token"]


def buy(gateway: Gateway, token: str) -> dict:
    bought = gateway.post("/api/v1/challenges", {"program": "gold-10k",
                                                 "addons": ["no-time-limit"]}, token)
    assert bought.status_code == 201, bought.text
    challenge = bought.json()
    assert challenge["status"] == "pending_payment"
    assert challenge["payment"]["amount"] == "119.00"  # price + add-on, to the cent
    return challenge


def buy_and_pay(gateway: Gateway, token: str, admin: str | None = None) -> dict:
    """The trader buys; the firm receives the money and an admin (``boss@firm.test`` of
    :func:`admin_token` unless ``admin`` is given) settles the manual payment."""
    challenge = buy(gateway, token)
    admin = admin or gateway.login("boss@firm.test")["access_token"]
    paid = gateway.post(f"/api/v1/admin/payments/{challenge['payment']['id']}/settle", None,
                        admin)
    assert paid.status_code == 200, paid.text
    return paid.json()


def challenge_of(gateway: Gateway, token: str, challenge_id: int) -> dict:
    return gateway.get(f"/api/v1/challenges/{challenge_id}", token).json()


def test_buy_trade_fail_and_the_desk_overrides(live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    admin = admin_token(gateway)
    created = gateway.post("/api/v1/admin/programs", PROGRAM, admin)
    assert created.status_code == 201, created.text
    assert [p["engine_program"] for p in created.json()["phases"]] == [
        "default.gold-10k.p1", "default.gold-10k.p2", "default.gold-10k.p3"]
    assert gateway.get("/api/v1/programs").json()[0]["slug"] == "gold-10k"

    # The trader: register, verify, 2FA on, log in with a code.
    trader = gateway.verified_user("tra@der.test")["access_token"]
    secret = gateway.post("/api/v1/me/2fa/setup", None, trader).json()["secret"]
    assert gateway.post("/api/v1/me/2fa/confirm", {"code": pyotp.TOTP(secret).now()},
                        trader).status_code == 200
    trader = gateway.login("tra@der.test", totp_code=pyotp.TOTP(secret).at(
        time.time() + 30))["access_token"]

    challenge = buy_and_pay(gateway, trader)
    assert challenge["status"] == "active" and challenge["phase_name"] == "Phase 1"
    [login] = bridge.wait_opened(1)
    assert challenge["accounts"][0]["login"] == login
    assert bridge.opened[login].balance == 10_000.0

    # The account reaches the engine: its live numbers come back through risk.metrics.
    bridge.publish(bridge.quote(2000.0))
    metrics = wait_until(lambda: gateway.get(f"/api/v1/accounts/{login}", trader).json()
                         .get("equity") == 10_000.0 and True, what="first metrics")
    assert metrics
    numbers = gateway.get(f"/api/v1/accounts/{login}", trader).json()
    assert numbers["max_loss_floor"] == 9_000.0 and numbers["status"] == "active"

    # One lot of gold bought at 2000.5; the bid falls to 1990: equity 8,950 ≤ 9,000.
    bridge.publish(bridge.deal(login, 1, "buy", "in", 1.0, 2000.5), bridge.quote(1990.0))
    failed = wait_until(lambda: challenge_of(gateway, trader, challenge["id"])["status"]
                        == "failed", what="the challenge to fail")
    assert failed
    wait_until(lambda: login in bridge.disabled, what="the broker to disable the account")
    assert "max_loss" in bridge.disabled[login]

    # Another trader cannot see the account or the challenge: 404, not 403.
    other = gateway.verified_user("oth@er.test")["access_token"]
    assert gateway.get(f"/api/v1/accounts/{login}", other).status_code == 404
    assert gateway.get(f"/api/v1/challenges/{challenge['id']}", other).status_code == 404
    # ... nor the desk's endpoints.
    assert gateway.get("/api/v1/risk/events", trader).status_code == 404

    # The risk desk: the breach is listed, acknowledged, then overridden as false.
    gateway.verified_user("desk@firm.test")
    gateway.promote("desk@firm.test", "risk")
    desk = gateway.login("desk@firm.test")["access_token"]
    [breach] = gateway.get("/api/v1/risk/events?state=open", desk).json()
    assert breach["account"] == login and breach["rule"] == "max_loss"
    assert breach["payload"]["equity"] == 8_950.0
    assert gateway.post(f"/api/v1/risk/events/{breach['id']}/acknowledge", None,
                        desk).status_code == 200
    assert gateway.post(f"/api/v1/risk/events/{breach['id']}/acknowledge", None,
                        desk).status_code == 409
    short = gateway.post(f"/api/v1/risk/events/{breach['id']}/override", {"reason": ""}, desk)
    assert short.status_code == 422
    override = gateway.post(f"/api/v1/risk/events/{breach['id']}/override",
                            {"reason": "bad tick from the bridge"}, desk)
    assert override.status_code == 200, override.text
    assert override.json()["override_reason"] == "bad tick from the bridge"
    logins = bridge.wait_opened(2)
    replacement = logins[1]
    assert replacement == f"{login}R1"
    # The event keeps the login that failed and names the replacement; the challenge
    # lists both accounts (the failed one keeps its row).
    assert override.json()["account"] == login
    assert override.json()["replacement_account"] == replacement
    resumed = challenge_of(gateway, trader, challenge["id"])
    assert resumed["status"] == "active"
    assert [(a["login"], a["status"]) for a in resumed["accounts"]] == [
        (login, "failed"), (replacement, "active")]

    # Emergency stop of the replacement, then the audit trail of every desk action.
    stopped = gateway.post(f"/api/v1/risk/accounts/{replacement}/stop",
                           {"reason": "suspected copy trading"}, desk)
    assert stopped.status_code == 204
    wait_until(lambda: replacement in bridge.disabled, what="the stop at the broker")
    assert gateway.get(f"/api/v1/accounts/{replacement}", trader).json()["status"] == "stopped"
    bridge.publish(bridge.quote(2001.0))  # fresh engine numbers do not hide the stop
    time.sleep(1.0)
    assert gateway.get(f"/api/v1/accounts/{replacement}", trader).json()["status"] == "stopped"
    assert challenge_of(gateway, trader, challenge["id"])["status"] == "failed"
    audit = gateway.get("/api/v1/admin/audit", admin).json()
    assert [entry["action"] for entry in audit][:5] == [
        "account.stop", "breach.override", "breach.acknowledge", "payment.settle",
        "program.create"]
    assert audit[1]["actor"] == "desk@firm.test"
    assert audit[1]["before"]["account_status"] == "failed"
    assert audit[1]["after"]["account"] == replacement


def test_a_pass_opens_the_next_phase_once(live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    trader = gateway.verified_user("win@ner.test")["access_token"]
    challenge = buy_and_pay(gateway, trader)
    [login] = bridge.wait_opened(1)
    # +10.5%: buy at 2000.5, sell at 2011 (1 lot = 100 oz).
    bridge.publish(bridge.quote(2000.0), bridge.deal(login, 1, "buy", "in", 1.0, 2000.5),
                   bridge.quote(2011.0), bridge.deal(login, 2, "sell", "out", 1.0, 2011.0))
    logins = bridge.wait_opened(2)
    assert logins[1].endswith("P2")
    advanced = challenge_of(gateway, trader, challenge["id"])
    assert advanced["status"] == "active" and advanced["phase_name"] == "Phase 2"
    assert [a["status"] for a in advanced["accounts"]] == ["passed", "active"]
    kinds = {e["kind"] for e in gateway.get(
        "/api/v1/risk/events?kind=all", gateway.login("boss@firm.test")["access_token"])
        .json()}
    assert kinds == {"objective", "passed"}

    # The same answer delivered again changes nothing.
    [row] = gateway.sql("SELECT id, payload FROM risk_events WHERE kind = 'passed'")
    from streams.outputs import Passed

    again = Answer(row["id"], 0, Passed(account=login, ts="2026-01-01T00:00:00Z"))
    assert gateway.call(gateway.services.outcomes.apply(again)) is False
    time.sleep(0.5)
    assert len(bridge.opened) == 2
    assert gateway.sql("SELECT count(*) FROM trading_accounts")[0][0] == 2


def test_program_documents_are_checked_by_the_engine(live: tuple[Gateway, Bridge]) -> None:
    gateway, _ = live
    admin = admin_token(gateway)
    bad = {**PROGRAM, "phases": [{"name": "P1", "document": {"rules": {
        "max_loss": {"limit": 0.1, "mode": "trailing"}}}}]}
    answer = gateway.post("/api/v1/admin/programs", bad, admin)
    assert answer.status_code == 422
    field = answer.json()["error"]["fields"][0]
    assert field["path"] == "$.phases[0].document.rules.max_loss.mode"
    assert "'trailing' is not one of" in field["message"]
    wrong_size = {**PROGRAM, "phases": [{"name": "P1", "document": {
        "initial_balance": 5000, "rules": {}}}]}
    answer = gateway.post("/api/v1/admin/programs", wrong_size, admin)
    assert answer.json()["error"]["fields"][0]["path"] == "$.phases[0].document.initial_balance"
    cents = {**PROGRAM, "price": "99.999"}
    assert gateway.post("/api/v1/admin/programs", cents, admin).json()["error"]["fields"][0][
        "path"] == "$.price"
    trader = gateway.verified_user("t@t.test")["access_token"]
    assert gateway.post("/api/v1/admin/programs", PROGRAM, trader).status_code == 404
    assert gateway.sql("SELECT count(*) FROM programs")[0][0] == 0
    assert Breach  # the answer types are the engine's own


def test_a_pass_under_review_waits_for_an_admin(live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    admin = admin_token(gateway)
    reviewed = {**PROGRAM, "advance": "review"}
    assert gateway.post("/api/v1/admin/programs", reviewed, admin).status_code == 201
    trader = gateway.verified_user("rev@iew.test")["access_token"]
    challenge = buy_and_pay(gateway, trader)
    [login] = bridge.wait_opened(1)
    # Settled already: settling twice is refused.
    payment = challenge["payment"]["id"]
    assert gateway.post(f"/api/v1/admin/payments/{payment}/settle", None,
                        admin).status_code == 409
    bridge.publish(bridge.quote(2000.0), bridge.deal(login, 1, "buy", "in", 1.0, 2000.5),
                   bridge.quote(2011.0), bridge.deal(login, 2, "sell", "out", 1.0, 2011.0))
    wait_until(lambda: challenge_of(gateway, trader, challenge["id"])["status"] == "review",
               what="the challenge to wait for review")
    time.sleep(0.5)
    assert len(bridge.opened) == 1  # nothing opens before the review
    too_early = gateway.post(f"/api/v1/admin/challenges/{challenge['id']}/approve", None,
                             trader)
    assert too_early.status_code == 404  # a trader has no such route
    approved = gateway.post(f"/api/v1/admin/challenges/{challenge['id']}/approve", None,
                            admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["phase_name"] == "Phase 2"
    assert bridge.wait_opened(2)[1].endswith("P2")
    again = gateway.post(f"/api/v1/admin/challenges/{challenge['id']}/approve", None, admin)
    assert again.status_code == 409
    audit = gateway.get("/api/v1/admin/audit", admin).json()
    assert audit[0]["action"] == "challenge.approve"


def test_a_trader_confirms_their_own_payment_only_in_a_demo(configured, broker) -> None:
    for demo in (False, True):
        gateway = configured(broker.bootstrap, demo_payments=demo)
        admin = admin_token(gateway)
        assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
        trader = gateway.verified_user(f"pay{int(demo)}@trader.test")["access_token"]
        challenge = buy(gateway, trader)
        confirm = gateway.post(f"/api/v1/challenges/{challenge['id']}/confirm-payment",
                               None, trader)
        if demo:
            assert confirm.status_code == 200, confirm.text
            assert confirm.json()["status"] == "active"
            continue
        assert confirm.status_code == 403, confirm.text
        error = confirm.json()["error"]
        assert error["code"] == "payment_settled_by_firm" and "firm" in error["message"]
        assert challenge_of(gateway, trader, challenge["id"])["status"] == "pending_payment"
        # Without the demo setting, the firm settles: its admin, once the money is in.
        settled = gateway.post(f"/api/v1/admin/payments/{challenge['payment']['id']}/settle",
                               None, admin)
        assert settled.status_code == 200, settled.text
        assert settled.json()["status"] == "active"
