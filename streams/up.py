"""``proptrade up``: run PropTrade on one machine.

Starts the embedded tansu broker unless ``KAFKA_BOOTSTRAP`` names one, migrates
PostgreSQL, then runs a stream worker, the market simulator publishing to it (and acting
as the demo broker for accounts the platform opens) and the gateway (REST, websocket),
prints the URL and the breaches and passes the worker answers, and runs until SIGINT or
SIGTERM (or ``--seconds N``), stopping everything it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from aiokafka.errors import KafkaError

from storage.clickhouse import Store
from streams.broker import BrokerError, EmbeddedBroker, find_free_port
from streams.settings import Settings, SettingsError, load_settings, without_password
from streams.topics import Topics

__all__ = ["add_arguments", "main", "run_live"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``proptrade up``'s options on ``parser``."""
    duration = parser.add_mutually_exclusive_group()
    duration.add_argument(
        "--seconds",
        type=float,
        metavar="N",
        help="stop by itself after N seconds (smoke tests); default: run until interrupted",
    )
    duration.add_argument(
        "--once",
        action="store_const",
        const=0.0,
        dest="seconds",
        help="start everything, report it, and stop at once (same as --seconds 0)",
    )


def main(args: argparse.Namespace) -> int:
    """Run ``proptrade up``; the exit status is 0 after a clean stop."""
    seconds: float | None = args.seconds
    if seconds is not None and seconds < 0:
        print("proptrade up: error: --seconds must not be negative", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"proptrade up: error: {error}", file=sys.stderr)
        return 2
    refusal = settings.exposed_insecure_key
    if refusal is not None:
        print(f"proptrade up: error: {refusal}", file=sys.stderr)
        return 2
    if settings.uses_insecure_secret_key:
        print(
            "proptrade up: warning: SECRET_KEY is unset, so tokens are signed with the public "
            "development key; set SECRET_KEY before anyone else can reach this machine",
            file=sys.stderr,
            flush=True,
        )

    settings = demo_settings(settings)

    stop = threading.Event()
    if seconds is not None:
        timer = threading.Timer(seconds, stop.set)
        timer.daemon = True
        timer.start()
    try:
        with _stop_on_signals(stop), contextlib.ExitStack() as running:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            embedded = settings.uses_embedded_broker
            if embedded:
                broker = running.enter_context(
                    EmbeddedBroker(log_path=settings.data_dir / "logs" / "broker.log")
                )
                settings = dataclasses.replace(settings, kafka_bootstrap=broker.bootstrap)
                _say(f"broker: embedded tansu at {broker.bootstrap} (pid {broker.pid})")
            else:
                _say(f"broker: external Kafka at {settings.kafka_bootstrap}")
            _say(f"data dir: {settings.data_dir}")
            run_live(settings, stop, embedded)
            _say("stopping")
    except BrokerError as error:
        print(f"proptrade up: error: {error}", file=sys.stderr)
        return 1
    except KafkaError as error:
        print(f"proptrade up: error: Kafka at {settings.kafka_bootstrap}: {error}",
              file=sys.stderr)
        return 1
    except OSError as error:
        print(f"proptrade up: error: {error}", file=sys.stderr)
        return 1
    _say("stopped")
    return 0


def demo_settings(settings: Settings) -> Settings:
    """A demonstration: traders confirm their own (fake) payments, unless the operator
    set ``DEMO_PAYMENTS=0``."""
    if settings.demo_payments is None:
        return dataclasses.replace(settings, demo_payments=True)
    return settings


def run_live(settings: Settings, stop: threading.Event, embedded: bool) -> None:
    """Run a stream worker and the market simulator on the broker until ``stop`` is set,
    printing every breach and pass the worker answers (at most a few a second, then a
    count) and a summary every ten seconds."""
    asyncio.run(_live(settings, stop, embedded))


# The demonstration firm: 2,000 accounts on the simulator's programs, 500 quotes/s, and
# event time 30 minutes a second, so a trading day passes in 48 s and passes show within
# minutes (four trading days minimum).
DEMO_ACCOUNTS, DEMO_RATE, DEMO_TIME_SCALE = 2_000, 500.0, 1_800.0


