"""The gateway when a part it depends on goes away, and comes back.

Parts are made unreachable for real: PostgreSQL and Redis behind a TCP proxy the test
controls (``refuse``: connections reset and the port closed; ``hang``: connections
accepted and never answered), the broker frozen with SIGSTOP (its port still accepts,
nothing answers) and thawed with SIGCONT, the analytics store a port that accepts and never
answers, then a real ClickHouse front on that port.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from gateway import brokers, health, live, services
from storage.clickhouse import EmbeddedStore
from storage.clickhouse_front import FrontThread
from streams.broker import EmbeddedBroker
from streams.logs import RateLimit
from streams.topics import Topics
from streams.wire import MetricsBatch, encode
from tests.gateway.conftest import Gateway, Sink, free_port
from tests.gateway.test_websocket import connect


class Proxy:
    """A TCP proxy on its own loop: ``refuse()``, ``hang()`` and ``resume()``."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self.mode = "pass"
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.thread.start()
        self._call(self._listen())

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port,
                                                 reuse_address=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                      ) -> None:
        self.writers.add(writer)
        try:
            if self.mode != "pass":  # hang: accepted, never answered
                while await reader.read(65536):
                    pass
                return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
            self.writers.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer),
                                 return_exceptions=True)
        except OSError:
            pass
        finally:
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                    ) -> None:
        try:
            while data := await reader.read(65536):
                if self.mode == "pass":
                    writer.write(data)
                    await writer.drain()
        finally:
            writer.close()

    async def _drop_all(self) -> None:
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()

    def refuse(self) -> None:
        async def run() -> None:
            self.mode = "refuse"
            assert self.server is not None
            self.server.close()
            await self._drop_all()
        self._call(run())

    def hang(self) -> None:
        self.mode = "hang"

    def resume(self) -> None:
        async def run() -> None:
            await self._drop_all()  # what was held while hanging is not a stream any more
            self.mode = "pass"
            if self.server is None or not self.server.is_serving():
                await self._listen()
        self._call(run())

    def close(self) -> None:
        async def run() -> None:
            if self.server is not None:
                self.server.close()
            await self._drop_all()
        self._call(run())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Silent:
    """A TCP server that accepts and never answers (until closed)."""

    def __init__(self, port: int) -> None:
        import socket

        self.listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.listener.settimeout(0.2)
        self.held: list[Any] = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                continue
            self.held.append(connection)

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        for connection in self.held:
            connection.close()
        self.listener.close()


