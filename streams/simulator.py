"""``proptrade simulate``: a deterministic market and a population of prop-firm traders.

:class:`Simulator` is a pure generator: no I/O, no wall clock, no global random state.
The same seed and parameters give the same events byte for byte, so a test, a benchmark
and a live demo can share one feed. Events follow CONTRACTS.md §1: the ``symbol`` specs,
the accounts opened at the start, one quote per symbol, then quotes, deals, swaps, later
account openings and hourly ``clock`` events, in event-time order (UTC, non-decreasing,
millisecond resolution like a broker's ticks).

**Market.** A price is the exponential of a weighted sum of factors: a dollar factor plus
one factor per currency for FX (so EURJPY moves with EURUSD and USDJPY, and the engine's
conversions see consistent rates), gold and silver, equity indices sharing a regional
factor, crypto led by bitcoin, oil. Each factor has its own daily volatility, a
volatility regime (log-volatility mean-reverting over ~6 hours: clustering) and a trend
(mean-reverting over ~4 hours, ~40% of a day's variance; careful traders read it, which
is their edge, gamblers mostly fade it).
Factors advance lazily in event time, so daily volatility is right whatever the quote
rate or ``time_scale``. Spreads widen with volatility and around the 17:00 New York
rollover. FX, metals, indices and oil close from Friday to Sunday 17:00 New York; crypto
quotes every day. Quotes arrive as a Poisson stream of ``rate / time_scale`` per second
of event time, shared among the open symbols by tick weight (EURUSD and gold tick ~25
times as often as USDSEK).

**Traders.** Each account follows one program (:data:`PROGRAM_MIX`) and one behaviour
(:data:`BEHAVIOURS`), trades Monday to Friday in its own session (London, New York or
Asia hours), sizes positions from the instrument's volatility and its risk per trade, and
fills at the current quote: buys at the ask, sells at the bid, with a commission on FX
and metals and swaps at each rollover. Traders never see the engine's verdicts: a
gambler keeps gambling after a breach (the engine ignores a failed account), until the
broker's stop-out (equity below a quarter of the initial balance).
"""

from __future__ import annotations

import argparse
import bisect
import copy
import heapq
import math
import os
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

import msgspec

from streams.events import (
    Account,
    Clock,
    Deal,
    Event,
    ProgramDefinition,
    Quote,
    Swap,
    Symbol,
    from_micros,
    to_micros,
)

__all__ = [
    "BEHAVIOURS",
    "DEFAULT_START",
    "PROGRAMS",
    "PROGRAM_MIX",
    "Instrument",
    "Run",
    "Simulator",
    "TraderProfile",
    "add_arguments",
    "instruments",
    "main",
    "paced",
]

DEFAULT_START: Final = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, London open

_US: Final = 1_000_000
_MINUTE: Final = 60 * _US
_HOUR: Final = 60 * _MINUTE
_DAY: Final = 24 * _HOUR
_NEW_YORK: Final = ZoneInfo("America/New_York")

# ---------------------------------------------------------------------------- programs

PROGRAMS: Final[list[dict[str, Any]]] = [
    {"id": "ftmo-2step-100k-p1", "currency": "USD", "initial_balance": 100000,
     "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
     "rules": {"daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10, "mode": "static"},
               "profit_target": {"target": 0.10}, "min_trading_days": {"days": 4}}},
    {"id": "ftmo-2step-100k-p2", "currency": "USD", "initial_balance": 100000,
     "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
     "rules": {"daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10, "mode": "static"},
               "profit_target": {"target": 0.05}, "min_trading_days": {"days": 4}}},
    {"id": "ftmo-2step-10k-p1", "currency": "USD", "initial_balance": 10000,
     "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
     "rules": {"daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10, "mode": "static"},
               "profit_target": {"target": 0.10}, "min_trading_days": {"days": 4}}},
    {"id": "ftmo-1step-100k", "currency": "USD", "initial_balance": 100000,
     "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
     "rules": {"daily_loss": {"limit": 0.03},
               "max_loss": {"limit": 0.10, "mode": "trailing_eod_balance"},
               "profit_target": {"target": 0.10},
               "consistency": {"max_best_day_share": 0.5}}},
    {"id": "fxify-1phase-50k", "currency": "USD", "initial_balance": 50000,
     "day": {"timezone": "America/New_York", "starts_at": "17:00"},
     "rules": {"daily_loss": {"limit": 0.03},
               "max_loss": {"limit": 0.06, "mode": "trailing_equity", "lock_at": 0},
               "profit_target": {"target": 0.10}, "max_exposure": {"lots": 50}}},
    {"id": "topstep-50k", "currency": "USD", "initial_balance": 50000,
     "day": {"timezone": "America/Chicago", "starts_at": "17:00"},
     "rules": {"daily_loss": {"amount": 1000, "reference": "intraday_peak_equity",
                              "action": "pause"},
               "max_loss": {"amount": 2000, "mode": "trailing_eod_balance", "lock_at": 0},
               "profit_target": {"target": 0.06}}},
    {"id": "eur-2step-100k", "currency": "EUR", "initial_balance": 100000,
     "rules": {"daily_loss": {"limit": 0.05, "reference": "day_start_max"},
               "max_loss": {"limit": 0.10, "mode": "trailing_balance"},
               "profit_target": {"target": 0.08},
               "min_trading_days": {"days": 3, "count": "profitable_day",
                                    "min_day_profit": 0.005}}},
    {"id": "ftmo-funded-100k", "currency": "USD", "initial_balance": 100000,
     "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
     "rules": {"daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10, "mode": "static"},
               "inactivity": {"days": 30}}},
]

# Share of accounts per program: first phases sell most, few reach funding.
PROGRAM_MIX: Final[dict[str, int]] = {
    "ftmo-2step-100k-p1": 22, "ftmo-2step-100k-p2": 9, "ftmo-2step-10k-p1": 12,
    "ftmo-1step-100k": 15, "fxify-1phase-50k": 13, "topstep-50k": 12, "eur-2step-100k": 10,
    "ftmo-funded-100k": 7,
}

Behaviour = Literal["careful", "scalper", "swing", "gambler"]

# Share of accounts per behaviour. careful: small risk, trades with the trend, takes
# profits, flattens before the end of its session: some pass. scalper: many trades of
# minutes with small targets, pays spread and commission: bleeds slowly. swing: a trade a
# day or two, held for days with wide stops, pyramids winners. gambler: a martingale grid
# that doubles the volume at each adverse step and never stops out: breaches.
BEHAVIOURS: Final[dict[Behaviour, int]] = {"careful": 30, "scalper": 25, "swing": 25,
                                           "gambler": 20}

# ---------------------------------------------------------------------------- instruments

