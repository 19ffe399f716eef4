"""Report upload (``POST /api/v1/analytics/reports``): a real MetaTrader report read as an
account (the CLI's figures), nothing kept unless asked, the firm's own history when kept,
and every refusal named."""

from __future__ import annotations

from typing import Any

import pytest

from analytics.imports import read_report
from analytics.report_stats import report_statistics
from gateway.handlers import analytics as handlers
from tests.analytics import MT_REPORTS
from tests.gateway.conftest import Gateway
from tests.gateway.test_desk import staff_token

FTMO = MT_REPORTS / "mt5-history-propfirm-ftmo-1512497509.xlsx"
BIG = MT_REPORTS / "mt5-history-propfirm-ftmo-1512568197.xlsx"
TESTER = MT_REPORTS / "mt5-tester-didinska-GoldHedgeRecovery-v330.html"
URL = "/api/v1/analytics/reports"


def upload(gateway: Gateway, token: str | None, data: bytes, query: str = "") -> Any:
    # A refusal before the body is read closes the connection: never reuse one.
    return gateway.request("POST", URL + query, token, data=data,
                           headers={"Connection": "close"})


def test_a_report_reads_as_an_account_and_nothing_is_kept(gateway: Gateway) -> None:
    desk = staff_token(gateway, "desk@firm.test")
    answer = upload(gateway, desk, FTMO.read_bytes(), "?file=" + FTMO.name)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    report = read_report(FTMO)
    assert (body["account"], body["kind"], body["stored_as"]) == (
        "1512497509", "mt5-history", None)
    # The figures MetaTrader printed, as the CLI's report-stats computes them.
    assert body["statistics"]["total_net_profit"] == float(report.printed["total_net_profit"])
    expected = report_statistics(report, rounded=False)
    assert body["statistics"]["total_trades"] == expected["total_trades"] == 58
    # The balance curve opens at the first deposit and ends at the printed balance; the
    # calendar's days add up to the net profit, to the cent.
    assert body["equity"][0]["balance"] == 100_000.0
    assert body["equity"][-1]["balance"] == float(report.printed["balance"])
    assert round(sum(day["net_profit"] for day in body["calendar"]), 2) == -5025.89
    assert sum(day["trades"] for day in body["calendar"]) == 58
    # Nothing was kept: the firm's history does not know the account.
    assert gateway.get("/api/v1/accounts/1512497509/statistics", desk).status_code == 404

    # Bigger than the server's 1 MiB for other requests: read whole all the same.
    big = upload(gateway, desk, BIG.read_bytes())
    assert BIG.stat().st_size > 1024 * 1024
    assert big.status_code == 200, big.text
    assert big.json()["statistics"]["total_trades"] == 2134

    tester = upload(gateway, desk, TESTER.read_bytes())
    assert tester.status_code == 200, tester.text
    assert tester.json()["kind"] == "mt5-tester"
    assert tester.json()["statistics"]["total_trades"] == 145


def test_a_kept_report_is_the_firms_own_history(gateway: Gateway) -> None:
    gateway.sql("INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme')")
    gateway.sql("INSERT INTO tenant_domains (domain, tenant_id) SELECT 'acme.test', id "
                "FROM tenants WHERE slug = 'acme'")
    desk = staff_token(gateway, "desk@firm.test", "admin")
    acme = staff_token(gateway, "desk@acme.test", headers={"Host": "acme.test"})
    answer = upload(gateway, desk, FTMO.read_bytes(), "?store_as=ftmo-trial")
    assert answer.status_code == 200, answer.text
    assert answer.json()["stored_as"] == "ftmo-trial"
    stats = gateway.get("/api/v1/accounts/ftmo-trial/statistics", desk)
    assert stats.status_code == 200, stats.text
    assert stats.json()["total_net_profit"] == -5025.89
    assert stats.json()["total_trades"] == 58
    # Another firm's desk does not see it; the same name again is refused, not mixed in.
    assert gateway.get("/api/v1/accounts/ftmo-trial/statistics", acme,
                       headers={"Host": "acme.test"}).status_code == 404
    again = upload(gateway, desk, FTMO.read_bytes(), "?store_as=ftmo-trial")
    assert again.status_code == 409 and "ftmo-trial" in again.json()["error"]["message"]


def test_uploads_are_refused_with_the_reason(gateway: Gateway,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    desk = staff_token(gateway, "desk@firm.test")
    trader = gateway.verified_user("tra@der.test")["access_token"]
    data = FTMO.read_bytes()
    # Refused before the body is read (a small body: a big one may still be on its way
    # when the connection closes).
    assert upload(gateway, None, b"x").status_code == 401
    assert upload(gateway, trader, b"x").status_code == 404  # staff only

    def refused(body: bytes, status: int, words: str, query: str = "") -> None:
        answer = upload(gateway, desk, body, query)
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]["message"], answer.text

    refused(b"", 422, "empty file")
    refused(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 422, "not a MetaTrader report (a PNG image)")
    refused(b"<html><table><tr><td>hello</td></tr></table></html>", 422,
            "no Deals/Positions table found")
    refused(data[: len(data) // 2], 422, "statement.xlsx", "?file=statement.xlsx")
    refused(data, 422, "store_as", "?store_as=")
    # Over the limit: 413, by the declared length, before the file is read.
    monkeypatch.setattr(handlers, "MAX_REPORT_BYTES", len(data) - 1)
    refused(data, 413, "too large")
    assert gateway.get("/api/v1/accounts/1512497509/statistics", desk).status_code == 404


def test_staff_find_their_firms_accounts(gateway: Gateway) -> None:
    gateway.sql("INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme')")
    gateway.sql("INSERT INTO tenant_domains (domain, tenant_id) SELECT 'acme.test', id "
                "FROM tenants WHERE slug = 'acme'")
    desk = staff_token(gateway, "desk@firm.test")
    acme = staff_token(gateway, "desk@acme.test", headers={"Host": "acme.test"})
    trader = gateway.verified_user("tra@der.test")["access_token"]
    data = FTMO.read_bytes()
    for name in ("Trial-B", "trial-a", "other"):
        assert upload(gateway, desk, data, f"?store_as={name}").status_code == 200
    found = gateway.get("/api/v1/analytics/accounts?q=TRIAL", desk)
    assert found.status_code == 200, found.text
    assert [row["account"] for row in found.json()] == ["Trial-B", "trial-a"]
    assert found.json()[0]["program"] == "imported"
    assert found.json()[0]["currency"] == "USD"
    # An exact login comes first; the program matches too; the limit holds.
    exact = gateway.get("/api/v1/analytics/accounts?q=trial-a", desk).json()
    assert [row["account"] for row in exact] == ["trial-a"]
    every = gateway.get("/api/v1/analytics/accounts?q=imported&limit=2", desk).json()
    assert len(every) == 2
    # Another firm's desk finds none of them; a trader cannot search.
    assert gateway.get("/api/v1/analytics/accounts?q=trial", acme,
                       headers={"Host": "acme.test"}).json() == []
    assert gateway.get("/api/v1/analytics/accounts?q=trial", trader).status_code == 404
    assert gateway.get("/api/v1/analytics/accounts").status_code == 401
    for query, name in (("?limit=0", "limit"), ("?limit=x", "limit"), ("?q=" + "x" * 300, "q")):
        refused = gateway.get("/api/v1/analytics/accounts" + query, desk)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["message"].startswith(name)
