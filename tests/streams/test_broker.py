"""The embedded tansu broker: a real Kafka client round trip, and clear failures."""

from __future__ import annotations

import asyncio
import socket
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.broker import BrokerError, EmbeddedBroker


def accepts(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


async def round_trip(bootstrap: str) -> tuple[bytes | None, bytes | None]:
    topic = f"test-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        assert topic in await admin.list_topics()
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"deal-1", key=b"A1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=10)
    finally:
        await consumer.stop()
    return message.key, message.value


def test_produce_and_consume_through_the_embedded_broker() -> None:
    with EmbeddedBroker() as broker:
        bootstrap = broker.bootstrap
        assert bootstrap.startswith("127.0.0.1:")
        assert accepts(bootstrap)
        assert asyncio.run(round_trip(bootstrap)) == (b"A1", b"deal-1")
    assert not accepts(bootstrap), "the broker still listens after the context closed"
    with pytest.raises(RuntimeError, match="not running"):
        _ = broker.bootstrap


def test_async_context_and_log_file(tmp_path: Path) -> None:
    log_path = tmp_path / "logs" / "broker.log"

    async def run() -> str:
        async with EmbeddedBroker(log_path=log_path) as broker:
            return broker.bootstrap

    bootstrap = asyncio.run(run())
    assert not accepts(bootstrap)
    assert f"listening on: tcp://{bootstrap}" in log_path.read_text()


def test_two_brokers_get_two_ports() -> None:
    with EmbeddedBroker() as first, EmbeddedBroker() as second:
        assert first.bootstrap != second.bootstrap


def test_stop_is_idempotent() -> None:
    broker = EmbeddedBroker()
    broker.start()
    broker.stop()
    broker.stop()


def test_a_broker_that_dies_reports_its_output(tmp_path: Path) -> None:
    fake = tmp_path / "tansu"
    fake.write_text("#!/bin/sh\necho 'error: storage engine unavailable' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(BrokerError) as caught:
        EmbeddedBroker(binary=str(fake), startup_timeout=5).start()
    message = str(caught.value)
    assert "exited with status 3" in message
    assert "error: storage engine unavailable" in message


def test_a_broker_that_never_listens_times_out(tmp_path: Path) -> None:
    fake = tmp_path / "tansu"
    fake.write_text("#!/bin/sh\necho 'starting...'\nexec sleep 30\n")
    fake.chmod(0o755)
    with pytest.raises(BrokerError) as caught:
        EmbeddedBroker(binary=str(fake), startup_timeout=0.5).start()
    assert "did not listen" in str(caught.value)
    assert "starting..." in str(caught.value)


def test_a_missing_binary_is_a_broker_error(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="cannot run the broker binary"):
        EmbeddedBroker(binary=str(tmp_path / "absent")).start()


def test_the_blocking_start_refuses_to_run_inside_an_event_loop() -> None:
    async def run() -> None:
        EmbeddedBroker().start()

    with pytest.raises(RuntimeError, match="async with"):
        asyncio.run(run())


def test_consume_by_key_keeps_each_keys_order_and_overlaps_keys(broker: EmbeddedBroker) -> None:
    """``consume`` with a key: every message handled once, one key's in their order, and
    handlers of different keys running at once (here 4 keys, each handler sleeping 50 ms:
    in sequence 40 messages would take 2 s); ``first`` hears of every message of a fetch
    before any of them is handled."""
    import msgspec

    from streams.topics import consume

    async def run() -> tuple[list[tuple[str, int]], int, float, list[int], list[int]]:
        topic = f"test-{uuid.uuid4().hex[:8]}"
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            batch = [msgspec.json.encode({"key": f"k{n % 4}", "n": n}) for n in range(40)]
            batch.insert(7, b"not json")  # skipped, the rest goes on
            for value in batch:
                await producer.send(topic, value)
            await producer.flush()
        finally:
            await producer.stop()
        handled: list[tuple[str, int]] = []
        running, most = 0, 0
        stop = asyncio.Event()

        announced: list[int] = []
        unannounced: list[int] = []  # handled before ``first`` heard of them

        async def first(values: list[dict], stamps: list[int]) -> None:
            assert len(stamps) == len(values) and all(stamp > 0 for stamp in stamps)
            announced.extend(value["n"] for value in values)

        async def handle(value: dict) -> None:
            nonlocal running, most, started
            if value["n"] not in announced:
                unannounced.append(value["n"])
            started = started or asyncio.get_running_loop().time()
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.05)
            running -= 1
            handled.append((value["key"], value["n"]))
            if len(handled) == 40:
                stop.set()

        started = 0.0  # the first message's handling (the group's join is not timed)
        await asyncio.wait_for(consume(
            broker.bootstrap, topic, f"g-{topic}", msgspec.json.Decoder(dict), handle, stop,
            key=lambda value: value["key"], concurrency=4, first=first), timeout=30)
        took = asyncio.get_running_loop().time() - started
        return handled, most, took, announced, unannounced

    handled, most, took, announced, unannounced = asyncio.run(run())
    assert sorted(announced) == list(range(40)) and unannounced == [], unannounced
    assert sorted(n for _, n in handled) == list(range(40))
    for key in ("k0", "k1", "k2", "k3"):
        mine = [n for k, n in handled if k == key]
        assert mine == sorted(mine), f"{key} out of order: {mine}"
    assert most == 4, f"at most {most} handlers at once"
    assert took < 1.8, f"{took:.2f} s: the keys did not overlap"
