"""The risk engine live on the real broker: answers equal replay's, recovery, dead letters."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import generate_latest

from storage.database import drop_schema
from streams.accounts import STATUS_NAMES
from streams.broker import EmbeddedBroker
from streams.checkpoints import CheckpointStore
from streams.engine import Engine, FeedError
from streams.events import Account, Deal, Quote
from streams.feed import publish
from streams.topics import Topics, partition_of
from streams.wire import metrics_decoder
from streams.worker import Worker
from tests.streams.streamkit import (
    PROGRAMS,
    answers_on,
    by_account,
    dead_letters_on,
    expected_answers,
    make_feed,
    programs,
    read_topic,
    replay_engine,
    wait_for,
)

DSN = "postgresql://localhost:5432/postgres"


@pytest.fixture
def stream(broker: EmbeddedBroker) -> Iterator[tuple[str, Topics, str, str]]:
    """A fresh topic prefix, consumer group and checkpoint schema for one test."""
    tag = uuid.uuid4().hex[:10]
    schema = f"test_{tag}"
    yield broker.bootstrap, Topics(f"t{tag}.", partitions=3, quote_partitions=2), \
        f"group-{tag}", schema
    asyncio.run(drop_schema(DSN, schema))


async def run_worker_until(worker: Worker, done: object, timeout: float = 60) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))

    async def finished() -> bool:
        if task.done():
            task.result()  # the worker died: raise its error here
            raise AssertionError("the worker stopped by itself")
        return await done()  # type: ignore[operator]

    try:
        await wait_for(finished, timeout, "the worker to catch up")
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


def caught_up(worker: Worker, last_seq: int, partitions: int) -> object:
    async def check() -> bool:
        return len(worker.shards) == partitions and all(
            _quiet(live.shard, last_seq) for live in worker.shards.values())

    def explain() -> str:
        return str({p: {name: (i.watermark, len(i.queue)) for name, i in
                        live.shard.merger.inputs.items()} for p, live in worker.shards.items()})
    check.explain = explain  # type: ignore[attr-defined]
    return check


def _quiet(shard: object, last_seq: int) -> bool:
    merger = shard.merger  # type: ignore[attr-defined]
    return all(source.watermark >= last_seq and not source.queue
               for source in merger.inputs.values())


def test_a_recorded_feed_gives_on_risk_events_what_replay_gives(stream) -> None:
    bootstrap, topics, group, schema = stream
    events = make_feed(seed=3)
    # An account left holding a position at the end, so the last snapshots carry prices.
    end = max(e.ts for e in events if hasattr(e, "ts"))
    gold = [e for e in events if isinstance(e, Quote) and e.symbol == "XAUUSD"][-1]
    events += [Account(ts=end, account="Z1", program="static"),
               Deal(ts=end, account="Z1", deal=1, position=1, symbol="XAUUSD", side="buy",
                    entry="in", volume=0.5, price=gold.ask)]
    expected = expected_answers(events)
    assert sum(len(v) for v in expected.values()) >= 10, "the feed should breach and pass"

    async def scenario() -> None:
        count = await publish(events, bootstrap, topics, speed=0)
        assert count == len(events)
        worker = Worker(bootstrap, topics, programs(), group, CheckpointStore(DSN, schema),
                        session_timeout_ms=6000)
        await run_worker_until(worker, caught_up(worker, count - 1, topics.partitions))
        answers = await answers_on(bootstrap, topics)
        assert len({a.id for a in answers}) == len(answers), "an answer was published twice"
        assert by_account(answers) == expected
        for answer in answers:  # each answer sits in its account's partition
            assert answer.id.split(":")[0] == str(partition_of(answer.output.account,
                                                              topics.partitions))
        exposition = generate_latest(worker.metrics.registry).decode()
        assert f'proptrade_answers_out_total{{topic="{topics.events}"}} {len(answers)}.0' \
            in exposition
        assert "proptrade_dead_letters_total 0.0" in exposition
        assert "proptrade_checkpoints_total" in exposition
        # risk.metrics: the last snapshot of each account equals the engine's final state.
        engine = replay_engine(events)
        final = {state.account: state for state in engine.states()}
        latest: dict[str, tuple[float, float, int, int]] = {}
        day_start: dict[str, tuple[float, float]] = {}
        prices: dict[str, list] = {}
        for record in await read_topic(bootstrap, topics.metrics, topics.partitions):
            batch = metrics_decoder.decode(record.value)
            equity = np.frombuffer(batch.equity)
            balance = np.frombuffer(batch.balance)
            status = np.frombuffer(batch.status, dtype=np.int8)
            days = np.frombuffer(batch.trading_days, dtype=np.int32)
            start_balance = np.frombuffer(batch.day_start_balance)
            start_equity = np.frombuffer(batch.day_start_equity)
            for i, account in enumerate(batch.accounts):
                latest[account] = (balance[i] / 100, equity[i] / 100, int(status[i]),
                                   int(days[i]))
                day_start[account] = (start_balance[i], start_equity[i])
                prices[account] = batch.breach_prices[i]
        assert set(latest) == set(final)
        table = engine.table
        for account, (balance, equity, status, days) in latest.items():
            state, row = final[account], engine.rows[account]
            assert (balance, equity, STATUS_NAMES[status], days) == (
                state.balance, state.equity, state.status, state.trading_days), account
            assert day_start[account] == (table.day_start_balance[row],
                                          table.day_start_equity[row]), account
            # Breach prices: the replayed engine's own (the last snapshot was taken when
            # the account last changed; a later quote of a sub-cent move leaves them).
            assert [(p.symbol, p.quote, p.net_volume, p.floor) for p in prices[account]] \
                == [(p.symbol, p.quote, p.net_volume, p.floor)
                    for p in engine.breach_prices(account)], account
            assert [p.price for p in prices[account]] == pytest.approx(
                [p.price for p in engine.breach_prices(account)], rel=1e-9), account
        assert [p.price is not None for p in prices["Z1"]] == [True]

    asyncio.run(scenario())


def test_bad_messages_go_to_the_dead_letter_topic_and_the_stream_goes_on(stream) -> None:
    bootstrap, topics, group, schema = stream
    events = make_feed(seed=5, accounts=6, steps=400)
    expected = expected_answers(events)

    async def scenario() -> None:
        from streams.events import Deal

        half = len(events) // 2
        stranger = Deal(ts=events[half].ts, account="NOBODY", deal=1, position=1,  # type: ignore[attr-defined]
                        symbol="EURUSD", side="buy", entry="in", volume=1.0, price=1.1)
        await publish([*events[:half], stranger, *events[half:]], bootstrap, topics, speed=0)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            await producer.send_and_wait(topics.accounts, b"\xc1 not msgpack", partition=0)
        finally:
            await producer.stop()
        worker = Worker(bootstrap, topics, programs(), group, CheckpointStore(DSN, schema),
                        session_timeout_ms=6000)

        async def done() -> bool:
            return await caught_up(worker, len(events), topics.partitions)() and \
                len(await dead_letters_on(bootstrap, topics)) >= 2

        await run_worker_until(worker, done)
        letters = await dead_letters_on(bootstrap, topics)
        reasons = sorted(letter.reason for letter in letters)
        assert len(letters) == 2
        assert any("unknown account 'NOBODY'" in reason for reason in reasons), reasons
        assert any(reason.startswith("not a batch") for reason in reasons), reasons
        assert all(letter.origin.startswith(f"{topics.accounts}[") for letter in letters)
        assert any(letter.origin == f"{topics.accounts}[0]@{letter.origin.split('@')[1]}"
                   and letter.payload == b"\xc1 not msgpack" for letter in letters)
        assert by_account(await answers_on(bootstrap, topics)) == expected

    asyncio.run(scenario())



def test_refusals_of_the_feed_checks_go_to_dead_letters_as_in_replay(stream) -> None:
    """A deal delivered twice, one going back in time and one whose volume is beyond the
    exact range: refused by the worker with the same reasons replay gives, as dead letters
    naming ``topic[partition]@offset``; the answers stay those of the clean feed."""
    bootstrap, topics, group, schema = stream
    events = make_feed(seed=6, accounts=6, steps=400)
    engine = Engine(programs())  # the deal redelivered: one of an account still active
    for at, deal in enumerate(events):
        with contextlib.suppress(FeedError):
            engine.apply(deal)
        if (at > len(events) // 2 and isinstance(deal, Deal) and deal.entry == "in"
                and engine.state(deal.account).status == "active"):
            break
    earlier = next(e for e in events[at + 1:] if isinstance(e, Deal) and e.entry == "in"
                   and e.account == deal.account)
    back = msgspec.structs.replace(earlier, deal=900_001, position=900_001,
                                   ts=deal.ts - timedelta(seconds=1))
    huge = msgspec.structs.replace(deal, deal=900_002, position=900_002, volume=1e300)
    clean = list(events)
    dirty = [*events[:at + 1], deal, *events[at + 1:]]
    later = dirty.index(earlier)
    dirty[later + 1:later + 1] = [back, huge]
    expected = expected_answers(clean)

    async def scenario() -> None:
        await publish(dirty, bootstrap, topics, speed=0)
        worker = Worker(bootstrap, topics, programs(), group, CheckpointStore(DSN, schema),
                        session_timeout_ms=6000)

        async def done() -> bool:
            return await caught_up(worker, len(dirty) - 1, topics.partitions)() and \
                len(await dead_letters_on(bootstrap, topics)) >= 3

        await run_worker_until(worker, done)
        letters = await dead_letters_on(bootstrap, topics)
        reasons = sorted(letter.reason for letter in letters)
        assert len(letters) == 3, reasons
        assert any("already applied" in reason for reason in reasons), reasons
        assert any("back in time" in reason for reason in reasons), reasons
        assert any(reason.startswith("volume: ") and "1,000,000,000 lots" in reason
                   for reason in reasons), reasons
        partition = partition_of(deal.account, topics.partitions)
        assert all(re.fullmatch(rf"{re.escape(topics.accounts)}\[{partition}\]@\d+",
                                letter.origin) for letter in letters), letters
        assert by_account(await answers_on(bootstrap, topics)) == expected

    asyncio.run(scenario())


# -- separate worker processes: kill -9 and take-over -------------------------------------

CONSOLE = Path(sys.executable).parent / "proptrade"


class WorkerProcess:
    """`proptrade worker` in a process of its own, logging to a file."""

    def __init__(self, bootstrap: str, topics: Topics, group: str, schema: str,
                 folder: Path, name: str, checkpoint_interval: float = 0.3) -> None:
        programs = folder / "programs"
        programs.mkdir(exist_ok=True)
        for doc in PROGRAMS:
            (programs / f"{doc['id']}.json").write_text(json.dumps(doc))
        self.log = folder / f"{name}.log"
        env = {**os.environ, "KAFKA_BOOTSTRAP": bootstrap, "KAFKA_TOPIC_PREFIX": topics.prefix,
               "FEED_PARTITIONS": str(topics.partitions), "DATABASE_URL": DSN}
        self._output = self.log.open("ab")
        self.process = subprocess.Popen(
            [str(CONSOLE), "worker", "--program", str(programs), "--group", group,
             "--schema", schema, "--checkpoint-interval", str(checkpoint_interval),
             "--session-timeout-ms", "4000"],
            env=env, stdout=self._output, stderr=subprocess.STDOUT)

    def opened(self) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if "opened" in line]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._output.close()


async def _count_checkpoints(schema: str) -> int:
    import asyncpg

    connection = await asyncpg.connect(DSN)
    try:
        exists = await connection.fetchval(
            "SELECT to_regclass($1) IS NOT NULL", f"{schema}.stream_checkpoints")
        if not exists:
            return 0
        return int(await connection.fetchval(f"SELECT count(*) FROM {schema}.stream_checkpoints"))
    finally:
        await connection.close()


def _answers_settle(bootstrap: str, topics: Topics, expected: int, timeout: float) -> list:
    """Wait until risk.events holds ``expected`` answers (or more) and stays so."""
    deadline = time.monotonic() + timeout
    answers: list = []
    while time.monotonic() < deadline:
        answers = asyncio.run(answers_on(bootstrap, topics))
        if len(answers) >= expected:
            time.sleep(1.5)  # a duplicate would arrive now if there were one
            return asyncio.run(answers_on(bootstrap, topics))
        time.sleep(0.3)
    raise AssertionError(f"{len(answers)} answers on risk.events after {timeout} s, "
                         f"expected {expected}")


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.2)


def test_kill_9_mid_feed_then_restart_gives_the_uninterrupted_answers(stream, tmp_path) -> None:
    bootstrap, topics, group, schema = stream
    events = make_feed(seed=11, accounts=30, steps=4000)
    expected = expected_answers(events)
    total = sum(len(v) for v in expected.values())
    half = _split_with_answers_after(events)
    before_kill = sum(len(a) for a in expected_answers(events[:half]).values())
    asyncio.run(publish(events[:half], bootstrap, topics, speed=0))
    # Checkpoints 4 s apart: the answers to the second part are published after the last
    # checkpoint, so the restarted worker must find them and not publish them again.
    first = WorkerProcess(bootstrap, topics, group, schema, tmp_path, "first", 4.0)
    try:
        _wait(lambda: asyncio.run(_count_checkpoints(schema)) == topics.partitions, 60,
              "a checkpoint of every shard")
        asyncio.run(publish(events[half:], bootstrap, topics, speed=0))
        _wait(lambda: len(asyncio.run(answers_on(bootstrap, topics))) > before_kill, 30,
              "answers to the second part")
        first.kill()
    finally:
        first.stop()
    second = WorkerProcess(bootstrap, topics, group, schema, tmp_path, "second")
    try:
        # Under load the first worker may have published every answer before its kill:
        # the answers are then complete before the second has opened anything, so wait for
        # its shards to open, and only then watch for a duplicate.
        _wait(lambda: len(second.opened()) == topics.partitions, 90,
              "the restarted worker to open every shard")
        answers = _answers_settle(bootstrap, topics, total, 90)
    finally:
        second.stop()
    assert len({a.id for a in answers}) == len(answers), "an answer was published twice"
    assert by_account(answers) == expected
    reopened = second.opened()
    assert all("from checkpoint" in line for line in reopened), reopened
    suppressed = sum(int(line.split(", ")[1].split()[0]) for line in reopened)
    assert suppressed > 0, reopened


def test_two_workers_share_the_partitions_and_one_takes_over_when_the_other_dies(
        stream, tmp_path) -> None:
    bootstrap, topics, group, schema = stream
    events = make_feed(seed=17, accounts=30, steps=3000)
    expected = expected_answers(events)
    total = sum(len(v) for v in expected.values())
    half = _split_with_answers_after(events)
    one = WorkerProcess(bootstrap, topics, group, schema, tmp_path, "one")
    two = WorkerProcess(bootstrap, topics, group, schema, tmp_path, "two")
    try:
        _wait(lambda: one.opened() and two.opened(), 60, "both workers to hold partitions")
        asyncio.run(publish(events[:half], bootstrap, topics, speed=0))
        _wait(lambda: asyncio.run(_count_checkpoints(schema)) == topics.partitions, 60,
              "checkpoints of every shard")
        held_by_one = _partitions(one.opened())
        one.kill()
        asyncio.run(publish(events[half:], bootstrap, topics, speed=0))
        _wait(lambda: _partitions(two.opened()) == set(range(topics.partitions)), 60,
              "the survivor to take over every partition")
        answers = _answers_settle(bootstrap, topics, total, 90)
    finally:
        one.stop()
        two.stop()
    assert held_by_one and held_by_one != set(range(topics.partitions)), "no split"
    assert len({a.id for a in answers}) == len(answers), "an answer was published twice"
    assert by_account(answers) == expected


def _partitions(opened: list[str]) -> set[int]:
    return {int(line.split("shard ")[1].split()[0]) for line in opened}


def _split_with_answers_after(events: list) -> int:
    """An index such that about a third of the answers come from events after it."""
    from streams.engine import Engine, FeedError

    engine = Engine(programs())
    counts = []
    for event in events:
        try:
            counts.append(len(engine.apply(event)))
        except FeedError:
            counts.append(0)
    total, running = sum(counts), 0
    for index, count in enumerate(counts):
        running += count
        if running >= total * 2 // 3:
            return index + 1
    return len(events) // 2
