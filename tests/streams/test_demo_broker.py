"""``proptrade demo-broker``: the same accounts keep trading across restarts (a kill -9 and
a clean stop), consistently with the log, checked by the engine over the whole log."""

from __future__ import annotations

import asyncio
import copy
import os
import pickle
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaProducer

from streams.broker import EmbeddedBroker
from streams.commands import DisableAccount, OpenAccount, encode_command
from streams.demo_broker import (
    STATE_VERSION,
    DemoBrokerError,
    Memory,
    Snapshot,
    catch_up,
)
from streams.engine import Engine, FeedError
from streams.events import Account, Clock, Deal, Event, from_micros, msgpack_decoder, to_micros
from streams.program import parse_program
from streams.publisher import FeedPublisher
from streams.simulator import Run, Simulator
from streams.topics import Topics
from streams.wire import batch_decoder
from tests.streams.streamkit import read_topic

PLATFORM_PROGRAM = {"id": "platform-demo", "currency": "USD", "initial_balance": 100_000,
                    "rules": {"max_loss": {"limit": 0.5}}}


# ---------------------------------------------------------------------------- replay


def _numbered(sim: Simulator, steps: int
              ) -> tuple[Snapshot, dict[int, bytes], int, list[Event], Run]:
    """A snapshot after the opening, then ``steps`` more steps numbered as the publisher
    numbers them (a platform account opening halfway, written to the journal as the demo
    broker does): their bytes by number, the last number, and the events in order."""
    run = sim.run()
    counter = FeedPublisher(None, Topics("t."), "simulator")
    for event in run.advance():
        counter.add(event)
    snapshot = Snapshot(STATE_VERSION, "t.", copy.deepcopy(run), counter.seq, counter._time)
    journal: list[tuple[int, tuple[str, Any, Any]]] = []
    sim.on_command = lambda step, *request: journal.append((step, request))
    logged: dict[int, bytes] = {}
    events: list[Event] = []
    for step in range(steps):
        if step == steps // 2:
            sim.adopt("GW-9", dict(PLATFORM_PROGRAM))
        for event in run.advance():
            logged[counter.add(event)] = msgspec.msgpack.encode(event)
            events.append(event)
    assert [login for _, (login, _, _) in journal] == ["GW-9"]
    for step, request in journal:
        snapshot.run.scheduled.setdefault(step, []).append(request)
    return snapshot, logged, counter.seq, events, run


def test_replay_matches_the_log_and_finds_what_a_partial_flush_lost() -> None:
    snapshot, logged, upto, events, original = _numbered(Simulator(4, 40, time_scale=20_000),
                                                         12_000)
    assert any(isinstance(e, Deal) and e.account == "GW-9" for e in events)
    # The log lost the last events of one account (a killed process's partial flush).
    account = next(e.account for e in reversed(events) if isinstance(e, Deal))
    numbers = sorted(logged)
    lost = [n for n in numbers[-200:]
            if getattr(msgpack_decoder.decode(logged[n]), "account", None) == account]
    assert lost
    for number in lost:
        del logged[number]
    restored = pickle.loads(pickle.dumps(snapshot))
    missing, fresh, _, replayed = asyncio.run(catch_up(restored, dict(logged), upto))
    mine = [msgspec.msgpack.encode(e) for e in events if getattr(e, "account", None) == account]
    assert [msgspec.msgpack.encode(e) for e in missing] == mine[-len(lost):]
    assert replayed == len(logged)  # every other event was in the log
    # The restored run continues where the original stopped: the same next events.
    assert (restored.run.steps, restored.run.now) == (original.steps, original.now)
    following = [original.advance() for _ in range(2_000)]
    assert [restored.run.advance() for _ in range(2_000)] == following
    assert fresh == []  # the log ended with a whole step


def test_replay_refuses_a_log_the_state_does_not_give() -> None:
    snapshot, logged, upto, _, _ = _numbered(Simulator(4, 40, time_scale=20_000), 500)
    number = sorted(logged)[100]
    logged[number] = msgspec.msgpack.encode(Clock(ts=from_micros(0)))
    with pytest.raises(DemoBrokerError, match=f"event {number} "):
        asyncio.run(catch_up(snapshot, logged, upto))


def test_the_journal_ignores_a_torn_last_line(tmp_path: Path) -> None:
    memory = Memory(tmp_path)
    memory.remember(7, 3, "GW-1", {"id": "p"}, 10_000.0)
    with open(memory.journal_path, "a") as file:
        file.write('{"step": 9, "offset": 4, "login": "GW-')
    assert memory.requests() == [(7, 3, ("GW-1", {"id": "p"}, 10_000.0))]


