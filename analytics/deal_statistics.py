"""MetaTrader's report statistics computed in Python from one account's deals.

The same figures as the history store's SQL (``analytics/sql/account_statistics.sql``,
whose header and :mod:`analytics.statistics` describe MetaTrader's formulas), step for
step, without a store: ``proptrade report-stats`` reads one file and answers in well
under a second this way, where creating, migrating and filling a scratch chDB store
cost it 3-7 s. A test holds the two implementations equal on every shared real report
and on hand-made accounts (``tests/analytics/test_statistics.py``).

Both take the account's feed in order: the opening balance, then every deal and balance
operation (credit is not balance) in feed order; rows before ``since`` only lead up to
the window, rows from ``until`` on are not read. Money is rounded to the cent as the
store keeps it (``Decimal(18, 2)``), then summed as doubles, as the SQL does.

:func:`finish` turns the raw figures (either implementation's) into the published ones:
counts as ints, undefined ratios as None (or 0.0 where MetaTrader prints 0.00), money at
the cent and everything else at six decimals, the precision of MetaTrader's XLSX
reports (``0.729359``), never the two decimals of its HTML page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from streams.events import Account, Balance, Deal, Event, to_micros

__all__ = ["COUNTS", "DECIMALS", "KEYS", "MONEY", "FeedItem", "Value", "compute", "feed_of",
           "finish"]

Value = float | int | None

#: The statistics, in MetaTrader's order, then PropTrade's extras.
KEYS: tuple[str, ...] = (
    "total_net_profit", "gross_profit", "gross_loss", "profit_factor", "expected_payoff",
    "recovery_factor", "sharpe_ratio", "balance_drawdown_absolute",
    "balance_drawdown_maximal", "balance_drawdown_maximal_pct", "balance_drawdown_relative",
    "balance_drawdown_relative_money", "total_trades", "total_deals", "short_trades",
    "short_trades_won_pct", "long_trades", "long_trades_won_pct", "profit_trades",
    "profit_trades_pct", "loss_trades", "loss_trades_pct", "largest_profit_trade",
    "largest_loss_trade", "average_profit_trade", "average_loss_trade",
    "max_consecutive_wins", "max_consecutive_wins_money", "max_consecutive_losses",
    "max_consecutive_losses_money", "maximal_consecutive_profit",
    "maximal_consecutive_profit_count", "maximal_consecutive_loss",
    "maximal_consecutive_loss_count", "average_consecutive_wins",
    "average_consecutive_losses", "z_score", "z_score_pct", "ahpr", "ahpr_pct", "ghpr",
    "ghpr_pct", "lr_correlation", "lr_standard_error", "minimal_holding_seconds",
    "maximal_holding_seconds", "win_rate", "average_holding_seconds", "best_day_share",
    "trading_days",
)

COUNTS = frozenset({
    "total_trades", "total_deals", "short_trades", "long_trades", "profit_trades",
    "loss_trades", "max_consecutive_wins", "max_consecutive_losses",
    "maximal_consecutive_profit_count", "maximal_consecutive_loss_count", "trading_days"})
#: Sums of money: exact cents, so given at the cent.
MONEY = frozenset({
    "total_net_profit", "gross_profit", "gross_loss", "balance_drawdown_absolute",
    "balance_drawdown_maximal", "balance_drawdown_relative_money", "largest_profit_trade",
    "largest_loss_trade", "max_consecutive_wins_money", "max_consecutive_losses_money",
    "maximal_consecutive_profit", "maximal_consecutive_loss"})
#: Decimals of the values that are not counts: money at the cent; ratios, averages and
#: percentages at six, the precision MetaTrader's XLSX report stores them with.
DECIMALS: dict[str, int] = {key: 2 if key in MONEY else 6 for key in KEYS
                            if key not in COUNTS}
#: Shares and averages of nothing (no trade, no balance): MetaTrader prints 0.00, as in
#: "0 (0.00%)".
ZERO_WHEN_EMPTY = frozenset({
    "short_trades_won_pct", "long_trades_won_pct", "profit_trades_pct", "loss_trades_pct",
    "average_profit_trade", "average_loss_trade", "average_consecutive_wins",
    "average_consecutive_losses", "win_rate", "balance_drawdown_maximal_pct",
    "balance_drawdown_relative"})

_DAY_US = 86_400_000_000


class FeedItem(NamedTuple):
    """One row of an account's feed: a deal (``position`` set) or a balance operation."""

    ts: int  # µs since the epoch
    money: float  # a deal's profit + commission + swap + fee; an operation's amount
    position: str | None = None  # None: a balance operation
    out: bool = False  # a deal closing (part of) a position: a trade
    buy: bool = False  # a buy deal (a closing buy ends a short trade)


