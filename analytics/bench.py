"""``proptrade bench analytics``: the sink and the dashboards' queries on a firm's year.

Prints one JSON line. Not a test: figures to compare across commits on the same machine.

1. **Sink.** Realistic messages are encoded first (:data:`SINK_MIX`: live numbers are 75%
   of the rows, in risk.metrics batches of 5,000 accounts; quotes 15% and deals 9% in feed
   batches of 500; answers 1%, a message each), then :meth:`Sink.add` runs over all of
   them with the flushes (``batch_rows`` 100,000), as the consumer loop calls them:
   decoding, row building and inserts, end to end, after one message of each kind as a
   warm-up. The Kafka fetch is not in it. Where the time went is in ``sink``: seconds
   adding per kind of message, inserting per table, and each kind's own rate.
2. **History.** A firm of ``--accounts`` accounts opened over twelve months under six
   programs, passing or failing by various rules (risk.events), ``--deals`` deals in
   total, one account with ``--trades`` round trips and a year of 1-minute equity, and
   ``--positions`` open positions (deals in without their out) on the live accounts, with
   the symbols and a week of quotes. Columns are generated with numpy and inserted with
   :meth:`Store.insert` in chunks of about a million rows.
3. **Queries.** Each dashboard question is timed ``--repeat`` times: the first run after
   ClickHouse's mark and uncompressed caches are dropped (``*_cold_ms``; the OS page cache
   stays warm, the data was just written), the median of the others as the figure. Once
   with the parts as inserted (merges stopped, ``unmerged``) and once after ``OPTIMIZE
   TABLE … FINAL`` (the steady state of past months: background merges leave about one
   part per partition), which gives the headline figures. ``load_1m`` (the machine's load
   average before and after the queries) says whether other processes shared the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from analytics import queries
from analytics.records import TABLES
from analytics.sink import Sink, TenantDirectory
from analytics.statistics import account_statistics
from storage.clickhouse import EmbeddedStore, Store, migrate
from streams import simulator
from streams.events import Account, Deal, Event, Quote, to_micros
from streams.outputs import Breach, Objective, Output, Passed
from streams.topics import Topics
from streams.wire import Answer, MetricsBatch, encode, make_batch

TENANT = 1  # the history's tenant; the sink's rows are tenant 0 (no PostgreSQL here)
YEAR_START = datetime(2025, 3, 1, tzinfo=UTC)
YEAR_END = YEAR_START + timedelta(days=365)  # 525,600 minutes
START_US, END_US = to_micros(YEAR_START), to_micros(YEAR_END)
MINUTE_US, HOUR_US, DAY_US = 60_000_000, 3_600_000_000, 86_400_000_000
INSERT_CHUNK = 1_000_000  # rows per Store.insert: few large parts, as ClickHouse prefers
STATS_ACCOUNT = "H-STATS"

# (program, share of accounts, rules that fail it with their weights). The five families
# of the engine benchmark and the funded stage; topstep's daily loss only pauses.
PROGRAM_MIX: tuple[tuple[str, int, dict[str, int]], ...] = (
    ("ftmo-2step-100k-p1", 30, {"daily_loss": 45, "max_loss": 55}),
    ("ftmo-1step-100k", 22, {"daily_loss": 50, "max_loss": 45, "consistency": 5}),
    ("fxify-1phase-50k", 18, {"daily_loss": 40, "max_loss": 50, "max_exposure": 10}),
    ("topstep-50k", 13, {"max_loss": 100}),
    ("eur-2step-100k", 10, {"daily_loss": 45, "max_loss": 55}),
    ("ftmo-funded-100k", 7, {"daily_loss": 40, "max_loss": 50, "inactivity": 10}),
)
PROGRAM_DOCS = {doc["id"]: doc for doc in simulator.PROGRAMS}
OUTCOMES = (0.25, 0.55, 0.20)  # running, failed, passed (the funded stage never passes)


# ---------------------------------------------------------------------------- the sink

# Rows of each kind in the sink's run. A firm with 20,000 live accounts publishes up to
# 80,000 snapshots a second (one per changed account per 250 ms), next to ~15,000 quotes,
# some thousands of deals and a few answers: live numbers are most of the rows.
SINK_MIX = {"metrics": 0.75, "quotes": 0.15, "deals": 0.09, "answers": 0.01}
SINK_ACCOUNTS = 5_000  # per risk.metrics batch: one shard's changed accounts
SINK_TABLES = {"metrics": "equity", "quotes": "quotes", "deals": "deals",
               "answers": "risk_events"}


@dataclass
class Message:
    kind: str  # accounts, deals, quotes, metrics, answers
    topic: str
    value: bytes
    rows: int


class TimedStore(EmbeddedStore):
    """The embedded store, adding up the seconds its inserts take per table."""

    def __init__(self, path: Path, database: str) -> None:
        super().__init__(path, database)
        self.insert_seconds: dict[str, float] = {}

    def _insert(self, table: str, names: list[str],
                columns: Mapping[str, Sequence[Any]]) -> None:
        started = time.perf_counter()
        super()._insert(table, names, columns)
        spent = time.perf_counter() - started
        self.insert_seconds[table] = self.insert_seconds.get(table, 0.0) + spent


def _sink_deals(count: int, accounts: list[str], symbols: list[simulator.Instrument],
                rng: np.random.Generator, first_us: int) -> list[Event]:
    """``count // 2`` round trips (an in, then its out with a profit) on random accounts."""
    deals: list[Event] = []
    trades = count // 2
    picks = rng.integers(0, len(symbols), trades).tolist()
    owners = rng.integers(0, len(accounts), trades).tolist()
    volumes = rng.choice([0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0], trades).tolist()
    profits = np.round(rng.normal(-2.0, 120.0, trades), 2).tolist()
    for t in range(trades):
        instrument, account, volume = symbols[picks[t]], accounts[owners[t]], volumes[t]
        opened = datetime.fromtimestamp((first_us + t * 2000) / 1e6, UTC)
        common = {"account": account, "position": 1_000_000 + t, "symbol": instrument.name,
                  "volume": volume, "commission": round(-3.5 * volume, 2)}
        deals.append(Deal(ts=opened, deal=2_000_000 + 2 * t, side="buy", entry="in",
                          price=instrument.mid, **common))
        deals.append(Deal(ts=opened + timedelta(milliseconds=1), deal=2_000_001 + 2 * t,
                          side="sell", entry="out", price=instrument.mid,
                          profit=round(profits[t] * volume, 2), **common))
    return deals