@pytest.fixture
def proxies() -> Iterator[Callable[[int], Proxy]]:
    """Proxies to local ports; closed after the gateways that use them (ask for this
    fixture before ``started``)."""
    opened: list[Proxy] = []

    def open_proxy(port: int) -> Proxy:
        opened.append(Proxy(port))
        return opened[-1]

    yield open_proxy
    for proxy in opened:
        proxy.close()


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounds short enough for a test (the same code paths, smaller numbers)."""
    monkeypatch.setattr(services, "POSTGRES_CONNECT_TIMEOUT", 2.0)
    monkeypatch.setattr(services, "POSTGRES_QUERY_TIMEOUT", 2.0)
    monkeypatch.setattr(services, "REDIS_REPLY_TIMEOUT", 2.0)
    monkeypatch.setattr(health, "PROBE_INTERVAL", 0.5)
    monkeypatch.setattr(health, "PROBE_TIMEOUT", 1.0)
    monkeypatch.setattr(brokers, "SEND_TIMEOUT", 2.0)


@pytest.fixture
def started(sink: Sink, history: EmbeddedStore, quick: None
            ) -> Iterator[Callable[..., Gateway]]:
    """Start a gateway with some settings replaced (``database_url=``, ``redis_url=``,
    ``kafka_bootstrap=``, ``clickhouse_url=``; ``history=None``: no in-process store)."""
    running: list[Gateway] = []

    def start(history_store: Any = history, **settings: Any) -> Gateway:
        gateway = Gateway(sink, history_store)
        gateway.settings = dataclasses.replace(gateway.settings, **settings)
        running.append(gateway)
        gateway.start()
        return gateway

    yield start
    for gateway in running:
        gateway.close()


async def close(socket: Any) -> None:
    socket.connection.close()


def until(check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def ready_part(gateway: Gateway, name: str) -> tuple[int, dict[str, Any]]:
    answer = gateway.get("/readyz")
    return answer.status_code, answer.json()["parts"][name]


def risk_desk(gateway: Gateway, address: str) -> str:
    tokens = gateway.verified_user(address)
    gateway.promote(address, "risk")
    return str(tokens["access_token"])


def assert_unavailable(answer: Any, part: str) -> None:
    assert answer.status_code == 503, answer.text
    error = answer.json()["error"]
    assert error["code"] == "unavailable" and error["part"] == part, error
    assert answer.headers["Retry-After"]


# -- PostgreSQL -------------------------------------------------------------------------------

def test_postgres_refused_then_hanging_then_back(proxies: Callable[[int], Proxy],
                                                 started: Callable[..., Gateway]) -> None:
    proxy = proxies(5432)
    gateway = started(database_url=f"postgresql://127.0.0.1:{proxy.port}/postgres")
    assert gateway.get("/api/v1/programs").status_code == 200
    ready = gateway.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert {name: part["state"] for name, part in ready.json()["parts"].items()} == {
        "postgres": "ok", "redis": "ok", "analytics": "ok"}

    proxy.refuse()
    assert_unavailable(gateway.get("/api/v1/programs"), "postgres")
    status, part = ready_part(gateway, "postgres")
    assert status == 503 and part["state"] == "down" and part["reason"], part
    since = part["since"]
    assert since.endswith("Z")
    assert ready_part(gateway, "redis")[1]["state"] == "ok"
    assert gateway.get("/readyz").json()["status"] == "unavailable"
    assert gateway.get("/healthz").status_code == 200  # liveness stays

    proxy.resume()
    proxy.hang()  # accepted, never answered: each call ends within its bound
    started_at = time.monotonic()
    assert_unavailable(gateway.get("/api/v1/programs"), "postgres")
    assert time.monotonic() - started_at < 8
    assert ready_part(gateway, "postgres")[1]["since"] == since  # still the same outage

    proxy.resume()
    until(lambda: gateway.get("/readyz").status_code == 200, what="ready again")
    status, part = ready_part(gateway, "postgres")
    assert part["state"] == "ok" and part["reason"] is None and part["since"] > since
    assert gateway.get("/api/v1/programs").status_code == 200


# -- Redis ------------------------------------------------------------------------------------

def test_redis_down_is_a_503_naming_it_and_live_updates_resume(
        proxies: Callable[[int], Proxy], started: Callable[..., Gateway]) -> None:
    proxy = proxies(6379)
    gateway = started(redis_url=f"redis://127.0.0.1:{proxy.port}/0")
    token = risk_desk(gateway, "desk@firm.test")
    gateway.sql("INSERT INTO trading_accounts (tenant_id, phase, login, engine_program, "
                "broker, origin) VALUES (1, 0, 'R1', 'p', 'demo', 'broker')")
    assert gateway.get("/api/v1/accounts/R1", token).status_code == 200

    async def subscribe() -> Any:
        socket = await connect(gateway, token)
        await socket.until(lambda m: m["type"] == "authenticated")
        await socket.send({"type": "subscribe", "accounts": ["R1"]})
        await socket.until(lambda m: m["type"] == "subscribed")
        return socket

    socket = gateway.call(subscribe())
    proxy.refuse()
    time.sleep(2.1)  # the gateway keeps a checked token for 2 s
    assert_unavailable(gateway.get("/api/v1/accounts/R1", token), "redis")
    status, part = ready_part(gateway, "redis")
    assert status == 503 and part["state"] == "down", part

    proxy.resume()
    until(lambda: gateway.get("/readyz").status_code == 200, what="ready again")
    assert gateway.get("/api/v1/accounts/R1", token).status_code == 200

    # The hub subscribed again: numbers published now reach the websocket.
    assert gateway.services is not None
    cache = gateway.services.cache

    async def publish_and_receive() -> dict[str, Any]:
        message = b'{"type":"metrics","account":"R1","data":{"login":"R1",' \
                  b'"status":"active","equity":1234.5}}'
        deadline = time.monotonic() + 10
        while True:  # until the hub's new subscription is in place
            await cache.client.publish(cache.key("live", "account", "R1"), message)
            try:
                return await socket.until(lambda m: m["type"] == "metrics", timeout=0.5)
            except TimeoutError:
                assert time.monotonic() < deadline, "no live update after Redis came back"

    assert gateway.call(publish_and_receive())["data"]["equity"] == 1234.5
    gateway.call(close(socket))


# -- the broker -------------------------------------------------------------------------------

def test_broker_frozen_numbers_served_stale_then_fresh(
        started: Callable[..., Gateway]) -> None:
    with EmbeddedBroker() as broker:
        assert broker.pid is not None
        gateway = started(kafka_bootstrap=broker.bootstrap)
        token = risk_desk(gateway, "desk@firm.test")
        gateway.sql("INSERT INTO trading_accounts (tenant_id, phase, login, engine_program, "
                    "broker, origin) VALUES (1, 0, 'K1', 'p', 'demo', 'broker')")
        topics = Topics.of(gateway.settings)

        async def publish(equity: float) -> None:
            producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
            await producer.start()
            try:
                cents = np.array([equity * 100], "<f8").tobytes()
                await producer.send_and_wait(topics.metrics, encode(MetricsBatch(
                    time.time_ns() // 1000, ["K1"], np.array([0], np.int8).tobytes(),
                    cents, cents, np.array([np.nan], "<f8").tobytes(),
                    np.array([np.nan], "<f8").tobytes(),
                    np.array([0], "<i4").tobytes())), partition=0)
            finally:
                await producer.stop()

        def numbers() -> dict[str, Any]:
            answer = gateway.get("/api/v1/accounts/K1", token)
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        gateway.call(publish(10_100.0))
        fresh = until(lambda: (n := numbers())["equity"] == 10_100.0 and n,
                      what="the first numbers")
        assert fresh["stale"] is False and fresh["as_of"].endswith("Z")

        async def watch() -> Any:
            socket = await connect(gateway, token)
            await socket.until(lambda m: m["type"] == "authenticated")
            await socket.send({"type": "subscribe", "accounts": ["K1"]})
            await socket.until(lambda m: m["type"] == "metrics")
            return socket

        socket = gateway.call(watch())
        os.kill(broker.pid, signal.SIGSTOP)
        try:
            status, part = until(lambda: (r := ready_part(gateway, "broker"))[1]["state"]
                                 == "down" and r, what="the broker seen down")
            assert status == 503 and part["reason"], part
            stale = numbers()  # still answered, from the cache, marked
            assert stale["stale"] is True and stale["equity"] == 10_100.0
            assert stale["as_of"] == fresh["as_of"]
            pushed = gateway.call(socket.until(
                lambda m: m["type"] == "metrics" and m["data"].get("stale") is True))
            assert pushed["data"]["equity"] == 10_100.0
        finally:
            os.kill(broker.pid, signal.SIGCONT)

        until(lambda: gateway.get("/readyz").status_code == 200, timeout=30,
              what="ready again")
        gateway.call(publish(10_200.0))  # the consumer reads again
        after = until(lambda: (n := numbers())["equity"] == 10_200.0 and n, timeout=40,
                      what="new numbers after the broker came back")
        assert after["stale"] is False and after["as_of"] > fresh["as_of"]
        gateway.call(socket.until(lambda m: m["type"] == "metrics"
                                  and m["data"]["equity"] == 10_200.0, timeout=10))
        gateway.call(close(socket))


def test_a_gateway_starts_without_its_broker(started: Callable[..., Gateway]) -> None:
    port = free_port()  # nothing listens: refused
    gateway = started(kafka_bootstrap=f"127.0.0.1:{port}")
    status, part = ready_part(gateway, "broker")
    assert status == 503 and part["state"] == "down" and "not connected" in part["reason"]
    assert gateway.get("/api/v1/programs").status_code == 200  # the rest answers


# -- the analytics store ----------------------------------------------------------------------

def test_analytics_hanging_then_back(started: Callable[..., Gateway],
                                     history: EmbeddedStore) -> None:
    port = free_port()
    silent = Silent(port)
    front: FrontThread | None = None
    try:
        gateway = started(
            history_store=None,
            clickhouse_url=f"http://127.0.0.1:{port}/{history.database}")
        assert gateway.services is not None
        gateway.services.history.timeout = 2.0
        token = risk_desk(gateway, "desk@firm.test")
        began = time.monotonic()
        assert_unavailable(gateway.get("/api/v1/accounts/A1/statistics", token), "analytics")
        assert time.monotonic() - began < 6
        ready = gateway.get("/readyz")
        assert ready.status_code == 200, ready.text  # not a core part: degraded, not down
        assert ready.json()["status"] == "degraded"
        assert ready.json()["parts"]["analytics"]["state"] == "down"
        began = time.monotonic()  # while down, refused at once
        assert_unavailable(gateway.get("/api/v1/accounts/A1/statistics", token), "analytics")
        assert time.monotonic() - began < 1

        silent.close()
        front = FrontThread(history, port=port).start()
        until(lambda: gateway.get("/readyz").json()["parts"]["analytics"]["state"] == "ok",
              timeout=20, what="the analytics store seen back")
        assert gateway.get("/readyz").json()["status"] == "ok"
        answer = gateway.get("/api/v1/accounts/A1/statistics", token)
        assert answer.status_code == 404, answer.text  # answered: no such account there
    finally:
        silent.close() if silent.running else None
        if front is not None:
            front.stop()


# -- the logs ---------------------------------------------------------------------------------

class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")


def test_the_rate_limit_turns_a_flood_into_a_line_and_a_summary() -> None:
    now = [1000.0]
    limit = RateLimit(window=60, burst=1, clock=lambda: now[0])
    lines = Lines()
    lines.addFilter(limit)
    noisy = logging.getLogger("aiokafka.conn.test-flood")
    ours = logging.getLogger("proptrade.test-flood")
    for logger in (noisy, ours):
        logger.addHandler(lines)
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
    try:
        for attempt in range(10_000):  # what a dead broker costs a minute
            noisy.warning("Unable to connect to node with id %s: attempt %d", 1, attempt)
            if attempt % 100 == 0:
                ours.error("risk.metrics consumer stopped: %s", "broker")
            now[0] += 0.005
        ours.info("another kind of line")
        assert lines.lines == [
            "aiokafka.conn.test-flood WARNING Unable to connect to node with id 1: attempt 0",
            "proptrade.test-flood ERROR risk.metrics consumer stopped: broker",
            "proptrade.test-flood INFO another kind of line"]
        now[0] += 10.0  # the window closed
        assert limit.flush() == 2
        assert lines.lines[3:] == [
            "aiokafka.conn.test-flood WARNING Unable to connect to node with id 1: attempt 1 "
            "(and 9999 more like it in the last 60 s)",
            "proptrade.test-flood ERROR risk.metrics consumer stopped: broker "
            "(and 99 more like it in the last 60 s)"]
        noisy.warning("Unable to connect to node with id %s: attempt %d", 1, 10_000)
        assert len(lines.lines) == 6  # a new window: its first line passes again
        # One decision per record, however many handlers share the filter.
        second = Lines()
        second.addFilter(limit)
        noisy.addHandler(second)
        noisy.warning("a line on two handlers")
        noisy.warning("a line on two handlers")
        assert lines.lines[-1] == second.lines[-1] == \
            "aiokafka.conn.test-flood WARNING a line on two handlers"
        assert len(second.lines) == 1
        noisy.removeHandler(second)
    finally:
        for logger in (noisy, ours):
            logger.removeHandler(lines)
            logger.propagate = True


def test_the_access_log_keeps_every_request_served() -> None:
    limit = RateLimit(window=60, burst=1, clock=lambda: 0.0)
    lines = Lines()
    lines.addFilter(limit)
    access = logging.getLogger("tornado.access")
    level = access.level
    access.setLevel(logging.INFO)
    access.addHandler(lines)
    try:
        for status in (200, 200, 503, 503, 503, 404):
            (access.info if status < 400 else access.error)(
                "%d %s %.2fms", status, "GET /api/v1/programs (127.0.0.1)", 1.5)
        access.error("%d %s %.2fms", 503, "GET /readyz (127.0.0.1)", 2.0)
        assert [line.split()[2] + " " + line.split()[4] for line in lines.lines] == [
            "200 /api/v1/programs", "200 /api/v1/programs", "503 /api/v1/programs",
            "404 /api/v1/programs", "503 /readyz"]
    finally:
        access.removeHandler(lines)
        access.setLevel(level)


def test_install_rate_limit_sits_on_the_root_handlers() -> None:
    from streams import logs

    root = logging.getLogger()
    lines = Lines()
    root.addHandler(lines)
    try:
        limit = logs.install_rate_limit()
        assert logs.install_rate_limit() is limit  # once per process
        assert limit in lines.filters
        logger = logging.getLogger("aiokafka.test-install")
        logger.setLevel(logging.WARNING)
        for _ in range(500):
            logger.warning("Unable to bootstrap from %s", "127.0.0.1:1")
        mine = [line for line in lines.lines if "test-install" in line]
        # The first lines of a kind (a shard opening per partition is not a flood), then
        # nothing more of it until the window's summary.
        assert mine == (["aiokafka.test-install WARNING Unable to bootstrap from 127.0.0.1:1"]
                        * logs.BURST)
        assert 1 < logs.BURST < 50
    finally:
        root.removeHandler(lines)
        for handler in root.handlers:
            with contextlib.suppress(ValueError):
                handler.removeFilter(logs._installed)  # pytest's own handlers: untouched


def test_a_status_that_commits_while_numbers_are_stored_is_not_overwritten(
        gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine fails an account and publishes its last numbers; the outcome commits
    (and announces the latest numbers with the new status) after the metrics consumer
    read the old status and before it wrote those numbers. The numbers kept must still
    carry the committed status: the engine publishes no more for a failed account."""
    gateway.sql("INSERT INTO trading_accounts (tenant_id, phase, login, engine_program, "
                "broker, origin) VALUES (1, 0, 'R7', 'p', 'demo', 'broker')")
    assert gateway.services is not None
    metrics = gateway.services.metrics
    registry, cache = metrics.registry, metrics.cache
    read = registry.statuses

    async def read_then_commit(logins: Any) -> dict[str, str]:
        found = await read(logins)  # "active" …
        await registry.published({"R7": "failed"})  # … and the breach commits meanwhile
        return found

    monkeypatch.setattr(registry, "statuses", read_then_commit)
    cents = np.array([8_950 * 100], "<f8").tobytes()
    batch = MetricsBatch(time.time_ns() // 1000, ["R7"], np.array([0], np.int8).tobytes(),
                         cents, cents, np.array([np.nan], "<f8").tobytes(),
                         np.array([np.nan], "<f8").tobytes(),
                         np.array([0], "<i4").tobytes())

    async def store_and_watch() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        listener = cache.client.pubsub()
        await listener.subscribe(cache.key("live", "account", "R7"))
        told: list[dict[str, Any]] = []
        try:
            await metrics.store(batch)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                message = await listener.get_message(ignore_subscribe_messages=True,
                                                     timeout=0.1)
                if message is not None:
                    told.append(orjson.loads(message["data"]))
        finally:
            await listener.aclose()
        return orjson.loads(await cache.client.get(cache.key("metrics", "R7"))), told

    kept, told = gateway.call(store_and_watch())
    assert kept["equity"] == 8_950.0 and kept["status"] == "failed", kept
    last = told[-1]["data"]  # what a live client shows from now on
    assert last["equity"] == 8_950.0 and last["status"] == "failed", told


