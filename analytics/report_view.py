"""A MetaTrader report seen as the account pages see an account: its statistics, balance
curve and daily P&L, computed from the file alone (nothing stored).

The figures are :mod:`analytics.deal_statistics`'s, the Python twin of the store's SQL, at
the API's precision; the curve and the calendar follow ``equity_curve.sql`` and
``daily_pnl.sql``. A report lists deals, not prices, so its equity curve is its balance
curve: one point at the opening, then one after every deal and balance operation.
"""

from __future__ import annotations

from typing import Any

from analytics.deal_statistics import compute, feed_of, finish
from analytics.imports import Report
from streams.events import from_micros

__all__ = ["MAX_POINTS", "report_view"]

MAX_POINTS = 10_000  # the equity endpoint's own cap; a 2,134-trade report has ~4,300


def report_view(report: Report) -> dict[str, Any]:
    """``account``, ``kind``, ``currency``, ``statistics``, ``equity`` (points of ``ts``,
    ``equity``, ``balance``) and ``calendar`` (``date``, ``net_profit``, ``trades``)."""
    opening, feed = feed_of(report.events, report.account)
    balance_cents = round((opening or 0.0) * 100)
    points: list[tuple[int, int]] = []
    if opening is not None and feed:
        points.append((feed[0].ts, balance_cents))
    days: dict[str, list[int]] = {}
    for item in feed:
        cents = round(item.money * 100)
        balance_cents += cents
        points.append((item.ts, balance_cents))
        if item.position is not None:
            day = days.setdefault(from_micros(item.ts).date().isoformat(), [0, 0])
            day[0] += cents
            day[1] += item.out
    return {
        "account": report.account, "kind": report.kind, "currency": report.currency,
        "statistics": finish(compute(opening, feed)),
        "equity": [{"ts": from_micros(ts), "equity": cents / 100, "balance": cents / 100}
                   for ts, cents in _thin(points, MAX_POINTS)],
        "calendar": [{"date": date, "net_profit": cents / 100, "trades": trades}
                     for date, (cents, trades) in sorted(days.items())],
    }


def _thin(points: list[tuple[int, int]], most: int) -> list[tuple[int, int]]:
    """At most ``most`` points, keeping the first, the last and each bucket's lowest and
    highest (a drawdown's trough is never thinned away)."""
    if len(points) <= most:
        return points
    size = -(-len(points) * 2 // most)  # two points kept a bucket
    kept = [points[0]]
    for start in range(1, len(points) - 1, size):
        bucket = points[start:min(start + size, len(points) - 1)]
        low = min(bucket, key=lambda p: p[1])
        high = max(bucket, key=lambda p: p[1])
        kept.extend(sorted({low, high}))
    kept.append(points[-1])
    return kept