def _sink_quotes(count: int, symbols: list[simulator.Instrument], first_us: int
                 ) -> list[Event]:
    quotes: list[Event] = []
    for k in range(count):
        instrument = symbols[k % len(symbols)]
        quotes.append(Quote(ts=datetime.fromtimestamp((first_us + k * 500) / 1e6, UTC),
                            symbol=instrument.name, bid=instrument.mid,
                            ask=instrument.mid + instrument.spread))
    return quotes


def _sink_metrics(batches: int, accounts: list[str], rng: np.random.Generator,
                  first_us: int) -> list[MetricsBatch]:
    """One shard's publications, 250 ms apart, every account changed."""
    count = len(accounts)
    made = []
    for b in range(batches):
        equity = 10_000_000 + rng.normal(0, 150_000, count).round()
        made.append(MetricsBatch(
            ts=first_us + b * 250_000, accounts=accounts,
            status=rng.choice(np.array([0, 0, 0, 1], np.int8), count).tobytes(),
            balance=(equity - rng.normal(0, 20_000, count).round()).tobytes(),
            equity=equity.tobytes(),
            daily_floor=np.where(rng.random(count) < 0.1, -np.inf, 9_500_000.0).tobytes(),
            max_loss_floor=np.full(count, 9_000_000.0).tobytes(),
            open_positions=rng.integers(0, 12, count).astype(np.int32).tobytes()))
    return made


def _sink_answers(count: int, accounts: list[str], rng: np.random.Generator,
                  first_us: int) -> list[Answer]:
    """Breaches (60%: fail and pause), objectives (30%) and passes (10%)."""
    answers = []
    for k in range(count):
        account = accounts[int(rng.integers(len(accounts)))]
        ts = datetime.fromtimestamp((first_us + k * 10_000) / 1e6, UTC)
        stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        kind = k % 10
        output: Output
        if kind < 6:
            output = Breach(account=account, rule="daily_loss" if kind % 2 else "max_loss",
                            ts=stamp, equity=94_800.0, floor=95_000.0,
                            action="pause" if kind == 5 else "fail")
        elif kind < 9:
            output = Objective(account=account, objective="profit_target", ts=stamp)
        else:
            output = Passed(account=account, ts=stamp)
        answers.append(Answer(id=f"0:{k}:0", seq=k, output=output))
    return answers


def sink_messages(rows: int, seed: int) -> list[Message]:
    """About ``rows`` rows of messages in :data:`SINK_MIX`, interleaved as the consumer
    reads them: feed batches of 500 events, metrics batches of 5,000 accounts, answers one
    by one; the accounts' openings come first."""
    rng = np.random.default_rng(seed)
    topics = Topics()
    accounts = [f"S{i:06d}" for i in range(SINK_ACCOUNTS)]
    symbols = simulator.instruments(50)
    first_us = to_micros(YEAR_END)
    openings: list[Event] = [Account(ts=YEAR_END, account=a, program="ftmo-2step-100k-p1",
                                     balance=100_000.0) for a in accounts]
    deals = _sink_deals(int(rows * SINK_MIX["deals"]), accounts, symbols, rng, first_us)
    quotes = _sink_quotes(int(rows * SINK_MIX["quotes"]), symbols, first_us)
    metrics = _sink_metrics(max(1, round(rows * SINK_MIX["metrics"] / SINK_ACCOUNTS)),
                            accounts, rng, first_us)
    answers = _sink_answers(int(rows * SINK_MIX["answers"]), accounts, rng, first_us)
    return _interleave([
        _batches("accounts", topics.accounts, openings),
        _batches("deals", topics.accounts, deals),
        _batches("quotes", topics.quotes, quotes),
        [Message("metrics", topics.metrics, encode(m), len(m.accounts)) for m in metrics],
        [Message("answers", topics.events, encode(a), 1) for a in answers]])


def _batches(kind: str, topic: str, events: list[Event], size: int = 500) -> list[Message]:
    return [Message(kind, topic, make_batch(kind, start + size,
                                            list(range(start, start + size)),
                                            events[start:start + size]),
                    len(events[start:start + size]))
            for start in range(0, len(events), size)]


