"""Helpers of the broker-backed stream tests: a feed with known answers, topic readers."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from streams.engine import Engine, FeedError
from streams.events import Account, Clock, Deal, Event, Quote, Symbol
from streams.outputs import Output
from streams.program import Program, parse_program
from streams.topics import Topics
from streams.wire import Answer, DeadLetter, answer_decoder, dead_letter_decoder

PROGRAMS = [
    {"id": "static", "initial_balance": 10000,
     "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
     "rules": {"daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10},
               "profit_target": {"target": 0.05}, "min_trading_days": {"days": 2}}},
    {"id": "trailing", "initial_balance": 10000,
     "day": {"timezone": "America/New_York", "starts_at": "17:00"},
     "rules": {"daily_loss": {"amount": 300, "reference": "intraday_peak_equity",
                              "action": "pause"},
               "max_loss": {"limit": 0.06, "mode": "trailing_equity", "lock_at": 0}}},
]
SYMBOLS = [
    Symbol(symbol="EURUSD", contract_size=100000.0, profit_currency="USD"),
    Symbol(symbol="USDJPY", contract_size=100000.0, profit_currency="JPY"),
    Symbol(symbol="XAUUSD", contract_size=100.0, profit_currency="USD"),
]


def programs() -> list[Program]:
    return [parse_program(doc) for doc in PROGRAMS]


def make_feed(seed: int, accounts: int = 24, steps: int = 3000) -> list[Event]:
    """A feed over three trading days: random walks, traders opening and closing, some
    breaching (volumes up to 2 lots on 10,000 accounts), day rollovers by clock events."""
    rng = random.Random(seed)
    ts = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    mids = [1.08, 151.0, 2300.0]
    events: list[Event] = [*SYMBOLS]
    events += [Quote(ts=ts, symbol=s.symbol, bid=m, ask=m * 1.00002)
               for s, m in zip(SYMBOLS, mids, strict=True)]
    names = [f"T{i:03d}" for i in range(accounts)]
    for i, name in enumerate(names):
        events.append(Account(ts=ts, account=name, program=PROGRAMS[i % 2]["id"]))
    open_positions: dict[str, list[tuple[int, int, str, float]]] = defaultdict(list)
    for step in range(steps):
        ts += timedelta(seconds=70)
        roll = rng.random()
        if roll < 0.6:
            sid = rng.randrange(3)
            mids[sid] *= 1 + rng.gauss(0, 0.0015)
            events.append(Quote(ts=ts, symbol=SYMBOLS[sid].symbol, bid=mids[sid],
                                ask=mids[sid] * 1.00002))
        elif roll < 0.8:
            name, sid = rng.choice(names), rng.randrange(3)
            side = rng.choice(["buy", "sell"])
            volume = rng.choice([0.1, 0.5, 1.0, 2.0]) / (100 if sid == 1 else 1)
            open_positions[name].append((step, sid, side, volume))
            price = mids[sid] * (1.00002 if side == "buy" else 1.0)
            events.append(Deal(ts=ts, account=name, deal=step, position=step,
                               symbol=SYMBOLS[sid].symbol, side=side, entry="in",
                               volume=volume, price=price))
        elif roll < 0.97:
            name = rng.choice(names)
            if open_positions[name]:
                position, sid, side, volume = open_positions[name].pop(
                    rng.randrange(len(open_positions[name])))
                close = "sell" if side == "buy" else "buy"
                price = mids[sid] * (1.00002 if close == "buy" else 1.0)
                events.append(Deal(ts=ts, account=name, deal=100_000 + step,
                                   position=position, symbol=SYMBOLS[sid].symbol, side=close,
                                   entry="out", volume=volume, price=price))
        else:
            events.append(Clock(ts=ts))
    return events


def expected_answers(events: list[Event]) -> dict[str, list[Output]]:
    """What `proptrade replay` answers, per account, in order."""
    engine = Engine(programs())
    answers: dict[str, list[Output]] = defaultdict(list)
    for event in events:
        try:
            for output in engine.apply(event):
                answers[output.account].append(output)
        except FeedError:
            pass
    return dict(answers)


def replay_engine(events: list[Event]) -> Engine:
    """The engine after `proptrade replay` of the events."""
    engine = Engine(programs())
    for event in events:
        with contextlib.suppress(FeedError):
            engine.apply(event)
    return engine


def replay_states(events: list[Event]) -> list[Any]:
    return replay_engine(events).states()


async def read_topic(bootstrap: str, topic: str, partitions: int) -> list[Any]:
    """Every record of a topic, partition by partition in offset order."""
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                              enable_auto_commit=False, auto_offset_reset="earliest")
    await reader.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        reader.assign(tps)
        ends = await reader.end_offsets(tps)
        records: list[Any] = []
        for tp in tps:
            reader.seek(tp, 0)
            while await reader.position(tp) < ends[tp]:
                fetched = await reader.getmany(tp, timeout_ms=1000)
                records.extend(fetched.get(tp, []))
        return records
    finally:
        await reader.stop()


async def answers_on(bootstrap: str, topics: Topics) -> list[Answer]:
    records = await read_topic(bootstrap, topics.events, topics.partitions)
    return [answer_decoder.decode(record.value) for record in records]


async def dead_letters_on(bootstrap: str, topics: Topics) -> list[DeadLetter]:
    records = await read_topic(bootstrap, topics.deadletter, 1)
    return [dead_letter_decoder.decode(record.value) for record in records]


def by_account(answers: list[Answer]) -> dict[str, list[Output]]:
    grouped: dict[str, list[Output]] = defaultdict(list)
    for answer in sorted(answers, key=lambda a: a.seq):
        grouped[answer.output.account].append(answer.output)
    return dict(grouped)


async def wait_for(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            detail = getattr(condition, "explain", lambda: "")()
            raise AssertionError(f"timed out after {timeout} s waiting for {what} {detail}")
        await asyncio.sleep(0.1)
