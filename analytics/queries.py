"""The analytical questions the dashboards ask, answered from the history store.

Each function runs SQL kept in ``analytics/sql/`` (one file per question, so an analyst can
read and run it in ``clickhouse-client`` as it is) and shapes the rows for the API. Every
query is scoped by tenant; times are µs since the epoch in and out.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from storage.clickhouse import Store

__all__ = ["ALL_TIME", "cohorts", "equity_curve", "exposure", "sql", "trade_journal"]

#: [since, until) covering every timestamp a DateTime64(6) can hold.
ALL_TIME = (0, 2**62)
PERIODS = ("day", "week", "month")
HOUR_US = 3_600_000_000
#: Accounts whose live numbers have not changed for a week (longer than a weekend) are
#: not live; reading only that window keeps the query off the whole equity history.
NEAREST_WINDOW_US = 7 * 86_400_000_000


@cache
def sql(name: str) -> str:
    """The text of ``analytics/sql/<name>.sql``."""
    return resources.files("analytics").joinpath("sql", f"{name}.sql").read_text()


def equity_curve(store: Store, tenant: int, account: str, points: int = 1000,
                 since: int = ALL_TIME[0], until: int = ALL_TIME[1]) -> list[dict[str, Any]]:
    """At most ``points`` samples ``{ts, equity, balance}`` in time order, keeping each
    bucket's first, lowest, highest and last equity (so no drawdown disappears)."""
    buckets = max(1, points // 4)
    scope = {"tenant": tenant, "account": account, "since": since, "until": until}
    first, last = store.query(
        "SELECT min(first).1, max(last).1 FROM equity_hourly WHERE tenant = {tenant:UInt64}"
        " AND account = {account:String} AND hour >= toDateTime(intDiv({since:Int64},"
        " 3600000000) * 3600, 'UTC') AND hour < toDateTime(least(intDiv({until:Int64},"
        " 1000000), 4294967295), 'UTC')", scope).rows[0]
    # Buckets of an hour or more: from the hourly rollup (8,760 rows a year instead of
    # 525,600 one-minute samples); shorter ones from the samples.
    t0, t1 = max(since, first or 0), min(until - 1, last or 0)
    curve: list[dict[str, Any]] = []
    if t1 - t0 >= buckets * HOUR_US:
        rows = store.query(sql("equity_curve_hourly"), {
            **scope, "buckets": buckets, "t0": t0, "span": t1 - t0 + 1}).rows
        for _, head, tail, low, high in rows:
            picked = {tuple(head), tuple(tail), tuple(low[1:]), (-high[1], *high[2:])}
            curve.extend({"ts": ts, "equity": equity, "balance": balance}
                         for ts, equity, balance in sorted(picked))
        return curve
    for row in store.query(sql("equity_curve"), {**scope, "buckets": buckets}).rows:
        picked = {(row[i], row[i + 1], row[i + 2]) for i in (1, 4, 7, 10)}
        for ts, equity, balance in sorted(picked):
            curve.append({"ts": ts, "equity": equity, "balance": balance})
    return curve


def cohorts(store: Store, tenant: int, period: str = "month", programs: Sequence[str] = (),
            since: int = ALL_TIME[0], until: int = ALL_TIME[1],
            stopped: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Per program (of ``programs``; empty: all) and period of opening: accounts,
    passed/failed/stopped/running, rates, failures by rule (most frequent first), days to
    pass or fail, trades, lots and net profit. ``stopped``: the accounts the platform
    stopped (the engine does not know them)."""
    if period not in PERIODS:
        raise ValueError(f"period: one of {', '.join(PERIODS)}")
    rows = store.query(sql("cohorts"), {
        "tenant": tenant, "period": period, "programs": list(programs), "since": since,
        "until": until, "stopped_accounts": list(stopped)}).dicts()
    for row in rows:
        failures = row["failures_by_rule"] or {}
        row["failures_by_rule"] = [
            {"rule": rule, "accounts": count}
            for rule, count in sorted(failures.items(), key=lambda item: (-item[1], item[0]))]
    return rows


def exposure(store: Store, tenant: int, top: int = 20, stopped: Sequence[str] = (),
             nearest: int | None = None) -> dict[str, Any]:
    """Where the firm is exposed now: per symbol (net and gross lots, notional, accounts),
    the ``top`` most concentrated accounts, and the ``nearest`` (default ``top``) live
    accounts nearest a floor. ``stopped``: the accounts the platform stopped (closed, like
    those the engine failed or passed)."""
    symbols, accounts = [], []
    for row in store.query(sql("exposure"), {"tenant": tenant, "top": top,
                                             "stopped_accounts": list(stopped)}).dicts():
        if row["kind"] == "symbol":
            symbols.append({
                "symbol": row["name"], "currency": row["currency"],
                "net_lots": row["net_lots"], "gross_lots": row["gross_lots"],
                "net_notional": row["net_notional"], "gross_notional": row["gross_notional"],
                "positions": row["positions"], "accounts": row["holders"]})
        else:
            gross = row["gross_lots"]
            accounts.append({
                "account": row["name"], "gross_lots": gross, "symbols": row["holders"],
                "largest_symbol": row["largest_symbol"], "largest_lots": row["largest_lots"],
                "concentration_pct": round(row["largest_lots"] / gross * 100, 2) if gross
                else 0.0})
    # The latest numbers of the last week: an account unchanged for longer is not live.
    since = store.query("SELECT toUnixTimestamp64Micro(max(ts)) - {week:Int64} FROM equity"
                        " WHERE tenant = {tenant:UInt64}",
                        {"tenant": tenant, "week": NEAREST_WINDOW_US}).rows[0][0] or 0
    closest = store.query(sql("nearest_floors"), {
        "tenant": tenant, "since": since, "limit": top if nearest is None else nearest,
        "stopped_accounts": list(stopped)}).dicts()
    return {
        "symbols": sorted(symbols, key=lambda s: (-abs(s["net_notional"]), s["symbol"])),
        "open_positions": sum(s["positions"] for s in symbols),
        "most_concentrated": sorted(accounts, key=lambda a: (-a["largest_lots"],
                                                             a["account"])),
        "nearest_floors": closest,
    }


def trade_journal(store: Store, tenant: int, account: str, limit: int = 100, offset: int = 0,
                  before: int = ALL_TIME[1], open_positions: bool = False
                  ) -> dict[str, Any]:
    """The account's closed trades newest first (``limit`` of them from ``offset``, closed
    before ``before`` µs): ``{trades, open_positions}``, the open positions (newest first)
    only when asked (else None). Times in µs."""
    scope = {"tenant": tenant, "account": account}
    trades = store.query(sql("trade_journal"), {**scope, "limit": limit, "offset": offset,
                                                "before": before}).dicts()
    book = store.query(sql("open_positions"), scope).dicts() if open_positions else None
    return {"trades": trades, "open_positions": book}
