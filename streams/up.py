"""``proptrade up``: run PropTrade on one machine, as separate supervised processes.

It starts, each as its own command in its own process group (:mod:`streams.supervisor`):

1. ``proptrade broker --port N`` — the embedded broker, unless ``KAFKA_BOOTSTRAP`` names
   one — and waits for its ready line;
2. then, itself, migrates PostgreSQL, creates the topics, seeds the demo program and the
   demo users (and, only when the broker's log is empty while PostgreSQL has live
   platform accounts, opens those accounts again at the demo broker: :func:`new_feed`);
3. ``proptrade analytics``, ``proptrade worker`` (group ``proptrade-risk``, the
   simulator's programs written to ``$DATA_DIR/programs``), ``proptrade demo-broker``,
   the console report of breaches and passes (``python -m streams.up report``) and
   ``proptrade gateway``; prints the URL and the demo sign-ins once the gateway answers
   ``/healthz``.

Each child's output goes to ``$DATA_DIR/logs/<name>.log``; its ready and error lines are
echoed here. A child that exits is reported and started again with backoff; one that
keeps dying stops ``up`` with exit status 1. SIGINT or SIGTERM stops everything within
10 s whatever the children's state (a second one kills them at once); so does
``--seconds N`` once everything is ready.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from streams.settings import (
    Settings,
    SettingsError,
    child_environment,
    load_settings,
    without_password,
)
from streams.supervisor import Child, Supervisor
from streams.topics import Topics

__all__ = ["add_arguments", "main"]

T = TypeVar("T")

#: The children, in start order (the broker first, unless external).
NAMES = ("broker", "analytics", "worker", "demo-broker", "report", "gateway")
WORKER_GROUP = "proptrade-risk"
BROKER_READY = re.compile(r"proptrade broker: ready at ")
# tansu's own "ready in 5ms" is not the broker being ready: only the command's line is.
BROKER_ECHO = re.compile(r"proptrade broker: |error|Error|ERROR|CRITICAL|Traceback|panic")
REPORT_LINES = re.compile(r"^(breach|passed|answers so far): |^Traceback|^\w+Error: ")
# How long the parts may take to come up before `up` says which one did not.
BROKER_START_TIMEOUT = 60.0
GATEWAY_START_TIMEOUT = 90.0
# SIGINT/SIGTERM: SIGKILL for what still runs after STOP_GRACEFUL seconds, all reaped
# by STOP_TOTAL (the promise is 10 s, whatever state the children are in).
STOP_GRACEFUL, STOP_TOTAL = 6.5, 8.5
# asyncpg's connect: a database that accepts and never answers fails after this.
DATABASE_TIMEOUT = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``proptrade up``'s options on ``parser``."""
    duration = parser.add_mutually_exclusive_group()
    duration.add_argument(
        "--seconds",
        type=float,
        metavar="N",
        help="stop by itself N seconds after it is ready (smoke tests); default: run "
             "until interrupted",
    )
    duration.add_argument(
        "--once",
        action="store_const",
        const=0.0,
        dest="seconds",
        help="start everything, report it, and stop at once (same as --seconds 0)",
    )
    # Tests: run another command in place of a child (NAME=COMMAND, shell words).
    parser.add_argument("--replace", action="append", default=[], metavar="NAME=COMMAND",
                        help=argparse.SUPPRESS)


class _Stopped(Exception):
    """A signal (or the supervisor giving up) ended a step of the start."""


class _Failed(Exception):
    """A step of the start failed; the message is for the operator."""


def main(args: argparse.Namespace) -> int:
    """Run ``proptrade up``; the exit status is 0 after a clean stop."""
    seconds: float | None = args.seconds
    if seconds is not None and seconds < 0:
        print("proptrade up: error: --seconds must not be negative", file=sys.stderr)
        return 2
    replace: dict[str, list[str]] = {}
    for item in args.replace:
        name, sep, command = item.partition("=")
        if not sep or name not in NAMES or not command.strip():
            print(f"proptrade up: error: --replace {item!r}: expected NAME=COMMAND with NAME "
                  f"one of {', '.join(NAMES)}", file=sys.stderr)
            return 2
        replace[name] = shlex.split(command)
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
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"proptrade up: error: {error}", file=sys.stderr)
        return 1
    return asyncio.run(_up(settings, seconds, replace))