Kind = Literal["fx", "metal", "index", "crypto", "energy"]


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol: its contract and the parameters of its price process."""

    name: str
    kind: Kind
    contract_size: float
    profit_currency: str
    base_currency: str | None  # FX only: the pair is base/profit
    mid: float  # opening mid price
    digits: int  # price decimals: a point is 10**-digits
    spread: float  # typical spread in price units
    ticks: float  # relative quote frequency
    popularity: float  # how often traders pick it
    loadings: tuple[tuple[str, float], ...]  # log price = Σ weight × factor, largest first
    swap_long: float  # yearly financing rate of a long position (negative: paid)
    swap_short: float

    def symbol(self) -> Symbol:
        return Symbol(symbol=self.name, contract_size=float(self.contract_size),
                      profit_currency=self.profit_currency)


# Currency: (USD value of one unit, policy rate, loading on the dollar factor, daily
# volatility of its own factor). EURUSD = sqrt(0.4² + 0.2²) ≈ 0.45%/day, EURGBP ≈ 0.4%.
_CURRENCIES: Final[dict[str, tuple[float, float, float, float]]] = {
    "USD": (1.0, 0.0525, 0.0, 0.0), "EUR": (1.085, 0.040, 1.0, 0.0020),
    "GBP": (1.27, 0.0525, 0.9, 0.0035), "JPY": (1 / 151.2, 0.001, 0.8, 0.0045),
    "CHF": (1 / 0.88, 0.015, 0.95, 0.0030), "CAD": (1 / 1.36, 0.050, 0.6, 0.0030),
    "AUD": (0.66, 0.0435, 1.0, 0.0045), "NZD": (0.61, 0.055, 1.0, 0.0045),
    "SGD": (1 / 1.34, 0.036, 0.5, 0.0015), "MXN": (1 / 17.1, 0.11, 0.4, 0.0080),
    "ZAR": (1 / 18.6, 0.0825, 0.6, 0.0090), "NOK": (1 / 10.6, 0.045, 0.9, 0.0055),
    "SEK": (1 / 10.4, 0.040, 0.9, 0.0050),
}
_DOLLAR = "DXY"  # the dollar factor: up means every other currency is dearer in USD

# Daily volatility of the non-currency factors.
_FACTOR_VOLS: Final[dict[str, float]] = {
    _DOLLAR: 0.0040, "GOLD": 0.010, "SILVER": 0.012, "USEQ": 0.009, "DOW": 0.003,
    "NASDAQ": 0.006, "EUEQ": 0.009, "DAX": 0.003, "CAC": 0.003, "FTSE": 0.004,
    "JPEQ": 0.012, "AUEQ": 0.008, "BTC": 0.028, "ETH": 0.015, "LTC": 0.020, "OIL": 0.018,
    "BRENT": 0.004,
}
_FINANCING_MARKUP = 0.01  # the broker's yearly markup on each side of a swap
_CRYPTO_FINANCING = -0.20  # crypto CFDs pay ~20% a year on either side


def _fx(pair: str, digits: int, spread_points: float, ticks: float,
        popularity: float) -> Instrument:
    base, quote = pair[:3], pair[3:]
    base_usd, base_rate, base_beta, _ = _CURRENCIES[base]
    quote_usd, quote_rate, quote_beta, _ = _CURRENCIES[quote]
    weights = {_DOLLAR: base_beta - quote_beta, base: 1.0, quote: -1.0}
    loadings = tuple(sorted(((name, w) for name, w in weights.items()
                             if w and name != "USD"), key=lambda item: -abs(item[1])))
    return Instrument(
        name=pair, kind="fx", contract_size=100_000.0, profit_currency=quote,
        base_currency=base, mid=round(base_usd / quote_usd, digits), digits=digits,
        spread=spread_points * 10.0**-digits, ticks=ticks, popularity=popularity,
        loadings=loadings,
        swap_long=base_rate - quote_rate - _FINANCING_MARKUP,
        swap_short=quote_rate - base_rate - _FINANCING_MARKUP)


def _cfd(name: str, kind: Kind, contract_size: float, currency: str, mid: float,
         digits: int, spread: float, ticks: float, popularity: float,
         loadings: tuple[tuple[str, float], ...]) -> Instrument:
    rate = _CURRENCIES[currency][1]
    if kind == "crypto":
        long, short = _CRYPTO_FINANCING, _CRYPTO_FINANCING
    else:  # financed like a cash CFD: the policy rate plus 2.5% a year
        long, short = -(rate + 0.025), rate - 0.025
    return Instrument(
        name=name, kind=kind, contract_size=contract_size, profit_currency=currency,
        base_currency=None, mid=mid, digits=digits, spread=spread, ticks=ticks,
        popularity=popularity, loadings=loadings, swap_long=long, swap_short=short)


# The 50 instruments, most traded first: a smaller `symbols` keeps the head of the list,
# which always holds EURUSD (every EUR account can convert its USD profits) and the USD
# majors that convert the indices' profit currencies.
_INSTRUMENTS: Final[tuple[Instrument, ...]] = (
    _fx("EURUSD", 5, 6, 10, 10), _fx("USDJPY", 3, 9, 8, 6), _fx("GBPUSD", 5, 9, 7, 6),
    _cfd("XAUUSD", "metal", 100, "USD", 2350.0, 2, 0.20, 12, 9, (("GOLD", 1.0),)),
    _cfd("NAS100", "index", 1, "USD", 18300.0, 2, 1.5, 8, 6,
         (("USEQ", 1.1), ("NASDAQ", 1.0))),
    _cfd("US30", "index", 1, "USD", 39000.0, 1, 2.0, 6, 4, (("DOW", 1.0), ("USEQ", 0.9))),
    _cfd("BTCUSD", "crypto", 1, "USD", 64000.0, 2, 20.0, 6, 4, (("BTC", 1.0),)),
    _cfd("GER40", "index", 1, "EUR", 18100.0, 1, 1.5, 5, 3, (("EUEQ", 1.0), ("DAX", 1.0))),
    _fx("USDCHF", 5, 12, 4, 2), _fx("USDCAD", 5, 12, 4, 2), _fx("AUDUSD", 5, 9, 5, 3),
    _fx("NZDUSD", 5, 14, 3, 1.5), _fx("EURJPY", 3, 15, 4, 2), _fx("GBPJPY", 3, 22, 4, 3),
    _fx("EURGBP", 5, 10, 3, 1),
    _cfd("US500", "index", 1, "USD", 5200.0, 2, 0.5, 6, 3, (("USEQ", 1.0),)),
    _cfd("XAGUSD", "metal", 5000, "USD", 28.5, 3, 0.025, 3, 1,
         (("SILVER", 1.0), ("GOLD", 0.9))),
    _cfd("ETHUSD", "crypto", 1, "USD", 3100.0, 2, 2.0, 4, 2, (("ETH", 1.0), ("BTC", 0.9))),
    _cfd("XTIUSD", "energy", 1000, "USD", 78.0, 3, 0.03, 3, 1.5, (("OIL", 1.0),)),
    _cfd("UK100", "index", 1, "GBP", 8100.0, 1, 1.0, 3, 1, (("FTSE", 1.0), ("EUEQ", 0.7))),
    _cfd("JP225", "index", 100, "JPY", 38500.0, 1, 10.0, 3, 1, (("JPEQ", 1.0),)),
    _fx("EURCHF", 5, 14, 2, 0.5), _fx("AUDJPY", 3, 15, 2, 1), _fx("EURAUD", 5, 18, 1.5, 0.5),
    _fx("EURCAD", 5, 20, 1.5, 0.5), _fx("GBPCHF", 5, 25, 1, 0.4), _fx("GBPAUD", 5, 25, 1, 0.4),
    _fx("CADJPY", 3, 20, 1.5, 0.5), _fx("CHFJPY", 3, 25, 1, 0.3), _fx("AUDCAD", 5, 20, 1, 0.3),
    _fx("AUDNZD", 5, 20, 1, 0.3), _fx("NZDJPY", 3, 20, 1, 0.3), _fx("EURNZD", 5, 30, 0.8, 0.2),
    _fx("GBPCAD", 5, 30, 0.8, 0.3), _fx("AUDCHF", 5, 20, 0.8, 0.2),
    _fx("CADCHF", 5, 25, 0.6, 0.1), _fx("GBPNZD", 5, 40, 0.6, 0.2),
    _fx("NZDCAD", 5, 30, 0.5, 0.1), _fx("NZDCHF", 5, 30, 0.5, 0.1),
    _cfd("FRA40", "index", 1, "EUR", 8000.0, 1, 1.2, 2, 0.5, (("EUEQ", 1.0), ("CAC", 1.0))),
    _cfd("AUS200", "index", 1, "AUD", 7700.0, 1, 1.0, 2, 0.5, (("AUEQ", 1.0),)),
    _cfd("XBRUSD", "energy", 1000, "USD", 82.0, 3, 0.03, 2, 0.8,
         (("OIL", 1.0), ("BRENT", 1.0))),
    _cfd("LTCUSD", "crypto", 1, "USD", 85.0, 2, 0.15, 1, 0.3, (("BTC", 0.8), ("LTC", 1.0))),
    _fx("USDSGD", 5, 30, 0.5, 0.1), _fx("USDMXN", 5, 400, 0.8, 0.2),
    _fx("USDZAR", 5, 1200, 0.6, 0.1), _fx("USDNOK", 5, 400, 0.5, 0.1),
    _fx("USDSEK", 5, 400, 0.4, 0.1), _fx("EURNOK", 5, 500, 0.4, 0.1),
    _fx("EURSEK", 5, 500, 0.4, 0.1),
)


def instruments(count: int = 50) -> list[Instrument]:
    """The first ``count`` instruments; beyond the 50 real ones, synthetic USD FX-likes
    (``SYN050USD``…) with their own factor, for benchmarks that want more symbols."""
    chosen = list(_INSTRUMENTS[:count])
    for i in range(len(chosen), count):
        mid = 1.0 + i / 100
        chosen.append(Instrument(
            name=f"SYN{i:03d}USD", kind="fx", contract_size=100_000.0, profit_currency="USD",
            base_currency=None, mid=mid, digits=5, spread=mid * 0.00004, ticks=0.5,
            popularity=0.05, loadings=((f"SYN{i:03d}", 1.0),), swap_long=-0.01,
            swap_short=-0.01))
    return chosen


def _factor_vol(name: str) -> float:
    if name in _CURRENCIES:
        return _CURRENCIES[name][3]
    return _FACTOR_VOLS.get(name, 0.005)  # synthetic instruments: 0.5% a day


# ---------------------------------------------------------------------------- market

_REGIME_DAYS = 0.25  # volatility regimes mean-revert over ~6 hours
_REGIME_SD = 0.45  # sd of log-volatility: a calm hour has ~half, a busy one ~twice the vol
_TREND_DAYS = 1 / 6  # trends mean-revert over ~4 hours
_TREND_SD = 1.2  # sd of a trend, in daily volatilities per day
# Share of a day's variance that trends explain (variance of an integrated
# Ornstein-Uhlenbeck drift over one day: 2 sd² τ² (1/τ − 1 + e^(−1/τ)) ≈ 0.40); the
# random part is scaled down by the rest, so a day's volatility stays the nominal one.
_TREND_SHARE = 2 * _TREND_SD**2 * _TREND_DAYS**2 * (
    1 / _TREND_DAYS - 1 + math.exp(-1 / _TREND_DAYS))
_DIFFUSION = math.sqrt(1 - _TREND_SHARE)
_LEVERAGE: Final[dict[Kind, float]] = {"fx": 100.0, "metal": 30.0, "index": 20.0,
                                      "energy": 10.0, "crypto": 2.0}


class _Market:
    """The prices: factors advanced lazily in event time, last bid and ask per symbol."""

    def __init__(self, chosen: list[Instrument], rng: random.Random, start: int) -> None:
        self.instruments = chosen
        self.rng = rng
        names = sorted({name for inst in chosen for name, _ in inst.loadings})
        index = {name: i for i, name in enumerate(names)}
        self.vol = [_factor_vol(name) for name in names]
        self.level = [0.0] * len(names)
        # Start in a random regime and trend, as if the market had been running.
        self.regime = [rng.gauss(0.0, _REGIME_SD) for _ in names]
        self.trend = [rng.gauss(0.0, _TREND_SD * v) for v in self.vol]
        self.updated = [start / _DAY] * len(names)
        self.loadings = [[(index[name], w) for name, w in inst.loadings] for inst in chosen]
        self.daily_vol = [math.sqrt(sum((w * self.vol[f]) ** 2 for f, w in loads))
                          for loads in self.loadings]
        self.bid = [0.0] * len(chosen)
        self.ask = [0.0] * len(chosen)
        self.conversions: dict[tuple[str, str], tuple[int, bool] | None] = {}

    def quote(self, sid: int, now: int, wide: bool) -> tuple[float, float]:
        """Advance the symbol's factors to ``now`` and return its new bid and ask."""
        inst = self.instruments[sid]
        day = now / _DAY
        log_price = 0.0
        for f, weight in self.loadings[sid]:
            self._advance(f, day)
            log_price += weight * self.level[f]
        mid = inst.mid * math.exp(log_price)
        # The spread follows the volatility regime of the main factor, tripled around the
        # rollover when liquidity providers widen.
        busy = math.exp(self.regime[self.loadings[sid][0][0]])
        spread = inst.spread * (0.5 + 0.5 * busy) * (3.0 if wide else 1.0)
        point = 10.0**-inst.digits
        points = max(1, round(spread / point))
        low = max(1, math.floor(mid / point - points / 2 + 0.5))
        bid = round(low * point, inst.digits)
        ask = round((low + points) * point, inst.digits)
        self.bid[sid], self.ask[sid] = bid, ask
        return bid, ask

    def _advance(self, f: int, day: float) -> None:
        dt = day - self.updated[f]
        if dt <= 0.0:
            return
        self.updated[f] = day
        gauss = self.rng.gauss
        vol = self.vol[f]
        regime, trend = self.regime[f], self.trend[f]
        # Exact steps of the two Ornstein-Uhlenbeck processes; the level moves with the
        # regime and trend in force at the start of the step. exp(h - sd²) keeps the mean
        # variance at vol² (E[exp(2h)] = exp(2 sd²)).
        decay = math.exp(-dt / _TREND_DAYS)
        noise = _DIFFUSION * vol * math.exp(regime - _REGIME_SD**2) * math.sqrt(dt)
        self.level[f] += trend * _TREND_DAYS * (1.0 - decay) + noise * gauss()
        self.trend[f] = trend * decay + _TREND_SD * vol * math.sqrt(1 - decay * decay) * gauss()
        keep = math.exp(-dt / _REGIME_DAYS)
        self.regime[f] = regime * keep + _REGIME_SD * math.sqrt(1 - keep * keep) * gauss()

    def freeze(self, sids: Iterable[int], day: float) -> None:
        """Restart the clock of these symbols' factors (markets reopening after a weekend
        do not gap by two days of volatility)."""
        for sid in sids:
            for f, _ in self.loadings[sid]:
                self.updated[f] = max(self.updated[f], day)

    def drift(self, sid: int) -> float:
        """The symbol's current trend (log price per day): what a careful trader reads."""
        return sum(w * self.trend[f] for f, w in self.loadings[sid])

    def move(self, sid: int, days: float) -> float:
        """One standard deviation of the symbol's price over ``days``, in price units."""
        return self.bid[sid] * self.daily_vol[sid] * math.sqrt(days)

    def rate(self, currency: str, account_currency: str) -> float | None:
        """``currency`` → ``account_currency`` at the mid of the pair joining them (direct
        or inverted), the way the engine converts; None when no symbol joins them."""
        if currency == account_currency:
            return 1.0
        key = (currency, account_currency)
        if key not in self.conversions:
            self.conversions[key] = None
            for sid, inst in enumerate(self.instruments):
                pair = (inst.base_currency, inst.profit_currency)
                if pair in (key, (account_currency, currency)):
                    self.conversions[key] = (sid, pair[0] == account_currency)
                    break
        found = self.conversions[key]
        if found is None:
            return None
        sid, invert = found
        mid = (self.bid[sid] + self.ask[sid]) / 2.0
        return 1.0 / mid if invert else mid


