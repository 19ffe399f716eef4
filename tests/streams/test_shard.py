"""A shard without a broker: any interleaving of its partitions, any restart point, the
same answers (the merge and the checkpoint are where a live engine loses or doubles)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from streams.engine import Engine
from streams.events import Account, Deal, Event, Quote, Symbol
from streams.merge import Merger
from streams.program import parse_program
from streams.publisher import FeedPublisher
from streams.shard import Results, Shard
from streams.topics import Topics, partition_of, route
from streams.wire import make_batch
from tests.streams.streamkit import expected_answers, make_feed, programs

TOPICS = Topics("x.", partitions=3, quote_partitions=2)


def publish(events: list[Event], per_flush: int) -> dict[str, list[bytes]]:
    """The partitions' logs as a FeedPublisher would write them (a batch per partition per
    flush, empty ones included)."""
    logs: dict[str, list[bytes]] = {}
    for topic, count in ((TOPICS.quotes, 2), (TOPICS.accounts, 3)):
        for partition in range(count):
            logs[f"{topic}[{partition}]"] = []
    pending: dict[str, tuple[list[int], list[Event]]] = {name: ([], []) for name in logs}

    def flush(upto: int) -> None:
        for name, (seqs, batch) in pending.items():
            logs[name].append(make_batch("test", upto, list(seqs), list(batch)))
            seqs.clear()
            batch.clear()

    for seq, event in enumerate(events):
        topic, partition = route(event, TOPICS)
        pending[f"{topic}[{partition}]"][0].append(seq)
        pending[f"{topic}[{partition}]"][1].append(event)
        if seq % per_flush == per_flush - 1:
            flush(seq)
    flush(len(events) - 1)
    return logs


def run(logs: dict[str, list[bytes]], partition: int, seed: int,
        restarts: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Feed a shard its partitions in a random interleaving; restart it from its
    checkpoint after the given numbers of messages. Returns the ids it answered."""
    inputs = TOPICS.inputs(partition)
    shard = Shard(partition, inputs, programs())
    position = dict.fromkeys(inputs, 0)
    rng = random.Random(seed)
    answered: list[str] = []
    read = 0
    while any(position[name] < len(logs[name]) for name in inputs):
        name = rng.choice([n for n in inputs if position[n] < len(logs[n])])
        results = Results()
        shard.offer(name, position[name], logs[name][position[name]], results)
        position[name] += 1
        shard.drain(results)
        answered += [answer.id for _, answer in results.answers]
        read += 1
        if read in restarts:
            shard = Shard.from_checkpoint(shard.checkpoint(), inputs)
            position = shard.resume_offsets()
    return answered


@pytest.mark.parametrize("per_flush", [1, 7, 500])
def test_every_interleaving_and_restart_gives_the_same_answers(per_flush: int) -> None:
    events = make_feed(seed=11, accounts=30, steps=2500)
    expected = expected_answers(events)
    logs = publish(events, per_flush)
    total = 0
    for partition in range(TOPICS.partitions):
        straight = run(logs, partition, seed=1)
        total += len(straight)
        for seed in (2, 3):
            assert run(logs, partition, seed) == straight
            length = sum(len(log) for log in logs.values())
            restarts = set(random.Random(seed).sample(range(1, length), min(5, length - 1)))
            assert run(logs, partition, seed, restarts) == straight, (partition, restarts)
    assert total == sum(len(answers) for answers in expected.values())


def test_the_merge_waits_for_an_input_that_may_still_send_a_lower_number() -> None:
    merger = Merger(["a", "b"])
    merger.offer("a", 0, upto=5, seqs=[5], events=[b"x"])  # type: ignore[list-item]
    assert list(merger.ready()) == []  # b has said nothing yet: it may hold 0-4
    merger.offer("b", 0, upto=3, seqs=[1, 3], events=[b"y", b"z"])  # type: ignore[list-item]
    assert [p.seq for p, _ in merger.ready()] == [1, 3]  # 5 waits: b may still send 4
    merger.offer("b", 1, upto=6, seqs=[], events=[])
    assert [p.seq for p, _ in merger.ready()] == [5]


class _Log:
    """A producer that keeps what the FeedPublisher sends, per partition, as a broker."""

    def __init__(self) -> None:
        self.logs: dict[str, list[bytes]] = {}

    async def send(self, topic: str, payload: bytes, partition: int) -> asyncio.Future[None]:
        self.logs.setdefault(f"{topic}[{partition}]", []).append(payload)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_shards_see_the_time_of_account_events_on_other_partitions() -> None:
    """An event of an account on another partition is the first past a day boundary: the
    publisher's time mark makes every shard reveal the rollover with its time, as replay
    does (CONTRACTS.md §3), not at the next event the shard happens to see."""
    topics = Topics("x.", partitions=2, quote_partitions=1)
    names = [f"T{i:03d}" for i in range(40)]
    first = names[0]
    other = next(n for n in names if partition_of(n, 2) != partition_of(first, 2))
    day = {"limit": 0.05}
    documents = [{"id": "prague", "initial_balance": 100000, "rules": {"daily_loss": day},
                  "day": {"timezone": "Europe/Prague", "starts_at": "00:00"}}]
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    xau = Symbol(symbol="XAUUSD", contract_size=100, profit_currency="USD")
    events: list[Event] = [
        xau,
        Account(ts=at, account=first, program="prague"),
        Account(ts=at, account=other, program="prague"),
        Deal(ts=at + timedelta(hours=1), account=first, deal=1, position=1, symbol="XAUUSD",
             side="buy", entry="in", volume=1.0, price=2000.0),
        Deal(ts=at + timedelta(hours=2), account=first, deal=2, position=1, symbol="XAUUSD",
             side="sell", entry="out", volume=1.0, price=2040.0, profit=4000.0),
        Deal(ts=at + timedelta(hours=3), account=first, deal=3, position=2, symbol="XAUUSD",
             side="buy", entry="in", volume=1.0, price=2000.0),
        Quote(ts=at + timedelta(hours=12), symbol="XAUUSD", bid=1950.0, ask=1950.3),
        # 00:05 in Prague: the other account's deal is the first event of Tuesday, when
        # the first account's floor is 104,000 − 5,000 = 99,000 = its equity.
        Deal(ts=at + timedelta(hours=15, minutes=5), account=other, deal=1, position=1,
             symbol="XAUUSD", side="buy", entry="in", volume=0.01, price=1950.3),
        Quote(ts=at + timedelta(hours=16), symbol="XAUUSD", bid=1950.0, ask=1950.3),
    ]
    programs = [parse_program(d) for d in documents]
    engine = Engine(programs)
    expected = [o for e in events for o in engine.apply(e)]
    assert [(o.account, o.ts) for o in expected] == [(first, "2026-03-02T23:05:00Z")]

    async def publish_all() -> dict[str, list[bytes]]:
        log = _Log()
        publisher = FeedPublisher(log, topics, "test")
        for event in events:
            publisher.add(event)
            await publisher.flush()
        return log.logs

    logs = asyncio.run(publish_all())
    answered = []
    for partition in range(topics.partitions):
        shard = Shard(partition, topics.inputs(partition), programs)
        results = Results()
        for offset in range(len(events)):
            for name in topics.inputs(partition):
                shard.offer(name, offset, logs[name][offset], results)
        shard.drain(results)
        answered += [answer.output for _, answer in results.answers]
    assert answered == expected
