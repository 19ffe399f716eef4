"""The trader's account page on a live firm: the live numbers carry breach prices, trading
days and the day's start; the trade journal and the account's own engine answers; who
may read what, and every bad parameter a 422 naming it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.events import Deal, Quote
from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_analytics import _trade
from tests.gateway.test_desk import staff_token
from tests.gateway.test_journey import PROGRAM, admin_token, buy_and_pay, wait_until

DESK_ONLY = {"acknowledged_at", "acknowledged_by", "overridden_at", "overridden_by",
             "override_reason", "account_status"}


def test_the_account_page(live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin_token(gateway)) \
        .status_code == 201
    trader = gateway.verified_user("ann@trader.test")["access_token"]
    other = gateway.verified_user("bob@trader.test")["access_token"]
    desk = staff_token(gateway, "desk@firm.test")
    buy_and_pay(gateway, trader)
    [login] = bridge.wait_opened(1)
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0,
                                                            microsecond=0)
    # Two trades (+100 and −50, a commission of 1 on every deal): balance 10,046. Then
    # 0.5 lot bought at 2,018.5 with the bid at 2,018: equity 10,021.
    _trade(bridge, login, 10, "buy", 2000.0, 2010.0, 100.0, start)
    _trade(bridge, login, 20, "sell", 2010.0, 2015.0, -50.0, start + timedelta(hours=2))
    held = start + timedelta(hours=3)
    bridge.publish(Quote(ts=held, symbol="XAUUSD", bid=2018.0, ask=2018.5),
                   Deal(ts=held, account=login, deal=40, position=40, symbol="XAUUSD",
                        side="buy", entry="in", volume=0.5, price=2018.5))

    # Live numbers: the maximum loss floor is 9,000 (10 % of 10,000, static); the rest of
    # the equity is 10,046, so 10,046 + (bid − 2,018.5) × 50 = 9,000 at a bid of 1,997.58.
    numbers = wait_until(lambda: (n := gateway.get(f"/api/v1/accounts/{login}",
                                                   trader).json()).get("equity") == 10_021.0
                         and n, what="the live numbers with the open position")
    assert numbers["balance"] == 10_046.0 and numbers["open_positions"] == 1
    assert numbers["trading_days"] == 1  # the day of the trades; the opening day had none
    assert (numbers["day_start_balance"], numbers["day_start_equity"]) == (10_000.0, 10_000.0)
    [price] = numbers["breach_prices"]
    assert price == {"symbol": "XAUUSD", "price": pytest.approx(1997.58), "quote": "bid",
                     "net_volume": 0.5, "floor": "max_loss"}

    # The trade journal, newest first.
    journal = wait_until(lambda: (j := gateway.get(f"/api/v1/accounts/{login}/trades",
                                                   trader).json()).get("trades")
                         and len(j["trades"]) == 2 and j, what="the trades in the history")
    newest, oldest = journal["trades"]
    assert newest == {
        "opened_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "closed_at": (start + timedelta(hours=2, minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "symbol": "XAUUSD", "side": "sell", "volume": 0.1, "open_price": 2010.0,
        "close_price": 2015.0, "profit": -50.0, "commission": -1.0, "swap": 0.0, "fee": 0.0,
        "net": -51.0, "position": "20", "deal": "21"}
    assert (oldest["side"], oldest["open_price"], oldest["close_price"], oldest["net"]) == (
        "buy", 2000.0, 2010.0, 99.0)
    assert journal["open_positions"] is None and journal["next_offset"] is None
    page = gateway.get(f"/api/v1/accounts/{login}/trades?limit=1", trader).json()
    assert [t["deal"] for t in page["trades"]] == ["21"] and page["next_offset"] == 1
    page = gateway.get(f"/api/v1/accounts/{login}/trades?limit=1&offset=1", trader).json()
    assert [t["deal"] for t in page["trades"]] == ["11"] and page["next_offset"] is None
    before = newest["closed_at"]
    page = gateway.get(f"/api/v1/accounts/{login}/trades?before={before}", trader).json()
    assert [t["deal"] for t in page["trades"]] == ["11"]
    with_open = gateway.get(f"/api/v1/accounts/{login}/trades?open=1", desk).json()
    assert with_open["open_positions"] == [{
        "opened_at": held.strftime("%Y-%m-%dT%H:%M:%SZ"), "symbol": "XAUUSD", "side": "buy",
        "volume": 0.5, "open_price": 2018.5, "position": "40"}]
    for query, name in (("limit=0", "limit"), ("limit=1001", "limit"), ("offset=-1", "offset"),
                        ("before=yesterday", "before"), ("open=yes", "open")):
        answer = gateway.get(f"/api/v1/accounts/{login}/trades?{query}", trader)
        assert answer.status_code == 422, (query, answer.text)
        assert [f["path"] for f in answer.json()["error"]["fields"]] == [name]
    assert gateway.get(f"/api/v1/accounts/{login}/trades", other).status_code == 404

    # A fall to 1,990 takes equity to 8,621: the account fails, and its trader reads why.
    bridge.publish(Quote(ts=held + timedelta(minutes=5), symbol="XAUUSD", bid=1990.0,
                         ask=1990.5))
    [breach] = wait_until(lambda: gateway.get(f"/api/v1/accounts/{login}/events",
                                              trader).json(), what="the breach")
    assert {key: breach[key] for key in ("account", "kind", "rule", "replacement_account")} \
        == {"account": login, "kind": "breach", "rule": "max_loss",
            "replacement_account": None}
    assert (breach["event"]["equity"], breach["event"]["floor"],
            breach["event"]["action"]) == (8621.0, 9000.0, "fail")
    assert breach["ts"] == (held + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not DESK_ONLY & set(breach)
    # The desk acknowledges it; the trader's view stays the engine's answer.
    assert gateway.post(f"/api/v1/risk/events/{breach['id']}/acknowledge", {}, desk) \
        .status_code == 200
    assert gateway.get(f"/api/v1/accounts/{login}/events", trader).json() == [breach]
    assert gateway.get(f"/api/v1/accounts/{login}/events?kind=objective", trader).json() == []
    assert gateway.get(f"/api/v1/accounts/{login}/events?kind=breach&limit=1",
                       desk).json() == [breach]
    assert gateway.get(f"/api/v1/accounts/{login}/events", other).status_code == 404
    assert gateway.get("/api/v1/accounts/NOPE1/events", desk).status_code == 404
    for query, name in (("limit=0", "limit"), ("kind=breaches", "kind")):
        answer = gateway.get(f"/api/v1/accounts/{login}/events?{query}", trader)
        assert answer.status_code == 422, (query, answer.text)
        assert [f["path"] for f in answer.json()["error"]["fields"]] == [name]
    # A failed account has no breach price.
    failed = wait_until(lambda: (n := gateway.get(f"/api/v1/accounts/{login}",
                                                  trader).json()).get("equity") == 8621.0
                        and n, what="the failed account's numbers")
    assert failed["status"] == "failed" and failed["breach_prices"] == []