def _cents(value: float | None) -> int:
    # As the store keeps money: rounded through the cents (storage/clickhouse.py).
    return 0 if value is None else round(value * 100)


def feed_of(events: Iterable[Event], account: str) -> tuple[float | None, list[FeedItem]]:
    """``account``'s opening balance (None without an Account event) and feed, from feed
    events in time order (a report's), the way the history store records them."""
    opening: float | None = None
    feed: list[FeedItem] = []
    for event in events:
        if getattr(event, "account", None) != account:
            continue
        if isinstance(event, Deal):
            cents = (_cents(event.profit) + _cents(event.commission) + _cents(event.swap)
                     + _cents(event.fee))
            feed.append(FeedItem(to_micros(event.ts), cents / 100, str(event.position),
                                 event.entry == "out", event.side == "buy"))
        elif isinstance(event, Balance) and event.kind != "credit":
            feed.append(FeedItem(to_micros(event.ts), _cents(event.amount) / 100))
        elif isinstance(event, Account) and opening is None:
            opening = _cents(event.balance) / 100
    feed.sort(key=lambda item: item.ts)  # stable: a file's order within an instant
    return opening, feed


def compute(opening: float | None, feed: Sequence[FeedItem], since: int | None = None,
            until: int | None = None) -> dict[str, float]:
    """The raw figures over [since, until) (µs; None: unbounded), as the SQL returns
    them: floats, NaN or ±inf where a ratio is undefined; :func:`finish` publishes them."""
    rows = [item for item in feed if until is None or item.ts < until]
    start = -(2**63) if since is None else since
    # The balance curve: the opening balance, then every row; a restart (the opening, a
    # balance operation, a row before the window) starts the drawdown measurement anew.
    steps: list[tuple[float, bool, bool]] = []  # (money, restart, trade)
    if opening is not None:
        steps.append((opening, True, False))
    trades: list[FeedItem] = []
    net = gains = 0.0
    deals = shorts = short_wins = 0
    days: dict[int, float] = {}
    first_deal: dict[str, int] = {}
    held: list[int] = []
    for item in rows:
        if item.position is None:
            steps.append((item.money, True, False))
            continue
        first = first_deal.setdefault(item.position, item.ts)
        if item.ts < start:
            steps.append((item.money, True, False))
            continue
        deals += 1
        net += item.money
        if item.money > 0:
            gains += item.money
        day = item.ts // _DAY_US
        days[day] = days.get(day, 0.0) + item.money
        trade = item.out
        steps.append((item.money, False, trade))
        if trade:
            trades.append(item)
            held.append(item.ts - first)
            if item.buy:
                shorts += 1
                short_wins += item.money >= 0
    figures = _curve(steps)
    results = [item.money for item in trades]
    figures.update(_trades(results, shorts, short_wins, net, gains))
    figures.update(_runs(results))
    n = len(results)
    figures.update(
        total_deals=float(deals), trading_days=float(len(days)),
        minimal_holding_seconds=min(held) / 1e6 if held else math.nan,
        maximal_holding_seconds=max(held) / 1e6 if held else math.nan,
        average_holding_seconds=_div(sum(held) / 1e6, n),
        best_day_share=max(days.values()) / net if net > 0 else math.nan,
        expected_payoff=_div(net, n),
        recovery_factor=_div(net, figures["balance_drawdown_maximal"]))
    return figures


def _div(a: float, b: float) -> float:
    """a / b as ClickHouse divides doubles: ±inf or NaN for a zero divisor."""
    if b:
        return a / b
    return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)


