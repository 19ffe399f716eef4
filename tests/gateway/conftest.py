"""A real gateway per test: its own PostgreSQL schema, Redis key prefix and SMTP server.

The gateway runs in a background thread on its own event loop, listening on a free port;
tests talk to it over HTTP (``requests``) like any client, and read the mail it sent
from an in-process SMTP server (aiosmtpd).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email
import email.policy
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
import requests
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from analytics.sink import Sink as AnalyticsSink
from analytics.sink import TenantDirectory as AccountTenants
from analytics.sink import run_sink
from gateway.app import serve
from gateway.services import Services
from storage.clickhouse import Store
from storage.database import drop_schema
from storage.migrations import migrate
from streams.checkpoints import CheckpointStore
from streams.commands import DisableAccount, OpenAccount, follow_commands
from streams.events import Account, Deal, ProgramDefinition, Quote, Symbol
from streams.publisher import FeedPublisher
from streams.settings import load_settings
from streams.topics import Topics, ensure_topics
from streams.worker import Worker

DSN = "postgresql://localhost:5432/postgres"
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sink:
    """An SMTP server that keeps what it receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, recipient: str, count: int = 1, timeout: float = 10.0
                 ) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m["To"] == recipient]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"no message #{count} to {recipient} within {timeout} s")


def token_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(r"enter this code: (\S+)", body.get_content())
    assert match, body.get_content()
    return match.group(1)


class Gateway:
    """A running gateway and what a test needs around it."""

    def __init__(self, sink: Sink, history: Store, bootstrap: str = "", **settings: Any
                 ) -> None:
        self.sink = sink
        self.history = history
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.schema = f"gw_{uuid.uuid4().hex[:10]}"
        self.settings = dataclasses.replace(
            load_settings({}), database_url=DSN, redis_prefix=f"test:{self.schema}:",
            smtp_url=f"smtp://127.0.0.1:{sink.port}",
            secret_key=f"test-secret-{uuid.uuid4().hex}", kafka_bootstrap=bootstrap,
            kafka_topic_prefix=f"{self.schema}.", feed_partitions=2, **settings)
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.services: Services | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.http = requests.Session()
        # Coroutines run after the gateway stopped, before its Redis keys are dropped.
        self.after_stop: list[Callable[[], Any]] = []

    def start(self) -> None:
        self.thread.start()
        self.call(migrate(DSN, self.schema))
        ready = threading.Event()

        async def run() -> None:
            self.services = await Services.open(self.settings, self.schema,
                                                group=f"gateway-{self.schema}",
                                                history=self.history)
            self.stop_event = asyncio.Event()
            started = asyncio.Event()
            task = asyncio.create_task(serve(self.services, "127.0.0.1", self.port,
                                             self.stop_event, started))
            await asyncio.wait([task, asyncio.create_task(started.wait())],
                               return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()  # serve failed: raise it here
            ready.set()
            await task
            for hook in self.after_stop:
                await hook()
            await self.services.cache.drop_prefix()
            await self.services.close()

        self.running = asyncio.run_coroutine_threadsafe(run(), self.loop)
        deadline = time.monotonic() + 30
        while not ready.wait(0.05):
            if self.running.done():
                self.running.result()  # raises what stopped it
            assert time.monotonic() < deadline, "the gateway did not start"

    def call(self, coroutine: Any, timeout: float = 30) -> Any:
        """Run a coroutine on the gateway's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def sql(self, query: str, *args: Any) -> list[Any]:
        assert self.services is not None
        return self.call(self.services.pool.fetch(query, *args))

    def close(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
            self.running.result(30)
        self.call(drop_schema(DSN, self.schema))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.http.close()

    # -- HTTP -------------------------------------------------------------------------

    def request(self, method: str, path: str, token: str | None = None,
                **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, self.url + path, headers=headers, timeout=30,
                                 **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, token, **kwargs)

    def post(self, path: str, body: Any = None, token: str | None = None,
             **kwargs: Any) -> requests.Response:
        return self.request("POST", path, token, json=body, **kwargs)

    # -- journeys ---------------------------------------------------------------------

    def register(self, address: str, password: str = PASSWORD, **kwargs: Any) -> dict:
        answer = self.post("/api/v1/auth/register",
                           {"email": address, "password": password}, **kwargs)
        assert answer.status_code == 201, answer.text
        return answer.json()

    def verified_user(self, address: str, password: str = PASSWORD, **kwargs: Any) -> dict:
        """Register, read the verification mail, verify; returns the login's tokens."""
        before = len([m for m in self.sink.messages if m["To"] == address])
        self.register(address, password, **kwargs)
        token = token_in(self.sink.wait_for(address, count=before + 1)[-1])
        verified = self.post("/api/v1/auth/verify", {"token": token}, **kwargs)
        assert verified.status_code == 200, verified.text
        return self.login(address, password, **kwargs)

    def login(self, address: str, password: str = PASSWORD, **extra: Any) -> dict:
        headers = extra.pop("headers", None)
        answer = self.post("/api/v1/auth/login", {"email": address, "password": password,
                                                  **extra}, headers=headers or {})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def promote(self, address: str, role: str) -> None:
        self.sql("UPDATE users SET role = $2 WHERE email = $1", address, role)


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def gateway(sink: Sink, history: Store) -> Iterator[Gateway]:
    running = Gateway(sink, history)
    running.start()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def configured(sink: Sink, history: Store) -> Iterator[Callable[..., Gateway]]:
    """Start a gateway with some settings changed (``configured(trusted_proxies=...)``,
    on a broker with ``bootstrap=``); each is closed after the test."""
    started: list[Gateway] = []

    def start(bootstrap: str = "", **settings: Any) -> Gateway:
        running = Gateway(sink, history, bootstrap, **settings)
        started.append(running)
        running.start()
        return running

    yield start
    for running in started:
        running.close()


class Bridge:
    """The test's demo broker: follows ``broker.commands`` and publishes, in one numbered
    feed, the accounts it is asked to open and the trades a test scripts for them."""

    SYMBOL = Symbol(symbol="XAUUSD", contract_size=100, profit_currency="USD")

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.topics = Topics.of(gateway.settings)
        self.opened: dict[str, OpenAccount] = {}
        self.disabled: dict[str, str] = {}
        self.stop = asyncio.Event()

    async def start(self) -> None:
        bootstrap = self.gateway.settings.kafka_bootstrap
        await ensure_topics(bootstrap, self.topics)
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1)
        await self.producer.start()
        self.publisher = FeedPublisher(self.producer, self.topics, "test-bridge")
        self.publisher.add(self.SYMBOL)
        await self.publisher.flush()
        self.follower = asyncio.create_task(follow_commands(
            bootstrap, self.topics, f"bridge-{self.gateway.schema}", self._command, self.stop))

    def _command(self, command: Any) -> None:
        if isinstance(command, OpenAccount):
            self.opened[command.login] = command
            self.publisher.add(ProgramDefinition(document=command.program))
            self.publisher.add(Account(ts=datetime.now(UTC), account=command.login,
                                       program=str(command.program["id"]),
                                       balance=command.balance))
        elif isinstance(command, DisableAccount):
            self.disabled[command.login] = command.reason

    async def flush_loop(self) -> None:
        while not self.stop.is_set():
            await self.publisher.flush()
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self.stop.set()
        await self.follower
        await self.producer.stop()

    def publish(self, *events: Any) -> None:
        """Add events to the feed (they go out with the next flush)."""
        async def add() -> None:
            for event in events:
                self.publisher.add(event)

        self.gateway.call(add())

    def quote(self, bid: float, spread: float = 0.5) -> Quote:
        return Quote(ts=datetime.now(UTC), symbol="XAUUSD", bid=bid, ask=bid + spread)

    def deal(self, login: str, deal: int, side: str, entry: str, volume: float,
             price: float) -> Deal:
        return Deal(ts=datetime.now(UTC), account=login, deal=deal, position=1,
                    symbol="XAUUSD", side=side, entry=entry,  # type: ignore[arg-type]
                    volume=volume, price=price)

    def wait_opened(self, count: int = 1, timeout: float = 20.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.opened) >= count:
                return list(self.opened)
            time.sleep(0.05)
        raise AssertionError(f"the broker was not asked to open {count} account(s)")


