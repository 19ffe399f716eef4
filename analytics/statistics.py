"""Account statistics as MetaTrader 5 prints them in its reports, from the history store.

The SQL (``analytics/sql/account_statistics.sql``) computes them the way MetaTrader does,
checked against two real reports (a Strategy Tester report and a Trade History report);
this module runs it and rounds each value to MetaTrader's printed precision. Keys are
MetaTrader's English labels in snake case, in the order of :data:`KEYS`.

How MetaTrader computes the statistics that are not obvious (verified on the reports):

* A *trade* is an ``out`` deal; its result is profit + commission + swap + fee of that
  deal. The commission of the ``in`` deal is in no trade's result (the largest loss of
  the FTMO report is its out deal alone) but it is in the net profit and in the gross
  loss, and the average profit/loss trade divide the gross figures by the trade counts
  (FTMO: -5686.10 / 21 = -270.77). A trade of exactly 0 is neither won nor lost.
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
* Consecutive wins/losses: the longest run (its money in brackets) and the run of the
  most money (its length in brackets); the first one when two tie.
* LR correlation and standard error: least squares of the balance after trade k against
  k = 0..N, the point 0 being the balance before the first deal; standard error =
  sqrt(sum of squared residuals / (N + 1 - 2)).
* Short trades are positions that were sell (their closing deal is a buy).

PropTrade's extras: ``win_rate`` (% of trades won), ``average_holding_seconds`` (a
trade's time from its position's first deal, averaged over trades), ``best_day_share``
(the best UTC day's net profit / the total net profit, None unless that is positive) and
``trading_days`` (UTC days with a deal).
"""

from __future__ import annotations

import math
from typing import Any

from analytics.queries import ALL_TIME, sql
from storage.clickhouse import Store

__all__ = ["KEYS", "account_statistics", "daily_pnl", "symbol_breakdown"]

Value = float | int | None

#: The statistics, in MetaTrader's order, then PropTrade's extras.
KEYS: tuple[str, ...] = (
    "total_net_profit", "gross_profit", "gross_loss", "profit_factor", "expected_payoff",
    "recovery_factor", "sharpe_ratio", "balance_drawdown_absolute",
    "balance_drawdown_maximal", "balance_drawdown_maximal_pct", "balance_drawdown_relative",
    "balance_drawdown_relative_money", "total_trades", "total_deals", "short_trades",
    "short_trades_won_pct", "long_trades", "long_trades_won_pct", "profit_trades",
    "loss_trades", "largest_profit_trade", "largest_loss_trade", "average_profit_trade",
    "average_loss_trade", "max_consecutive_wins", "max_consecutive_wins_money",
    "max_consecutive_losses", "max_consecutive_losses_money", "maximal_consecutive_profit",
    "maximal_consecutive_profit_count", "maximal_consecutive_loss",
    "maximal_consecutive_loss_count", "z_score", "z_score_pct", "ahpr", "ahpr_pct", "ghpr",
    "ghpr_pct", "lr_correlation", "lr_standard_error", "win_rate",
    "average_holding_seconds", "best_day_share", "trading_days",
)

COUNTS = frozenset({
    "total_trades", "total_deals", "short_trades", "long_trades", "profit_trades",
    "loss_trades", "max_consecutive_wins", "max_consecutive_losses",
    "maximal_consecutive_profit_count", "maximal_consecutive_loss_count", "trading_days"})
#: Decimals of the values that are not counts (MetaTrader prints money, ratios and
#: percentages with 2, AHPR and GHPR with 4; the share of the best day is a fraction).
DECIMALS: dict[str, int] = {key: 2 for key in KEYS if key not in COUNTS}
DECIMALS.update(ahpr=4, ghpr=4, best_day_share=4)
#: Shares and averages of nothing (no trade, no balance): MetaTrader prints 0.00, as in
#: "0 (0.00%)".
ZERO_WHEN_EMPTY = frozenset({
    "short_trades_won_pct", "long_trades_won_pct", "average_profit_trade",
    "average_loss_trade", "win_rate", "balance_drawdown_maximal_pct",
    "balance_drawdown_relative"})


def _range(since: int | None, until: int | None) -> dict[str, int]:
    return {"since": ALL_TIME[0] if since is None else since,
            "until": ALL_TIME[1] if until is None else until}


def account_statistics(store: Store, tenant: int, account: str, since: int | None = None,
                       until: int | None = None, *, rounded: bool = True) -> dict[str, Value]:
    """The statistics of ``account`` over [since, until) (µs; None: all its history).

    :param rounded: round to MetaTrader's printed precision (False: the full values).
    :returns: every key of :data:`KEYS`, in that order: counts as ints, the rest floats,
        None where MetaTrader's formula is undefined (no trades, no loss, no drawdown…).
    """
    row = store.query(sql("account_statistics"), {
        "tenant": tenant, "account": account, **_range(since, until)}).one() or {}
    statistics: dict[str, Value] = {}
    for key in KEYS:
        value = row.get(key)
        if key in COUNTS:
            statistics[key] = int(value or 0)
        elif value is None or not math.isfinite(value):  # the SQL's NaN and ±inf: undefined
            statistics[key] = 0.0 if key in ZERO_WHEN_EMPTY else None
        else:  # (+ 0.0: no "-0.0" for a value that rounds to zero)
            statistics[key] = (round(float(value), DECIMALS[key]) if rounded
                               else float(value)) + 0.0
    return statistics


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
