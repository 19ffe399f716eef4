"""Publishing a feed: number the events, batch them per partition, send watermarks.

Numbers continue across runs (:meth:`FeedPublisher.resume` reads where the topics end):
a shard drops what is numbered at or below what it has applied. One numbering source per
deployment: two producers publishing at once would need a sequencer in front of them.

Every flush sends one batch to every partition of ``feed.quotes`` and ``feed.accounts``,
empty where nothing is pending: the batch's watermark tells the shards merging that
partition that nothing numbered lower is still coming (``merge``). About 6 partitions ×
one small message per flush; flushing every 500 events or 5 ms keeps that negligible.

An account event reaches only its partition's shard, yet its time is event time for every
account (CONTRACTS.md §3: a rollover is revealed by the first event past the day
boundary, whoever it is for). So an account event later than every event before it is
preceded by a time mark, numbered just before it, in the batch of ``feed.quotes``
partition 0 (``wire.Batch.marks``), which every shard reads and applies as a ``clock``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec

from streams.accounts import NO_TIME
from streams.events import Event, to_micros
from streams.topics import ACCOUNT_EVENTS, Topics, route
from streams.wire import make_batch


class FeedPublisher:
    """Numbers events and publishes them in batches to the feed topics."""

    def __init__(self, producer: Any, topics: Topics, source: str = "feed") -> None:
        self.producer = producer
        self.topics = topics
        self.source = source
        self.seq = -1
        self.sent = 0
        self._pending: dict[tuple[str, int], tuple[list[int], list[Event]]] = {}
        self._time = NO_TIME  # µs: the latest event time numbered so far
        self._marks: list[int] = []  # time marks for feed.quotes[0]: seq, µs, seq, µs, …
        for topic, count in ((topics.quotes, topics.quote_partitions),
                             (topics.accounts, topics.partitions)):
            for partition in range(count):
                self._pending[(topic, partition)] = ([], [])

    async def resume(self, bootstrap: str) -> int:
        """Continue the numbering where the feed topics end (a restarted or second run of
        a feed must number above everything already published). Returns the next number."""
        from aiokafka import AIOKafkaConsumer
        from aiokafka.structs import TopicPartition

        from streams.wire import batch_decoder

        reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                  enable_auto_commit=False)
        await reader.start()
        try:
            tps = [TopicPartition(topic, partition) for topic, partition in self._pending]
            reader.assign(tps)
            ends = await reader.end_offsets(tps)
            for tp in tps:
                if ends[tp] == 0:
                    continue
                reader.seek(tp, ends[tp] - 1)
                fetched = await reader.getmany(tp, timeout_ms=5000)
                for record in fetched.get(tp, []):
                    with contextlib.suppress(msgspec.MsgspecError):  # a stray message
                        self.seq = max(self.seq, batch_decoder.decode(record.value).upto)
        finally:
            await reader.stop()
        return self.seq + 1

    def add(self, event: Event) -> int:
        """Number an event and queue it for its partition; returns its number. An account
        event that moves the feed's time is preceded by a time mark (module docstring)."""
        ts = getattr(event, "ts", None)
        if ts is not None:
            micros = to_micros(ts)
            if micros > self._time:
                self._time = micros
                if isinstance(event, ACCOUNT_EVENTS):
                    self.seq += 1
                    self._marks += (self.seq, micros)
        self.seq += 1
        seqs, events = self._pending[route(event, self.topics)]
        seqs.append(self.seq)
        events.append(event)
        return self.seq

    @property
    def pending(self) -> int:
        return sum(len(seqs) for seqs, _ in self._pending.values()) + len(self._marks) // 2

    async def flush(self) -> None:
        """Send a batch (maybe empty) to every partition and wait until all are stored."""
        sends = []
        marked = (self.topics.quotes, 0)
        for (topic, partition), (seqs, events) in self._pending.items():
            marks = self._marks if (topic, partition) == marked else None
            payload = make_batch(self.source, self.seq, list(seqs), list(events), marks)
            sends.append(await self.producer.send(topic, payload, partition=partition))
            self.sent += len(seqs)
            seqs.clear()
            events.clear()
        self._marks = []
        await asyncio.gather(*sends)
