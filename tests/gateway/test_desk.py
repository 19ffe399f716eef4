"""The risk desk on a live firm: every account of the firm reaches it (the broker's own
too), an override is once per failure and loses no account, every endpoint gives an
account the same status, and a filter never silently matches nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from streams.events import Account, ProgramDefinition
from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import (
    PROGRAM,
    admin_token,
    buy_and_pay,
    challenge_of,
    wait_until,
)
from tests.gateway.test_websocket import connect

BROKER_PROGRAM = {"id": "broker-10k", "currency": "USD", "initial_balance": 10_000,
                  "rules": {"max_loss": {"limit": 0.10, "mode": "static"}}}
# A broker feeding several firms names each firm's programs after its slug.
ACME_PROGRAM = {**BROKER_PROGRAM, "id": "acme.gold-10k.p1"}


def staff_token(gateway: Gateway, address: str, role: str = "risk", **kwargs: object
                ) -> str:
    gateway.verified_user(address, **kwargs)
    gateway.promote(address, role)
    return gateway.login(address, **kwargs)["access_token"]  # type: ignore[arg-type]


def events(gateway: Gateway, token: str, query: str = "", **kwargs: object) -> list[dict]:
    answer = gateway.get(f"/api/v1/risk/events{query}", token, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_brokers_own_accounts_reach_the_firms_desk(live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    gateway.sql("INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme')")
    gateway.sql("INSERT INTO tenant_domains (domain, tenant_id) SELECT 'acme.test', id "
                "FROM tenants WHERE slug = 'acme'")
    [default_id] = [row["id"] for row in gateway.sql("SELECT id FROM tenants WHERE is_default")]
    [acme_id] = [row["id"] for row in gateway.sql("SELECT id FROM tenants WHERE slug = 'acme'")]
    desk = staff_token(gateway, "desk@firm.test")
    acme = staff_token(gateway, "desk@acme.test", headers={"Host": "acme.test"})
    trader = gateway.verified_user("tra@der.test")["access_token"]

    async def watch() -> object:
        socket = await connect(gateway, desk)
        await socket.until(lambda m: m["type"] == "authenticated")
        await socket.send({"type": "subscribe", "feed": "risk"})
        await socket.until(lambda m: m["type"] == "subscribed")
        return socket

    socket = gateway.call(watch())
    # The broker opens two accounts of its own (the platform never sold them): one on a
    # program of its own, one on a program named after the firm acme; both lose 10.5 %.
    now = datetime.now(UTC)
    bridge.publish(ProgramDefinition(document=BROKER_PROGRAM),
                   ProgramDefinition(document=ACME_PROGRAM),
                   Account(ts=now, account="B-100", program="broker-10k"),
                   Account(ts=now, account="B-200", program="acme.gold-10k.p1"),
                   bridge.quote(2000.0), bridge.deal("B-100", 1, "buy", "in", 1.0, 2000.5),
                   bridge.deal("B-200", 2, "buy", "in", 1.0, 2000.5), bridge.quote(1990.0))

    [breach] = wait_until(lambda: events(gateway, desk), what="the broker account's breach")
    assert (breach["account"], breach["rule"], breach["kind"]) == ("B-100", "max_loss",
                                                                  "breach")
    assert breach["account_status"] == "failed" and breach["replacement_account"] is None
    [theirs] = wait_until(lambda: events(gateway, acme, headers={"Host": "acme.test"}),
                          what="acme's breach")
    assert theirs["account"] == "B-200"  # acme's account, on acme's desk only
    # The desk's websocket risk feed carries it too.
    seen = gateway.call(socket.until(  # type: ignore[attr-defined]
        lambda m: m["type"] == "risk_event" and m["event"]["account"] == "B-100"))
    assert seen["event"]["rule"] == "max_loss"
    gateway.call(closed(socket))
    # The desk reads the account; a trader and another firm's desk do not.
    numbers = gateway.get("/api/v1/accounts/B-100", desk).json()
    assert numbers["status"] == "failed" and numbers["equity"] == 8_950.0
    assert gateway.get("/api/v1/accounts/B-100", trader).status_code == 404
    assert gateway.get("/api/v1/accounts/B-100", acme,
                       headers={"Host": "acme.test"}).status_code == 404
    assert gateway.get("/api/v1/risk/events?account=B-200", desk).status_code == 404
    # The platform does not disable at the broker an account the broker runs itself.
    assert bridge.disabled == {}
    # The history places each account in the same firm (one rule for both places).
    recorded = wait_until(lambda: dict(gateway.history.query(
        "SELECT account, tenant FROM accounts WHERE account IN ('B-100', 'B-200')").rows)
        if len(gateway.history.query("SELECT account FROM equity WHERE account IN "
                                     "('B-100', 'B-200') GROUP BY account").rows) == 2
        else None, what="the broker accounts in the history")
    assert recorded == {"B-100": default_id, "B-200": acme_id}
    assert dict(gateway.history.query(
        "SELECT DISTINCT account, tenant FROM equity WHERE account IN ('B-100', 'B-200')"
    ).rows) == {"B-100": default_id, "B-200": acme_id}
    assert {row["login"]: row["tenant_id"] for row in gateway.sql(
        "SELECT login, tenant_id FROM trading_accounts WHERE origin = 'broker'")} == {
        "B-100": default_id, "B-200": acme_id}


STRICT = {**PROGRAM, "slug": "strict-10k", "phases": [{"name": "Phase 1", "document": {
    "rules": {"daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.05, "mode": "static"},
              "profit_target": {"target": 0.10}}}}], "addons": []}


def test_an_override_is_once_per_failure_and_no_account_vanishes(
        live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", STRICT, admin).status_code == 201
    desk = staff_token(gateway, "desk@firm.test")
    trader = gateway.verified_user("tra@der.test")["access_token"]
    bought = gateway.post("/api/v1/challenges", {"program": "strict-10k"}, trader).json()
    assert gateway.post(f"/api/v1/admin/payments/{bought['payment']['id']}/settle", None,
                        admin).status_code == 200
    [login] = bridge.wait_opened(1)
    # Both floors are 9,500: one quote takes equity (8,950) through both at one instant.
    bridge.publish(bridge.quote(2000.0), bridge.deal(login, 1, "buy", "in", 1.0, 2000.5),
                   bridge.quote(1990.0))
    pair = wait_until(lambda: len(found := events(gateway, desk)) == 2 and found,
                      what="the two breaches of one failure")
    assert {e["rule"] for e in pair} == {"daily_loss", "max_loss"}

    first = gateway.post(f"/api/v1/risk/events/{pair[0]['id']}/override",
                         {"reason": "bad tick"}, desk)
    assert first.status_code == 200, first.text
    replacement = f"{login}R1"
    assert first.json()["account"] == login
    assert first.json()["replacement_account"] == replacement
    assert bridge.wait_opened(2)[1] == replacement
    # The other breach of the same failure: no second account, a 409 naming the first.
    second = gateway.post(f"/api/v1/risk/events/{pair[1]['id']}/override",
                          {"reason": "bad tick"}, desk)
    assert second.status_code == 409, second.text
    assert second.json()["error"]["code"] == "already_overridden"
    assert replacement in second.json()["error"]["message"]
    # Both breaches are overridden by the one override, and keep their account.
    listed = events(gateway, desk, "?state=overridden")
    assert [(e["account"], e["replacement_account"]) for e in listed] == [
        (login, replacement)] * 2
    assert events(gateway, desk, "?state=open") == []
    # Every account is still there, for the trader and for the desk.
    for token in (trader, admin, desk):
        assert gateway.get(f"/api/v1/accounts/{replacement}", token).status_code == 200
        assert gateway.get(f"/api/v1/accounts/{login}", token).json()["status"] == "failed"
    assert [(a["login"], a["status"]) for a in challenge_of(
        gateway, trader, bought["id"])["accounts"]] == [(login, "failed"),
                                                         (replacement, "active")]
    assert gateway.get(f"/api/v1/accounts/{replacement}", trader).json()["status"] == \
        "active"
    assert len(bridge.opened) == 2
    # The replacement opens at the failed account's last balance; the program is not
    # redefined for anyone else.
    assert bridge.opened[replacement].balance == 10_000.0
    audit = gateway.get("/api/v1/admin/audit", admin).json()
    assert [entry["action"] for entry in audit].count("breach.override") == 1
    assert sorted(audit[0]["after"]["events"]) == sorted(e["id"] for e in pair)


def test_one_status_per_account_in_every_endpoint(live: tuple[Gateway, Bridge]) -> None:
    gateway, bridge = live
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    desk = staff_token(gateway, "desk@firm.test")
    traders = [gateway.verified_user(f"t{i}@firm.test")["access_token"] for i in range(3)]
    challenges = [buy_and_pay(gateway, token)["id"] for token in traders]
    failed, stopped, active = bridge.wait_opened(3)
    bridge.publish(bridge.quote(2000.0),
                   *[bridge.deal(login, n, "buy", "in", lots, 2000.5) for n, (login, lots)
                     in enumerate([(failed, 1.0), (stopped, 0.2), (active, 0.3)])],
                   bridge.quote(1990.0))  # fails the 1-lot account
    wait_until(lambda: events(gateway, desk), what="the breach")
    assert gateway.post(f"/api/v1/risk/accounts/{stopped}/stop",
                        {"reason": "copy trading"}, desk).status_code == 204
    bridge.publish(bridge.quote(1991.0))  # fresh engine numbers after the stop
    expected = {failed: "failed", stopped: "stopped", active: "active"}

    def snapshot(login: str) -> str:
        return str(gateway.get(f"/api/v1/accounts/{login}", desk).json()["status"])

    wait_until(lambda: {login: snapshot(login) for login in expected} == expected,
               what="the statuses in the live numbers")
    for token, challenge, login in zip(traders, challenges, expected, strict=True):
        assert gateway.get(f"/api/v1/accounts/{login}", token).json()["status"] == \
            expected[login]
        [account] = challenge_of(gateway, token, challenge)["accounts"]
        assert account["status"] == expected[login]
    staff_view = {a["login"]: a["status"] for c in gateway.get(
        "/api/v1/challenges", desk).json() for a in c["accounts"]}
    assert staff_view == expected
    [breach] = events(gateway, desk)
    assert (breach["account"], breach["account_status"]) == (failed, "failed")

    # The history's views agree: only the live account is exposed, nearest a floor, or
    # running in its cohort; the stopped one is neither failed nor running.
    def exposure() -> dict | None:
        found = gateway.get("/api/v1/analytics/exposure", desk).json()
        near = found["nearest_floors"]
        # Live numbers (equity) and the position book (deals) are different tables, each
        # recorded when its batch is inserted: wait for both.
        return found if near and near[0]["equity"] == round(10_000 - 0.3 * 100 * 9.5, 2) \
            and found["most_concentrated"] and found["open_positions"] == 1 else None

    found = wait_until(exposure, what="the latest numbers in the history")
    assert [(n["account"], n["status"]) for n in found["nearest_floors"]] == [
        (active, "active")]
    assert [a["account"] for a in found["most_concentrated"]] == [active]
    assert found["symbols"][0]["net_lots"] == 0.3 and found["open_positions"] == 1
    [cohort] = gateway.get("/api/v1/analytics/cohorts", desk).json()
    assert (cohort["accounts"], cohort["failed"], cohort["stopped"], cohort["passed"],
            cohort["running"]) == (3, 1, 1, 0, 1)

    # The websocket's live numbers carry the same status: the latest sent on subscribing
    # and fresh ones.
    async def live_statuses() -> list[str]:
        socket = await connect(gateway, desk)
        await socket.until(lambda m: m["type"] == "authenticated")
        await socket.send({"type": "subscribe", "accounts": [stopped]})
        await socket.until(lambda m: m["type"] == "subscribed")
        first = await socket.until(lambda m: m["type"] == "metrics")
        bridge.publisher.add(bridge.quote(1992.0))
        fresh = await socket.until(lambda m: m["type"] == "metrics" and m is not first)
        await closed(socket)
        return [str(first["data"]["status"]), str(fresh["data"]["status"])]

    assert gateway.call(live_statuses()) == ["stopped", "stopped"]


async def closed(socket: object) -> None:
    """Close a test's websocket (one left open warns when collected, in a later test)."""
    socket.connection.close()  # type: ignore[attr-defined]