# ---------------------------------------------------------------------------- the process

ARGS = ["--accounts", "80", "--rate", "400", "--time-scale", "20000", "--seed", "3",
        "--snapshot-seconds", "2"]


class DemoBroker:
    """``proptrade demo-broker`` as a child process on the session's broker."""

    def __init__(self, broker: EmbeddedBroker, data_dir: Path, prefix: str) -> None:
        self.env = {**os.environ, "KAFKA_BOOTSTRAP": broker.bootstrap,
                    "KAFKA_TOPIC_PREFIX": prefix, "PROPTRADE_DATA_DIR": str(data_dir)}
        self.process: subprocess.Popen[str] | None = None
        self.outputs: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "demo-broker", *ARGS], env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.outputs.append(self.process.communicate(timeout=10)[0])

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        output = self.process.communicate(timeout=10)[0]
        self.outputs.append(output)
        return self.process.returncode

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


class Feed:
    """The whole feed as the topics hold it, in the producer's order."""

    def __init__(self, bootstrap: str, topics: Topics) -> None:
        self.bootstrap, self.topics = bootstrap, topics

    def read(self) -> list[tuple[int, Event]]:
        async def records() -> list[Any]:
            quotes = await read_topic(self.bootstrap, self.topics.quotes,
                                      self.topics.quote_partitions)
            accounts = await read_topic(self.bootstrap, self.topics.accounts,
                                        self.topics.partitions)
            return quotes + accounts

        numbered: list[tuple[int, Event]] = []
        for record in asyncio.run(records()):
            batch = batch_decoder.decode(record.value)
            numbered += [(seq, msgpack_decoder.decode(raw))
                         for seq, raw in zip(batch.seqs, batch.events, strict=True)]
            marks = batch.marks
            numbered += [(marks[i], Clock(ts=from_micros(marks[i + 1])))
                         for i in range(0, len(marks), 2)]
        numbered.sort(key=lambda item: item[0])
        return numbered

    def deals_of(self, login: str) -> int:
        return sum(1 for _, e in self.read() if isinstance(e, Deal) and e.account == login)


