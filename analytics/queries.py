"""The analytical questions the dashboards ask, answered from the history store.

Each function runs SQL kept in ``analytics/sql/`` (one file per question, so an analyst can
read and run it in ``clickhouse-client`` as it is) and shapes the rows for the API. Every
query is scoped by tenant; times are µs since the epoch in and out.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from storage.clickhouse import Store

__all__ = ["ALL_TIME", "cohorts", "equity_curve", "exposure", "sql"]

#: [since, until) covering every timestamp a DateTime64(6) can hold.
ALL_TIME = (0, 2**62)
PERIODS = ("day", "week", "month")


@cache
def sql(name: str) -> str:
    """The text of ``analytics/sql/<name>.sql``."""
    return resources.files("analytics").joinpath("sql", f"{name}.sql").read_text()


def equity_curve(store: Store, tenant: int, account: str, points: int = 1000,
                 since: int = ALL_TIME[0], until: int = ALL_TIME[1]) -> list[dict[str, Any]]:
    """At most ``points`` samples ``{ts, equity, balance}`` in time order, keeping each
    bucket's first, lowest, highest and last equity (so no drawdown disappears)."""
    buckets = max(1, points // 4)
    rows = store.query(sql("equity_curve"), {
        "tenant": tenant, "account": account, "since": since, "until": until,
        "buckets": buckets}).rows
    curve: list[dict[str, Any]] = []
    for row in rows:
        picked = {(row[i], row[i + 1], row[i + 2]) for i in (1, 4, 7, 10)}
        for ts, equity, balance in sorted(picked):
            curve.append({"ts": ts, "equity": equity, "balance": balance})
    return curve


def cohorts(store: Store, tenant: int, period: str = "month", program: str = "",
            since: int = ALL_TIME[0], until: int = ALL_TIME[1]) -> list[dict[str, Any]]:
    """Per program and period of opening: accounts, passed/failed/running, rates, failures
    by rule (most frequent first), days to pass or fail, trades, lots and net profit."""
    if period not in PERIODS:
        raise ValueError(f"period: one of {', '.join(PERIODS)}")
    rows = store.query(sql("cohorts"), {
        "tenant": tenant, "period": period, "program": program, "since": since,
        "until": until}).dicts()
    for row in rows:
        failures = row["failures_by_rule"] or {}
        row["failures_by_rule"] = [
            {"rule": rule, "accounts": count}
            for rule, count in sorted(failures.items(), key=lambda item: (-item[1], item[0]))]
    return rows


def exposure(store: Store, tenant: int, top: int = 20) -> dict[str, Any]:
    """Where the firm is exposed now: per symbol (net and gross lots, notional, accounts),
    the ``top`` most concentrated accounts, and the ``top`` accounts nearest a floor."""
    rows = store.query(sql("exposure"), {"tenant": tenant}).dicts()
    symbols: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = symbols.setdefault(row["symbol"], {
            "symbol": row["symbol"], "currency": row["currency"], "net_lots": 0.0,
            "gross_lots": 0.0, "net_notional": 0.0, "gross_notional": 0.0,
            "positions": 0, "accounts": 0})
        for key in ("net_lots", "gross_lots", "net_notional", "gross_notional", "positions"):
            entry[key] += row[key]
        entry["accounts"] += 1
        holder = accounts.setdefault(row["account"], {
            "account": row["account"], "gross_lots": 0.0, "symbols": 0,
            "largest_symbol": "", "largest_lots": 0.0})
        holder["gross_lots"] += row["gross_lots"]
        holder["symbols"] += 1
        if row["gross_lots"] > holder["largest_lots"]:
            holder["largest_symbol"], holder["largest_lots"] = row["symbol"], row["gross_lots"]
    for holder in accounts.values():
        holder["concentration_pct"] = round(
            holder["largest_lots"] / holder["gross_lots"] * 100, 2) if holder["gross_lots"] else 0
    for entry in symbols.values():
        for key in ("net_lots", "gross_lots"):
            entry[key] = round(entry[key], 4)
        for key in ("net_notional", "gross_notional"):
            entry[key] = round(entry[key], 2)
    concentrated = sorted(accounts.values(),
                          key=lambda a: (-a["largest_lots"], a["account"]))[:top]
    nearest = store.query(sql("nearest_floors"), {
        "tenant": tenant, "since": 0, "limit": top}).dicts()
    return {
        "symbols": sorted(symbols.values(), key=lambda s: (-abs(s["net_notional"]), s["symbol"])),
        "open_positions": sum(s["positions"] for s in symbols.values()),
        "most_concentrated": concentrated,
        "nearest_floors": nearest,
    }
