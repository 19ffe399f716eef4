"""Account statistics as MetaTrader 5 prints them in its reports, from the history store.

The SQL (``analytics/sql/account_statistics.sql``) computes them the way MetaTrader does,
checked against four real reports (a Strategy Tester report and three Trade History
reports, two of them with open positions and zero-result trades); this module runs it and
publishes each value with :func:`analytics.deal_statistics.finish`: money at the cent,
every other figure at six decimals (MetaTrader's XLSX stores them so: profit factor
0.729359; its HTML page shows two). :mod:`analytics.deal_statistics` computes the same
figures in Python from a list of deals (``proptrade report-stats``). Keys are
MetaTrader's English labels in snake case, in the order of :data:`KEYS`.

How MetaTrader computes the statistics that are not obvious (verified on the reports):

* A *trade* is an ``out`` deal; its result is profit + commission + swap + fee of that
  deal. The commission of the ``in`` deal is in no trade's result (the largest loss of
  the FTMO report is its out deal alone) but it is in the net profit and in the gross
  loss, and the average profit/loss trade divide the gross figures by the trade counts
  (FTMO: -5686.10 / 21 = -270.77). The entry commissions of positions still open at
  the end are in the net profit and the gross loss too (FTMO 1512568197, 85 positions
  open: -2276.11). A trade of exactly 0.00 is a *profit* trade: in the counts and their
  percentages, the won % by side, the average profit trade (gross profit / wins, zeros
  included) and the runs (FTMO 1512442430: 370 profit trades, 3 of them zeros).
* Balance drawdowns follow the balance after every deal: absolute = initial deposit -
  lowest balance below it; maximal = the largest fall from a peak in money (its % of that
  peak in brackets); relative = the largest fall in % (its money in brackets). A balance
  operation restarts the measurement from the balance it leaves (MetaTrader's rule for
  withdrawals); a ``since`` window starts it from the balance it finds.
* Recovery factor = net profit / maximal balance drawdown (the history report; the tester
  divides by the *equity* drawdown, which needs the price path).
* HPR of a trade = balance after it / balance just before it; AHPR = their mean, GHPR =
  their geometric mean (printed with (x - 1) in %); Sharpe ratio = (AHPR - 1) /
  population standard deviation of the HPRs (the history report; FTMO -0.289665 to the
  six decimals of the XLSX). The Strategy Tester's Sharpe ratio (since build 3210) is
  computed from the equity sampled per bar, which a deal list does not have.
* Z-score: the runs test, Z = (N (R - 0.5) - X) / sqrt(X (X - N) / (N - 1)), X = 2 W L,
  N = W + L trades, R runs of wins and losses; the probability in brackets is
  erf(|Z| / sqrt 2) of the Z *as printed* (two decimals): -1.09 gives 72.43%, the
  unrounded -1.0854 would give 72.23%.
* Consecutive wins/losses: the longest run (its money in brackets; of runs as long, the
  one of the larger amount: the most profit, the largest loss) and the run of the most
  money (its length in brackets; the first one when two tie). A zero extends a run of
  wins and breaks a run of losses. Average consecutive wins/losses: the mean length of
  the runs of wins/losses (printed as a whole number: 5.78 is printed 6).
* LR correlation and standard error: least squares of the balance after trade k against
  k = 0..N, the point 0 being the balance before the first deal; standard error =
  sqrt(sum of squared residuals / (N + 1 - 2)).
* Short trades are positions that were sell (their closing deal is a buy).
* Holding times (the tester's minimal/maximal/average position holding time): a trade's
  time from its position's first deal (0:00:26, 29:05:00 and 1:31:01 on the tester).

PropTrade's extras: ``win_rate`` (% of trades won, as ``profit_trades_pct``),
``average_holding_seconds`` (MetaTrader's average holding time), ``best_day_share``
(the best UTC day's net profit / the total net profit, None unless that is positive) and
``trading_days`` (UTC days with a deal).
"""

from __future__ import annotations

from typing import Any

from analytics.deal_statistics import COUNTS, DECIMALS, KEYS, Value, finish
from analytics.queries import ALL_TIME, sql
from storage.clickhouse import Store

__all__ = ["COUNTS", "KEYS", "account_statistics", "daily_pnl", "symbol_breakdown"]


def _range(since: int | None, until: int | None) -> dict[str, int]:
    return {"since": ALL_TIME[0] if since is None else since,
            "until": ALL_TIME[1] if until is None else until}


def account_statistics(store: Store, tenant: int, account: str, since: int | None = None,
                       until: int | None = None, *, rounded: bool = True) -> dict[str, Value]:
    """The statistics of ``account`` over [since, until) (µs; None: all its history).

    :param rounded: money at the cent, the rest at six decimals (False: the full values).
    :returns: every key of :data:`KEYS`, in that order: counts as ints, the rest floats,
        None where MetaTrader's formula is undefined (no trades, no loss, no drawdown…).
    """
    row = store.query(sql("account_statistics"), {
        "tenant": tenant, "account": account, **_range(since, until)}).one() or {}
    return finish(row, DECIMALS if rounded else {})


def symbol_breakdown(store: Store, tenant: int, account: str, since: int | None = None,
                     until: int | None = None) -> list[dict[str, Any]]:
    """Per symbol, most traded first: ``symbol``, ``trades`` (closing deals),
    ``net_profit`` (all its deals' profit, commission, swap and fees), ``won_pct``
    (None without trades) and ``volume`` (lots closed)."""
    rows = store.query(sql("symbol_breakdown"), {
        "tenant": tenant, "account": account, **_range(since, until)}).dicts()
    for row in rows:
        row["trades"] = int(row["trades"])
        row["net_profit"] = round(float(row["net_profit"]), 2)
        if row["won_pct"] is not None:
            row["won_pct"] = round(float(row["won_pct"]), 2)
        row["volume"] = round(float(row["volume"]), 2)
    return rows


def daily_pnl(store: Store, tenant: int, account: str, since: int | None = None,
              until: int | None = None) -> list[dict[str, Any]]:
    """Per UTC day with deals, in date order: ``date`` (ISO), ``net_profit`` (the day's
    deals' profit, commission, swap and fees) and ``trades`` (closing deals)."""
    rows = store.query(sql("daily_pnl"), {
        "tenant": tenant, "account": account, **_range(since, until)}).dicts()
    for row in rows:
        row["net_profit"] = round(float(row["net_profit"]), 2)
        row["trades"] = int(row["trades"])
    return rows