def test_answers_are_told_as_read_apart_from_their_transactions(gateway: Gateway) -> None:
    """The alerts' consumer tells every fresh answer of a fetch in one round trip, with no
    transaction (applying is the outcomes consumer's, which tells nothing); an answer
    written long ago is not news; one for an account not on record yet is told once the
    account is recorded."""
    from streams.outputs import Breach
    from streams.wire import Answer

    for login in ("S1", "S2", "S3"):
        gateway.sql("INSERT INTO trading_accounts (tenant_id, phase, login, engine_program,"
                    " broker, origin) VALUES (1, 0, $1, 'p', 'demo', 'broker')", login)
    assert gateway.services is not None
    outcomes, cache = gateway.services.outcomes, gateway.services.cache
    answers = [Answer(f"0:{n}:0", 0, Breach(account=login, rule="daily_loss",
                                            ts="2026-03-02T08:00:00Z", equity=9400.0,
                                            floor=9500.0, action="fail"))
               for n, login in enumerate(("S1", "S2", "S3", "S1", "S2", "S4"))]
    now = int(time.time() * 1000)
    stamps = [now, now, now, now, now - (live.NEWS_SECONDS + 60) * 1000, now]

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        listener = cache.client.pubsub()
        await listener.subscribe(cache.key("live", "tenant", 1))

        async def heard(seconds: float = 0.5) -> list[str]:
            ids: list[str] = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                message = await listener.get_message(ignore_subscribe_messages=True,
                                                     timeout=0.1)
                if message is not None:
                    ids.append(orjson.loads(message["data"])["id"])
            return ids

        try:
            await outcomes.announce(answers, stamps)
            first = await heard()
            assert gateway.services is not None
            await gateway.services.pool.execute(
                "INSERT INTO trading_accounts (tenant_id, phase, login, engine_program, "
                "broker, origin) VALUES (1, 0, 'S4', 'p', 'demo', 'broker')")
            recorded = await heard(1.0)
            for answer in answers[:4]:
                assert await outcomes.apply(answer)
            return first, recorded, await heard()
        finally:
            await listener.aclose()

    first, recorded, applied = gateway.call(scenario())
    assert first == ["0:0:0", "0:1:0", "0:2:0", "0:3:0"], first
    assert recorded == ["0:5:0"], recorded
    assert applied == [], applied  # applying tells nothing again
    assert gateway.sql("SELECT count(*) FROM risk_events")[0][0] == 4