def test_filters_refuse_what_they_cannot_match(gateway: Gateway) -> None:
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    desk = staff_token(gateway, "desk@firm.test")

    def refused(path: str, name: str, token: str = desk, body: object = None) -> str:
        answer = (gateway.get(path, token) if body is None
                  else gateway.post(path, body, token))
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["error"]["fields"][0]["path"] == name, answer.text
        return str(answer.json()["error"]["message"])

    message = refused("/api/v1/risk/events?state=bogus", "state")
    assert "open, unacknowledged, acknowledged, overridden" in message
    assert "breach, objective, passed, resumed, all" in refused(
        "/api/v1/risk/events?kind=breaches", "kind")
    refused("/api/v1/risk/events?limit=0", "limit")
    refused("/api/v1/risk/events?limit=ten", "limit")
    for state in ("open", "unacknowledged", "acknowledged", "overridden"):
        assert events(gateway, desk, f"?state={state}&kind=all") == []
    missing = gateway.get("/api/v1/risk/events?account=T9C9P1", desk)
    assert missing.status_code == 404 and "T9C9P1" in missing.json()["error"]["message"]
    assert "pending_payment, active, review, passed, failed, cancelled" in refused(
        "/api/v1/challenges?status=lost", "status")
    refused("/api/v1/challenges?all=yes", "all")
    assert "day, week, month" in refused("/api/v1/analytics/cohorts?period=year", "period")
    assert "no program 'nope'" in refused("/api/v1/analytics/cohorts?program=nope",
                                          "program")
    refused("/api/v1/analytics/what-if", "$.program", body={"program": "nope",
                                                            "changes": {}})
    # A program's slug is accepted where its engine ids are (nothing recorded yet here).
    for name in ("gold-10k", "default.gold-10k.p2"):
        answer = gateway.get(f"/api/v1/analytics/cohorts?program={name}", desk)
        assert answer.status_code == 200 and answer.json() == [], answer.text

    # Staff see every trader's challenges, filtered by status, without all=1; a trader
    # only their own, whatever they ask.
    traders = [gateway.verified_user(f"t{i}@firm.test")["access_token"] for i in range(2)]
    bought = [gateway.post("/api/v1/challenges", {"program": "gold-10k"}, token).json()["id"]
              for token in traders]
    gateway.sql("UPDATE challenges SET status = 'failed' WHERE id = $1", bought[0])
    for query in ("?status=failed", "?status=failed&all=1"):
        assert [c["id"] for c in gateway.get(f"/api/v1/challenges{query}", desk).json()] \
            == [bought[0]]
    assert [c["id"] for c in gateway.get("/api/v1/challenges", desk).json()] == bought[::-1]
    assert gateway.get("/api/v1/challenges?all=0", desk).json() == []  # staff's own
    assert gateway.get("/api/v1/challenges?status=failed&all=1", traders[1]).json() == []
    assert [c["id"] for c in gateway.get("/api/v1/challenges?all=1", traders[1]).json()] \
        == [bought[1]]

    # The OpenAPI document gives each filter's values.
    spec = gateway.get("/api/openapi.json").json()["paths"]

    def parameters(path: str, method: str = "get") -> dict[str, dict]:
        return {p["name"]: p["schema"] for p in spec[path][method]["parameters"]}

    desk_filters = parameters("/api/v1/risk/events")
    assert set(desk_filters["state"]["enum"]) == {"open", "unacknowledged", "acknowledged",
                                                  "overridden"}
    assert set(desk_filters["kind"]["enum"]) == {"breach", "objective", "passed", "resumed",
                                                 "all"}
    assert desk_filters["limit"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert set(parameters("/api/v1/challenges")["status"]["enum"]) == {
        "pending_payment", "active", "review", "passed", "failed", "cancelled"}
    assert set(parameters("/api/v1/analytics/cohorts")["period"]["enum"]) == {
        "day", "week", "month"}
    schemas = gateway.get("/api/openapi.json").json()["components"]["schemas"]
    assert schemas["NearestFloor"]["properties"]["ts"]["type"] == "string"  # ISO 8601
    assert "replacement_account" in schemas["RiskEventOut"]["properties"]