def _curve(steps: list[tuple[float, bool, bool]]) -> dict[str, float]:
    """Drawdowns, HPRs and the regression, from the balance after every step."""
    balance = drawdown = dd_max = dd_max_balance = dd_rel = dd_rel_money = 0.0
    below_open = -math.inf
    part_start = steps[0][0] if steps else 0.0
    hprs: list[float] = []
    points: list[float] = []
    first_in_window = True
    for index, (money, restart, trade) in enumerate(steps):
        balance += money
        before = balance - money  # as the SQL has it, from the running sum
        if restart:
            drawdown, part_start = 0.0, balance
        else:
            drawdown = max(0.0, drawdown - money)
            if first_in_window:
                points.append(before)
                first_in_window = False
        if index == 0 or drawdown > dd_max:
            dd_max, dd_max_balance = drawdown, balance
        share = _div(drawdown, drawdown + balance)
        if index == 0 or share > dd_rel or (math.isnan(dd_rel) and not math.isnan(share)):
            dd_rel, dd_rel_money = share, drawdown
        below_open = max(below_open, part_start - balance)
        if trade:
            hprs.append(_div(balance, before))
            points.append(balance)
    if not steps:
        dd_rel = math.nan
    if first_in_window:  # no deal in the window: the SQL's default point
        points.insert(0, 0.0)
    figures = {
        "balance_drawdown_absolute": max(below_open, 0.0) if steps else 0.0,
        "balance_drawdown_maximal": dd_max,
        "balance_drawdown_maximal_pct": _div(dd_max, dd_max + dd_max_balance) * 100,
        "balance_drawdown_relative": dd_rel * 100,
        "balance_drawdown_relative_money": dd_rel_money,
    }
    figures.update(_hpr(hprs))
    figures.update(_regression(points))
    return figures


def _hpr(hprs: list[float]) -> dict[str, float]:
    if not hprs:
        return dict.fromkeys(("ahpr", "ahpr_pct", "ghpr", "ghpr_pct", "sharpe_ratio"),
                             math.nan)
    n = len(hprs)
    ahpr = sum(hprs) / n
    sigma = math.sqrt(sum((h - ahpr) ** 2 for h in hprs) / n)
    logs = [math.log(h) if h > 0 else (-math.inf if h == 0 else math.nan) for h in hprs]
    ghpr = math.exp(sum(logs) / n)
    return {"ahpr": ahpr, "ahpr_pct": ahpr * 100 - 100, "ghpr": ghpr,
            "ghpr_pct": ghpr * 100 - 100, "sharpe_ratio": _div(ahpr - 1, sigma)}


def _regression(points: list[float]) -> dict[str, float]:
    """Least squares of the balance against 0..n: correlation and standard error."""
    n = len(points)
    mean_x, mean_y = (n - 1) / 2, sum(points) / n
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(points))
    sxx = sum((x - mean_x) ** 2 for x in range(n))
    syy = sum((y - mean_y) ** 2 for y in points)
    r = sxy / math.sqrt(sxx * syy) if sxx * syy > 0 else math.nan
    trades = n - 1
    error = (math.sqrt(syy / n * (1 - r * r) * (trades + 1) / (trades - 1))
             if trades > 1 and not math.isnan(r) else math.nan)
    return {"lr_correlation": r, "lr_standard_error": error}


def _trades(results: list[float], shorts: int, short_wins: int, net: float, gains: float
            ) -> dict[str, float]:
    n = len(results)
    # MetaTrader counts a trade of exactly 0.00 as a profit trade.
    wins = sum(1 for money in results if money >= 0)
    losses = n - wins
    return {
        "total_net_profit": net, "gross_profit": gains, "gross_loss": net - gains,
        "profit_factor": _div(gains, gains - net),
        "total_trades": float(n), "short_trades": float(shorts),
        "short_trades_won_pct": _div(short_wins, shorts) * 100,
        "long_trades": float(n - shorts),
        "long_trades_won_pct": _div(wins - short_wins, n - shorts) * 100,
        "profit_trades": float(wins), "profit_trades_pct": _div(wins, n) * 100,
        "loss_trades": float(losses), "loss_trades_pct": _div(losses, n) * 100,
        "largest_profit_trade": max(max(results, default=0.0), 0.0),
        "largest_loss_trade": min(min(results, default=0.0), 0.0),
        # MetaTrader divides the gross figures (entry costs in) by the numbers of trades
        "average_profit_trade": _div(gains, wins),
        "average_loss_trade": _div(net - gains, losses),
        "win_rate": _div(wins, n) * 100,
        **_z_score(wins, losses, results),
    }


