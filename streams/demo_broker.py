"""``proptrade demo-broker``: the market simulator and demo broker as a process of its own.

It publishes the simulated market and its accounts' events to the feed topics and opens
(and disables) the accounts the platform asks for on ``broker.commands``. Like a real
broker it remembers its accounts: after a restart — a clean stop or a ``kill -9`` — it
keeps trading the same accounts, with the same balances, positions and position ids, the
platform's accounts and their disabled state, continuing the feed's event time and
numbering, consistently with what the durable log already holds.

**How.** The simulator is deterministic: a run (:class:`streams.simulator.Run`) advanced
from a given state by the same steps, with the platform's requests taking effect at the
same steps, gives the same events byte for byte. So the state kept in
``$PROPTRADE_DATA_DIR/demo-broker/`` is

- ``state.pickle``: the whole run (market, random streams, traders, their positions and
  event queue), taken between two steps right after a flush the broker acknowledged, with
  the last feed number it covers and the end offsets of the feed partitions then. Written
  at start, every few seconds and at a clean stop (write, fsync, rename).
- ``requests.jsonl``: every request that changed something (open, disable), with the step
  at which it took effect and its offset on ``broker.commands``, appended and fsynced
  before any event of that step is published. The position in ``broker.commands`` is
  kept here (the snapshot's, or past the journal's last request), not in a consumer
  group: it moves only once a request is taken and remembered, so none is lost, and one
  read again changes nothing (opening a login that exists, or disabling one already
  disabled, is a no-op). A consumer group would also make a restarted process wait for
  the group to let its dead member go before reading any request.

On start the run is restored and *replayed* up to the end of the log: each step's events
are numbered as the publisher numbered them and compared with the events the log holds
past the snapshot (they must be equal, byte for byte: anything else stops with an error
rather than feed the engine a different history). An event the log lacks though numbered
below its end — lost in the last, partial flush of a killed process — is published again
under a new number (an account's or a symbol's lost events are always the tail of its
events, so their order holds). Then the run continues live. A snapshot alone would not
do: after a ``kill -9`` the log holds what was published after it, and a feed rebuilt from
the log alone would lack the traders' hidden state (their stops, targets, sessions) and
the market's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import msgspec

from streams.commands import Command, DisableAccount, OpenAccount, command_decoder
from streams.events import Event, Quote
from streams.publisher import FeedPublisher
from streams.simulator import Run, Simulator
from streams.topics import Topics, ensure_topics

__all__ = ["DemoBrokerError", "add_arguments", "main", "serve"]

SOURCE: Final = "simulator"  # the producer name in the feed's batches (as `up` had it)
STATE_VERSION: Final = 1
SNAPSHOT_SECONDS: Final = 5.0
# A flush every 50 ms at most (each is one object per partition in the durable broker's
# log, which keeps a number of them, not an age), or as soon as 500 events wait. Behind
# the pace (a broker slow to acknowledge), the events gather until the run is back on
# time: the flushes grow with the broker's latency instead of the pace shrinking to one
# step per acknowledgement.
FLUSH_EVENTS: Final = 500
FLUSH_SECONDS: Final = 0.05
STOP_SECONDS: Final = 2.0  # at most this long for the request reader to stop
_encode = msgspec.msgpack.Encoder().encode


class DemoBrokerError(RuntimeError):
    """The demo broker cannot continue what it remembers consistently with the log."""


@dataclass
class Snapshot:
    """The demo broker's state between two steps, and how far the log held it."""

    version: int
    prefix: str  # the topics' prefix: the log this state belongs to
    run: Run
    seq: int  # the publisher's last number: every event numbered ≤ seq is in the log
    time: int  # the publisher's latest event time then (µs), for its time marks
    offsets: dict[str, int] = field(default_factory=dict)  # "topic[p]" → end offset then
    commands: int = 0  # the next offset of broker.commands to read: all before are taken