@pytest.fixture
def live(sink: Sink, broker: Any, history: Store) -> Iterator[tuple[Gateway, Bridge]]:
    """A gateway on the broker, with a risk worker, the analytics sink (recording into
    ``history``) and the test's demo broker, all on the gateway's loop."""
    with live_system(sink, broker, history) as system:
        yield system


@contextlib.contextmanager
def live_system(sink: Sink, broker: Any, history: Store, **settings: Any
                ) -> Iterator[tuple[Gateway, Bridge]]:
    """What :func:`live` gives, with some of the gateway's settings changed."""
    running = Gateway(sink, history, broker.bootstrap, **settings)
    running.start()
    bridge = Bridge(running)
    stop = asyncio.Event()
    worker = Worker(broker.bootstrap, bridge.topics, [], f"worker-{running.schema}",
                    CheckpointStore(DSN, running.schema), session_timeout_ms=6000)

    async def begin() -> None:
        await bridge.start()
        assert running.services is not None
        recorder = AnalyticsSink(history, bridge.topics,
                                 AccountTenants(running.services.pool), max_delay=0.2)
        running.tasks = [asyncio.create_task(worker.run(stop)),
                         asyncio.create_task(bridge.flush_loop()),
                         asyncio.create_task(run_sink(broker.bootstrap, recorder, stop,
                                                      f"analytics-{running.schema}"))]

    running.call(begin())
    try:
        yield running, bridge
    finally:
        async def end() -> None:
            stop.set()
            await bridge.close()
            await asyncio.gather(*running.tasks)

        running.call(end())
        running.close()