def demo_settings(settings: Settings) -> Settings:
    """A demonstration: traders confirm their own (fake) payments, unless the operator
    set ``DEMO_PAYMENTS=0``."""
    if settings.demo_payments is None:
        return dataclasses.replace(settings, demo_payments=True)
    return settings


# The demonstration firm: 2,000 accounts on the simulator's programs, 500 quotes/s, and
# event time 30 minutes a second, so a trading day passes in 48 s and passes show within
# minutes (four trading days minimum).
DEMO_ACCOUNTS, DEMO_RATE, DEMO_TIME_SCALE, DEMO_SEED = 2_000, 500.0, 1_800.0, 1


async def _up(settings: Settings, seconds: float | None,
              replace: dict[str, list[str]]) -> int:
    loop = asyncio.get_running_loop()
    supervisor = Supervisor(settings.data_dir / "logs", _say, subreaper=True)
    stop = asyncio.Event()
    received: list[str] = []

    def on_signal(signum: signal.Signals) -> None:
        received.append(signum.name)
        if len(received) == 1:
            _say(f"{signum.name}: stopping everything (again to kill it at once)")
            stop.set()
            return
        # The second one: no waiting for anybody.
        supervisor.kill_all()
        print(f"proptrade up: error: {signum.name} again: killed everything at once",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    watcher = asyncio.create_task(supervisor.run(stop))
    code = 0
    try:
        await _start(settings, supervisor, stop, watcher, seconds, replace)
        reason = await watcher
        if reason is not None:
            print(f"proptrade up: error: {reason}; stopping everything", file=sys.stderr,
                  flush=True)
            code = 1
    except _Stopped:
        if supervisor.gave_up is not None:
            print(f"proptrade up: error: {supervisor.gave_up}; stopping everything",
                  file=sys.stderr, flush=True)
            code = 1
    except _Failed as error:
        print(f"proptrade up: error: {error}", file=sys.stderr, flush=True)
        code = 1
    except Exception as error:  # whatever else: said in one line, and everything stopped
        print(f"proptrade up: error: {type(error).__name__}: {error}", file=sys.stderr,
              flush=True)
        code = 1
    finally:
        stop.set()
        watcher.cancel()
        _say("stopping")
        await supervisor.stop(graceful=STOP_GRACEFUL, total=STOP_TOTAL)
    _say("stopped")
    return code


async def _until(step: Awaitable[T], stop: asyncio.Event, watcher: asyncio.Task[Any]) -> T:
    """``step``'s result, unless a signal or the supervisor's giving up comes first
    (:class:`_Stopped`; the step is cancelled and left behind after 1 s)."""
    task = asyncio.ensure_future(step)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopping, watcher], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(asyncio.shield(task), 1.0)
    raise _Stopped