@dataclass(frozen=True)
class Options:
    accounts: int = 2000
    rate: float = 500.0
    time_scale: float = 1800.0
    seed: int = 1
    symbols: int = 50
    snapshot_seconds: float = SNAPSHOT_SECONDS


# ---------------------------------------------------------------------------- state files


class Memory:
    """``$PROPTRADE_DATA_DIR/demo-broker/``: the snapshot and the journal of requests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.snapshot_path = directory / "state.pickle"
        self.journal_path = directory / "requests.jsonl"

    def load(self) -> Snapshot | None:
        """The last snapshot, with the journal's requests after it scheduled on its run."""
        try:
            data = self.snapshot_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            snapshot = pickle.loads(data)
        except Exception as error:
            raise DemoBrokerError(f"{self.snapshot_path} cannot be read ({error}); move it "
                                  "away to start a new simulation") from error
        if not isinstance(snapshot, Snapshot) or snapshot.version != STATE_VERSION:
            raise DemoBrokerError(f"{self.snapshot_path} is not a state of this version; "
                                  "move it away to start a new simulation")
        for step, offset, request in self.requests():
            if step > snapshot.run.steps:  # taken after the snapshot: replayed at its step
                scheduled = snapshot.run.scheduled.setdefault(step, [])
                if request not in scheduled:  # a later snapshot's run has it already
                    scheduled.append(request)
            snapshot.commands = max(snapshot.commands, offset + 1)
        return snapshot

    def save(self, snapshot: Snapshot) -> None:
        data = pickle.dumps(snapshot, protocol=pickle.HIGHEST_PROTOCOL)
        partial = self.snapshot_path.with_suffix(".partial")
        with open(partial, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, self.snapshot_path)
        self._sync_directory()

    def forget(self) -> None:
        for path in (self.snapshot_path, self.journal_path):
            path.unlink(missing_ok=True)
        self._sync_directory()

    def remember(self, step: int, offset: int, login: str, document: dict[str, Any] | None,
                 balance: float | None) -> None:
        """Append a request (at ``offset`` of broker.commands) that took effect at ``step``
        (fsynced before its events go)."""
        line = json.dumps({"step": step, "offset": offset, "login": login,
                           "document": document, "balance": balance}) + "\n"
        with open(self.journal_path, "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())

    def requests(self) -> list[tuple[int, int, tuple[str, dict[str, Any] | None,
                                                      float | None]]]:
        """The journal's requests in order; a torn last line (a kill while writing it: its
        request was neither taken nor committed) is ignored."""
        try:
            text = self.journal_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        requests = []
        for line in text.splitlines():
            try:
                entry = json.loads(line)
                requests.append((int(entry["step"]), int(entry["offset"]), (
                    str(entry["login"]), entry["document"], entry["balance"])))
            except (ValueError, KeyError, TypeError):
                continue
        return requests

    def _sync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------- the log


def _tps(topics: Topics) -> list[tuple[str, int]]:
    return [(topics.quotes, p) for p in range(topics.quote_partitions)] + [
        (topics.accounts, p) for p in range(topics.partitions)]


class Log:
    """Reads the feed partitions: their ends, and our events past a snapshot."""

    def __init__(self, bootstrap: str, topics: Topics) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.structs import TopicPartition

        self.topics = topics
        self.tps = [TopicPartition(topic, p) for topic, p in _tps(topics)]
        self.reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                       enable_auto_commit=False)

    async def start(self) -> None:
        await self.reader.start()
        self.reader.assign(self.tps)
        self.reader.pause(*self.tps)  # no fetching in the background: only when asked

    async def stop(self) -> None:
        await self.reader.stop()

    async def ends(self) -> dict[str, int]:
        ends = await self.reader.end_offsets(self.tps)
        return {f"{tp.topic}[{tp.partition}]": ends[tp] for tp in self.tps}

    async def events_after(self, offsets: dict[str, int], seq: int
                           ) -> tuple[dict[int, bytes], int]:
        """Our events numbered above ``seq`` from ``offsets`` to the partitions' ends, as
        their msgpack bytes by number, and the highest watermark of our batches there
        (``seq`` when none)."""

        found: dict[int, bytes] = {}
        upto = seq
        ends = await self.reader.end_offsets(self.tps)
        self.reader.resume(*self.tps)
        try:
            return await self._read(offsets, seq, ends, found, upto)
        finally:
            self.reader.pause(*self.tps)

    async def has_ours(self) -> bool:
        """Whether the last batch of a feed partition is this producer's."""
        from streams.wire import batch_decoder

        ends = await self.reader.end_offsets(self.tps)
        self.reader.resume(*self.tps)
        try:
            for tp in self.tps:
                if ends[tp] == 0:
                    continue
                self.reader.seek(tp, ends[tp] - 1)
                fetched = await self.reader.getmany(tp, timeout_ms=5000)
                for record in fetched.get(tp, []):
                    try:
                        if batch_decoder.decode(record.value).source == SOURCE:
                            return True
                    except msgspec.MsgspecError:
                        continue
            return False
        finally:
            self.reader.pause(*self.tps)

    async def _read(self, offsets: dict[str, int], seq: int, ends: dict[Any, int],
                    found: dict[int, bytes], upto: int) -> tuple[dict[int, bytes], int]:
        from streams.wire import batch_decoder

        for tp in self.tps:
            self.reader.seek(tp, offsets.get(f"{tp.topic}[{tp.partition}]", 0))
            while await self.reader.position(tp) < ends[tp]:
                fetched = await self.reader.getmany(tp, timeout_ms=1000)
                for record in fetched.get(tp, []):
                    try:
                        batch = batch_decoder.decode(record.value)
                    except msgspec.MsgspecError:
                        continue  # not a batch: nobody's events
                    if batch.source != SOURCE:
                        continue
                    upto = max(upto, batch.upto)
                    for number, raw in zip(batch.seqs, batch.events, strict=True):
                        if number > seq:
                            found[number] = bytes(raw)
        return found, upto


