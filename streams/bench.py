"""``proptrade bench engine``: the engine core in-process on a synthetic firm's book.

Prints one JSON line. Not a test: a figure to compare across commits on the same machine.
The book mixes the program families of RULES.md, accounts in USD (90%) and EUR (10%),
and 50 instruments whose profit currencies need conversion (JPY, GBP, EUR, CHF, CAD…),
so the conversion path is measured too.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import orjson

from streams import simulator
from streams.engine import Engine, FeedError
from streams.events import Account, Clock, Deal, Event, Quote, Symbol
from streams.program import Program, parse_program

# The five program families of RULES.md, as the simulator defines them (bench weights
# 30/25/20/15/10 in this order, see generate_book).
_FAMILIES = ("ftmo-2step-100k-p1", "ftmo-1step-100k", "fxify-1phase-50k", "topstep-50k",
             "eur-2step-100k")
PROGRAMS = [doc for family in _FAMILIES for doc in simulator.PROGRAMS if doc["id"] == family]

Side = Literal["buy", "sell"]
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


@dataclass
class Market:
    symbols: list[Symbol]
    mids: list[float]
    spreads: list[float]
    vols: list[float]


def make_market(count: int) -> Market:
    """The simulator's first ``count`` instruments with a crude walk: spread 0.4 and
    volatility 0.2 basis points of the price per tick."""
    chosen = simulator.instruments(count)
    mids = [inst.mid for inst in chosen]
    return Market([inst.symbol() for inst in chosen], mids, [m * 0.00004 for m in mids],
                  [m * 0.00002 for m in mids])


def generate_book(accounts: int, positions: int, symbols: int, seed: int = 7
                  ) -> tuple[list[Program], Market, list[Event], list[Event]]:
    """Programs, market, the set-up events (symbols, accounts, first quotes) and the deals
    that open ``positions`` positions spread over ``accounts`` accounts."""
    rng = random.Random(seed)
    programs = [parse_program(doc) for doc in PROGRAMS]
    market = make_market(symbols)
    setup: list[Event] = list(market.symbols)
    ts = START
    for sym, mid, spread in zip(market.symbols, market.mids, market.spreads, strict=True):
        setup.append(Quote(ts=ts, symbol=sym.symbol, bid=mid, ask=mid + spread))
    weights = [30, 25, 20, 15, 10]
    for i in range(accounts):
        program = rng.choices(programs, weights)[0]
        setup.append(Account(ts=ts, account=f"A{i:07d}", program=program.id))
    opens: list[Event] = []
    for p in range(positions):
        i = rng.randrange(accounts)
        s = rng.randrange(symbols)
        side: Side = "buy" if rng.random() < 0.5 else "sell"
        volume = _volume(rng, market.symbols[s])
        opens.append(Deal(ts=ts, account=f"A{i:07d}", deal=p, position=p,
                          symbol=market.symbols[s].symbol, side=side, entry="in",
                          volume=volume, price=market.mids[s]))
    return programs, market, setup, opens


def _volume(rng: random.Random, symbol: Symbol) -> float:
    if symbol.contract_size >= 1000:
        return rng.choice([0.01, 0.05, 0.1, 0.2, 0.5])
    return rng.choice([0.1, 0.5, 1.0, 2.0])


def quote_stream(market: Market, count: int, seed: int, start: datetime,
                 step: timedelta | None = None) -> list[Quote]:
    """A random walk per symbol; each quote moves one symbol by about one volatility step.

    The walk continues from (and updates) ``market.mids``; quotes are ``step`` apart
    (default: spread over six hours of event time).
    """
    rng = random.Random(seed)
    mids = market.mids
    n = len(mids)
    if step is None:
        step = timedelta(microseconds=max(1, 21_600_000_000 // max(count, 1)))
    quotes: list[Quote] = []
    ts = start
    for _ in range(count):
        s = rng.randrange(n)
        mids[s] *= 1.0 + rng.gauss(0.0, market.vols[s] / market.mids[s])
        ts += step
        quotes.append(Quote(ts=ts, symbol=market.symbols[s].symbol, bid=mids[s],
                            ask=mids[s] + market.spreads[s]))
    return quotes


def deal_stream(engine: Engine, market: Market, count: int, seed: int, start: datetime
                ) -> list[Deal]:
    """Alternating opens of new positions and closes of existing ones on live accounts."""
    rng = random.Random(seed)
    live = [a for a in engine.rows if engine.table.status[engine.rows[a]] <= 1]
    deals: list[Deal] = []
    opened: list[tuple[str, int, int, Side, float]] = []
    ts = start
    for k in range(count):
        ts += timedelta(microseconds=50)
        if k % 2 == 0 or not opened:
            account = rng.choice(live)
            s = rng.randrange(len(market.symbols))
            side: Side = "buy" if rng.random() < 0.5 else "sell"
            volume = _volume(rng, market.symbols[s])
            position = 10_000_000 + k
            opened.append((account, position, s, side, volume))
            deals.append(Deal(ts=ts, account=account, deal=position, position=position,
                              symbol=market.symbols[s].symbol, side=side, entry="in",
                              volume=volume, price=market.mids[s]))
        else:
            account, position, s, side, volume = opened.pop(rng.randrange(len(opened)))
            deals.append(Deal(ts=ts, account=account, deal=20_000_000 + k, position=position,
                              symbol=market.symbols[s].symbol,
                              side="sell" if side == "buy" else "buy", entry="out",
                              volume=volume, price=market.mids[s], profit=rng.uniform(-50, 50)))
    return deals


def _apply(engine: Engine, events: Sequence[Event]) -> int:
    outputs = 0
    apply = engine.apply
    for event in events:
        try:
            outputs += len(apply(event))
        except FeedError:
            pass  # a deal on an account a previous event failed; counted as applied
    return outputs


def accounts_moved_by(engine: Engine) -> list[int]:
    """Per symbol, the distinct accounts a quote on it re-evaluates (positions priced or
    converted by it), read off the book before the timed quotes."""
    moved = []
    for blocks in engine.marked_by:
        rows = [engine.book.account[b.start:b.start + b.n] for b in blocks]
        moved.append(len(np.unique(np.concatenate(rows))) if rows else 0)
    return moved


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=200_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--quotes", type=int, default=100_000, help="quotes to time")
    parser.add_argument("--deals", type=int, default=200_000, help="deals to time")
    parser.add_argument("--seed", type=int, default=7)


def run(args: argparse.Namespace) -> dict[str, float | int]:
    programs, market, setup, opens = generate_book(args.accounts, args.positions, args.symbols,
                                                   args.seed)
    engine = Engine(programs)
    _apply(engine, setup)
    started = time.perf_counter()
    _apply(engine, opens)
    open_seconds = time.perf_counter() - started

    quotes = quote_stream(market, args.quotes, args.seed + 1, START + timedelta(minutes=1))
    evals = accounts_moved_by(engine)
    checks = sum(evals[engine.symbol_ids[quote.symbol]] for quote in quotes)
    marks_before = engine.marks
    started = time.perf_counter()
    quote_outputs = _apply(engine, quotes)
    quote_seconds = time.perf_counter() - started
    marks = engine.marks - marks_before

    deals = deal_stream(engine, market, args.deals, args.seed + 2, quotes[-1].ts)
    started = time.perf_counter()
    deal_outputs = _apply(engine, deals)
    deal_seconds = time.perf_counter() - started
    _apply(engine, [Clock(ts=deals[-1].ts + timedelta(seconds=1))])

    open_positions = sum(len(p) for p in engine.positions)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "quotes_per_s": round(len(quotes) / quote_seconds),
        "deals_per_s": round(len(deals) / deal_seconds),
        "open_deals_per_s": round(len(opens) / open_seconds),
        "position_marks_per_s": round(marks / quote_seconds),
        "account_evals_per_s": round(checks / quote_seconds),
        "marks_per_quote": round(marks / len(quotes)),
        "accounts": args.accounts,
        "positions": args.positions,
        "positions_open_at_end": open_positions,
        "symbols": args.symbols,
        "quotes": len(quotes),
        "deals": len(deals),
        "outputs": quote_outputs + deal_outputs,
        "rss_mb": round(rss_mb, 1),
    }


def main(args: argparse.Namespace) -> int:
    sys.stdout.write(orjson.dumps(run(args)).decode() + "\n")
    return 0
