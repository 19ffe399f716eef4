"""``proptrade feed FILE.jsonl``: publish a recorded feed (the replay format) to Kafka.

At the feed's own pace (event time), ``--speed N`` times faster, or ``--speed 0`` as fast
as the broker takes it. Bad lines are reported as ``line N: reason`` and skipped, as
``proptrade replay`` does, so the same file gives the same answers both ways.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Protocol

import msgspec

from streams.events import Event, Quote, describe_error, json_decoder, to_micros
from streams.publisher import FeedPublisher
from streams.topics import Topics, ensure_topics, kafka_from_environment

FLUSH_EVENTS = 500
FLUSH_SECONDS = 0.005


class Writer(Protocol):
    def write(self, text: str, /) -> int: ...


def read_events(lines: Iterable[bytes], err: Writer) -> Iterator[Event]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield json_decoder.decode(line)
        except msgspec.MsgspecError as exc:
            err.write(f"line {number}: {describe_error(exc)}\n")


async def publish(events: Iterable[Event], bootstrap: str, topics: Topics, speed: float,
                  source: str = "feed") -> int:
    """Publish events at ``speed`` times their event-time pace (0: no pacing); returns
    how many."""
    first: list[int] = []

    def due(event: Event) -> float | None:
        ts = getattr(event, "ts", None)
        if speed <= 0 or ts is None:
            return None
        micros = to_micros(ts)
        if not first:
            first.append(micros)
        return (micros - first[0]) / 1e6 / speed

    return await _publish(events, bootstrap, topics, source, due, None)


async def publish_live(events: Iterable[Event], bootstrap: str, topics: Topics, rate: float,
                       stop: asyncio.Event, source: str = "simulator") -> int:
    """Publish an endless feed at ``rate`` quotes per second of wall clock until ``stop``:
    quote k is due k / rate seconds after the first, other events go with the quote before
    them. Returns how many events were published."""
    quotes = [0]

    def due(event: Event) -> float | None:
        if type(event) is not Quote:
            return None
        quotes[0] += 1
        return (quotes[0] - 1) / rate

    return await _publish(events, bootstrap, topics, source, due, stop)


async def _publish(events: Iterable[Event], bootstrap: str, topics: Topics, source: str,
                   due: Callable[[Event], float | None], stop: asyncio.Event | None) -> int:
    """Publish in batches, waiting for each event's due time (seconds after the start)."""
    from aiokafka import AIOKafkaProducer

    await ensure_topics(bootstrap, topics)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    await producer.start()
    publisher = FeedPublisher(producer, topics, source)
    try:
        await publisher.resume(bootstrap)
        started = time.monotonic()
        last_flush = started
        for event in events:
            if stop is not None and stop.is_set():
                break
            offset = due(event)
            if offset is not None and started + offset - time.monotonic() > 0.002:
                if publisher.pending:
                    await publisher.flush()
                    last_flush = time.monotonic()
                await asyncio.sleep(started + offset - time.monotonic())
            publisher.add(event)
            now = time.monotonic()
            if publisher.pending >= FLUSH_EVENTS or now - last_flush >= FLUSH_SECONDS:
                await publisher.flush()
                last_flush = now
        await publisher.flush()
        return publisher.sent
    finally:
        await producer.stop()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE.jsonl", help="feed events; '-' reads stdin")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="times the original pace (0: as fast as possible)")
    parser.add_argument("--source", default="feed", help="producer name in the batches")


def main(args: argparse.Namespace) -> int:
    kafka = kafka_from_environment("feed", "name the broker to publish to")
    if kafka is None:
        return 2
    settings, topics = kafka
    stream = sys.stdin.buffer if args.file == "-" else open(args.file, "rb")  # noqa: SIM115
    with stream:
        bad = _Counter(sys.stderr)
        count = asyncio.run(publish(read_events(stream, bad), settings.kafka_bootstrap, topics,
                                    args.speed, args.source))
    print(f"proptrade feed: published {count} events", file=sys.stderr)
    return 1 if bad.lines else 0


class _Counter:
    """stderr that counts the lines written to it."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.lines = 0

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return self.stream.write(text)