def _ny_at(day: datetime, hour: int) -> int:
    return to_micros(datetime(day.year, day.month, day.day, hour, tzinfo=_NEW_YORK))


def _next_ny_five_pm(now: int, weekdays: tuple[int, ...]) -> int:
    """The first 17:00 New York strictly after ``now`` on one of ``weekdays`` (Mon = 0)."""
    local = from_micros(now).astimezone(_NEW_YORK)
    for ahead in range(9):
        day = local + timedelta(days=ahead)
        at = _ny_at(day, 17)
        if at > now and day.weekday() in weekdays:
            return at
    raise AssertionError("unreachable: every week has these weekdays")


def _markets_open(now: int) -> bool:
    """FX, metals, indices and oil trade from Sunday to Friday 17:00 New York."""
    local = from_micros(now).astimezone(_NEW_YORK)
    weekday, hour = local.weekday(), local.hour
    return not (weekday == 5 or (weekday == 4 and hour >= 17) or (weekday == 6 and hour < 17))


# ---------------------------------------------------------------------------- traders


@dataclass(frozen=True, slots=True)
class TraderProfile:
    """Who trades an account: its program, behaviour, hours, risk and favourite symbols."""

    account: str
    program: str
    behaviour: Behaviour
    opens_at: int  # µs since the epoch
    session_start: int  # µs after 00:00 UTC
    session_length: int  # µs
    risk: float  # fraction of the initial balance risked per trade (gambler: per grid step)
    skill: float  # probability of trading in the direction of the trend
    works: float  # probability of trading on a given weekday
    favourites: tuple[int, ...]  # instrument indexes