def test_a_large_metrics_batch_is_kept_and_told_whole(gateway: Gateway) -> None:
    """A batch of 1,201 accounts (three script calls), one login with a quote, a
    backslash and non-ASCII letters: each snapshot kept for a day and told once, as
    JSON that reads back as what was computed."""
    from gateway.live import METRICS_SECONDS, snapshots

    assert gateway.services is not None
    metrics, cache = gateway.services.metrics, gateway.services.cache
    logins = [f"B{n}" for n in range(1200)] + ['Zé"\\ü']
    n = len(logins)
    cents = (np.arange(n, dtype="<f8") * 100 + 1_000_000.5)
    batch = MetricsBatch(time.time_ns() // 1000, logins, np.zeros(n, np.int8).tobytes(),
                         cents.tobytes(), cents.tobytes(), np.full(n, np.nan).tobytes(),
                         (cents - 50_000).tobytes(), np.arange(n, dtype="<i4").tobytes())
    expected = dict(snapshots(batch))

    async def store_and_watch() -> tuple[list[Any], list[int], list[dict[str, Any]]]:
        listener = cache.client.pubsub()
        await listener.psubscribe(cache.key("live", "account", "*"))
        told: list[dict[str, Any]] = []
        try:
            await metrics.store(batch)
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and len(told) < n:
                message = await listener.get_message(ignore_subscribe_messages=True,
                                                     timeout=0.1)
                if message is not None:
                    told.append(orjson.loads(message["data"]))
        finally:
            await listener.aclose()
        keys = [cache.key("metrics", login) for login in logins]
        kept = await cache.client.mget(keys)
        ttls = [await cache.client.ttl(key) for key in (keys[0], keys[-1])]
        return kept, ttls, told

    kept, ttls, told = gateway.call(store_and_watch())
    assert all(METRICS_SECONDS - 60 < ttl <= METRICS_SECONDS for ttl in ttls), ttls
    for login, raw in zip(logins, kept, strict=True):
        assert raw is not None, login
        snapshot = orjson.loads(raw)
        assert snapshot["equity"] == expected[login]["equity"]
        assert snapshot["max_loss_floor"] == expected[login]["max_loss_floor"]
        assert snapshot["daily_floor"] is None and snapshot["login"] == login
    assert len(told) == n and sorted(m["account"] for m in told) == sorted(logins)
    last = next(m for m in told if m["account"] == logins[-1])
    assert last["type"] == "metrics" and last["data"]["open_positions"] == n - 1