async def catch_up(snapshot: Snapshot, logged: dict[int, bytes], upto: int
                   ) -> tuple[list[Event], list[Event], int, int]:
    """Replay the snapshot's run until its numbering passes ``upto`` (the log's last
    number), checking each event against ``logged`` (our events past the snapshot).

    Returns the events to publish again (numbered ≤ ``upto`` but absent: a killed
    process's last, partial flush), the first new events (of the last step replayed,
    numbered past ``upto``), the publisher's event time after the replay, and how many
    of the log's events the replay gave again.
    """
    counter = FeedPublisher(None, Topics(snapshot.prefix), SOURCE)
    counter.seq, counter._time = snapshot.seq, snapshot.time
    run = snapshot.run
    missing: list[Event] = []
    fresh: list[Event] = []
    replayed = 0
    while counter.seq < upto and not fresh:
        for event in run.advance():
            if fresh:
                fresh.append(event)
                continue
            number = counter.add(event)
            raw = logged.pop(number, None)
            if raw is not None:
                if raw != _encode(event):
                    raise DemoBrokerError(
                        f"the log's event {number} is not the one the remembered simulation "
                        f"gives ({msgspec.json.encode(event).decode()[:200]}): the state in "
                        "the data directory does not belong to this log")
                replayed += 1
            elif number <= upto:
                missing.append(event)
            else:
                fresh.append(event)
        for seqs, events in counter._pending.values():
            seqs.clear()
            events.clear()
    if logged:
        first = min(logged)
        raise DemoBrokerError(f"the log holds event {first} of this simulation, which the "
                              "remembered state does not give: the state in the data "
                              "directory does not belong to this log")
    return missing, fresh, counter._time, replayed


# ---------------------------------------------------------------------------- the process


def say(line: str) -> None:
    print(f"proptrade demo-broker: {line}", flush=True)


