"""The sink: the stream recorded into the history store.

One consumer (group ``<prefix>proptrade.analytics``) reads ``feed.accounts``,
``feed.quotes`` (the market, for prices and what-if replays), ``risk.metrics`` and
``risk.events``, turns what it reads into rows (:mod:`analytics.records`) and inserts them
in batches: when ``batch_rows`` rows are waiting or ``max_delay`` seconds after the first
one, whichever comes first. ClickHouse wants few large inserts (each insert is a part on
disk, merged later); 100,000 rows or one second keeps parts large under load and the
history at most about a second behind when the firm is quiet.

Offsets are committed only after the insert that holds their rows, so a crash re-reads
what was not yet committed and inserts it again: the tables deduplicate by event id
(ReplacingMergeTree), so a redelivered message never doubles a row in what the queries
read.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from analytics.records import Recorder, insert_tables
from storage.attribution import FirmRule
from storage.clickhouse import Store
from streams.events import Account, Event, ProgramDefinition, msgpack_decoder
from streams.topics import ACCOUNT_EVENTS, Topics, ensure_topics
from streams.wire import Batch, answer_decoder, batch_decoder, metrics_decoder

__all__ = ["Sink", "TenantDirectory", "run_sink"]

log = logging.getLogger("proptrade.sink")

# A tenant lookup for accounts the platform does not know is repeated after this many
# seconds (an account the platform has just opened may be looked up before its row commits,
# and the gateway records the broker's accounts as it reads them).
UNKNOWN_RECHECK_SECONDS = 10.0
# The platform names the accounts it opens T<tenant>C<challenge>P<phase>[R<attempt>]
# (gateway.challenges.login_for): an account whose program the sink has not read (its
# `account` event was read before a restart) is still placed by its name.
PLATFORM_LOGIN = re.compile(r"T(\d+)C\d+P\d+(?:R\d+)?")


class TenantDirectory:
    """The tenant of each account, by the rule of :mod:`storage.attribution` (the same as
    the gateway's): its row in ``trading_accounts``; else the firm its program names;
    else the default firm. Without a pool every account is tenant 0 (a store of imported
    reports)."""

    def __init__(self, pool: Any | None) -> None:
        self.pool = pool
        self.rule = FirmRule(pool)
        self.known: dict[str, int] = {}
        self.programs: dict[str, str] = {}  # account -> program, from `account` events
        self._unknown: dict[str, float] = {}

    def learn(self, account: str, program: str) -> None:
        """The program an ``account`` event opened ``account`` on."""
        self.programs[account] = program

    async def resolve(self, accounts: Iterable[str]) -> None:
        """Look up, in one query, the accounts not known yet (or due for a recheck)."""
        now = time.monotonic()
        wanted = {a for a in accounts if a not in self.known
                  and self._unknown.get(a, 0.0) <= now}
        if not wanted:
            return
        if self.pool is None:
            self.known.update(dict.fromkeys(wanted, 0))
            return
        async with self.pool.acquire() as connection:
            # A program naming a firm created since the firms were read: read them again.
            if not self.rule.knows({self.programs.get(a, "") for a in wanted}):
                await self.rule.load(connection)
            rows = await connection.fetch(
                "SELECT login, tenant_id FROM trading_accounts WHERE login = ANY($1)",
                list(wanted))
        for row in rows:
            self.known[row["login"]] = row["tenant_id"]
            self._unknown.pop(row["login"], None)
        for account in wanted.difference(self.known):
            self._unknown[account] = now + UNKNOWN_RECHECK_SECONDS

    def tenant(self, account: str) -> int:
        found = self.known.get(account)
        if found is not None:
            return found
        if self.pool is None:
            return 0
        program = self.programs.get(account)
        if program is not None:
            return self.rule.known_firm_of(program)
        platform = PLATFORM_LOGIN.fullmatch(account)
        if platform is not None:
            return int(platform.group(1))
        return self.rule.default


@dataclass
class Sink:
    """Decodes stream messages into a :class:`Recorder` and flushes it to ``store``."""

    store: Store
    topics: Topics
    tenants: TenantDirectory
    batch_rows: int = 100_000
    max_delay: float = 1.0
    recorder: Recorder = field(default_factory=Recorder)
    first_at: float | None = None
    written: int = 0
    skipped: int = 0

    async def add(self, topic: str, partition: int, offset: int, value: bytes) -> None:
        """One Kafka message; an undecodable one is logged with its origin and skipped."""
        try:
            await self._add(topic, value)
        except (msgspec.MsgspecError, ValueError) as error:
            self.skipped += 1
            log.warning("%s[%d]@%d not recorded: %s", topic, partition, offset, error)
            return
        if self.first_at is None and self.recorder.rows:
            self.first_at = time.monotonic()

    async def _add(self, topic: str, value: bytes) -> None:
        if topic == self.topics.metrics:
            metrics = metrics_decoder.decode(value)
            await self.tenants.resolve(metrics.accounts)
            self.recorder.add_metrics(metrics, map(self.tenants.tenant, metrics.accounts))
        elif topic == self.topics.events:
            answer = answer_decoder.decode(value)
            account = answer.output.account
            await self.tenants.resolve((account,))
            self.recorder.add_answer(answer, self.tenants.tenant(account))
        else:
            await self._add_batch(batch_decoder.decode(value))

    async def _add_batch(self, batch: Batch) -> None:
        events: list[tuple[int, Event]] = []
        for seq, raw in zip(batch.seqs, batch.events, strict=True):
            try:
                events.append((seq, msgpack_decoder.decode(raw)))
            except msgspec.MsgspecError as error:
                self.skipped += 1
                log.warning("%s event %d not recorded: %s", batch.source, seq, error)
        for _, event in events:
            if isinstance(event, Account):
                self.tenants.learn(event.account, event.program)
        await self.tenants.resolve(event.account for _, event in events
                                   if isinstance(event, ACCOUNT_EVENTS))
        for seq, event in events:
            tenant = (self.tenants.tenant(event.account)
                      if isinstance(event, ACCOUNT_EVENTS) else 0)
            try:
                self.recorder.add_event(event, tenant=tenant, seq=seq,
                                        event_id=f"{batch.source}:{seq}")
            except ValueError as error:  # a value the store cannot hold: this event only
                self.skipped += 1
                log.warning("%s event %d not recorded: %s", batch.source, seq, error)

    def know_programs(self, programs: Iterable[dict[str, Any]]) -> None:
        """Programs the workers were started with (not in the feed): recorded, so replays
        and accounts opened without a balance find them."""
        for document in programs:
            self.recorder.add_event(ProgramDefinition(document=document), tenant=0, seq=0,
                                    event_id=f"program:{document.get('id')}")

    def due(self) -> bool:
        if self.recorder.rows >= self.batch_rows:
            return True
        return self.first_at is not None and time.monotonic() - self.first_at >= self.max_delay

    async def flush(self) -> int:
        """Insert what is buffered and wait for it."""
        return await self.start_flush()

    def start_flush(self) -> asyncio.Task[int]:
        """Insert what is buffered in a thread (chDB computes without the GIL) while the
        caller goes on reading into empty buffers: decoding and inserting overlap."""
        self.first_at = None
        tables = self.recorder.detach()

        async def insert() -> int:
            written = await asyncio.to_thread(insert_tables, self.store, tables)
            self.written += written
            return written

        return asyncio.ensure_future(insert())


async def run_sink(bootstrap: str, sink: Sink, stop: asyncio.Event, group: str,
                   on_flush: Callable[[int], Awaitable[None]] | None = None) -> None:
    """Consume the four topics into ``sink`` until ``stop``; commit after each insert."""
    from aiokafka import AIOKafkaConsumer

    topics = sink.topics
    await ensure_topics(bootstrap, topics)
    await asyncio.to_thread(sink.recorder.load, sink.store)
    consumer = AIOKafkaConsumer(
        topics.accounts, topics.quotes, topics.metrics, topics.events,
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=100, max_partition_fetch_bytes=4 << 20)
    await consumer.start()
    read: dict[Any, int] = {}  # partition -> the offset after the last message added
    inserting: tuple[asyncio.Task[int], dict[Any, int]] | None = None

    async def finish(flush: tuple[asyncio.Task[int], dict[Any, int]] | None) -> None:
        # Offsets are committed once the insert holding their rows is done: a crash
        # re-reads, never skips.
        if flush is None:
            return
        written = await flush[0]
        if flush[1]:
            await consumer.commit(flush[1])
        if on_flush is not None:
            await on_flush(written)

    try:
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=100, max_records=5000)
            for tp, records in fetched.items():
                for record in records:
                    await sink.add(tp.topic, tp.partition, record.offset, record.value)
                if records:
                    read[tp] = records[-1].offset + 1
            if sink.due():
                await finish(inserting)  # one insert at a time, in order
                inserting = (sink.start_flush(), dict(read))
        await finish(inserting)
        await finish((sink.start_flush(), dict(read)))
    finally:
        await consumer.stop()