def _runs_of(results: list[float]) -> list[tuple[int, float]]:
    """Runs of wins (length > 0) and losses (length < 0) with their money; a zero
    extends a run of wins and breaks a run of losses."""
    runs: list[tuple[int, float]] = []
    for money in results:
        sign = 1 if money >= 0 else -1
        if runs and (runs[-1][0] > 0) == (sign > 0):
            length, total = runs[-1]
            runs[-1] = (length + sign, total + money)
        else:
            runs.append((sign, money))
    return runs


def _runs(results: list[float]) -> dict[str, float]:
    runs = _runs_of(results)
    wins = [run for run in runs if run[0] > 0]
    losses = [run for run in runs if run[0] < 0]
    # The longest run; of runs as long, the one of the larger amount (MetaTrader).
    longest_win = max(wins, key=lambda run: run, default=(0, 0.0))
    longest_loss = min(losses, key=lambda run: run, default=(0, 0.0))
    richest = max(runs, key=lambda run: run[1], default=(0, 0.0))  # the first of equals
    poorest = min(runs, key=lambda run: run[1], default=(0, 0.0))
    return {
        "max_consecutive_wins": float(longest_win[0]),
        "max_consecutive_wins_money": longest_win[1],
        "max_consecutive_losses": float(-longest_loss[0]),
        "max_consecutive_losses_money": longest_loss[1],
        "maximal_consecutive_profit": max(richest[1], 0.0),
        "maximal_consecutive_profit_count": float(richest[0] if richest[1] > 0 else 0),
        "maximal_consecutive_loss": min(poorest[1], 0.0),
        "maximal_consecutive_loss_count": float(-poorest[0] if poorest[1] < 0 else 0),
        "average_consecutive_wins": _div(sum(run[0] for run in wins), len(wins)),
        "average_consecutive_losses": _div(-sum(run[0] for run in losses), len(losses)),
    }


def _z_score(wins: int, losses: int, results: list[float]) -> dict[str, float]:
    """The runs test: Z = (N (R - 0.5) - X) / sqrt(X (X - N) / (N - 1)), X = 2 W L; the
    probability in brackets is read off the Z as printed, at two decimals."""
    n = wins + losses
    x = 2 * wins * losses
    runs = len(_runs_of(results))
    z = _div(n * (runs - 0.5) - x, math.sqrt(_div(x * (x - n), n - 1)) if n > 1
             else math.nan)
    probability = math.erf(abs(round(z, 2)) / math.sqrt(2)) * 100 if math.isfinite(z) \
        else math.nan
    return {"z_score": z, "z_score_pct": probability}


def finish(raw: Mapping[str, Any], decimals: Mapping[str, int] = DECIMALS
           ) -> dict[str, Value]:
    """The published statistics: every key of :data:`KEYS` in order, counts as ints,
    undefined figures None (0.0 where MetaTrader prints 0.00), the rest rounded to
    ``decimals`` (a key missing from it: unrounded)."""
    statistics: dict[str, Value] = {}
    for key in KEYS:
        value = raw.get(key)
        if key in COUNTS:
            statistics[key] = int(value or 0)
        elif value is None or not math.isfinite(value):
            statistics[key] = 0.0 if key in ZERO_WHEN_EMPTY else None
        else:  # (+ 0.0: no "-0.0" for a value that rounds to zero)
            statistics[key] = _rounded(float(value), decimals.get(key))
    return statistics


def _rounded(value: float, decimals: int | None) -> float:
    return (value if decimals is None else round(value, decimals)) + 0.0
