"""Breach prices (``streams.breach``): hand-computed examples on the engine's own state.

XAUUSD: contract size 100, so one lot moves $100 per $1 of price; EURUSD: 100,000, one
lot moves $1 per 0.00001. The program: initial 100,000, daily loss 5 % of it from the
day's starting balance (floor 95,000), maximum loss 10 % static (floor 90,000).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.breach import BreachPrice
from streams.engine import Engine
from streams.events import Account, Clock, Deal, Quote, Symbol
from streams.outputs import Breach
from streams.program import parse_program

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
XAUUSD = Symbol(symbol="XAUUSD", contract_size=100, profit_currency="USD")
EURUSD = Symbol(symbol="EURUSD", contract_size=100000, profit_currency="USD")
USDJPY = Symbol(symbol="USDJPY", contract_size=100000, profit_currency="JPY")
EURJPY = Symbol(symbol="EURJPY", contract_size=100000, profit_currency="JPY")
BOTH = {"daily_loss": {"limit": 0.05, "reference": "day_start_balance"},
        "max_loss": {"limit": 0.10, "mode": "static"}}


def program(rules: dict, pid: str = "p") -> dict:
    return {"id": pid, "currency": "USD", "initial_balance": 100000, "rules": rules}


class Book:
    """An engine with one account A1, fed by the test minute by minute."""

    def __init__(self, rules: dict = BOTH, *symbols: Symbol) -> None:
        self.engine = Engine([parse_program(program(rules))])
        self.minute = 0
        self.deals = 0
        for symbol in symbols or (XAUUSD, EURUSD):
            self.engine.apply(symbol)
        self.engine.apply(Account(ts=self.ts(), account="A1", program="p"))

    def ts(self) -> datetime:
        self.minute += 1
        return T0 + timedelta(minutes=self.minute)

    def quote(self, symbol: str, bid: float, ask: float) -> list:
        return self.engine.apply(Quote(ts=self.ts(), symbol=symbol, bid=bid, ask=ask))

    def deal(self, symbol: str, side: str, volume: float, price: float,
             position: str | None = None, entry: str = "in") -> list:
        self.deals += 1
        return self.engine.apply(Deal(
            ts=self.ts(), account="A1", deal=self.deals, position=position or str(self.deals),
            symbol=symbol, side=side, entry=entry, volume=volume, price=price))

    def prices(self) -> list[BreachPrice]:
        return self.engine.breach_prices("A1")

    def equity(self) -> float:
        return self.engine.state("A1").equity


def breaches_at(book: Book, symbol: str, price: float, which: str) -> list[Breach]:
    """The breaches a quote moving ``symbol``'s ``which`` side to ``price`` (spread held)
    answers, on a copy of the engine's state (the book goes on unchanged)."""
    from streams.snapshot import restore, snapshot

    engine = restore(snapshot(book.engine))
    sid = engine.symbol_ids[symbol]
    bid, ask = float(engine.bid[sid]), float(engine.ask[sid])
    shift = price - (bid if which == "bid" else ask)
    out = engine.apply(Quote(ts=T0 + timedelta(days=0, minutes=book.minute + 1),
                             symbol=symbol, bid=bid + shift, ask=ask + shift))
    return [line for line in out if isinstance(line, Breach)]


def test_a_long_breaches_at_the_bid_that_takes_equity_to_the_daily_floor() -> None:
    book = Book()
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.deal("XAUUSD", "buy", 1, 2000.0)
    # 100,000 + (bid − 2,000) × 100 = 95,000 → bid 1,950.
    [price] = book.prices()
    assert price == BreachPrice(symbol="XAUUSD", price=pytest.approx(1950.0), quote="bid",
                                net_volume=1.0, floor="daily")
    assert [b.rule for b in breaches_at(book, "XAUUSD", price.price, "bid")] == ["daily_loss"]
    assert breaches_at(book, "XAUUSD", 1950.01, "bid") == []


