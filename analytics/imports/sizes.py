"""Symbol events for an imported report: contract size and profit currency per symbol.

Reports do not print specifications, so they are measured from the closed trades:
``contract_size = Σ|profit| / Σ|close − open| × volume`` over the closes whose profit has
the sign of the move, then snapped to the nearest common size (1, 10, 100, 100 000 …) when
within 10 % of it. A measure far from every common size is kept at three significant
digits: that is a symbol quoted in a currency the report does not show (FTMO's JP225 is in
JPY: 0.0641 USD per point and lot at that week's rate), and the measured value keeps its
floating profit right in the account currency, where a snapped 0.05 or 0.1 would not.

Profit currency: the account currency, except for an FX pair (six letters naming two ISO
currencies, with any suffix: ``EURUSD.r``) whose quote currency differs (``USDJPY`` on a
USD account profits in JPY; the engine converts at the pair's quotes). For such a pair
whose base is the account currency the profit was converted at the close price, which is
undone to measure the size (``size = profit × close / move``); a cross (``EURGBP`` on a USD
account) went through a rate the report does not print, so it takes the fallback.

Fallback when no close allows a measure: 100 000 for FX pairs, 100 for ``XAU*``, 1 else.
"""

from __future__ import annotations

import math
from collections import defaultdict

from analytics.imports.pairing import Sample
from streams.events import Symbol

__all__ = ["fx_pair", "symbol_events"]

_FIAT = frozenset({
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN",
    "HUF", "CZK", "TRY", "ZAR", "MXN", "SGD", "HKD", "CNH", "CNY", "RUB", "ILS", "THB",
    "INR", "KRW", "BRL", "RON", "BGN", "ISK", "SAR", "AED", "TWD", "KES", "NGN", "CLP",
})
COMMON_SIZES = (0.01, 0.1, 1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2500, 5000,
                10_000, 50_000, 100_000, 1_000_000)
SNAP_TOLERANCE = 0.10


def fx_pair(symbol: str) -> tuple[str, str] | None:
    """``"USDJPY.r"`` → ``("USD", "JPY")``; ``None`` for anything but a currency pair."""
    name = symbol.upper()
    base, quote = name[:3], name[3:6]
    if base in _FIAT and quote in _FIAT and base != quote:
        return base, quote
    return None


def symbol_events(symbols: list[str], samples: list[Sample], currency: str) -> list[Symbol]:
    """One Symbol event per traded symbol, in the order given."""
    by_symbol: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        by_symbol[sample.symbol].append(sample)
    events = []
    for symbol in symbols:
        measured = _measured_size(symbol, by_symbol[symbol], currency)
        size = _fallback_size(symbol) if measured is None else _snap(measured)
        events.append(Symbol(symbol=symbol, contract_size=size,
                             profit_currency=_profit_currency(symbol, currency)))
    return events


def _profit_currency(symbol: str, currency: str) -> str:
    pair = fx_pair(symbol)
    return pair[1] if pair is not None else currency


def _fallback_size(symbol: str) -> float:
    if fx_pair(symbol) is not None:
        return 100_000.0
    return 100.0 if symbol.upper().startswith("XAU") else 1.0


def _measured_size(symbol: str, samples: list[Sample], currency: str) -> float | None:
    pair = fx_pair(symbol)
    if pair is not None and pair[1] != currency and pair[0] != currency:
        return None
    converted = pair is not None and pair[1] != currency  # profit = move × size / close
    money = moves = 0.0
    for sample in samples:
        move = (sample.close_price - sample.open_price) * (1 if sample.side == "buy" else -1)
        if move == 0 or sample.profit == 0 or (move > 0) != (sample.profit > 0):
            continue
        money += abs(sample.profit) * (sample.close_price if converted else 1.0)
        moves += abs(move) * sample.volume
    return money / moves if moves > 0 else None


def _snap(size: float) -> float:
    nearest = min(COMMON_SIZES, key=lambda common: abs(math.log(size / common)))
    if abs(size - nearest) <= SNAP_TOLERANCE * nearest:
        return float(nearest)
    digits = 2 - math.floor(math.log10(size))  # three significant digits
    return round(size, digits)