def _command(bootstrap: str, topics: Topics, *commands: OpenAccount | DisableAccount) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for command in commands:
                await producer.send_and_wait(topics.commands, encode_command(command))
        finally:
            await producer.stop()

    asyncio.run(send())


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def test_a_killed_and_a_stopped_demo_broker_keep_trading_the_same_accounts(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    prefix = f"demo{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix)
    feed = Feed(broker.bootstrap, topics)
    demo = DemoBroker(broker, tmp_path, prefix)
    try:
        demo.start()
        _wait(lambda: (tmp_path / "demo-broker" / "state.pickle").exists(), 20, "a state")
        # The platform opens two accounts and disables one of them.
        _command(broker.bootstrap, topics,
                 OpenAccount("GW-1", dict(PLATFORM_PROGRAM), balance=80_000.0),
                 OpenAccount("GW-2", dict(PLATFORM_PROGRAM)))
        _wait(lambda: feed.deals_of("GW-1") >= 2, 30, "GW-1's deals")
        _command(broker.bootstrap, topics, DisableAccount("GW-2", "failed"))
        time.sleep(3.1)  # past a snapshot, and on: the log holds events after it
        demo.kill()
        before = feed.read()
        # A kill -9 (twice: once soon after the restart), then a clean stop: each restart
        # continues the same accounts.
        demo.start()
        time.sleep(3)
        demo.kill()
        demo.start()
        # Asked again (an operator's retry): opening an existing login changes nothing; a
        # new account opens and trades.
        _command(broker.bootstrap, topics, OpenAccount("GW-1", dict(PLATFORM_PROGRAM)),
                 OpenAccount("GW-3", dict(PLATFORM_PROGRAM)))
        _wait(lambda: feed.deals_of("GW-3") >= 1, 30, "GW-3's deals")
        assert demo.stop() == 0, demo.outputs[-1]
        middle = feed.read()
        demo.start()
        time.sleep(4)
        assert demo.stop() == 0, demo.outputs[-1]
    finally:
        demo.close()
    after = feed.read()
    # The kill left events past the last snapshot in the log: the restart replayed them.
    replayed = re.search(r"continuing .* replayed the (\d+) event", demo.outputs[1])
    assert replayed and int(replayed.group(1)) > 0, demo.outputs
    assert "continuing" in demo.outputs[2] and "continuing" in demo.outputs[3], demo.outputs

    # Numbering continues: no number twice, every run's numbers above the last run's.
    numbers = [seq for seq, _ in after]
    assert len(numbers) == len(set(numbers))
    assert min(seq for seq, _ in after[len(before):]) > max(seq for seq, _ in before)
    assert len(before) < len(middle) < len(after)

    # The engine takes the whole log, restarts included, without refusing anything: no
    # position closed that is not open, no account opened twice, no time going back.
    sim = Simulator(3, 0)
    engine = Engine([parse_program(doc) for doc in sim.programs()])
    refused = []
    for seq, event in after:
        try:
            engine.apply(event)
        except FeedError as error:
            refused.append((seq, event, str(error)))
    assert refused == []
    opened = Counter(e.account for _, e in after if isinstance(e, Account))
    assert max(opened.values()) == 1 and opened["GW-1"] == opened["GW-3"] == 1

    # The same accounts trade before and after each restart, the platform's included,
    # and positions opened before the kill are closed after it.
    def deals(events: list[tuple[int, Event]]) -> list[Deal]:
        return [e for _, e in events if isinstance(e, Deal)]

    first, second, third = (deals(before), deals(middle[len(before):]),
                            deals(after[len(middle):]))
    traded_before = {d.account for d in first}
    assert len(traded_before & {d.account for d in second}) >= 3
    assert traded_before & {d.account for d in third}
    # The platform's accounts are remembered as they are: GW-1 trading (whether it deals
    # in the few event days after the kill depends on its trader), GW-2 disabled.
    remembered = Memory(tmp_path / "demo-broker").load()
    assert remembered is not None
    traders = {t.profile.account: t for t in remembered.run.traders}
    assert not traders["GW-1"].disabled and traders["GW-2"].disabled
    assert not traders["GW-3"].disabled
    disabled_at = max(i for i, (_, e) in enumerate(before) if getattr(e, "account", "") == "GW-2")
    assert not [e for _, e in after[disabled_at + 1:] if getattr(e, "account", "") == "GW-2"]
    open_at_kill = {(d.account, d.position) for d in first if d.entry == "in"} - {
        (d.account, d.position) for d in first if d.entry == "out"}
    closed_later = {(d.account, d.position) for d in second + third if d.entry == "out"}
    assert open_at_kill & closed_later, "no position open at the kill was closed after it"

    # Event time never goes back for an account, across the restarts.
    last: dict[str, int] = defaultdict(int)
    for _, event in after:
        account = getattr(event, "account", None)
        if account is not None:
            ts = to_micros(event.ts)  # type: ignore[union-attr]
            assert ts >= last[account], (account, event)
            last[account] = ts


def test_a_feed_the_data_directory_does_not_remember_is_refused(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    prefix = f"demo{uuid.uuid4().hex[:8]}."
    demo = DemoBroker(broker, tmp_path / "first", prefix)
    try:
        demo.start()
        _wait(lambda: Feed(broker.bootstrap, Topics(prefix)).read(), 20, "a feed")
        assert demo.stop() == 0
        # Another data directory on the same topics: it would open the same accounts.
        demo.env["PROPTRADE_DATA_DIR"] = str(tmp_path / "second")
        demo.start()
        assert demo.process is not None
        assert demo.process.wait(timeout=20) == 1
    finally:
        demo.close()
    output = demo.process.communicate()[0]
    assert "already hold a simulation" in output, output


def test_a_restored_state_schedules_the_requests_taken_after_it(tmp_path: Path) -> None:
    memory = Memory(tmp_path)
    run = Simulator(4, 5, time_scale=20_000).run()
    for _ in range(50):
        run.advance()
    memory.save(Snapshot(STATE_VERSION, "t.", run, 10, 0, {}, commands=3))
    memory.remember(20, 3, "GW-1", {"id": "p"}, None)  # before the snapshot: in its run
    memory.remember(70, 5, "GW-1", None, None)  # after it: replayed at its step
    restored = memory.load()
    assert restored is not None and restored.run.steps == 49
    assert restored.run.scheduled == {70: [("GW-1", None, None)]}
    assert restored.commands == 6  # reading resumes past the last request taken
    memory.save(restored)  # a later snapshot's run holds it already: not twice
    again = memory.load()
    assert again is not None and again.run.scheduled == {70: [("GW-1", None, None)]}