def test_a_short_breaches_at_the_ask() -> None:
    book = Book()
    book.quote("XAUUSD", 1999.5, 2000.0)
    book.deal("XAUUSD", "sell", 2, 2000.0)
    # 100,000 + (2,000 − ask) × 200 = 95,000 → ask 2,025.
    [price] = book.prices()
    assert (price.price, price.quote, price.net_volume, price.floor) == (
        pytest.approx(2025.0), "ask", -2.0, "daily")
    assert [b.rule for b in breaches_at(book, "XAUUSD", price.price, "ask")] == ["daily_loss"]
    assert breaches_at(book, "XAUUSD", 2024.99, "ask") == []


def test_a_symbol_hedged_to_net_zero_has_no_price() -> None:
    book = Book()
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.deal("XAUUSD", "buy", 1, 2000.0)
    book.deal("XAUUSD", "sell", 1, 2000.0)
    assert book.prices() == [BreachPrice(symbol="XAUUSD", price=None, quote=None,
                                         net_volume=0.0, floor="daily")]


def test_a_partly_hedged_symbol_moves_by_its_net_volume() -> None:
    book = Book()
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.deal("XAUUSD", "buy", 3, 2000.0)
    book.deal("XAUUSD", "sell", 1, 2000.5)  # marked at the ask: 0
    # Net 2 lots long: 100,000 + (bid − 2,000) × 200 = 95,000 → 1,975.
    [price] = book.prices()
    assert (price.price, price.quote, price.net_volume) == (pytest.approx(1975.0), "bid", 2.0)
    assert [b.rule for b in breaches_at(book, "XAUUSD", price.price, "bid")] == ["daily_loss"]


def test_several_symbols_each_hold_the_others_where_they_are() -> None:
    book = Book()
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.quote("EURUSD", 1.1000, 1.1001)
    book.deal("XAUUSD", "buy", 1, 2000.0)
    book.deal("EURUSD", "buy", 1, 1.1000)
    book.quote("XAUUSD", 2010.0, 2010.5)  # +1,000
    book.quote("EURUSD", 1.0950, 1.0951)  # −500
    assert book.equity() == 100500.0
    # XAUUSD: 99,500 + (bid − 2,000) × 100 = 95,000 → 1,955.
    # EURUSD: 101,000 + (bid − 1.1) × 100,000 = 95,000 → 1.04.
    eur, xau = book.prices()
    assert (eur.symbol, eur.price, xau.symbol, xau.price) == (
        "EURUSD", pytest.approx(1.04), "XAUUSD", pytest.approx(1955.0))
    for symbol, price in (("EURUSD", eur.price), ("XAUUSD", xau.price)):
        assert [b.rule for b in breaches_at(book, symbol, price, "bid")] == ["daily_loss"]


def test_the_max_loss_floor_when_it_is_the_nearer_one() -> None:
    book = Book({"max_loss": {"limit": 0.10, "mode": "static"}})
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.deal("XAUUSD", "buy", 1, 2000.0)
    [price] = book.prices()  # 100,000 + (bid − 2,000) × 100 = 90,000 → 1,900
    assert (price.price, price.floor) == (pytest.approx(1900.0), "max_loss")
    assert [b.rule for b in breaches_at(book, "XAUUSD", price.price, "bid")] == ["max_loss"]


def test_a_paused_account_is_measured_from_its_max_loss_floor() -> None:
    """A daily-loss pause leaves equity already beyond the daily floor: the price given is
    where equity meets the floor still enforced, the maximum loss."""
    rules = {**BOTH, "daily_loss": {**BOTH["daily_loss"], "action": "pause"}}
    book = Book(rules)
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.deal("XAUUSD", "buy", 1, 2000.0)
    out = book.quote("XAUUSD", 1940.0, 1940.5)  # equity 94,000: paused
    assert [(b.rule, b.action) for b in out] == [("daily_loss", "pause")]
    [price] = book.prices()  # 100,000 + (bid − 2,000) × 100 = 90,000 → 1,900
    assert (price.price, price.floor) == (pytest.approx(1900.0), "max_loss")


def test_no_floor_no_prices_and_no_positions_none() -> None:
    book = Book({"profit_target": {"target": 0.1}})
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.deal("XAUUSD", "buy", 1, 2000.0)
    assert book.prices() == []
    assert Book().prices() == []