async def _live(settings: Settings, stop: threading.Event, embedded: bool) -> None:
    from analytics.command import run_analytics
    from gateway.app import serve
    from gateway.services import Services
    from storage.database import ensure_database
    from storage.migrations import migrate
    from streams.checkpoints import CheckpointStore
    from streams.commands import follow_commands
    from streams.feed import publish_live
    from streams.observability import WorkerMetrics
    from streams.program import parse_program
    from streams.simulator import Simulator, demo_broker
    from streams.topics import Topics
    from streams.worker import Worker

    halt = asyncio.Event()
    topics = Topics.of(settings)
    simulator = Simulator(1, DEMO_ACCOUNTS, 50, datetime.now(UTC).replace(microsecond=0),
                          rate=DEMO_RATE, time_scale=DEMO_TIME_SCALE)
    programs = [parse_program(doc) for doc in simulator.programs()]
    await ensure_database(settings.database_url)
    applied = await migrate(settings.database_url)
    _say(f"database: {without_password(settings.database_url)} "
         f"({len(applied)} migration(s) applied)")
    store = CheckpointStore(settings.database_url)
    # An embedded broker keeps nothing across runs, so neither may its checkpoints.
    group = f"proptrade-up-{uuid.uuid4().hex[:8]}" if embedded else "proptrade-risk"
    metrics = WorkerMetrics()
    port = find_free_port()
    metrics.serve(port)
    worker = Worker(settings.kafka_bootstrap, topics, programs, group, store, metrics)
    _say(f"worker: consumer group {group}, {topics.partitions} partitions, checkpoints in "
         f"PostgreSQL; metrics at http://127.0.0.1:{port}/metrics")
    _say(f"simulator: {DEMO_ACCOUNTS} accounts on {len(programs)} programs, "
         f"{DEMO_RATE:g} quotes/s, event time ×{DEMO_TIME_SCALE:g}")
    history = _open_history(settings, embedded)
    services = await Services.open(settings, group=f"{group}-gateway", history=history)
    await seed_demo_program(services)
    if embedded:
        await new_feed(services)
    sign_ins = await seed_demo_users(services, settings)
    listening = asyncio.Event()
    tasks = [
        asyncio.create_task(worker.run(halt)),
        asyncio.create_task(publish_live(simulator.events(), settings.kafka_bootstrap, topics,
                                         DEMO_RATE, halt)),
        asyncio.create_task(follow_commands(settings.kafka_bootstrap, topics,
                                            f"{group}-demo-broker",
                                            lambda command: demo_broker(simulator, command),
                                            halt)),
        asyncio.create_task(_report(settings.kafka_bootstrap, topics, halt)),
        asyncio.create_task(run_analytics(settings, history, halt, f"{group}-analytics",
                                          simulator.programs(), services.pool)),
        asyncio.create_task(serve(services, settings.http_host, settings.http_port, halt,
                                  listening)),
    ]
    await asyncio.wait([asyncio.create_task(listening.wait()), tasks[-1]],
                       return_when=asyncio.FIRST_COMPLETED)
    if listening.is_set():
        url = f"http://{settings.http_host}:{settings.http_port}"
        _say(f"gateway: {url}/api/v1 (docs {url}/api/docs, websocket {url}/ws)")
        mail = (without_password(settings.smtp_url) if settings.smtp_url
                else f"written to {settings.data_dir / 'outbox.mbox'}")
        _say(f"mail: {mail}")
        _say("payments: demo (a trader confirms their own manual payment)"
             if settings.demo_payments else
             "payments: manual (the firm's admins settle them; DEMO_PAYMENTS=0)")
        for what, address, password in sign_ins:
            _say(f"sign in as the demo {what}: {address} / {password}")
        _say("ready; press Ctrl+C to stop")
    while not stop.is_set() and not any(task.done() for task in tasks):
        await asyncio.sleep(0.2)
    halt.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    await services.close()
    history.close()
    if embedded:
        with contextlib.suppress(Exception):
            await store.open()
            await store.forget(group)
            await store.close()
    for result in results:
        if isinstance(result, BaseException):
            raise result


def _open_history(settings: Settings, embedded: bool) -> Store:
    """The history store, migrated. An embedded broker keeps nothing across runs, so
    neither does the history recorded from it (its feed numbering starts again): it is
    emptied at each start — the local chDB's ``proptrade`` database, or on a ClickHouse
    server a database of its own (``proptrade_up``), never the server's ``proptrade``."""
    from storage.clickhouse import migrate, open_store

    database = "proptrade_up" if embedded and settings.clickhouse_url else "proptrade"
    history = open_store(settings.clickhouse_url or None, settings.data_dir, database)
    if embedded:
        history.command(f"DROP DATABASE IF EXISTS {database} SYNC")
        history.close()
        history = open_store(settings.clickhouse_url or None, settings.data_dir, database)
    applied = migrate(history)
    where = (without_password(settings.clickhouse_url) if settings.clickhouse_url else
             f"chDB in {settings.data_dir / 'chdb'}, served to other processes on "
             f"http://127.0.0.1:{settings.analytics_port}")
    _say(f"history: {where} ({len(applied)} migration(s) applied)")
    return history


