"""``proptrade worker``: the risk engine live on Kafka.

A worker joins the consumer group of ``feed.accounts``; for every partition the group
gives it, it runs a :class:`~streams.shard.Shard` fed by that partition and by every
partition of ``feed.quotes``. It publishes each shard's answers to the same partition of
``risk.events``, throttled account snapshots to ``risk.metrics`` and whatever it could not
use to ``feed.deadletter`` (with its origin ``topic[partition]@offset``).

Recovery: a shard's checkpoint (engine snapshot, last event applied, offsets to read again
from) goes to PostgreSQL every few seconds, after the answers it covers are stored on the
broker, and when the partition is taken away. A shard that starts — after a crash, a
restart or a rebalance onto another worker — loads the checkpoint, reads on from its
offsets, and suppresses the answers already on ``risk.events`` since the checkpoint: the
answers are those of an uninterrupted run, none missing and none twice.

The loop is a single asyncio task: the engine's work is CPU-bound and short (tens of µs
an event), so the broker clients' own tasks (heartbeats, fetches) run between rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

from streams import kernels
from streams.accounts import INF
from streams.checkpoints import CheckpointStore
from streams.observability import WorkerMetrics
from streams.program import Program
from streams.replay import load_programs
from streams.shard import Results, Shard, decode_batch
from streams.topics import Topics, ensure_topics, kafka_from_environment
from streams.wire import MetricsBatch, answer_decoder, encode

log = logging.getLogger("proptrade.worker")

METRICS_INTERVAL = 0.25  # s: at most one snapshot of an account per 250 ms, on change
# s of wall clock between checkpoints of a shard. Capturing 25,000 accounts' state takes
# about 50 ms of the loop (the compression, another 40 ms, runs in a thread); every 5 s
# that cost a busy worker a third of what it sustained at 100,000 accounts. A restart
# replays at most this much of the feed.
CHECKPOINT_INTERVAL = 30.0
FIRST_CHECKPOINT = 8.0  # s after a shard opens, at the latest
# A fetch returns once data is there, or after this wait. Kafka answers as soon as one
# byte arrives; tansu (the embedded broker) measured here waits the whole time, which at
# aiokafka's default of 500 ms put 300-500 ms on every answer.
FETCH_WAIT_MS = 25
DRAIN_THREADS = 2
# A change in any of these re-publishes the account. ``open_volume`` and the day-start
# columns are there for what follows from them (breach prices, trading days): a position
# added to at a price with no quote yet changes no other column.
SNAPSHOT_COLUMNS = ("status", "balance", "equity", "daily_floor", "ml_floor", "open_positions",
                    "open_volume", "day_start_balance", "day_start_equity", "days_closed",
                    "opened_today")


@dataclass
class LiveShard:
    """A shard with the clients that feed it and what it last published."""

    shard: Shard
    events_offset: int  # end of its risk.events partition after its last answer
    checkpointed_at: float
    published: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    unacknowledged: list[Any] = field(default_factory=list)  # answers' send futures
    metrics_at: float = 0.0
    saving: asyncio.Task[None] | None = None  # the checkpoint being saved


class Worker:
    """Runs the shards of the partitions the group assigns to this process."""

    def __init__(self, bootstrap: str, topics: Topics, programs: list[Program], group: str,
                 store: CheckpointStore, metrics: WorkerMetrics | None = None,
                 session_timeout_ms: int = 10_000,
                 checkpoint_interval: float = CHECKPOINT_INTERVAL) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.programs = programs
        self.group = group
        self.store = store
        self.metrics = metrics or WorkerMetrics()
        self.session_timeout_ms = session_timeout_ms
        self.checkpoint_interval = checkpoint_interval
        self.shards: dict[int, LiveShard] = {}
        self.producer: Any = None
        self.consumer: Any = None
        self.quotes: Any = None  # one reader of every feed.quotes partition, for all shards
        self.stopping = False
        self._gauged_at = 0.0
        self.pool = ThreadPoolExecutor(max_workers=DRAIN_THREADS, thread_name_prefix="drain")

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event) -> None:
        kernels.warm_up()
        await ensure_topics(self.bootstrap, self.topics)
        await self.store.open()
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=2,
                                         max_request_size=8 * 1024 * 1024)
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=self.group,
            enable_auto_commit=False, auto_offset_reset="earliest",
            fetch_max_wait_ms=FETCH_WAIT_MS, session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(100, self.session_timeout_ms // 5),
            max_poll_interval_ms=300_000)
        self.quotes = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                       enable_auto_commit=False, auto_offset_reset="earliest",
                                       fetch_max_wait_ms=FETCH_WAIT_MS)
        try:
            await self.producer.start()
            await self.quotes.start()
            self.quotes.assign([TopicPartition(self.topics.quotes, q)
                                for q in range(self.topics.quote_partitions)])
            self.consumer.subscribe([self.topics.accounts], listener=_Listener(self))
            await self.consumer.start()
            log.info("worker joined group %s on %s", self.group, self.bootstrap)
            while not stop.is_set():
                await self.step()
            for partition in list(self.shards):
                await self.close_shard(partition)
        finally:
            self.stopping = True  # the group may still assign during stop(): open nothing
            await self.consumer.stop()
            self.shards.clear()  # only after an error: no checkpoint then
            await self.quotes.stop()
            await self.producer.stop()
            await self.store.close()

    async def step(self) -> None:
        """One round: read what is there, apply what the merges release, publish."""
        # Shards may open during getmany (the group's rebalance callbacks run there).
        results: defaultdict[int, Results] = defaultdict(Results)
        fetched = await self.consumer.getmany(timeout_ms=5 if self.shards else 100,
                                              max_records=5000)
        for tp, records in fetched.items():
            live = self.shards.get(tp.partition)
            if live is None:
                continue
            name = f"{tp.topic}[{tp.partition}]"
            for record in records:
                live.shard.offer(name, record.offset, record.value, results[tp.partition])
            self.metrics.events_in.labels(tp.topic).inc(len(records))
        if self.shards:
            quotes = await self.quotes.getmany(timeout_ms=0, max_records=5000)
            for tp, records in quotes.items():
                name = f"{tp.topic}[{tp.partition}]"
                for record in records:
                    # Decoded once for every shard; a shard drops what it already has.
                    upto, seqs, events = decode_batch(
                        f"{name}@{record.offset}", record.value,
                        results[min(self.shards)].dead_letters)
                    for live in self.shards.values():
                        live.shard.merger.offer(name, record.offset, upto, seqs, events)
                self.metrics.events_in.labels(tp.topic).inc(len(records))
        now = time.monotonic()
        shards = list(self.shards.items())
        if len(shards) > 1:
            # Shards drain in parallel threads: their quote passes (compiled, without the
            # GIL) overlap on the machine's cores; each shard is drained by one thread.
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(self.pool, live.shard.drain,
                                                        results[partition])
                                   for partition, live in shards))
        else:
            for partition, live in shards:
                live.shard.drain(results[partition])
        for partition, live in shards:
            result = results[partition]
            await self._publish(partition, live, result)
            if now - live.metrics_at >= METRICS_INTERVAL:
                await self._publish_metrics(partition, live)
                live.metrics_at = now
            if now - live.checkpointed_at >= self.checkpoint_interval:
                self._checkpoint(partition, live)
        if now - self._gauged_at >= 1.0:
            await self._gauge(now)
        if not fetched:
            await asyncio.sleep(0)

    async def _gauge(self, now: float) -> None:
        """Lag per input topic, accounts held, checkpoint age: once a second."""
        self._gauged_at = now
        # The engines hold hundreds of thousands of long-lived objects (positions, ids):
        # a full collection of them paused the loop 100-300 ms, often enough to set the
        # p99. Frozen objects are left out of collections (they are freed by reference
        # counting as usual; none of them form cycles).
        gc.freeze()
        for consumer, tps in ((self.consumer, self.consumer.assignment()),
                              (self.quotes, self.quotes.assignment())):
            lag: dict[str, int] = {}
            for tp in tps:
                highwater = consumer.highwater(tp)
                if highwater is not None:
                    lag[tp.topic] = lag.get(tp.topic, 0) + max(
                        0, highwater - await consumer.position(tp))
            for topic, value in lag.items():
                self.metrics.lag.labels(topic).set(value)
        self.metrics.accounts_held.set(sum(len(s.shard.engine.rows)
                                           for s in self.shards.values()))
        if self.shards:
            oldest = min(live.checkpointed_at for live in self.shards.values())
            self.metrics.checkpoint_age.set(now - oldest)

    # ------------------------------------------------------------------ shards

    async def open_shard(self, partition: int) -> None:
        inputs = self.topics.inputs(partition)
        stored = await self.store.load(self.group, partition)
        if stored is None:
            shard = Shard(partition, inputs, self.programs)
            events_offset = 0
        else:
            shard = Shard.from_checkpoint(stored[0], inputs)
            for program in self.programs:  # programs may have been added since
                if program.id not in shard.engine.rules:
                    shard.engine.add_program(program)
            events_offset = stored[1]
        started = time.monotonic()
        published = await self._published_since(partition, events_offset)
        shard.suppress(published)
        resume = shard.resume_offsets()
        for q in range(self.topics.quote_partitions):
            # The shared reader goes back as far as the shard that is furthest behind.
            tp = TopicPartition(self.topics.quotes, q)
            target = resume[f"{tp.topic}[{q}]"]
            if not self.shards or target < await self.quotes.position(tp):
                self.quotes.seek(tp, target)
        self.consumer.seek(TopicPartition(self.topics.accounts, partition),
                           resume[f"{self.topics.accounts}[{partition}]"])
        # Shards of one worker take their turns for checkpoints (50 ms of the loop for
        # 25,000 accounts): not all in the same round. The first comes within seconds (the
        # p-th of n shards after (p + 1) / n × 8 s): a shard killed before its first
        # checkpoint is rebuilt from the very start of its topics.
        share = (partition % self.topics.partitions + 1) / max(1, self.topics.partitions)
        now = time.monotonic()
        first = min(self.checkpoint_interval, FIRST_CHECKPOINT) * share
        self.shards[partition] = LiveShard(
            shard, events_offset, checkpointed_at=now - self.checkpoint_interval + first,
            metrics_at=now - share * METRICS_INTERVAL)
        log.info("shard %d opened (%s, %d answers already published, %.3f s)", partition,
                 "from checkpoint" if stored else "new", len(published),
                 time.monotonic() - started)

    async def close_shard(self, partition: int) -> None:
        live = self.shards.pop(partition, None)
        if live is None:
            return
        await self._publish_metrics(partition, live)  # the last numbers before it goes
        await self._final_checkpoint(partition, live)
        log.info("shard %d closed", partition)

    async def _published_since(self, partition: int, offset: int) -> list[str]:
        """Ids of the answers on ``risk.events[partition]`` from ``offset`` to its end."""
        tp = TopicPartition(self.topics.events, partition)
        reader = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                  enable_auto_commit=False)
        await reader.start()
        try:
            reader.assign([tp])
            end = (await reader.end_offsets([tp]))[tp]
            if end <= offset:
                return []
            reader.seek(tp, offset)
            ids: list[str] = []
            while await reader.position(tp) < end:
                fetched = await reader.getmany(tp, timeout_ms=1000)
                for record in fetched.get(tp, []):
                    ids.append(answer_decoder.decode(record.value).id)
            return ids
        finally:
            await reader.stop()

    # ------------------------------------------------------------------ publishing

    async def _publish(self, partition: int, live: LiveShard, result: Results) -> None:
        """Hand the answers to the producer; their acknowledgements are awaited only before
        a checkpoint (:meth:`_checkpoint`), not here: waiting for the broker's round trip
        on every round halved what a worker sustained."""
        for account, answer in result.answers:
            live.unacknowledged.append(await self.producer.send(
                self.topics.events, encode(answer), key=account.encode(), partition=partition))
        for letter in result.dead_letters:
            log.warning("dead letter from %s: %s", letter.origin, letter.reason)
            await self.producer.send(self.topics.deadletter, encode(letter), partition=0)
        self.metrics.answers_out.labels(self.topics.events).inc(len(result.answers))
        self.metrics.dead_letters.inc(len(result.dead_letters))
        if result.answers and result.last_ts is not None:
            self.metrics.latency.observe(max(0.0, time.time() - result.last_ts / 1e6))

    async def _publish_metrics(self, partition: int, live: LiveShard) -> None:
        engine = live.shard.engine
        table = engine.table
        n = table.n
        if n == 0 or engine.now is None:
            return
        changed = np.zeros(n, dtype=bool)
        current = {name: table.columns[name][:n].copy() for name in SNAPSHOT_COLUMNS}
        for name, values in current.items():
            before = live.published.get(name)
            if before is None or len(before) != n:
                changed[:] = True
            else:
                changed |= values != before
        rows = np.flatnonzero(changed)
        if len(rows) == 0:
            return
        live.published = current
        batch = MetricsBatch(
            ts=engine.now,
            accounts=[engine.account_ids[row] for row in rows.tolist()],
            status=current["status"][rows].tobytes(),
            balance=current["balance"][rows].tobytes(),
            equity=current["equity"][rows].tobytes(),
            daily_floor=np.where(current["daily_floor"][rows] == -INF, np.nan,
                                 current["daily_floor"][rows]).tobytes(),
            max_loss_floor=np.where(current["ml_floor"][rows] == -INF, np.nan,
                                    current["ml_floor"][rows]).tobytes(),
            open_positions=current["open_positions"][rows].tobytes(),
            trading_days=engine.trading_days_of(rows).tobytes(),
            day_start_balance=current["day_start_balance"][rows].tobytes(),
            day_start_equity=current["day_start_equity"][rows].tobytes(),
            breach_prices=engine.breach_prices_of(rows.tolist()),
        )
        await self.producer.send(self.topics.metrics, encode(batch), partition=partition)
        self.metrics.answers_out.labels(self.topics.metrics).inc(len(rows))

    def _checkpoint(self, partition: int, live: LiveShard) -> asyncio.Task[None] | None:
        """Start a shard's checkpoint: its state is captured now (in the loop, while nothing
        applies), then saved in the background once every answer it covers is on the broker
        — the compression in another thread. One save per shard at a time, in order."""
        if live.saving is not None and not live.saving.done():
            return None  # the previous one is still on its way: the next round tries again
        if live.saving is not None:
            live.saving.result()  # a failed save stops the worker
        finish = live.shard.capture()
        sent, live.unacknowledged = live.unacknowledged, []
        live.checkpointed_at = time.monotonic()
        live.saving = asyncio.create_task(self._save(partition, live, finish, sent))
        return live.saving

    async def _save(self, partition: int, live: LiveShard, finish: Any, sent: list[Any]
                    ) -> None:
        for metadata in await asyncio.gather(*sent):
            live.events_offset = max(live.events_offset, metadata.offset + 1)
        data = await asyncio.to_thread(finish)
        await self.store.save(self.group, partition, data, live.events_offset)
        self.metrics.checkpoints.inc()

    async def _final_checkpoint(self, partition: int, live: LiveShard) -> None:
        """The last checkpoint of a shard that closes: after any still being saved."""
        if live.saving is not None:
            await live.saving
        saving = self._checkpoint(partition, live)
        if saving is not None:
            await saving


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Opens and closes shards as the group moves partitions (aiokafka calls it)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for tp in revoked:
            await self.worker.close_shard(tp.partition)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        for tp in sorted(assigned, key=lambda tp: tp.partition):
            if tp.partition not in self.worker.shards and not self.worker.stopping:
                await self.worker.open_shard(tp.partition)


def programs_from(paths: list[str]) -> list[Program]:
    """Program documents from files and directories of ``*.json``."""
    files: list[str] = []
    for path in paths:
        folder = Path(path)
        files.extend(sorted(str(p) for p in folder.glob("*.json")) if folder.is_dir()
                     else [path])
    return load_programs(files)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--program", action="append", default=[], metavar="FILE|DIR",
                        required=True, help="program documents (files or folders of *.json)")
    parser.add_argument("--group", default="proptrade-risk",
                        help="consumer group (and checkpoint stream) name")
    parser.add_argument("--metrics-port", type=int, default=0,
                        help="serve Prometheus metrics on this port (0: off)")
    parser.add_argument("--checkpoint-interval", type=float, default=CHECKPOINT_INTERVAL)
    parser.add_argument("--session-timeout-ms", type=int, default=10_000)
    parser.add_argument("--schema", default="public",
                        help="PostgreSQL schema of the checkpoint table")


def main(args: argparse.Namespace) -> int:
    from streams.logs import setup
    from streams.program import ProgramError

    setup(logging.INFO)  # rate-limited: a broker away is a line a kind, not a flood
    kafka = kafka_from_environment(
        "worker", "`proptrade up` runs a worker on the embedded broker")
    if kafka is None:
        return 2
    settings, topics = kafka
    try:
        programs = programs_from(args.program)
    except ProgramError as error:
        print(f"proptrade worker: error: {error}", file=sys.stderr)
        return 2
    metrics = WorkerMetrics()
    if args.metrics_port:
        metrics.serve(args.metrics_port)
    worker = Worker(settings.kafka_bootstrap, topics, programs, args.group,
                    CheckpointStore(settings.database_url, args.schema), metrics,
                    session_timeout_ms=args.session_timeout_ms,
                    checkpoint_interval=args.checkpoint_interval)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await worker.run(stop)

    asyncio.run(serve())
    return 0
