"""Analytics through the API on a live firm: a trader's trades go broker → worker → sink
→ history store, and the statistics, curve, calendar, cohorts, exposure and what-if
answer from it; who may read what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from analytics.deal_statistics import KEYS
from streams.events import Deal, Quote
from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import PROGRAM, admin_token, buy_and_pay, wait_until


def _trade(bridge: Bridge, login: str, ticket: int, side: str, opened: float, closed: float,
           profit: float, at: datetime) -> None:
    close = "sell" if side == "buy" else "buy"
    bridge.publish(
        Quote(ts=at, symbol="XAUUSD", bid=opened - 0.5, ask=opened),
        Deal(ts=at, account=login, deal=ticket, position=ticket, symbol="XAUUSD", side=side,
             entry="in", volume=0.1, price=opened, commission=-1.0),
        Quote(ts=at + timedelta(minutes=30), symbol="XAUUSD", bid=closed, ask=closed + 0.5),
        Deal(ts=at + timedelta(minutes=30), account=login, deal=ticket + 1, position=ticket,
             symbol="XAUUSD", side=close, entry="out", volume=0.1, price=closed,
             profit=profit, commission=-1.0))


def test_a_traders_history_answers_through_the_api(live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    trader = gateway.verified_user("ann@trader.test")["access_token"]
    buy_and_pay(gateway, trader)
    [login] = bridge.wait_opened(1)
    # Tomorrow 08:00 UTC: event time moves forward from the account's opening, and the
    # first day's two trades fall on one UTC day whatever the hour the test runs.
    start = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0,
                                                            microsecond=0)
    # Three trades: +100 and -50 on the first day, +30 on the second, a commission of 1 on
    # every deal, and one position left open. As MetaTrader counts them, a trade's result
    # is its closing deal's (99, -51, 29); the opening commissions (-3) are in the net
    # profit and the gross loss.
    _trade(bridge, login, 10, "buy", 2000.0, 2010.0, 100.0, start)
    _trade(bridge, login, 20, "sell", 2010.0, 2015.0, -50.0, start + timedelta(hours=2))
    _trade(bridge, login, 30, "buy", 2015.0, 2018.0, 30.0, start + timedelta(days=1))
    now = start + timedelta(days=1, hours=1)
    bridge.publish(Quote(ts=now, symbol="XAUUSD", bid=2018.0, ask=2018.5),
                   Deal(ts=now, account=login, deal=40, position=40, symbol="XAUUSD",
                        side="buy", entry="in", volume=0.5, price=2018.5))

    stats = wait_until(lambda: (s := gateway.get(f"/api/v1/accounts/{login}/statistics",
                                                  trader).json()).get("total_trades") == 3
                       and s.get("total_deals") == 7 and s, what="the trades in the history")
    assert stats["total_net_profit"] == 74.0
    assert stats["gross_profit"] == 128.0 and stats["gross_loss"] == -54.0
    assert stats["profit_trades"] == 2 and stats["loss_trades"] == 1
    assert stats["largest_profit_trade"] == 99.0 and stats["largest_loss_trade"] == -51.0
    assert stats["short_trades"] == 1 and stats["short_trades_won_pct"] == 0
    assert stats["long_trades"] == 2 and stats["long_trades_won_pct"] == 100
    assert stats["profit_factor"] == round(128 / 54, 6)  # six decimals, as MT's XLSX
    assert stats["trading_days"] == 2 and stats["win_rate"] == round(200 / 3, 6)
    assert list(stats) == list(KEYS)

    calendar = gateway.get(f"/api/v1/accounts/{login}/calendar", trader).json()
    assert [(day["net_profit"], day["trades"]) for day in calendar] == [(46.0, 2), (28.0, 1)]
    symbols = gateway.get(f"/api/v1/accounts/{login}/symbols", trader).json()
    assert [(s["symbol"], s["trades"], s["net_profit"]) for s in symbols] == [
        ("XAUUSD", 3, 74.0)]
    curve = wait_until(lambda: gateway.get(f"/api/v1/accounts/{login}/equity?points=8",
                                           trader).json(), what="equity samples")
    assert 0 < len(curve) <= 8
    assert all(point["ts"].endswith("Z") for point in curve)

    # Another trader sees none of it; a trader sees no firm-wide analytics.
    other = gateway.verified_user("bob@trader.test")["access_token"]
    assert gateway.get(f"/api/v1/accounts/{login}/statistics", other).status_code == 404
    assert gateway.get(f"/api/v1/accounts/{login}/equity", other).status_code == 404
    assert gateway.get("/api/v1/analytics/cohorts", trader).status_code == 404
    assert gateway.get("/api/v1/analytics/exposure", trader).status_code == 404

    gateway.verified_user("desk@firm.test")
    gateway.promote("desk@firm.test", "risk")
    desk = gateway.login("desk@firm.test")["access_token"]
    exposure = wait_until(lambda: (e := gateway.get("/api/v1/analytics/exposure",
                                                    desk).json())["open_positions"] and e,
                          what="the open position in the exposure")
    assert exposure["symbols"][0]["symbol"] == "XAUUSD"
    assert exposure["symbols"][0]["net_lots"] == 0.5
    assert exposure["symbols"][0]["net_notional"] == round(0.5 * 100 * 2018.25, 2)
    assert exposure["most_concentrated"][0]["account"] == login
    # Times are ISO 8601 here as everywhere (the engine's event time of the numbers).
    [nearest] = exposure["nearest_floors"]
    assert nearest["account"] == login and nearest["status"] == "active"
    assert datetime.fromisoformat(nearest["ts"]) >= now
    # The nearest floors are listed apart from the concentrated accounts' top.
    assert gateway.get("/api/v1/analytics/exposure?top=1&nearest=5000",
                       desk).json()["nearest_floors"] == [nearest]
    for bad in ("0", "5001", "x"):
        refused = gateway.get(f"/api/v1/analytics/exposure?nearest={bad}", desk)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"][0]["path"] == "nearest"
    [cohort] = gateway.get("/api/v1/analytics/cohorts?period=day", desk).json()
    assert (cohort["accounts"], cohort["running"], cohort["trades"]) == (1, 1, 3)
    assert cohort["program"] == "default.gold-10k.p1"
    # The program's slug, as the API shows it, names its phases' cohorts.
    assert gateway.get("/api/v1/analytics/cohorts?period=day&program=gold-10k",
                       desk).json() == [cohort]
    assert gateway.get("/api/v1/analytics/cohorts?period=day&program=default.gold-10k.p1",
                       desk).json() == [cohort]
    by_slug = gateway.post("/api/v1/analytics/what-if", {
        "program": "gold-10k", "phase": 1, "changes": {}}, desk)
    assert by_slug.status_code == 200, by_slug.text
    assert by_slug.json()["program"] == "default.gold-10k.p1"
    assert by_slug.json()["accounts"] == 1
    phases = gateway.post("/api/v1/analytics/what-if", {"program": "gold-10k",
                                                        "changes": {}}, desk)
    assert phases.status_code == 422, phases.text
    assert phases.json()["error"]["fields"][0]["path"] == "$.phase"
    assert "default.gold-10k.p1, default.gold-10k.p2" in phases.json()["error"]["message"]
    same = gateway.post("/api/v1/analytics/what-if",
                        {"program": cohort["program"], "changes": {}}, desk)
    assert same.status_code == 200, same.text
    assert same.json()["accounts"] == 1 and same.json()["changed"] == []
    easier = gateway.post("/api/v1/analytics/what-if", {
        "program": cohort["program"],
        "changes": {"rules": {"profit_target": {"target": 0.005}}}}, desk).json()
    # A 0.5 % target (50) is met by the first trade (balance 10,098, nothing open).
    [changed] = easier["changed"]
    assert changed["before"]["status"] == "active"
    assert changed["after"]["status"] == "passed"
    assert changed["after"]["ts"].startswith(start.strftime("%Y-%m-%dT08:30"))

    # Bad input is named.
    bad = gateway.get(f"/api/v1/accounts/{login}/statistics?since=yesterday", trader)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["path"] == "since"
    assert gateway.get(f"/api/v1/accounts/{login}/equity?points=2", trader).status_code == 422
    assert gateway.get("/api/v1/analytics/cohorts?period=year", desk).status_code == 422
    unknown = gateway.post("/api/v1/analytics/what-if", {"program": "nope", "changes": {}},
                           desk)
    assert unknown.status_code == 422  # an unknown program, named
    assert unknown.json()["error"]["fields"][0]["path"] == "$.program"
    invalid = gateway.post("/api/v1/analytics/what-if", {
        "program": cohort["program"], "changes": {"rules": {"max_loss": {"limit": -1}}}},
        desk)
    assert invalid.status_code == 422 and "max_loss" in invalid.json()["error"]["message"]
    # Staff see only accounts in their firm's history; a range must not be empty.
    assert gateway.get("/api/v1/accounts/T999C1P1/statistics", desk).status_code == 404
    empty = gateway.get(f"/api/v1/accounts/{login}/statistics?since=2026-01-02T00:00:00Z"
                        "&until=2026-01-01T00:00:00Z", desk)
    assert empty.status_code == 422 and "before until" in empty.json()["error"]["message"]
    assert gateway.get(f"/api/v1/accounts/{login}/statistics", desk).json()[
        "total_trades"] == 3