async def _start(settings: Settings, supervisor: Supervisor, stop: asyncio.Event,
                 watcher: asyncio.Task[Any], seconds: float | None,
                 replace: dict[str, list[str]]) -> None:
    from streams.broker import find_free_port

    python = [sys.executable, "-m", "streams.cli"]
    logs = settings.data_dir / "logs"
    _say(f"data dir: {settings.data_dir} (each part's output in {logs}/<part>.log)")

    def child(name: str, argv: list[str], **options: Any) -> Child:
        return Child(name, replace.get(name, argv), environment, **options)

    if settings.uses_embedded_broker:
        port = find_free_port()
        bootstrap = f"127.0.0.1:{port}"
        environment = _environment(settings, bootstrap)
        supervisor.start(child("broker", [*python, "broker", "--port", str(port)],
                               ready=BROKER_READY, echo=BROKER_ECHO, tier=0))
        _say(f"broker: embedded at {bootstrap} (pid {supervisor.pid('broker')}), its log "
             f"kept in {settings.data_dir / 'broker'}")
        if not await _until(supervisor.wait_ready("broker", BROKER_START_TIMEOUT),
                            stop, watcher):
            raise _Failed(f"the broker did not say it was ready within "
                          f"{BROKER_START_TIMEOUT:g} s; see {logs / 'broker.log'}")
    else:
        bootstrap = settings.kafka_bootstrap
        environment = _environment(settings, bootstrap)
        _say(f"broker: external Kafka at {bootstrap}")
    settings = dataclasses.replace(settings, kafka_bootstrap=bootstrap)

    sign_ins = await _until(_prepare(settings), stop, watcher)
    programs = _write_programs(settings.data_dir)
    supervisor.start(child("analytics", [*python, "analytics", "--program", str(programs)],
                           tier=1))
    supervisor.start(child("worker", [*python, "worker", "--program", str(programs),
                                      "--group", WORKER_GROUP], tier=1))
    _say(f"worker: consumer group {WORKER_GROUP}, checkpoints in PostgreSQL; programs in "
         f"{programs}")
    supervisor.start(child("demo-broker", [
        *python, "demo-broker", "--accounts", str(DEMO_ACCOUNTS), "--rate", f"{DEMO_RATE:g}",
        "--time-scale", f"{DEMO_TIME_SCALE:g}", "--seed", str(DEMO_SEED)], tier=2))
    _say(f"simulator: {DEMO_ACCOUNTS} accounts, {DEMO_RATE:g} quotes/s, event time "
         f"×{DEMO_TIME_SCALE:g} (proptrade demo-broker)")
    supervisor.start(child("report", [sys.executable, "-m", "streams.up", "report"],
                           tier=2, essential=False, echo=REPORT_LINES, bare=True,
                           echo_burst=60))
    supervisor.start(child("gateway", [*python, "gateway"], tier=2))
    url = f"http://{settings.http_host}:{settings.http_port}"
    if not await _until(_answers(settings.http_host, settings.http_port, "/healthz",
                                 GATEWAY_START_TIMEOUT), stop, watcher):
        raise _Failed(f"the gateway did not answer {url}/healthz within "
                      f"{GATEWAY_START_TIMEOUT:g} s; see {logs / 'gateway.log'}")
    _say(f"history: chDB in {settings.data_dir / 'chdb'}, served to other processes on "
         f"http://127.0.0.1:{settings.analytics_port}" if settings.uses_embedded_clickhouse
         else f"history: {without_password(settings.clickhouse_url)}")
    from gateway.web import DEFAULT_DIST
    _say(f"site: {url}/ (the firm's web app: programs, sign-up, the trader's pages)"
         if (DEFAULT_DIST / "index.html").is_file() else
         f"site: not built ({DEFAULT_DIST} is missing: `make install` builds it)")
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
    if seconds is not None:
        asyncio.get_running_loop().call_later(seconds, stop.set)


def _environment(settings: Settings, bootstrap: str) -> dict[str, str]:
    """The children's environment: ours, with the broker and the demo's payments."""
    return child_environment(KAFKA_BOOTSTRAP=bootstrap, PYTHONUNBUFFERED="1",
                             DEMO_PAYMENTS="1" if settings.demo_payments else "0")


def _write_programs(data_dir: Path) -> Path:
    """The simulator's programs as JSON files for ``proptrade worker --program``."""
    from streams.simulator import Simulator

    folder = data_dir / "programs"
    folder.mkdir(parents=True, exist_ok=True)
    for document in Simulator(DEMO_SEED, 0).programs():
        path = folder / f"{document['id']}.json"
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        if not path.exists() or path.read_text() != text:
            temporary = path.with_suffix(".tmp")
            temporary.write_text(text)
            temporary.replace(path)
    return folder