def test_a_long_that_cannot_fall_far_enough_has_no_price() -> None:
    book = Book()
    book.quote("EURUSD", 1.1000, 1.1001)
    book.deal("EURUSD", "buy", 0.01, 1.1000)  # at most −1,100 even at a price of 0
    assert book.prices() == [BreachPrice(symbol="EURUSD", price=None, quote="bid",
                                         net_volume=0.01, floor="daily")]


def test_a_symbol_with_no_quote_yet_has_no_price() -> None:
    book = Book()
    book.deal("XAUUSD", "buy", 1, 2000.0)
    assert book.prices()[0].price is None


def test_a_symbol_that_converts_itself() -> None:
    """USDJPY in a USD account: the mark is (bid − open) × 100,000 / mid, and the mid
    moves with the bid: 100,000 + (b − 150) × 100,000 / (b + 0.01) = 95,000
    → 105,000 b = 14,999,950 → b = 142.8566666…"""
    book = Book(BOTH, USDJPY)
    book.quote("USDJPY", 150.00, 150.02)
    book.deal("USDJPY", "buy", 1, 150.00)
    [price] = book.prices()
    assert price.price == pytest.approx(14_999_950 / 105_000, abs=1e-6)
    assert [b.rule for b in breaches_at(book, "USDJPY", price.price, "bid")] == ["daily_loss"]
    assert breaches_at(book, "USDJPY", price.price + 0.001, "bid") == []


def test_a_conversion_pair_held_moves_the_positions_it_converts() -> None:
    """EURJPY and USDJPY in a USD account: a USDJPY quote re-marks both, so USDJPY's
    price is where the two together reach the floor; checked against the engine."""
    book = Book(BOTH, USDJPY, EURJPY)
    book.quote("USDJPY", 150.00, 150.02)
    book.quote("EURJPY", 160.00, 160.02)
    book.deal("EURJPY", "buy", 1, 160.00)
    book.deal("USDJPY", "buy", 1, 150.00)
    book.quote("EURJPY", 158.00, 158.02)  # −200,000 JPY: about −1,333 USD
    eur, usd = book.prices()
    assert (eur.symbol, usd.symbol) == ("EURJPY", "USDJPY")
    for symbol, price in (("EURJPY", eur.price), ("USDJPY", usd.price)):
        assert [b.rule for b in breaches_at(book, symbol, price, "bid")] == ["daily_loss"]
        assert breaches_at(book, symbol, price + 0.001, "bid") == []


def test_cents_rounded_per_position_still_touch_the_floor() -> None:
    """Three positions whose exact solution falls between cents: at the price given the
    engine's own cents (rounded per position) are on the floor, not a cent above."""
    book = Book()
    book.quote("EURUSD", 1.10003, 1.10005)
    for volume in (0.33, 0.37, 0.41):
        book.deal("EURUSD", "buy", volume, 1.10003)
    [price] = book.prices()
    assert [b.rule for b in breaches_at(book, "EURUSD", price.price, "bid")] == ["daily_loss"]
    assert breaches_at(book, "EURUSD", price.price + 0.00002, "bid") == []


def test_a_failed_account_has_none() -> None:
    book = Book()
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.deal("XAUUSD", "buy", 1, 2000.0)
    book.quote("XAUUSD", 1900.0, 1900.5)
    assert book.engine.state("A1").status == "failed"
    assert book.prices() == []


def test_trading_days_of_rows_is_the_state_lines_count() -> None:
    import numpy as np

    book = Book()
    book.quote("XAUUSD", 2000.0, 2000.5)
    book.deal("XAUUSD", "buy", 1, 2000.0)
    book.engine.apply(Clock(ts=T0 + timedelta(days=1, hours=1)))
    book.minute += 24 * 60 + 60
    book.deal("XAUUSD", "buy", 1, 2000.0)
    rows = np.array([book.engine.rows["A1"]])
    assert book.engine.trading_days_of(rows).tolist() == [2]
    assert book.engine.state("A1").trading_days == 2
