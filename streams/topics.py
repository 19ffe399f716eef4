"""Topic names, partition counts and the account → partition rule.

``feed.quotes`` carries everything market-wide (``symbol``, ``quote``, ``clock``,
``program``) and is
read whole by every shard; ``feed.accounts`` carries account events, one account always
in one partition; ``risk.events`` is partitioned like ``feed.accounts`` (shard ``p``
writes partition ``p``), so a shard recovering from a crash finds what it had already
published in one place. Partitions are chosen explicitly with :func:`partition_of`
(CRC-32 of the account id), so any producer, in any language, can follow the rule.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from streams.events import Account, Balance, Deal, Equity, Event, Swap

if TYPE_CHECKING:
    from streams.settings import Settings

log = logging.getLogger("proptrade.topics")
ACCOUNT_EVENTS = (Account, Deal, Balance, Swap, Equity)


@dataclass(frozen=True, slots=True)
class Topics:
    """The stream topics of one deployment."""

    prefix: str = ""
    partitions: int = 4  # feed.accounts, risk.events, risk.metrics
    quote_partitions: int = 2

    @property
    def quotes(self) -> str:
        return f"{self.prefix}feed.quotes"

    @property
    def accounts(self) -> str:
        return f"{self.prefix}feed.accounts"

    @property
    def events(self) -> str:
        return f"{self.prefix}risk.events"

    @property
    def metrics(self) -> str:
        return f"{self.prefix}risk.metrics"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}feed.deadletter"

    @property
    def commands(self) -> str:
        return f"{self.prefix}broker.commands"

    @classmethod
    def of(cls, settings: Settings) -> Topics:
        return cls(settings.kafka_topic_prefix, settings.feed_partitions)

    def layout(self) -> dict[str, int]:
        """Every topic with its partition count."""
        return {
            self.quotes: self.quote_partitions,
            self.accounts: self.partitions,
            self.events: self.partitions,
            self.metrics: self.partitions,
            self.deadletter: 1,
            self.commands: 1,
        }

    def inputs(self, partition: int) -> list[str]:
        """The inputs a shard merges, as ``topic[partition]`` names."""
        quotes = [f"{self.quotes}[{q}]" for q in range(self.quote_partitions)]
        return [f"{self.accounts}[{partition}]", *quotes]


def kafka_from_environment(command: str, hint: str) -> tuple[Settings, Topics] | None:
    """The settings and topics of a command that needs a named broker; on a bad setting or
    an empty ``KAFKA_BOOTSTRAP`` it says why on stderr (with ``hint``) and returns None."""
    from streams.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"proptrade {command}: error: {error}", file=sys.stderr)
        return None
    if not settings.kafka_bootstrap:
        print(f"proptrade {command}: error: KAFKA_BOOTSTRAP is empty: {hint}", file=sys.stderr)
        return None
    return settings, Topics.of(settings)


async def consume(bootstrap: str, topic: str, group: str, decoder: Any,
                  handle: Callable[[Any], Awaitable[object]] | None, stop: asyncio.Event,
                  max_records: int = 500, key: Callable[[Any], str] | None = None,
                  concurrency: int = 1,
                  first: Callable[[list[Any], list[int]], Awaitable[object]] | None = None
                  ) -> None:
    """Read ``topic`` as consumer group ``group`` until ``stop``: decode each message with
    ``decoder``, await ``handle`` on it, commit after each fetch (a crash re-reads, never
    skips). A message that does not decode is logged with its origin and skipped.

    With ``key`` and ``concurrency`` > 1, the messages of one fetch are handled
    ``concurrency`` keys at a time, each key's messages in their order (for handlers whose
    work on one key never waits on another's: one account's answers, say); the fetch is
    committed when all of them are done.

    ``first``, when given, is awaited with all the messages of a fetch and their records'
    timestamps (ms) before any of them is handled; ``handle`` may then be None."""
    import msgspec
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                fetch_max_wait_ms=50)
    slots = asyncio.Semaphore(max(1, concurrency))

    async def in_order(values: list[Any]) -> None:
        assert handle is not None
        async with slots:
            for value in values:
                await handle(value)

    try:
        await consumer.start()  # inside: a start that fails still stops the consumer
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=200, max_records=max_records)
            values: list[Any] = []
            stamps: list[int] = []
            for tp, records in fetched.items():
                for record in records:
                    try:
                        values.append(decoder.decode(record.value))
                    except msgspec.MsgspecError as error:
                        log.warning("%s[%d]@%d cannot be read: %s", tp.topic, tp.partition,
                                    record.offset, error)
                        continue
                    stamps.append(record.timestamp)
            if values and first is not None:
                await first(values, stamps)
            if handle is None:
                pass  # ``first`` was all
            elif key is None or concurrency <= 1:
                for value in values:
                    await handle(value)
            else:
                by_key: dict[str, list[Any]] = {}
                for value in values:
                    by_key.setdefault(key(value), []).append(value)
                await asyncio.gather(*(in_order(same) for same in by_key.values()))
            if fetched:
                await consumer.commit()
    finally:
        await consumer.stop()


def partition_of(account: str, partitions: int) -> int:
    return zlib.crc32(account.encode()) % partitions


def route(event: Event, topics: Topics) -> tuple[str, int]:
    """The topic and partition an event is published to."""
    if isinstance(event, ACCOUNT_EVENTS):
        return topics.accounts, partition_of(event.account, topics.partitions)
    symbol = getattr(event, "symbol", "")
    return topics.quotes, zlib.crc32(symbol.encode()) % topics.quote_partitions


async def ensure_topics(bootstrap: str, topics: Topics) -> None:
    """Create the topics that do not exist yet, with their partition counts."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()  # inside: a start that fails still closes the client
        existing = set(await admin.list_topics())
        missing = [NewTopic(name, count, 1) for name, count in topics.layout().items()
                   if name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created them meanwhile
    finally:
        await admin.close()