async def _answers(host: str, port: int, path: str, timeout: float) -> bool:
    """Whether an HTTP GET of ``path`` answers 200 within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, TimeoutError, ValueError):
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
            try:
                writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\n\r\n".encode())
                status = await asyncio.wait_for(reader.readline(), 2.0)
                if status.split()[1:2] == [b"200"]:
                    return True
            finally:
                writer.close()
        await asyncio.sleep(0.2)
    return False


async def _prepare(settings: Settings) -> list[tuple[str, str, str]]:
    """Migrate, create the topics, seed; the demo sign-ins."""
    from aiokafka.errors import KafkaError

    from gateway.services import Services
    from storage.database import ensure_database
    from storage.migrations import MigrationError, migrate
    from streams.topics import ensure_topics

    database = without_password(settings.database_url)
    try:
        applied = await asyncio.wait_for(_migrate(settings.database_url, ensure_database,
                                                  migrate), DATABASE_TIMEOUT)
    except TimeoutError:
        raise _Failed(f"PostgreSQL at {database} did not answer within "
                      f"{DATABASE_TIMEOUT:g} s") from None
    except (OSError, MigrationError, ValueError) as error:
        raise _Failed(f"PostgreSQL at {database}: {error}") from None
    except Exception as error:  # asyncpg's own errors (authentication, ...)
        raise _Failed(f"PostgreSQL at {database}: {error}") from None
    _say(f"database: {database} ({len(applied)} migration(s) applied)")
    topics = Topics.of(settings)
    try:
        empty = await asyncio.wait_for(_log_is_empty(settings.kafka_bootstrap, topics), 20)
        await asyncio.wait_for(ensure_topics(settings.kafka_bootstrap, topics), 20)
    except (KafkaError, OSError, TimeoutError) as error:
        raise _Failed(f"Kafka at {settings.kafka_bootstrap}: "
                      f"{error or type(error).__name__}") from None
    # Seeding needs PostgreSQL only: no broker link for it.
    services = await Services.open(dataclasses.replace(settings, kafka_bootstrap=""))
    try:
        await seed_demo_program(services)
        live = await services.pool.fetchval(
            "SELECT count(*) FROM trading_accounts WHERE origin = 'platform' "
            "AND status IN ('active', 'paused')")
        sign_ins = await seed_demo_users(services, settings)
    finally:
        await services.close()
    if empty and live:
        # A new log (an external broker emptied, or a broker that keeps nothing): the
        # demo broker knows none of the platform's accounts, so open them again there.
        services = await Services.open(settings, group="proptrade-up")
        try:
            await new_feed(services)
        finally:
            await services.close()
    elif live:
        _say(f"broker log kept: {live} live platform account(s) go on trading")
    return sign_ins


async def _migrate(dsn: str, ensure: Callable[[str], Awaitable[None]],
                   migrate: Callable[[str], Awaitable[list[Any]]]) -> list[Any]:
    await ensure(dsn)
    return await migrate(dsn)


async def _log_is_empty(bootstrap: str, topics: Topics) -> bool:
    """Whether the broker's ``feed.accounts`` is missing or has no message."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        if topics.accounts not in await consumer.topics():
            return True
        partitions = consumer.partitions_for_topic(topics.accounts) or set()
        ends = await consumer.end_offsets([TopicPartition(topics.accounts, p)
                                           for p in partitions])
        return not any(ends.values())
    finally:
        await consumer.stop()


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


def report_main() -> int:
    """``python -m streams.up report``: print the answers on risk.events as they come
    (the risk desk's view in the console), until SIGINT or SIGTERM. A child of ``up``."""
    from streams.topics import kafka_from_environment

    found = kafka_from_environment("up report", "`proptrade up` runs it")
    if found is None:
        return 2
    settings, topics = found

    async def run() -> None:
        halt = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, halt.set)
        await _report(settings.kafka_bootstrap, topics, halt)

    asyncio.run(run())
    return 0


async def _report(bootstrap: str, topics: Topics, halt: asyncio.Event) -> None:
    """Print the answers on risk.events as they come (the risk desk's view, for now)."""
    from aiokafka import AIOKafkaConsumer

    from streams.outputs import Breach, Objective, Passed
    from streams.wire import answer_decoder

    # From the end: a restarted report does not print the log's old answers again.
    reader = AIOKafkaConsumer(topics.events, bootstrap_servers=bootstrap, group_id=None,
                              auto_offset_reset="latest")
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
                        _print(f"breach: {output.account} {output.rule} ({output.action}) "
                             f"equity {output.equity:,.2f}{limit} at {output.ts}")
                    elif isinstance(output, Passed):
                        _print(f"passed: {output.account} at {output.ts}")
            if time.monotonic() - last_summary >= 10:
                last_summary = time.monotonic()
                _print("answers so far: " + (", ".join(f"{n} {k}" for k, n in
                                                    sorted(counts.items())) or "none"))
    finally:
        await reader.stop()


def _print(line: str) -> None:
    # The report's lines: `up` echoes every one of them as its own.
    print(line, flush=True)


def _say(line: str) -> None:
    # Flushed at once: `proptrade up` is watched through pipes (tests, process managers).
    print(f"proptrade up: {line}", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] != ["report"]:
        sys.exit("usage: python -m streams.up report")
    sys.exit(report_main())