# Per behaviour: session hours (min, max), risk per trade (min, max), skill (min, max),
# and how much it prefers each kind of instrument over the instruments' popularity.
_STYLE: Final[dict[Behaviour, tuple[tuple[float, float], tuple[float, float],
                                    tuple[float, float], dict[Kind, float]]]] = {
    "careful": ((4.0, 8.0), (0.006, 0.012), (0.75, 0.95),
                {"fx": 2.0, "metal": 1.0, "index": 1.0, "energy": 0.5, "crypto": 0.2}),
    "scalper": ((2.0, 5.0), (0.002, 0.006), (0.50, 0.50),
                {"fx": 1.0, "metal": 2.0, "index": 2.0, "energy": 0.5, "crypto": 0.5}),
    "swing": ((1.0, 2.0), (0.005, 0.012), (0.55, 0.60),
              {"fx": 1.0, "metal": 1.0, "index": 1.0, "energy": 1.0, "crypto": 1.0}),
    "gambler": ((6.0, 10.0), (0.010, 0.020), (0.20, 0.35),
                {"fx": 0.5, "metal": 3.0, "index": 3.0, "energy": 1.0, "crypto": 3.0}),
}
# Session opening hours (UTC) by region: London, New York, Asia.
_SESSIONS: Final = ((0.45, 6.5, 9.0), (0.35, 12.5, 14.5), (0.20, 0.0, 2.0))


@dataclass(slots=True)
class _Position:
    id: int
    sid: int
    buy: bool
    volume: float
    open_price: float
    opened: int  # µs
    distance: float  # the trader's risk unit in price (stop distance, grid step)
    stop: float = 0.0  # exit price on a loss (0: none)
    target: float = 0.0  # exit price on a gain (0: none)
    scaled: bool = False  # partial taken (careful) or added to (swing)
    swap: float = 0.0  # accrued, realised on close


@dataclass(slots=True)
class _Trader:
    profile: TraderProfile
    currency: str
    initial: float
    target: float | None  # profit target, fraction of the initial balance
    min_days: int
    balance: float
    positions: dict[int, _Position] = field(default_factory=dict)
    day: int = -1  # session day (days since the epoch of the session's start)
    works_today: bool = False
    day_start_equity: float = 0.0
    trades_today: int = 0
    days_traded: int = 0
    done: bool = False  # stopped for good (target and days reached, or stopped out)
    disabled: bool = False  # the platform disabled the account: no more events for it


# ---------------------------------------------------------------------------- simulator


class Simulator:
    """A deterministic market and trader population, as feed events.

    :param seed: the same seed (and parameters) gives the same events
    :param accounts: number of trader accounts; they open over the first ``opening_days``
    :param symbols: instruments (50 real ones; more are synthetic)
    :param start: event time of the first event (aware)
    :param rate: quotes per second of wall time when paced (see :func:`paced`)
    :param time_scale: event seconds per wall second; event time between quotes is
        ``time_scale / rate`` on average, so a large scale covers days in few events
    :param opening_days: accounts open over this many days; 35% open at ``start``
    """

    def __init__(self, seed: int, accounts: int, symbols: int = 50,
                 start: datetime = DEFAULT_START, *, rate: float = 1000.0,
                 time_scale: float = 1.0, opening_days: float = 1.0) -> None:
        if accounts < 0 or symbols < 1:
            raise ValueError("accounts must be ≥ 0 and symbols ≥ 1")
        if rate <= 0 or time_scale <= 0 or opening_days < 0:
            raise ValueError("rate and time_scale must be > 0, opening_days ≥ 0")
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.seed = seed
        self.start = to_micros(start)
        self.rate = rate
        self.time_scale = time_scale
        self.instruments = instruments(symbols)
        self._programs = {doc["id"]: doc for doc in PROGRAMS}
        self._program_ids, self._program_weights = list(PROGRAM_MIX), list(PROGRAM_MIX.values())
        self._behaviours, self._behaviour_weights = list(BEHAVIOURS), list(BEHAVIOURS.values())
        self._menus: dict[tuple[str, Behaviour], tuple[list[int], list[float]]] = {}
        self._id_width = max(6, len(str(accounts)))
        rng = random.Random(f"proptrade-simulator:{seed}:population")
        self.profiles = [self._profile(rng, i, accounts, opening_days)
                         for i in range(accounts)]
        # Accounts the platform opens while the feed runs (the demo broker's clients).
        self.inbox: deque[tuple[str, dict[str, Any] | None, float | None]] = deque()
        # Told of each request that took effect, at the step it did (the demo broker's
        # journal); not part of the state a snapshot keeps.
        self.on_command: Callable[[int, str, dict[str, Any] | None, float | None], None] | None
        self.on_command = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["on_command"] = None
        state["inbox"] = deque()  # requests not taken yet are the broker's to deliver again
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def adopt(self, login: str, document: dict[str, Any], balance: float | None = None
              ) -> None:
        """Open ``login`` on the program ``document`` (at ``balance``, default the
        program's initial balance) at the feed's next event and give it a trader
        (behaviour drawn like the others'); its ``program`` and ``account`` events come
        out in the feed. The program is published as given: an account opening at another
        balance (an override's replacement) says so in its ``account`` event, and the
        program stays the same for every other account."""
        self.inbox.append((login, document, balance))

    def disable(self, login: str) -> None:
        """Stop trading ``login`` (the platform failed or stopped it)."""
        self.inbox.append((login, None, None))

    def programs(self) -> list[dict[str, Any]]:
        """The program documents the accounts use (valid for ``parse_program``)."""
        return copy.deepcopy(PROGRAMS)

    def symbols(self) -> list[Symbol]:
        return [inst.symbol() for inst in self.instruments]

    def events(self) -> Iterator[Event]:
        """The feed, from the start; endless (take what you need with ``islice``)."""
        return Run(self).events()

    def run(self) -> Run:
        """A run of the feed driven step by step (:meth:`Run.begin`, :meth:`Run.step`),
        which can be pickled between steps and continued."""
        return Run(self)

    def _profile(self, rng: random.Random, i: int, accounts: int,
                 opening_days: float) -> TraderProfile:
        program = rng.choices(self._program_ids, self._program_weights)[0]
        behaviour = rng.choices(self._behaviours, self._behaviour_weights)[0]
        hours, risk, skill, _ = _STYLE[behaviour]
        opens_at = self.start
        if rng.random() >= 0.35:
            opens_at += int(rng.uniform(0.0, opening_days) * _DAY)
        _, earliest, latest = rng.choices(_SESSIONS, [w for w, _, _ in _SESSIONS])[0]
        tradable, weights = self._menu(self._programs[program]["currency"], behaviour)
        count = min(len(tradable), rng.randint(1, 4))
        favourites: list[int] = []
        while len(favourites) < count:  # distinct picks, by weight
            sid = rng.choices(tradable, weights)[0]
            if sid not in favourites:
                favourites.append(sid)
        return TraderProfile(
            account=f"A{i + 1:0{self._id_width}d}", program=program, behaviour=behaviour,
            opens_at=opens_at, session_start=int(rng.uniform(earliest, latest) * _HOUR),
            session_length=int(rng.uniform(*hours) * _HOUR), risk=rng.uniform(*risk),
            skill=rng.uniform(*skill), works=rng.uniform(0.6, 0.95),
            favourites=tuple(favourites))

    def _menu(self, currency: str, behaviour: Behaviour) -> tuple[list[int], list[float]]:
        """The symbols an account in ``currency`` can trade (the engine can convert their
        profits), weighted by popularity and the behaviour's taste; cached."""
        key = (currency, behaviour)
        if key not in self._menus:
            taste = _STYLE[behaviour][3]
            tradable = [sid for sid, inst in enumerate(self.instruments)
                        if _convertible(self.instruments, inst.profit_currency, currency)]
            self._menus[key] = (tradable, [self.instruments[sid].popularity
                                           * taste[self.instruments[sid].kind]
                                           for sid in tradable])
        return self._menus[key]