def _interleave(kinds: list[list[Message]]) -> list[Message]:
    """Each kind spread evenly over the whole run, the first kind before all others."""
    placed = [(-1.0 if n == 0 else (i + 0.5) / len(kind), n, i)
              for n, kind in enumerate(kinds) for i in range(len(kind))]
    return [kinds[n][i] for _, n, i in sorted(placed)]


async def _drive_sink(sink: Sink, messages: list[Message]) -> dict[str, float]:
    """The consumer loop without Kafka: add every message, flush when due, flush at the
    end. Returns the seconds spent in :meth:`Sink.add` (decode + rows) per kind."""
    spent: dict[str, float] = {}
    clock = time.perf_counter
    inserting: asyncio.Task[int] | None = None
    for offset, message in enumerate(messages):
        started = clock()
        await sink.add(message.topic, 0, offset, message.value)
        spent[message.kind] = spent.get(message.kind, 0.0) + clock() - started
        if sink.due():  # as run_sink: one insert in flight while the next batch is read
            if inserting is not None:
                await inserting
            inserting = sink.start_flush()
    if inserting is not None:
        await inserting
    await sink.flush()
    return spent


def measure_sink(store: TimedStore, rows: int, seed: int) -> dict[str, Any]:
    """Rows per second through the sink, with where the time goes: ``add_s`` per kind of
    message, ``insert_s`` per table. A first message of each kind is recorded and flushed
    before the clock starts (each table's first insert looks up its columns)."""
    messages = sink_messages(rows, seed)
    warm_up = Sink(store, Topics(), TenantDirectory(None))
    asyncio.run(_drive_sink(warm_up, list({m.kind: m for m in messages}.values())))
    store.insert_seconds.clear()
    sink = Sink(store, Topics(), TenantDirectory(None), batch_rows=100_000)
    started = time.perf_counter()
    spent = asyncio.run(_drive_sink(sink, messages))
    seconds = time.perf_counter() - started
    if sink.skipped:
        raise RuntimeError(f"the sink skipped {sink.skipped} of the benchmark's messages")
    for table in TABLES:
        store.command(f"TRUNCATE TABLE {table}")
    rows_of: dict[str, int] = {}
    for message in messages:
        rows_of[message.kind] = rows_of.get(message.kind, 0) + message.rows
    inserts = store.insert_seconds
    return {
        "sink_rows_per_s": round(sink.written / seconds),
        "sink": {"rows": sink.written, "messages": len(messages), "seconds": round(seconds, 2),
                 "rows_by_kind": rows_of,
                 "add_s": {kind: round(s, 3) for kind, s in spent.items()},
                 "insert_s": {t: round(s, 3) for t, s in inserts.items()},
                 # each kind alone: its decoding and row building plus its table's inserts
                 "rows_per_s_by_kind": {
                     kind: round(rows_of[kind] / (spent[kind] + inserts.get(table, 0.0)))
                     for kind, table in SINK_TABLES.items() if spent.get(kind)},
                 "measured": "Sink.add over pre-encoded messages + flushes (batch_rows"
                             " 100,000), chDB in-process; Kafka fetch excluded"}}


# ---------------------------------------------------------------------------- the history

@dataclass
class Firm:
    """Accounts of the history, by index: name, program, life and fate."""

    names: np.ndarray  # str
    programs: np.ndarray  # index into PROGRAM_MIX
    opened_us: np.ndarray
    ended_us: np.ndarray  # failed or passed at; YEAR_END for a live account
    fate: np.ndarray  # 0 running, 1 failed, 2 passed

    @property
    def live(self) -> np.ndarray:
        return np.flatnonzero(self.fate == 0)


def generate_firm(count: int, rng: np.random.Generator) -> Firm:
    """Accounts opened uniformly over the year; 25% still running, the others failed or
    passed after an exponential life (mean 25 days), within the year. The statistics
    account (index 0) is a funded account open all year."""
    shares = np.array([share for _, share, _ in PROGRAM_MIX], float)
    programs = rng.choice(len(PROGRAM_MIX), count, p=shares / shares.sum())
    opened = rng.integers(START_US, END_US - DAY_US, count)
    fate = rng.choice(3, count, p=OUTCOMES)
    funded = len(PROGRAM_MIX) - 1
    fate[(programs == funded) & (fate == 2)] = 1
    life = np.minimum(rng.exponential(25 * DAY_US, count).astype(np.int64) + HOUR_US,
                      ((END_US - opened) * rng.random(count)).astype(np.int64) + MINUTE_US)
    ended = np.where(fate == 0, END_US, opened + life)
    names = np.char.add("H", np.char.zfill(np.arange(count).astype(str), 6)).astype(object)
    names[0] = STATS_ACCOUNT
    programs[0], opened[0], ended[0], fate[0] = funded, START_US, END_US, 0
    return Firm(names, programs, opened, ended, fate)