async def serve(bootstrap: str, topics: Topics, data_dir: Path, options: Options,
                stop: asyncio.Event) -> int:
    """Run the demo broker until ``stop``; returns how many events it published."""
    from aiokafka import AIOKafkaProducer

    memory = Memory(data_dir / "demo-broker")
    await ensure_topics(bootstrap, topics)
    log = Log(bootstrap, topics)
    await log.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2, acks="all")
    await producer.start()
    commands: asyncio.Task[None] | None = None
    try:
        publisher = FeedPublisher(producer, topics, SOURCE)
        await publisher.resume(bootstrap)
        snapshot = memory.load()
        pending: list[Event] = []
        if snapshot is not None and snapshot.prefix != topics.prefix:
            raise DemoBrokerError(f"{memory.directory} remembers the accounts of the feed "
                                  f"with topic prefix {snapshot.prefix!r}, not "
                                  f"{topics.prefix!r}")
        if snapshot is not None:
            ends = await log.ends()
            if any(ends.get(name, 0) < offset for name, offset in snapshot.offsets.items()):
                say("the log is shorter than the remembered state (a new broker?): "
                    "forgetting the accounts of the last run and starting a new simulation")
                memory.forget()
                snapshot = None
        if snapshot is None and await log.has_ours():
            raise DemoBrokerError(
                f"the feed topics already hold a simulation that {memory.directory} does not "
                "remember (its state was removed, or the topics belong to another data "
                "directory); a new one would open the same accounts again. Restore the "
                "state, or use new topics (another KAFKA_TOPIC_PREFIX or a new broker log)")
        if snapshot is None:
            start = datetime.now(UTC).replace(microsecond=0)
            simulator = Simulator(options.seed, options.accounts, options.symbols, start,
                                  rate=options.rate, time_scale=options.time_scale)
            snapshot = Snapshot(STATE_VERSION, topics.prefix, simulator.run(), publisher.seq,
                                publisher._time, await log.ends())
            memory.save(snapshot)  # before any event: a restart knows these are ours
            say(f"a new simulation: {options.accounts} accounts from {start:%Y-%m-%dT%H:%MZ}, "
                f"seed {options.seed}")
        else:
            began = time.monotonic()
            logged, upto = await log.events_after(snapshot.offsets, snapshot.seq)
            missing, pending, event_time, replayed = await catch_up(snapshot, logged, upto)
            publisher._time = max(publisher._time, event_time)
            # What the log lacked, and the rest of the last step replayed, then a snapshot
            # at once: the log now differs from the run's own numbering (the lost events'
            # new numbers), which a replay from the older snapshot could not explain.
            for event in missing + pending:
                publisher.add(event)
            pending = []
            await publisher.flush()
            snapshot = Snapshot(STATE_VERSION, topics.prefix, snapshot.run, publisher.seq,
                                publisher._time, await log.ends(), snapshot.commands)
            memory.save(snapshot)
            run = snapshot.run
            active = sum(not trader.disabled for trader in run.traders)
            at = datetime.fromtimestamp(run.now / 1e6, UTC)
            say(f"continuing {len(run.traders)} accounts ({active} not disabled) at event "
                f"time {at:%Y-%m-%dT%H:%M:%SZ}: replayed the {replayed} event(s) the log "
                f"holds past the snapshot in {time.monotonic() - began:.2f} s, published "
                f"again {len(missing)} a killed run had not stored")
            sim = run.sim
            remembered = (sim.seed, len(sim.profiles), sim.time_scale)
            if remembered != (options.seed, options.accounts, options.time_scale):
                say(f"--seed, --accounts and --time-scale shape a new simulation; this one "
                    f"continues as it began (seed {sim.seed}, {len(sim.profiles)} accounts, "
                    f"time scale {sim.time_scale:g})")
        run = snapshot.run
        requests = Requests(bootstrap, topics, run, memory, snapshot.commands)
        commands = asyncio.create_task(requests.follow(stop))
        return await _publish(run, publisher, pending, options, memory, log, stop, commands,
                              requests)
    finally:
        if commands is not None:
            # A request not taken yet is read again at the next start.
            stop.set()
            await asyncio.wait({commands}, timeout=STOP_SECONDS)
            commands.cancel()
            await asyncio.gather(commands, return_exceptions=True)
        # With the broker gone these could wait for its timeouts: a stop is bounded.
        for closing in (producer.stop, log.stop):
            try:
                await asyncio.wait_for(closing(), STOP_SECONDS)
            except TimeoutError:
                pass