def _convertible(chosen: list[Instrument], currency: str, account_currency: str) -> bool:
    joining = {(currency, account_currency), (account_currency, currency)}
    return currency == account_currency or any(
        (inst.base_currency, inst.profit_currency) in joining for inst in chosen)


# Heap entry kinds; at one instant, market hours and rollovers come first, then clocks,
# account openings, quotes, and last the traders, who act on the freshest prices.
_MARKET, _ROLLOVER, _CLOCK, _OPENING, _QUOTE, _WAKE = range(6)
_HANDLERS: Final = ("_on_market_hours", "_on_rollover", "_on_clock", "_on_opening", "_on_quote",
                    "_on_wake")
_COMMISSION_USD = 2.5  # per lot and side, FX and metals (indices, oil, crypto: none)
_MAX_LOTS = 50.0  # the broker's largest single order
_LOT = 0.01


class Run:
    """One pass of the simulation: the market, the traders' books and the event queue."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.now = sim.start
        self.market = _Market(sim.instruments, random.Random(
            f"proptrade-simulator:{sim.seed}:market"), sim.start)
        # Two random streams: the market's never serves the traders, so the same seed
        # gives the same prices whatever the number of accounts.
        self.rng = random.Random(f"proptrade-simulator:{sim.seed}:traders")
        self.traders: list[_Trader] = []
        for profile in sim.profiles:
            doc = sim._programs[profile.program]
            rules = doc["rules"]
            self.traders.append(_Trader(
                profile=profile, currency=doc["currency"], initial=float(doc["initial_balance"]),
                target=rules.get("profit_target", {}).get("target"),
                min_days=rules.get("min_trading_days", {}).get("days", 0),
                balance=float(doc["initial_balance"])))
        self.logins = {profile.account for profile in sim.profiles}
        self.heap: list[tuple[int, int, int, int]] = []
        self.seq = 0
        self.out: list[Event] = []
        self.next_ticket = 1
        self.crypto = [sid for sid, inst in enumerate(sim.instruments) if inst.kind == "crypto"]
        self.open = [True] * len(sim.instruments)
        self.generation = 0  # of the quote stream, renewed when market hours change
        self.rollover = (0, 0)  # (last, next) 17:00 New York, for the spreads
        self._cumulative: list[float] = []
        self._open_sids: list[int] = []
        self._all_ticks = sum(inst.ticks for inst in sim.instruments)
        self.begun = False
        self.steps = 0  # heap entries handled so far (where a request took effect)
        # Requests to replay at a step (a restarted demo broker's journal): step → requests.
        self.scheduled: dict[int, list[tuple[str, dict[str, Any] | None, float | None]]] = {}

    # ------------------------------------------------------------------ event loop

    def events(self) -> Iterator[Event]:
        yield from self.begin()
        while self.heap:
            yield from self.step()

    def advance(self) -> list[Event]:
        """The next events: :meth:`begin`'s the first time, then a :meth:`step`'s."""
        return self.step() if self.begun else self.begin()

    def begin(self) -> list[Event]:
        """The feed's opening events (symbols, the first accounts, a quote per symbol);
        then :meth:`step` gives the rest."""
        sim, start = self.sim, self.sim.start
        self.begun = True
        opening: list[Event] = [*sim.symbols()]
        self._set_hours(_markets_open(start))
        for i, trader in enumerate(self.traders):
            if trader.profile.opens_at == start:
                opening.append(self._open_account(i))
        for sid in range(len(sim.instruments)):
            opening.append(self._quote(sid))
        self._push(_next_ny_five_pm(start, (4, 6)), _MARKET, 0)
        self.rollover = (0, _next_ny_five_pm(start, tuple(range(7))))
        self._push(self.rollover[1], _ROLLOVER, 0)
        self._push((start // _HOUR + 1) * _HOUR, _CLOCK, 0)
        self._schedule_quote()
        for i, trader in enumerate(self.traders):
            if trader.profile.opens_at > start:
                self._push(trader.profile.opens_at, _OPENING, i)
        return opening

    def step(self) -> list[Event]:
        """The events of the next instant the simulation handles (often one quote, or
        nothing); the platform's requests waiting in the inbox take effect right after it.
        Between two steps the run is whole: it can be pickled and continued."""
        self.now, kind, _, index = heapq.heappop(self.heap)
        self.steps += 1
        getattr(self, _HANDLERS[kind])(index)
        for command in self.scheduled.pop(self.steps, ()):
            self._take(*command)
        inbox = self.sim.inbox
        while inbox:
            login, document, balance = inbox.popleft()
            if self._take(login, document, balance) and self.sim.on_command is not None:
                self.sim.on_command(self.steps, login, document, balance)
        out = self.out
        self.out = []
        return out

    def _push(self, at: int, kind: int, index: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, kind, self.seq, index))

    def _ts(self) -> datetime:
        return from_micros(self.now - self.now % 1000)  # a broker's millisecond stamp

    def _set_hours(self, all_open: bool) -> None:
        count = len(self.sim.instruments)
        self.open = [all_open or sid in self.crypto for sid in range(count)]
        self._open_sids = [sid for sid in range(count) if self.open[sid]]
        total, self._cumulative = 0.0, []
        for sid in self._open_sids:
            total += self.sim.instruments[sid].ticks
            self._cumulative.append(total)

    def _schedule_quote(self) -> None:
        """Next quote of the Poisson stream over the open symbols (memoryless, so a
        change of market hours simply starts a new stream)."""
        if not self._open_sids:
            return
        share = self._cumulative[-1] / self._all_ticks
        per_us = self.sim.rate / self.sim.time_scale / _US * share
        gap = self.market.rng.expovariate(per_us)  # the market's own stream: see __init__
        self._push(self.now + int(gap), _QUOTE, self.generation)

    def _on_quote(self, generation: int) -> None:
        if generation != self.generation:
            return  # a quote drawn before the market hours changed
        draw = self.market.rng.random() * self._cumulative[-1]
        pick = bisect.bisect_right(self._cumulative, draw)
        self.out.append(self._quote(self._open_sids[min(pick, len(self._open_sids) - 1)]))
        self._schedule_quote()

    def _quote(self, sid: int) -> Quote:
        last, upcoming = self.rollover
        wide = (self.sim.instruments[sid].kind != "crypto"
                and (self.now < last + _HOUR or self.now >= upcoming - 5 * _MINUTE))
        bid, ask = self.market.quote(sid, self.now, wide)
        return Quote(ts=self._ts(), symbol=self.sim.instruments[sid].name, bid=bid, ask=ask)

    def _on_market_hours(self, _: int) -> None:
        opening = _markets_open(self.now)
        if opening:
            self.market.freeze(range(len(self.sim.instruments)), self.now / _DAY)
        self._set_hours(opening)
        self.generation += 1
        self._schedule_quote()
        self._push(_next_ny_five_pm(self.now, (4, 6)), _MARKET, 0)

    def _on_clock(self, _: int) -> None:
        self.out.append(Clock(ts=self._ts()))
        self._push(self.now + _HOUR, _CLOCK, 0)

    def _take(self, login: str, document: dict[str, Any] | None,
              balance: float | None) -> bool:
        """An account from :meth:`Simulator.adopt` (or ``None``: stop trading one).
        Idempotent, as a broker is: opening a login that exists (disabled or not), or
        disabling one that is unknown or already disabled, changes nothing (False)."""
        sim = self.sim
        if document is None:
            changed = False
            for trader in self.traders:
                if trader.profile.account == login and not trader.disabled:
                    trader.disabled = changed = True
            return changed
        if login in self.logins:
            return False
        program = str(document["id"])
        sim._programs[program] = document
        self.out.append(ProgramDefinition(document=document))
        # Someone trying the platform watches the account they bought: it gets an active
        # trader (a careful one or a scalper, at the usual sessions), not a swing trader
        # who may wait days between trades.
        behaviour: Behaviour = self.rng.choice(("careful", "scalper"))
        hours, risk, skill, _ = _STYLE[behaviour]
        tradable, weights = sim._menu(document.get("currency", "USD"), behaviour)
        favourites = tuple(dict.fromkeys(self.rng.choices(tradable, weights, k=3)))
        _, earliest, latest = self.rng.choices(_SESSIONS, [w for w, _, _ in _SESSIONS])[0]
        profile = TraderProfile(
            account=login, program=program, behaviour=behaviour, opens_at=self.now,
            session_start=int(self.rng.uniform(earliest, latest) * _HOUR),
            session_length=int(self.rng.uniform(*hours) * _HOUR), risk=self.rng.uniform(*risk),
            skill=self.rng.uniform(*skill), works=0.95, favourites=favourites)
        rules = document.get("rules", {})
        self.traders.append(_Trader(
            profile=profile, currency=document.get("currency", "USD"),
            initial=float(document["initial_balance"]),
            target=rules.get("profit_target", {}).get("target"),
            min_days=rules.get("min_trading_days", {}).get("days", 0),
            balance=float(document["initial_balance"]) if balance is None else balance))
        self.logins.add(login)
        self.out.append(self._open_account(len(self.traders) - 1, balance))
        return True

    def _on_opening(self, i: int) -> None:
        self.out.append(self._open_account(i))

    def _open_account(self, i: int, balance: float | None = None) -> Account:
        profile = self.traders[i].profile
        self._push(self.now + int(self.rng.expovariate(1.0 / (10 * _MINUTE))), _WAKE, i)
        return Account(ts=self._ts(), account=profile.account, program=profile.program,
                        balance=balance)

    def _on_rollover(self, _: int) -> None:
        """The broker's 17:00 New York rollover: swaps on positions held across it."""
        weekday = from_micros(self.now).astimezone(_NEW_YORK).weekday()
        for trader in self.traders:
            if trader.disabled:
                continue
            for position in list(trader.positions.values()):
                self._charge_swap(trader, position, weekday)
        self.rollover = (self.now, _next_ny_five_pm(self.now, tuple(range(7))))
        self._push(self.rollover[1], _ROLLOVER, 0)

    def _charge_swap(self, trader: _Trader, position: _Position, weekday: int) -> None:
        inst = self.sim.instruments[position.sid]
        if inst.kind == "crypto":
            nights = 1
        elif weekday >= 5:
            return  # closed for the weekend: nothing rolls
        else:
            nights = 3 if weekday == 2 else 1  # Wednesday carries the weekend
        rate = self.market.rate(inst.profit_currency, trader.currency)
        if rate is None:
            return
        yearly = inst.swap_long if position.buy else inst.swap_short
        notional = position.volume * inst.contract_size * self.market.bid[position.sid] * rate
        amount = round(notional * yearly / 360.0 * nights, 2)
        if amount:
            position.swap += amount
            self.out.append(Swap(ts=self._ts(), account=trader.profile.account,
                                 position=position.id, amount=amount))

    # ------------------------------------------------------------------ traders

    def _on_wake(self, i: int) -> None:
        trader = self.traders[i]
        if trader.disabled:
            return
        profile = trader.profile
        day, into = divmod(self.now - profile.session_start, _DAY)
        if day != trader.day:
            trader.day = day
            trader.works_today = self.rng.random() < profile.works
            trader.day_start_equity = self._equity(trader)
            trader.trades_today = 0
        in_session = (trader.works_today and into < profile.session_length
                      and (day + 3) % 7 < 5)  # 1970-01-01 was a Thursday: Monday = 0
        closing = in_session and into >= profile.session_length - 15 * _MINUTE
        behave: Callable[[_Trader, bool, bool], int | None] = getattr(
            self, f"_{profile.behaviour}")
        wait = behave(trader, in_session and not closing, closing)
        if wait is None:
            return
        if wait <= 0:  # until its next session
            wait = _DAY - into + int(self.rng.uniform(0, 10) * _MINUTE)
        self._push(self.now + wait, _WAKE, i)

    def _careful(self, trader: _Trader, trading: bool, closing: bool) -> int | None:
        """Small risk with the trend, half off at 1R with the stop to break-even, flat
        before the session ends; after the target, one tiny trade a day for the days."""
        self._exits(trader)
        for position in list(trader.positions.values()):
            if not position.scaled and self._excursion(position) >= position.distance:
                half = _lots(position.volume / 2)
                if half >= _LOT and position.volume - half >= _LOT:
                    self._close(trader, position, half)
                position.scaled, position.stop = True, position.open_price
        if not trading:
            self._flatten(trader)
            # Positions left: the market is shut and the broker will not fill yet.
            return self._minutes(10) if trader.positions else 0
        reached = trader.target is not None and trader.balance >= trader.initial * (
            1 + trader.target + 0.005)  # half a percent above, so a tiny loss cannot undo it
        if len(trader.positions) >= (1 if reached else 2):
            return self._minutes(10)
        if reached and trader.days_traded > trader.min_days:  # a spare day: calendars differ
            trader.done = True
            return None
        sid = self._pick(trader)
        if sid is None or any(p.sid == sid for p in trader.positions.values()):
            return self._minutes(10)
        if reached:
            if trader.trades_today == 0:
                self._open(trader, sid, self.rng.random() < 0.5, _LOT,
                           self.market.move(sid, 1 / 24), stop=1.0, target=1.0)
            return self._minutes(10)
        # At most four trades a day; a day's loss of 2% stops it, and so does a day's
        # gain of 40% of the target (the best-day rule wants no day above half).
        day_profit = (self._equity(trader) - trader.day_start_equity) / trader.initial
        if (trader.trades_today < 4 and -0.02 < day_profit < 0.4 * (trader.target or 0.05)
                and self.rng.random() < 0.3):
            distance = self.market.move(sid, 1 / 24)
            volume = self._volume(trader, sid, trader.profile.risk * trader.initial, distance)
            if volume:
                self._open(trader, sid, self._with_trend(sid, trader.profile.skill), volume,
                           distance, stop=1.0, target=2.0)
        return self._minutes(10)

    def _scalper(self, trader: _Trader, trading: bool, closing: bool) -> int | None:
        """Trades of minutes with small targets and larger stops; flat at session end."""
        self._exits(trader)
        for position in list(trader.positions.values()):
            if self.now - position.opened > 20 * _MINUTE:
                self._close(trader, position, position.volume)
        if not trading:
            self._flatten(trader)
            return self._minutes(2) if closing else 0
        day_profit = self._equity(trader) - trader.day_start_equity
        if (len(trader.positions) < 2 and day_profit > -0.03 * trader.initial
                and self.rng.random() < 0.4):
            sid = self._pick(trader)
            if sid is not None:
                distance = self.market.move(sid, 15 / 1440)
                volume = self._volume(trader, sid, trader.profile.risk * trader.initial,
                                      1.2 * distance)
                if volume:
                    self._open(trader, sid, self.rng.random() < 0.5, volume, distance,
                               stop=1.2, target=0.8)
        return self._minutes(3)

    def _swing(self, trader: _Trader, trading: bool, closing: bool) -> int | None:
        """A trade a day or two with wide stops, held for days; adds half again to a
        winner (on the same position) and moves its stop to break-even."""
        self._exits(trader)
        for position in list(trader.positions.values()):
            if self.now - position.opened > 6 * _DAY:
                self._close(trader, position, position.volume)
            elif not position.scaled and self._excursion(position) >= position.distance:
                self._add(trader, position, _lots(position.volume / 2))
                position.scaled, position.stop = True, position.open_price
        if (trading and trader.trades_today == 0 and len(trader.positions) < 3
                and self.rng.random() < 0.15):
            sid = self._pick(trader)
            if sid is not None:
                distance = 1.5 * self.market.move(sid, 1.0)
                volume = self._volume(trader, sid, trader.profile.risk * trader.initial,
                                      distance)
                if volume:
                    self._open(trader, sid, self._with_trend(sid, trader.profile.skill),
                               volume, distance, stop=1.0, target=2.0)
        if trading or closing:
            return self._minutes(20)
        return 2 * _HOUR if trader.positions else 0

    def _gambler(self, trader: _Trader, trading: bool, closing: bool) -> int | None:
        """A martingale grid: each adverse step opens twice the last volume; the whole
        basket closes on a small profit. No stop: it ends at the broker's stop-out."""
        if trader.done or self._equity(trader) < 0.25 * trader.initial:
            self._flatten(trader)
            trader.done = True
            return 15 * _MINUTE if trader.positions else None  # shut market: try again
        basket = list(trader.positions.values())
        if basket:
            last = basket[-1]
            profit = sum(self._floating(trader, position) for position in basket)
            if profit >= 0.25 * trader.profile.risk * trader.initial:
                self._flatten(trader)
            elif self._excursion(last) <= -last.distance and len(basket) < 7:
                volume = self._fit(trader, last.sid, 2 * last.volume)
                if volume:
                    self._open(trader, last.sid, last.buy, volume, last.distance)
        elif trading and self.rng.random() < 0.3:
            sid = self._pick(trader)
            if sid is not None:
                step = self.market.move(sid, 1 / 24)
                volume = self._volume(trader, sid, trader.profile.risk * trader.initial, step)
                if volume:  # mostly against the trend: it "buys the dip"
                    self._open(trader, sid, self._with_trend(sid, trader.profile.skill), volume,
                               step)
        if trading or closing:
            return self._minutes(5)
        return 15 * _MINUTE if trader.positions else 0

    # ------------------------------------------------------------------ trading helpers

    def _minutes(self, mean: float) -> int:
        return int(self.rng.expovariate(1.0 / mean) * _MINUTE) + _MINUTE // 6

    def _pick(self, trader: _Trader) -> int | None:
        sid = self.rng.choice(trader.profile.favourites)
        return sid if self.open[sid] else None

    def _with_trend(self, sid: int, skill: float) -> bool:
        up = self.market.drift(sid) >= 0.0
        return up if self.rng.random() < skill else not up

    def _exit_price(self, position: _Position) -> float:
        return self.market.bid[position.sid] if position.buy else self.market.ask[position.sid]

    def _excursion(self, position: _Position) -> float:
        """How far the exit price has moved in the position's favour (price units)."""
        move = self._exit_price(position) - position.open_price
        return move if position.buy else -move

    def _floating(self, trader: _Trader, position: _Position) -> float:
        inst = self.sim.instruments[position.sid]
        rate = self.market.rate(inst.profit_currency, trader.currency) or 0.0
        return (self._excursion(position) * position.volume * inst.contract_size * rate
                + position.swap)

    def _equity(self, trader: _Trader) -> float:
        if not trader.positions:
            return trader.balance
        return trader.balance + sum(self._floating(trader, p) for p in trader.positions.values())

    def _volume(self, trader: _Trader, sid: int, money: float, distance: float) -> float:
        """Lots losing ``money`` over a move of ``distance``, as far as they fit."""
        inst = self.sim.instruments[sid]
        rate = self.market.rate(inst.profit_currency, trader.currency)
        if rate is None or distance <= 0:
            return 0.0
        return self._fit(trader, sid, money / (distance * inst.contract_size * rate))

    def _fit(self, trader: _Trader, sid: int, wanted: float) -> float:
        """``wanted`` lots within the broker's order limit and the free margin, down to
        the lot step; 0 when not even a hundredth of a lot fits."""
        inst = self.sim.instruments[sid]
        rate = self.market.rate(inst.profit_currency, trader.currency) or 0.0
        per_lot = inst.contract_size * self.market.ask[sid] * rate / _LEVERAGE[inst.kind]
        used = sum(self._margin(trader, p) for p in trader.positions.values())
        free = max(0.0, self._equity(trader) - used)
        return _lots(min(wanted, _MAX_LOTS, free / per_lot if per_lot else 0.0))

    def _margin(self, trader: _Trader, position: _Position) -> float:
        inst = self.sim.instruments[position.sid]
        rate = self.market.rate(inst.profit_currency, trader.currency) or 0.0
        return (position.volume * inst.contract_size * position.open_price * rate
                / _LEVERAGE[inst.kind])

    def _commission(self, trader: _Trader, sid: int, volume: float) -> float | None:
        if self.sim.instruments[sid].kind not in ("fx", "metal"):
            return None
        rate = self.market.rate("USD", trader.currency)
        return None if rate is None else -round(_COMMISSION_USD * volume * rate, 2) or None

    def _deal(self, trader: _Trader, position: _Position, buy: bool, entry: Literal["in", "out"],
              volume: float, price: float, profit: float | None) -> int:
        ticket = self.next_ticket
        self.next_ticket += 1
        commission = self._commission(trader, position.sid, volume)
        trader.balance += (profit or 0.0) + (commission or 0.0)
        self.out.append(Deal(
            ts=self._ts(), account=trader.profile.account, deal=ticket,
            position=position.id or ticket, symbol=self.sim.instruments[position.sid].name,
            side="buy" if buy else "sell", entry=entry, volume=volume, price=price,
            profit=profit, commission=commission))
        return ticket

    def _open(self, trader: _Trader, sid: int, buy: bool, volume: float, distance: float,
              stop: float = 0.0, target: float = 0.0) -> None:
        """Open a position at the current quote; ``stop`` and ``target`` in ``distance``s."""
        price = self.market.ask[sid] if buy else self.market.bid[sid]
        sign = 1.0 if buy else -1.0
        position = _Position(0, sid, buy, volume, price, self.now, distance,
                             stop=price - sign * stop * distance if stop else 0.0,
                             target=price + sign * target * distance if target else 0.0)
        position.id = self._deal(trader, position, buy, "in", volume, price, None)
        trader.positions[position.id] = position
        if trader.trades_today == 0:
            trader.days_traded += 1
        trader.trades_today += 1

    def _add(self, trader: _Trader, position: _Position, volume: float) -> None:
        """More volume on an open position (netting style): the open price averages."""
        if volume < _LOT or self._fit(trader, position.sid, volume) < volume:
            return
        sid = position.sid
        price = self.market.ask[sid] if position.buy else self.market.bid[sid]
        self._deal(trader, position, position.buy, "in", volume, price, None)
        total = _lots(position.volume + volume)
        position.open_price = (position.open_price * position.volume + price * volume) / total
        position.volume = total

    def _close(self, trader: _Trader, position: _Position, volume: float) -> None:
        """Close ``volume`` lots at the current quote with the broker's realised profit;
        the accrued swap is realised in proportion."""
        if not self.open[position.sid]:
            return  # the market is shut for the weekend: the position waits
        inst = self.sim.instruments[position.sid]
        rate = self.market.rate(inst.profit_currency, trader.currency) or 0.0
        profit = round(self._excursion(position) * volume * inst.contract_size * rate, 2)
        self._deal(trader, position, not position.buy, "out", volume,
                   self._exit_price(position), profit)
        share = min(1.0, volume / position.volume)
        trader.balance += position.swap * share
        position.swap -= position.swap * share
        position.volume = _lots(position.volume - volume)
        if position.volume < _LOT:
            del trader.positions[position.id]

    def _exits(self, trader: _Trader) -> None:
        """Close what reached its stop or target (the broker's stop and limit orders)."""
        for position in list(trader.positions.values()):
            price = self._exit_price(position)
            sign = 1.0 if position.buy else -1.0
            if ((position.stop and sign * (price - position.stop) <= 0)
                    or (position.target and sign * (price - position.target) >= 0)):
                self._close(trader, position, position.volume)

    def _flatten(self, trader: _Trader) -> None:
        for position in list(trader.positions.values()):
            self._close(trader, position, position.volume)