def insert_accounts(store: Store, firm: Firm) -> int:
    ids = [PROGRAM_MIX[p][0] for p in firm.programs.tolist()]
    return store.insert("accounts", {
        "tenant": [TENANT] * len(ids), "account": firm.names.tolist(), "program": ids,
        "opened_at": firm.opened_us.tolist(),
        "initial_balance": [float(PROGRAM_DOCS[p]["initial_balance"]) for p in ids],
        "currency": [PROGRAM_DOCS[p]["currency"] for p in ids],
        "seq": list(range(1, len(ids) + 1)),
        "event_id": [f"history:{i}" for i in range(1, len(ids) + 1)]})


def insert_outcomes(store: Store, firm: Firm, rng: np.random.Generator) -> int:
    """risk_events: a fail with its rule, or the objectives then the pass; topstep
    accounts also pause on their daily loss now and then; live accounts meet objectives."""
    rows: dict[str, list[Any]] = {name: [] for name in TABLES["risk_events"]}
    for i in range(len(firm.names)):
        account, program = str(firm.names[i]), PROGRAM_MIX[int(firm.programs[i])]
        ended, fate = int(firm.ended_us[i]), int(firm.fate[i])
        balance = float(PROGRAM_DOCS[program[0]]["initial_balance"])
        if program[0] == "topstep-50k" and rng.random() < 0.4:
            ts = int(firm.opened_us[i] + (ended - firm.opened_us[i]) * rng.random() * 0.9)
            _answer(rows, f"{i}:p", ts, Breach(account=account, rule="daily_loss", ts="",
                                               equity=balance - 1000.0, floor=balance - 1000.0,
                                               action="pause"))
        if fate == 1:
            rules, weights = zip(*program[2].items(), strict=True)
            rule = str(rng.choice(rules, p=np.array(weights) / sum(weights)))
            floor = balance * (0.95 if rule == "daily_loss" else 0.90)
            _answer(rows, f"{i}:f", ended, Breach(account=account, rule=rule, ts="",
                                                 equity=round(floor - 12.5, 2), floor=floor,
                                                 action="fail"))
        elif fate == 2:
            _answer(rows, f"{i}:o", ended - HOUR_US,
                    Objective(account=account, objective="profit_target", ts=""))
            _answer(rows, f"{i}:x", ended, Passed(account=account, ts=""))
        elif rng.random() < 0.3:  # live, target met, waiting for its trading days
            met = int(firm.opened_us[i] + (ended - firm.opened_us[i]) * rng.random())
            _answer(rows, f"{i}:o", met,
                    Objective(account=account, objective="profit_target", ts=""))
    return store.insert("risk_events", rows)


def _answer(rows: dict[str, list[Any]], answer_id: str, ts_us: int,
            output: Breach | Objective | Passed) -> None:
    stamp = datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    breach = output if isinstance(output, Breach) else None
    values = {
        "tenant": TENANT, "account": output.account, "ts": ts_us,
        "type": type(output).__name__.lower(),
        "rule": breach.rule if breach else getattr(output, "objective", ""),
        "action": breach.action if breach else "",
        "equity": breach.equity if breach else float("nan"),
        "floor": breach.floor if breach and breach.floor is not None else float("nan"),
        "body": orjson.dumps({**_fields(output), "ts": stamp}).decode(),
        "event_id": f"history:{answer_id}"}
    for name, value in values.items():
        rows[name].append(value)


def _fields(output: Output) -> dict[str, Any]:
    return {"type": type(output).__name__.lower(),
            **{f: getattr(output, f) for f in output.__struct_fields__}}


@dataclass
class Market:
    symbols: np.ndarray  # str
    mids: np.ndarray
    spreads: np.ndarray
    lots: np.ndarray  # bool: contract size >= 1000 (FX, metals): smaller volumes
    popularity: np.ndarray  # probabilities


def make_market() -> Market:
    chosen = simulator.instruments(50)
    popularity = np.array([inst.popularity for inst in chosen])
    return Market(np.array([inst.name for inst in chosen], dtype=object),
                  np.array([inst.mid for inst in chosen]),
                  np.array([inst.spread for inst in chosen]),
                  np.array([inst.contract_size >= 1000 for inst in chosen]),
                  popularity / popularity.sum())


def insert_market(store: Store, quotes: int, rng: np.random.Generator) -> int:
    """The symbols and ``quotes`` quotes over the last week of the year (a random walk)."""
    chosen = simulator.instruments(50)
    rows = store.insert("symbols", {
        "symbol": [i.name for i in chosen], "contract_size": [i.contract_size for i in chosen],
        "profit_currency": [i.profit_currency for i in chosen],
        "base_currency": [i.base_currency or "" for i in chosen],
        "seq": list(range(1, len(chosen) + 1)),
        "event_id": [f"symbol:{i.name}" for i in chosen]})
    market = make_market()
    picks = rng.choice(len(chosen), quotes, p=market.popularity)
    steps = 1.0 + rng.normal(0, 0.0001, quotes)
    walk = np.ones(quotes)
    for s in range(len(chosen)):  # each symbol's own walk, in its quotes' order
        mine = picks == s
        walk[mine] = np.cumprod(steps[mine])
    bids = market.mids[picks] * walk
    ts = np.sort(rng.integers(END_US - 7 * DAY_US, END_US, quotes))
    for start in range(0, quotes, INSERT_CHUNK):
        part = slice(start, start + INSERT_CHUNK)
        rows += store.insert("quotes", {
            "ts": ts[part].tolist(), "symbol": market.symbols[picks[part]].tolist(),
            "bid": bids[part].tolist(), "ask": (bids + market.spreads[picks])[part].tolist(),
            "seq": list(range(start + 1, start + 1 + len(ts[part])))})
    return rows