def test_a_status_change_keeps_numbers_stored_meanwhile(gateway: Gateway) -> None:
    """The outcome's new status goes into the numbers where they are kept: numbers that
    arrive between its status write and its announcement are kept (with the status),
    never replaced by the older ones it would have read."""
    gateway.sql("INSERT INTO trading_accounts (tenant_id, phase, login, engine_program, "
                "broker, origin) VALUES (1, 0, 'R8', 'p', 'demo', 'broker')")
    assert gateway.services is not None
    metrics = gateway.services.metrics
    registry, cache = metrics.registry, metrics.cache

    def batch(equity: float) -> MetricsBatch:
        cents = np.array([equity * 100], "<f8").tobytes()
        return MetricsBatch(time.time_ns() // 1000, ["R8"], np.array([0], np.int8).tobytes(),
                            cents, cents, np.array([np.nan], "<f8").tobytes(),
                            np.array([np.nan], "<f8").tobytes(), np.array([0], "<i4").tobytes())

    async def scenario() -> dict[str, Any]:
        await metrics.store(batch(9_100.0))
        script = registry._restatus

        async def newer_numbers_first(**kwargs: Any) -> Any:
            await metrics.store(batch(8_621.0))  # the engine's last numbers land meanwhile
            return await script(**kwargs)

        registry._restatus = newer_numbers_first
        try:
            await registry.published({"R8": "failed"})
        finally:
            registry._restatus = script
        return orjson.loads(await cache.client.get(cache.key("metrics", "R8")))

    kept = gateway.call(scenario())
    assert (kept["equity"], kept["status"]) == (8_621.0, "failed"), kept