def _lots(volume: float) -> float:
    """Down to the lot step (0.01), as a clean decimal."""
    return round(math.floor(volume / _LOT + 1e-9) * _LOT, 2)


# ---------------------------------------------------------------------------- pacing


def paced(events: Iterable[Event], rate: float,
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Iterator[Event]:
    """Yield ``events`` at the wall-clock pace of ``rate`` quotes per second.

    Quote number *k* (from 0) is due ``k / rate`` seconds after the first; other events
    follow the quote before them at once. Sleeps only when more than a millisecond ahead,
    so 1,000 quotes/s costs about 1,000 short sleeps a second, not one per event. Quiet
    stretches of event time (weekends, with crypto alone quoting) pass faster than real
    time, since the pace is counted in quotes.
    """
    if rate <= 0:
        raise ValueError("rate must be > 0")
    started: float | None = None
    quotes = 0
    for event in events:
        if type(event) is Quote:
            if started is None:
                started = clock()
            else:
                ahead = started + quotes / rate - clock()
                if ahead > 0.001:
                    sleep(ahead)
            quotes += 1
        yield event


# ---------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``proptrade simulate``'s options on ``parser``."""
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same feed")
    parser.add_argument("--accounts", type=int, default=1000, help="trader accounts")
    parser.add_argument("--symbols", type=int, default=50, help="instruments (50 real ones)")
    parser.add_argument("--rate", type=float, default=1000.0,
                        help="quotes per wall-clock second (event time: --time-scale × that)")
    parser.add_argument("--count", type=int, default=100_000,
                        help="events to write with --jsonl")
    parser.add_argument("--time-scale", type=float, default=1.0, metavar="X",
                        help="event seconds per wall second (3600: an hour a second)")
    parser.add_argument("--start", type=datetime.fromisoformat, default=None,
                        help="event time of the first event, ISO 8601 with an offset "
                             f"(default: {DEFAULT_START:%Y-%m-%dT%H:%M}Z with --jsonl, now "
                             "when publishing)")
    parser.add_argument("--programs-dir", metavar="DIR",
                        help="write each program document as DIR/<id>.json")
    parser.add_argument("--jsonl", action="store_true",
                        help="write the first --count events as JSON Lines to stdout; "
                             "without it, publish to Kafka (KAFKA_BOOTSTRAP) until Ctrl+C")


def main(args: argparse.Namespace) -> int:
    """Run ``proptrade simulate``; 0 on success, 2 on a usage error."""
    try:
        if args.count < 0:
            raise ValueError("--count must be ≥ 0")
        start = args.start or (DEFAULT_START if args.jsonl else
                               datetime.now(UTC).replace(microsecond=0))
        sim = Simulator(args.seed, args.accounts, args.symbols, start, rate=args.rate,
                        time_scale=args.time_scale)
    except ValueError as error:
        print(f"proptrade simulate: error: {error}", file=sys.stderr)
        return 2
    if args.programs_dir:
        directory = Path(args.programs_dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for doc in sim.programs():
                (directory / f"{doc['id']}.json").write_bytes(
                    msgspec.json.format(msgspec.json.encode(doc)) + b"\n")
        except OSError as error:
            print(f"proptrade simulate: error: {error}", file=sys.stderr)
            return 2
    if not args.jsonl:
        return _publish(sim, args.rate)
    return _write_jsonl(sim, args.count)


def _publish(sim: Simulator, rate: float) -> int:
    """Publish the simulation to the feed topics at ``rate`` quotes/s until interrupted."""
    import asyncio
    import signal

    from streams.commands import follow_commands
    from streams.feed import publish_live
    from streams.topics import kafka_from_environment

    kafka = kafka_from_environment("simulate", "name the broker to publish to, or use --jsonl")
    if kafka is None:
        return 2
    settings, topics = kafka

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        # The simulator is the demo broker: accounts the platform opens trade here.
        commands = asyncio.create_task(follow_commands(
            settings.kafka_bootstrap, topics, "proptrade-demo-broker",
            lambda command: demo_broker(sim, command), stop))
        try:
            return await publish_live(sim.events(), settings.kafka_bootstrap, topics, rate,
                                      stop)
        finally:
            stop.set()
            await commands

    count = asyncio.run(run())
    print(f"proptrade simulate: published {count} events", file=sys.stderr)
    return 0


def demo_broker(sim: Simulator, command: Any) -> None:
    """What the demo broker does with a platform's request (``streams.commands``)."""
    from streams.commands import DisableAccount, OpenAccount

    if isinstance(command, OpenAccount):
        sim.adopt(command.login, dict(command.program), command.balance)
    elif isinstance(command, DisableAccount):
        sim.disable(command.login)


def _write_jsonl(sim: Simulator, count: int) -> int:
    encode = msgspec.json.Encoder().encode
    stdout = sys.stdout.buffer
    lines: list[bytes] = []
    try:
        for number, event in enumerate(sim.events(), start=1):
            if number > count:
                break
            lines.append(encode(event))
            if len(lines) >= 4096:  # ~0.5 MB a write
                stdout.write(b"\n".join(lines) + b"\n")
                lines.clear()
        if lines:
            stdout.write(b"\n".join(lines) + b"\n")
        stdout.flush()
    except BrokenPipeError:  # the reader had enough (`| head`): not an error
        # Point stdout at /dev/null so the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