def _volumes(market: Market, picks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    small = rng.choice([0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0], len(picks),
                       p=[0.15, 0.15, 0.25, 0.15, 0.15, 0.1, 0.05])
    large = rng.choice([0.1, 0.5, 1.0, 2.0, 5.0], len(picks))
    return np.where(market.lots[picks], small, large)


@dataclass
class Trades:
    """Round trips (or open positions when ``closed_us`` is None), one entry each."""

    account: np.ndarray  # str
    opened_us: np.ndarray
    closed_us: np.ndarray | None
    symbol: np.ndarray  # index into Market
    buy: np.ndarray  # bool
    volume: np.ndarray
    price: np.ndarray
    profit: np.ndarray
    commission: np.ndarray  # per side
    swap: np.ndarray


def random_trades(firm: Firm, rows: np.ndarray, market: Market,
                  rng: np.random.Generator) -> Trades:
    """One round trip per entry of ``rows`` (account indexes), anywhere in the account's
    life, held an exponential 2 hours on average, profit about normal per lot."""
    count = len(rows)
    life = firm.ended_us[rows] - firm.opened_us[rows]
    opened = firm.opened_us[rows] + (rng.random(count) * life).astype(np.int64)
    held = np.minimum(rng.exponential(2 * HOUR_US, count).astype(np.int64) + 1_000_000,
                      np.maximum(firm.ended_us[rows] - opened, 1))
    picks = rng.choice(len(market.symbols), count, p=market.popularity)
    volume = _volumes(market, picks, rng)
    price = market.mids[picks] * (1 + rng.normal(0, 0.03, count))
    return Trades(firm.names[rows], opened, opened + held, picks, rng.random(count) < 0.5,
                  volume, price, np.round(rng.normal(-3.0, 140.0, count) * volume, 2),
                  np.round(-3.5 * volume, 2), np.round(-0.6 * volume * (held // DAY_US), 2))


def deal_columns(trades: Trades, market: Market, first_deal: int) -> dict[str, list[Any]]:
    """The deals of ``trades``: each trade's in, then its out (when closed), as columns."""
    count = len(trades.account)
    ids = np.arange(first_deal, first_deal + count)
    closed = trades.closed_us is not None
    sides = np.where(trades.buy, "buy", "sell").astype(object)
    if not closed:
        return _deals(trades.account, trades.opened_us, ids, ids, market.symbols[trades.symbol],
                      sides, np.full(count, "in", object), trades.volume, trades.price,
                      np.zeros(count), trades.commission, np.zeros(count), first_deal)
    assert trades.closed_us is not None
    closes = ids + count
    drift = 1 + trades.profit / np.maximum(trades.volume * 100_000, 1)
    return _deals(np.repeat(trades.account, 2),
                  np.column_stack([trades.opened_us, trades.closed_us]).ravel(),
                  np.column_stack([ids, closes]).ravel(), np.repeat(ids, 2),
                  np.repeat(market.symbols[trades.symbol], 2),
                  np.column_stack([sides, np.where(trades.buy, "sell", "buy")]).ravel(),
                  np.tile(np.array(["in", "out"], object), count),
                  np.repeat(trades.volume, 2),
                  np.column_stack([trades.price, trades.price * drift]).ravel(),
                  np.column_stack([np.zeros(count), trades.profit]).ravel(),
                  np.repeat(trades.commission, 2),
                  np.column_stack([np.zeros(count), trades.swap]).ravel(), first_deal)


def _deals(account: np.ndarray, ts: np.ndarray, deal: np.ndarray, position: np.ndarray,
           symbol: np.ndarray, side: np.ndarray, entry: np.ndarray, volume: np.ndarray,
           price: np.ndarray, profit: np.ndarray, commission: np.ndarray, swap: np.ndarray,
           first_seq: int) -> dict[str, list[Any]]:
    count = len(account)
    deal_ids = deal.astype(str).tolist()
    return {
        "tenant": [TENANT] * count, "account": account.tolist(), "ts": ts.tolist(),
        "deal": deal_ids, "position": position.astype(str).tolist(),
        "symbol": symbol.tolist(), "side": side.tolist(), "entry": entry.tolist(),
        "volume": volume.tolist(), "price": np.round(price, 5).tolist(),
        "profit": profit.tolist(), "commission": commission.tolist(), "swap": swap.tolist(),
        "fee": [0.0] * count, "has_profit": (entry == "out").tolist(),
        "seq": list(range(first_seq, first_seq + count)), "event_id": deal_ids}


def book_columns(trades: Trades, market: Market, first_deal: int) -> dict[str, list[Any]]:
    """The position book's rows for ``trades``, as the sink leaves them: 0 lots for a round
    trip (closed), the volume for an open position; ``seq`` the last deal applied."""
    count = len(trades.account)
    ids = np.arange(first_deal, first_deal + count)
    closed = trades.closed_us is not None
    last = trades.closed_us if trades.closed_us is not None else trades.opened_us
    return {
        "tenant": [TENANT] * count, "account": trades.account.tolist(),
        "position": ids.astype(str).tolist(), "symbol": market.symbols[trades.symbol].tolist(),
        "side": np.where(trades.buy, "buy", "sell").tolist(),
        "lots": (np.zeros(count) if closed else trades.volume).tolist(),
        "open_price": np.round(trades.price, 5).tolist(), "opened_at": trades.opened_us.tolist(),
        "updated_at": last.tolist(), "seq": (ids + (count if closed else 0)).tolist()}


def trade_counts(firm: Firm, trades: int, rng: np.random.Generator) -> np.ndarray:
    """Round trips per account: proportional to its days of life times a lognormal
    activity (a few accounts trade a lot, most a little); none for the statistics one."""
    days = (firm.ended_us - firm.opened_us) / DAY_US + 0.5
    weights = days * rng.lognormal(0.0, 1.0, len(days))
    weights[0] = 0.0
    return rng.multinomial(trades, weights / weights.sum())


def insert_deals(store: Store, firm: Firm, trades: int, market: Market,
                 rng: np.random.Generator, first_deal: int) -> int:
    """``trades`` round trips over the firm's accounts, in chunks of about a million deals
    (accounts in order: each chunk covers a range of accounts, every month of the year)."""
    counts = trade_counts(firm, trades, rng)
    owners = np.repeat(np.arange(len(counts)), counts)
    rows = 0
    for start in range(0, len(owners), INSERT_CHUNK // 2):
        chunk = random_trades(firm, owners[start:start + INSERT_CHUNK // 2], market, rng)
        rows += store.insert("deals", deal_columns(chunk, market, first_deal + 2 * start))
        store.insert("positions", book_columns(chunk, market, first_deal + 2 * start))
    return rows


def insert_positions(store: Store, firm: Firm, positions: int, market: Market,
                     rng: np.random.Generator, first_deal: int) -> int:
    """Open positions on the live accounts (a few dozen each), opened in the last 10 days;
    none on the statistics account, whose deals stay its round trips."""
    live = firm.live[firm.live != 0]
    owners = np.sort(live[rng.integers(0, len(live), positions)])
    rows = 0
    for start in range(0, positions, INSERT_CHUNK):
        part = owners[start:start + INSERT_CHUNK]
        chunk = random_trades(firm, part, market, rng)
        chunk.opened_us = END_US - rng.exponential(2 * DAY_US, len(part)).astype(np.int64) % (
            10 * DAY_US) - MINUTE_US
        chunk.closed_us = None
        rows += store.insert("deals", deal_columns(chunk, market, first_deal + start))
        store.insert("positions", book_columns(chunk, market, first_deal + start))
    return rows


def stats_trades(count: int, market: Market, rng: np.random.Generator) -> Trades:
    """The statistics account's year: ``count`` round trips at random times, held an
    exponential 3 hours; 48% winners of lognormal size (median 200 a lot), losers
    lognormal (median 140 a lot) with a fatter tail; 0.5 to 2 lots. About +19 a trade
    after commissions: a profitable funded trader with drawdowns of some thousands."""
    opened = np.sort(rng.integers(START_US, END_US - 2 * DAY_US, count))
    held = rng.exponential(3 * HOUR_US, count).astype(np.int64) + 30_000_000
    picks = rng.choice(len(market.symbols), count, p=market.popularity)
    volume = rng.choice([0.5, 1.0, 1.5, 2.0], count)
    wins = rng.random(count) < 0.48
    profit = np.where(wins, rng.lognormal(np.log(200), 0.7, count),
                      -rng.lognormal(np.log(140), 0.8, count)) * volume
    return Trades(np.full(count, STATS_ACCOUNT, object), opened, opened + held, picks,
                  rng.random(count) < 0.5, volume,
                  market.mids[picks] * (1 + rng.normal(0, 0.03, count)), np.round(profit, 2),
                  np.round(-3.5 * volume, 2), np.round(-0.6 * volume * (held // DAY_US), 2))


def stats_payouts(store: Store, trades: Trades) -> int:
    """The funded account's monthly payouts: a withdrawal of 80% of the month's net profit
    when it made one (each restarts MetaTrader's drawdown measurement)."""
    assert trades.closed_us is not None
    net = trades.profit + 2 * trades.commission + trades.swap
    month = (trades.closed_us - START_US) // (30 * DAY_US)
    profits = np.bincount(month, weights=net)
    paid = [(m, round(0.8 * p, 2)) for m, p in enumerate(profits.tolist()) if p > 0]
    return store.insert("balance_operations", {
        "tenant": [TENANT] * len(paid), "account": [STATS_ACCOUNT] * len(paid),
        "ts": [START_US + (m + 1) * 30 * DAY_US + HOUR_US for m, _ in paid],
        "amount": [-amount for _, amount in paid], "kind": ["withdrawal"] * len(paid),
        "seq": [m + 1 for m, _ in paid], "event_id": [f"payout:{m}" for m, _ in paid]})


def stats_equity(trades: Trades, initial: float, points: int,
                 rng: np.random.Generator) -> dict[str, list[Any]]:
    """``points`` 1-minute samples from the start of the year: the balance moves when a
    trade closes; the equity adds each open trade's profit so far (its final profit in
    proportion to the time held, plus noise of a fifth of it)."""
    assert trades.closed_us is not None
    minutes = START_US + np.arange(points, dtype=np.int64) * MINUTE_US
    net = trades.profit + 2 * trades.commission + trades.swap
    order = np.argsort(trades.closed_us)
    done = np.searchsorted(trades.closed_us[order], minutes, side="right")
    balance = initial + np.concatenate([[0.0], np.cumsum(net[order])])[done]
    first = np.searchsorted(minutes, trades.opened_us, side="left")
    last = np.searchsorted(minutes, trades.closed_us, side="left")  # exclusive
    spans = np.maximum(last - first, 0)
    trade_of = np.repeat(np.arange(len(spans)), spans)
    minute_of = first[trade_of] + np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans,
                                                                      spans)
    share = (minutes[minute_of] - trades.opened_us[trade_of]) / (
        trades.closed_us[trade_of] - trades.opened_us[trade_of])
    moves = trades.profit[trade_of] * (share + rng.normal(0, 0.2, len(trade_of)))
    floating = np.bincount(minute_of, weights=moves, minlength=points)
    day_start = balance[(np.arange(points) // 1440) * 1440]
    return {
        "tenant": [TENANT] * points, "account": [STATS_ACCOUNT] * points,
        "ts": minutes.tolist(), "status": ["active"] * points,
        "balance": np.round(balance, 2).tolist(),
        "equity": np.round(balance + floating, 2).tolist(),
        "daily_floor": np.round(day_start - 0.05 * initial, 2).tolist(),
        "max_loss_floor": [0.9 * initial] * points,
        "open_positions": np.bincount(minute_of, minlength=points).tolist()}


def firm_equity(firm: Firm, rng: np.random.Generator) -> Iterator[dict[str, list[Any]]]:
    """The other accounts' live numbers: one sample a day over each account's life and
    the last one at its end (the engine's final numbers: failed, passed or still live),
    in chunks of about a million rows."""
    days = ((firm.ended_us - firm.opened_us) // DAY_US + 1).astype(np.int64)
    days[0] = 0
    owners = np.repeat(np.arange(len(days)), days)
    step = np.arange(len(owners)) - np.repeat(np.cumsum(days) - days, days)
    ts = np.minimum(firm.opened_us[owners] + step * DAY_US + DAY_US, firm.ended_us[owners])
    initial = np.array([float(PROGRAM_DOCS[PROGRAM_MIX[p][0]]["initial_balance"])
                        for p in firm.programs])[owners]
    equity = initial * (1 + rng.normal(0, 0.025, len(owners)))
    final = np.r_[np.diff(owners) != 0, True]
    status = np.where(final, np.array(["active", "failed", "passed"], object)[
        firm.fate[owners]], "active")
    status[(status == "active") & (rng.random(len(owners)) < 0.05)] = "paused"
    for start in range(0, len(owners), INSERT_CHUNK):
        part = slice(start, start + INSERT_CHUNK)
        yield {
            "tenant": [TENANT] * len(owners[part]), "account": firm.names[owners[part]].tolist(),
            "ts": ts[part].tolist(), "status": status[part].tolist(),
            "balance": np.round(initial[part], 2).tolist(),
            "equity": np.round(equity[part], 2).tolist(),
            "daily_floor": np.round(initial[part] * 0.95, 2).tolist(),
            "max_loss_floor": np.round(initial[part] * 0.90, 2).tolist(),
            "open_positions": rng.integers(0, 8, len(owners[part])).tolist()}


def generate_history(store: Store, args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed)
    firm = generate_firm(args.accounts, rng)
    market = make_market()
    rows = {"accounts": insert_accounts(store, firm),
            "risk_events": insert_outcomes(store, firm, rng),
            "quotes": insert_market(store, args.quotes, rng)}
    mine = stats_trades(args.trades, market, rng)
    rows["deals"] = store.insert("deals", deal_columns(mine, market, 1))
    rows["balance_operations"] = stats_payouts(store, mine)
    initial = float(PROGRAM_DOCS[PROGRAM_MIX[-1][0]]["initial_balance"])
    rows["equity"] = store.insert("equity", stats_equity(mine, initial, args.equity_points,
                                                         rng))
    rows["deals"] += insert_positions(store, firm, args.positions, market, rng,
                                      10_000_000_000)
    round_trips = max(0, (args.deals - rows["deals"]) // 2)
    rows["deals"] += insert_deals(store, firm, round_trips, market, rng, 20_000_000_000)
    for columns in firm_equity(firm, rng):
        rows["equity"] += store.insert("equity", columns)
    return {"rows": rows, "live_accounts": len(firm.live),
            "failed_accounts": int((firm.fate == 1).sum()),
            "passed_accounts": int((firm.fate == 2).sum())}


# ---------------------------------------------------------------------------- the queries

def dashboard_questions(store: Store) -> dict[str, Callable[[], Any]]:
    """What each figure times, on the history's tenant."""
    return {
        "account_stats": lambda: account_statistics(store, TENANT, STATS_ACCOUNT),
        "equity_curve": lambda: queries.equity_curve(store, TENANT, STATS_ACCOUNT, 1000),
        "cohort": lambda: queries.cohorts(store, TENANT, "month"),
        "exposure": lambda: queries.exposure(store, TENANT, 20),
    }


def time_question(store: Store, question: Callable[[], Any], repeat: int
                  ) -> tuple[float, float, Any]:
    """(cold ms, median warm ms, the answer): the first run after ClickHouse's caches
    are dropped, then ``repeat - 1`` more."""
    store.command("SYSTEM DROP MARK CACHE")
    store.command("SYSTEM DROP UNCOMPRESSED CACHE")
    times = []
    answer = None
    for _ in range(max(2, repeat)):
        started = time.perf_counter()
        answer = question()
        times.append((time.perf_counter() - started) * 1000)
    return round(times[0], 1), round(statistics.median(times[1:]), 1), answer


def time_questions(store: Store, repeat: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for name, question in dashboard_questions(store).items():
        cold, warm, answer = time_question(store, question, repeat)
        figures[f"{name}_ms"] = warm
        figures[f"{name}_cold_ms"] = cold
        figures[f"{name}_answer"] = _size(answer)
    return figures


STATS_SHOWN = ("total_trades", "total_deals", "total_net_profit", "profit_factor",
               "balance_drawdown_maximal", "sharpe_ratio", "win_rate")


def _size(answer: Any) -> Any:
    """What an answer holds, to see that it is sound: lengths of lists, a few numbers."""
    if isinstance(answer, dict) and "total_trades" in answer:
        return {k: answer[k] for k in STATS_SHOWN}
    if isinstance(answer, dict):
        return {k: _size(v) for k, v in answer.items()}
    return len(answer) if isinstance(answer, list | str) else answer


def deal_parts(store: Store) -> int:
    return int(store.query("SELECT count() FROM system.parts WHERE database = currentDatabase()"
                           " AND table = 'deals' AND active").rows[0][0])


def optimize(store: Store) -> float:
    started = time.perf_counter()
    for table in TABLES:
        store.command(f"SYSTEM START MERGES {table}")
        store.command(f"OPTIMIZE TABLE {table} FINAL")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- the command

def run(args: argparse.Namespace, data_dir: Path) -> dict[str, Any]:
    begun = time.perf_counter()
    store = TimedStore(data_dir / "chdb", "bench_analytics")
    try:
        migrate(store)
        for table in TABLES:  # a --data-dir used before
            store.command(f"TRUNCATE TABLE {table}")
        figures = measure_sink(store, args.sink_rows, args.seed)
        for table in TABLES:  # parts as inserted, for the unmerged figures
            store.command(f"SYSTEM STOP MERGES {table}")
        started = time.perf_counter()
        history = generate_history(store, args)
        generated = time.perf_counter() - started
        parts_unmerged = deal_parts(store)
        load_before = os.getloadavg()[0]
        unmerged = time_questions(store, args.repeat)
        optimized = optimize(store)
        merged = time_questions(store, args.repeat)
    finally:
        store.close()
    return {
        "sink_rows_per_s": figures.pop("sink_rows_per_s"),
        **{k: v for k, v in merged.items() if k.endswith("_ms") and "cold" not in k},
        "cold": {k: v for k, v in merged.items() if k.endswith("_cold_ms")},
        "unmerged": {k: v for k, v in unmerged.items() if k.endswith("_ms")},
        "answers": {k.removesuffix("_answer"): v for k, v in merged.items()
                    if k.endswith("_answer")},
        **figures,
        "queries_measured": f"median of {max(1, args.repeat - 1)} warm runs after one cold"
                            " (ClickHouse mark/uncompressed caches dropped, OS cache warm);"
                            " headline after OPTIMIZE TABLE ... FINAL, 'unmerged' with parts"
                            " as inserted",
        "rows": history["rows"],
        "deals": history["rows"]["deals"], "positions": args.positions,
        "accounts": args.accounts, "live_accounts": history["live_accounts"],
        "failed_accounts": history["failed_accounts"],
        "passed_accounts": history["passed_accounts"],
        "stats_trades": args.trades, "equity_points": args.equity_points,
        "deal_parts_unmerged": parts_unmerged, "generate_s": round(generated, 1),
        "optimize_s": round(optimized, 1), "total_s": round(time.perf_counter() - begun, 1),
        # other processes on the machine skew the timings: the load average says if any
        "load_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--deals", type=int, default=10_000_000,
                        help="deals in the history, the statistics account's and the open"
                             " positions' included")
    parser.add_argument("--positions", type=int, default=200_000,
                        help="open positions on the live accounts")
    parser.add_argument("--trades", type=int, default=10_000,
                        help="round trips of the account whose statistics are timed")
    parser.add_argument("--equity-points", type=int, default=525_600,
                        help="1-minute equity samples of that account (a year: 525,600)")
    parser.add_argument("--quotes", type=int, default=1_000_000,
                        help="quotes over the last week of the history")
    parser.add_argument("--sink-rows", type=int, default=2_000_000,
                        help="rows of the sink measurement")
    parser.add_argument("--repeat", type=int, default=7, help="runs of each query")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="chDB data directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data directory (with --data-dir, or print it)")


def main(args: argparse.Namespace) -> int:
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="proptrade-bench-analytics-"))
    try:
        result = run(args, data_dir)
    finally:
        if not args.keep:
            shutil.rmtree(data_dir / "chdb" if args.data_dir else data_dir,
                          ignore_errors=True)
    if args.keep:
        result["data_dir"] = str(data_dir)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0