async def _publish(run: Run, publisher: FeedPublisher, pending: list[Event], options: Options,
                   memory: Memory, log: Log, stop: asyncio.Event,
                   commands: asyncio.Task[None], requests: Requests) -> int:
    """Step the run and publish at ``options.rate`` quotes/s, snapshotting every few
    seconds between two steps after a flush, and at the end."""
    loop_started = time.monotonic()
    quotes = 0
    last_flush = last_snapshot = loop_started
    sent_before = publisher.sent

    async def stored() -> bool:
        """Flush; False when a stop came and the broker did not take the batches within
        a moment (the broker gone): they are abandoned, as a kill would."""
        flush = asyncio.ensure_future(publisher.flush())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({flush, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not flush.done():
            await asyncio.wait({flush}, timeout=STOP_SECONDS)
        if not flush.done():
            flush.cancel()
            return False
        flush.result()
        return True

    async def snapshot() -> bool:
        if not await stored():
            return False
        ends = await log.ends()
        memory.save(Snapshot(STATE_VERSION, publisher.topics.prefix, run, publisher.seq,
                             publisher._time, ends, requests.taken))
        return True

    batch = pending
    whole = True  # every event numbered so far is stored, or still may be
    behind = False  # the last quote was due already: gather, flush when back on time
    while whole and not stop.is_set():
        if commands.done():
            commands.result()  # the request reader failed: say why
            raise DemoBrokerError("the request reader stopped")
        for event in batch:
            if type(event) is Quote and not stop.is_set():
                due = loop_started + quotes / options.rate
                quotes += 1
                behind = due - time.monotonic() <= 0.002
                if not behind:
                    if publisher.pending and time.monotonic() - last_flush >= FLUSH_SECONDS:
                        whole = await stored()
                        last_flush = time.monotonic()
                    if (wait := due - time.monotonic()) > 0:
                        try:
                            await asyncio.wait_for(stop.wait(), wait)
                        except TimeoutError:
                            pass
            publisher.add(event)
        now = time.monotonic()
        if whole and (publisher.pending >= FLUSH_EVENTS
                      or (not behind and now - last_flush >= FLUSH_SECONDS)):
            whole = await stored()
            last_flush = time.monotonic()
        if whole and now - last_snapshot >= options.snapshot_seconds:
            whole = await snapshot()
            last_snapshot = time.monotonic()
        if stop.is_set():
            break
        batch = run.advance()
    # The last snapshot. Not after an abandoned flush (its events may be missing, and a
    # snapshot must only cover stored ones): the next start replays the log instead.
    if not whole or not await snapshot():
        say("the broker did not store the last events in time: the next start replays "
            "the log from the last snapshot")
    return publisher.sent - sent_before


class Requests:
    """Reads ``broker.commands`` from the remembered position and hands each request to
    the run, one at a time: the position moves past a request only once the run took it
    (and the journal holds it, when it changed something)."""

    def __init__(self, bootstrap: str, topics: Topics, run: Run, memory: Memory,
                 position: int) -> None:
        self.bootstrap, self.topics, self.run, self.simulator = bootstrap, topics, run, run.sim
        simulator = run.sim
        self.memory = memory
        self.taken = position  # the next offset to read: every request before it is taken
        self.reading = position  # the offset of the request being handed over
        simulator.on_command = self.remember

    def remember(self, step: int, login: str, document: dict[str, Any] | None,
                 balance: float | None) -> None:
        self.memory.remember(step, self.reading, login, document, balance)

    async def follow(self, stop: asyncio.Event) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.structs import TopicPartition

        reader = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                  enable_auto_commit=False, fetch_max_wait_ms=50)
        await reader.start()
        try:
            tp = TopicPartition(self.topics.commands, 0)
            reader.assign([tp])
            reader.seek(tp, self.taken)
            while not stop.is_set():
                fetched = await reader.getmany(tp, timeout_ms=200, max_records=100)
                for record in fetched.get(tp, []):
                    if not await self._hand_over(record.offset, record.value, stop):
                        return
        finally:
            await reader.stop()

    async def _hand_over(self, offset: int, value: bytes, stop: asyncio.Event) -> bool:
        """Give the request at ``offset`` to the run and wait until it took it; False
        when stopped first (it is read again at the next start)."""
        try:
            command: Command = command_decoder.decode(value)
        except msgspec.MsgspecError as error:
            print(f"proptrade demo-broker: {self.topics.commands}@{offset} is not a "
                  f"request, skipped: {error}", file=sys.stderr, flush=True)
            self.taken = offset + 1
            return True
        # Requests the last run took at steps this one has not reached yet come first,
        # in their order (a disable must not overtake the opening it follows).
        while self.run.scheduled:
            if stop.is_set():
                return False
            await asyncio.sleep(0.005)
        self.reading = offset
        if isinstance(command, OpenAccount):
            self.simulator.adopt(command.login, dict(command.program), command.balance)
        elif isinstance(command, DisableAccount):
            self.simulator.disable(command.login)
        while self.simulator.inbox:
            if stop.is_set():
                return False
            await asyncio.sleep(0.005)
        self.taken = offset + 1
        return True


# ---------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``proptrade demo-broker``'s options on ``parser``."""
    parser.add_argument("--accounts", type=int, default=2000,
                        help="trader accounts of a new simulation (default 2000)")
    parser.add_argument("--rate", type=float, default=500.0,
                        help="quotes per wall-clock second (default 500)")
    parser.add_argument("--time-scale", type=float, default=1800.0, metavar="X",
                        help="event seconds per wall second of a new simulation "
                             "(default 1800: a trading day in 48 s)")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed of a new simulation (default 1)")
    parser.add_argument("--snapshot-seconds", type=float, default=SNAPSHOT_SECONDS,
                        metavar="S", help="seconds between two snapshots of the state "
                        f"(default {SNAPSHOT_SECONDS:g}; a restart replays the log past it)")


def main(args: argparse.Namespace) -> int:
    """Run ``proptrade demo-broker`` until SIGINT or SIGTERM; 0 after a clean stop."""
    from streams.topics import kafka_from_environment

    if (args.accounts < 0 or args.rate <= 0 or args.time_scale <= 0
            or args.snapshot_seconds <= 0):
        print("proptrade demo-broker: error: --accounts must be ≥ 0, --rate, --time-scale "
              "and --snapshot-seconds > 0", file=sys.stderr)
        return 2
    kafka = kafka_from_environment("demo-broker", "name the broker to publish to")
    if kafka is None:
        return 2
    settings, topics = kafka
    from streams.logs import setup

    setup(settings.log_level)
    options = Options(accounts=args.accounts, rate=args.rate, time_scale=args.time_scale,
                      seed=args.seed, snapshot_seconds=args.snapshot_seconds)

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await serve(settings.kafka_bootstrap, topics, settings.data_dir, options, stop)

    try:
        count = asyncio.run(run())
    except DemoBrokerError as error:
        print(f"proptrade demo-broker: error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # the broker unreachable, the disk full: say it, exit 1
        print(f"proptrade demo-broker: error: {type(error).__name__}: {error}",
              file=sys.stderr)
        return 1
    say(f"stopped after publishing {count} events; the accounts are remembered in "
        f"{settings.data_dir / 'demo-broker'}")
    return 0