DEMO_PROGRAM = {
    "slug": "demo-100k", "name": "Two-step 100k (demo)", "price": "540.00",
    "currency": "USD", "account_size": "100000", "advance": "auto",
    "phases": [
        {"name": "Challenge", "document": {"day": {"timezone": "Europe/Prague"}, "rules": {
            "daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10},
            "profit_target": {"target": 0.10},
            "min_trading_days": {"days": 4}}}},
        {"name": "Verification", "document": {"day": {"timezone": "Europe/Prague"}, "rules": {
            "daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10},
            "profit_target": {"target": 0.05},
            "min_trading_days": {"days": 4}}}},
        {"name": "Funded", "document": {"day": {"timezone": "Europe/Prague"}, "rules": {
            "daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10}}}},
    ],
}


async def seed_demo_program(services: Any) -> None:
    """A program on sale in the default firm when it has none, so a fresh machine can be
    tried end to end (register, buy, trade on the simulator)."""
    import msgspec

    from gateway.schemas import ProgramIn

    tenant = await services.tenants.resolve("localhost")
    if not await services.programs.list(tenant, include_inactive=True):
        await services.programs.create(tenant, tenant,
                                       msgspec.convert(DEMO_PROGRAM, ProgramIn))
        _say("seeded the demo program 'demo-100k' in the default firm")


async def new_feed(services: Any) -> None:
    """The embedded broker's feed starts empty: forget the demo broker's accounts of the
    last run and open the platform's live accounts again (:meth:`AccountRegistry.new_feed`)."""
    async def last_balance(login: str) -> float | None:
        latest = await services.metrics.latest(login)
        return latest.get("balance") if latest else None

    assert services.challenges.broker is not None  # an embedded broker is a broker
    forgotten, reopened = await services.accounts.new_feed(services.challenges.broker,
                                                           last_balance)
    if forgotten or reopened:
        _say(f"new feed: forgot {forgotten} account(s) of the demo broker's last run, "
             f"opened {reopened} live platform account(s) again")


async def seed_demo_users(services: Any, settings: Settings) -> list[tuple[str, str, str]]:
    """The demo firm's trader, risk officer and admin, whose sign-ins `up` prints (their
    passwords are generated once and kept in the data directory)."""
    from gateway.staff import DEMO_FILE, ensure_demo_users

    tenant = await services.tenants.resolve("localhost")
    sign_ins = await ensure_demo_users(services.pool, tenant, settings.data_dir)
    _say(f"demo sign-ins of the default firm: passwords kept in "
         f"{settings.data_dir / DEMO_FILE}")
    return sign_ins


async def _report(bootstrap: str, topics: Topics, halt: asyncio.Event) -> None:
    """Print the answers on risk.events as they come (the risk desk's view, for now)."""
    from aiokafka import AIOKafkaConsumer

    from streams.outputs import Breach, Objective, Passed
    from streams.wire import answer_decoder

    reader = AIOKafkaConsumer(topics.events, bootstrap_servers=bootstrap, group_id=None,
                              auto_offset_reset="earliest")
    await reader.start()
    counts: dict[str, int] = {}
    last_summary = time.monotonic()
    printed_this_second, second = 0, int(time.monotonic())
    try:
        while not halt.is_set():
            fetched = await reader.getmany(timeout_ms=200)
            for records in fetched.values():
                for record in records:
                    output = answer_decoder.decode(record.value).output
                    kind = type(output).__name__.lower()
                    counts[kind] = counts.get(kind, 0) + 1
                    if int(time.monotonic()) != second:
                        printed_this_second, second = 0, int(time.monotonic())
                    if printed_this_second >= 5 or isinstance(output, Objective):
                        continue
                    printed_this_second += 1
                    if isinstance(output, Breach):
                        limit = ""  # a consistency breach has neither
                        if output.floor is not None:
                            limit = f" floor {output.floor:,.2f}"
                        elif output.lots is not None:
                            limit = f" lots {output.lots:g} (at most {output.max_lots:g})"
                        _say(f"breach: {output.account} {output.rule} ({output.action}) "
                             f"equity {output.equity:,.2f}{limit} at {output.ts}")
                    elif isinstance(output, Passed):
                        _say(f"passed: {output.account} at {output.ts}")
            if time.monotonic() - last_summary >= 10:
                last_summary = time.monotonic()
                _say("answers so far: " + (", ".join(f"{n} {k}" for k, n in
                                                    sorted(counts.items())) or "none"))
    finally:
        await reader.stop()


def _say(line: str) -> None:
    # Flushed at once: `proptrade up` is watched through pipes (tests, process managers).
    print(f"proptrade up: {line}", flush=True)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into ``stop.set()``; restore the handlers after."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Event.set() takes a lock the interrupted main thread may be holding inside
        # Event.wait(); setting it from another thread cannot deadlock.
        threading.Thread(target=stop.set, name="proptrade-stop").start()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
