"""``proptrade analytics``: the sink, recording the stream into the history store.

With ``CLICKHOUSE_URL`` set it writes to that server. Without it, the history is chDB
under ``<data dir>/chdb``, and this process owns that directory (chDB allows one process
per directory): it also serves ClickHouse's HTTP interface on 127.0.0.1:``ANALYTICS_PORT``,
through which the gateways and ``proptrade import`` query and write it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterable
from typing import Any

from storage.clickhouse import Store, StoreError, migrate, open_store
from streams.settings import Settings

__all__ = ["add_arguments", "main", "open_history", "run_analytics"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--group", default="proptrade-analytics",
                        help="consumer group (default: proptrade-analytics)")
    parser.add_argument("--program", action="append", default=[], metavar="FILE|DIR",
                        help="program documents the workers run (recorded in the history "
                             "so replays and what-ifs find them)")


def open_history(settings: Settings) -> Store:
    """The history store a command writes to: the server at ``CLICKHOUSE_URL``; else the
    analytics process's front when one answers; else the embedded directory itself."""
    from storage.clickhouse import ServerStore

    if settings.clickhouse_url:
        return ServerStore(settings.clickhouse_url)
    try:
        return ServerStore(f"http://127.0.0.1:{settings.analytics_port}")
    except StoreError:
        return open_store(None, settings.data_dir)


async def run_analytics(settings: Settings, store: Store, stop: asyncio.Event, group: str,
                        programs: Iterable[dict[str, Any]] = (), pool: Any = None,
                        serve: bool = True) -> None:
    """Run the sink (and the front of an embedded store when ``serve``) until ``stop``."""
    from analytics.sink import Sink, TenantDirectory, run_sink
    from storage.clickhouse import EmbeddedStore
    from streams.topics import Topics

    sink = Sink(store, Topics.of(settings), TenantDirectory(pool))
    sink.know_programs(programs)
    front = None
    if serve and isinstance(store, EmbeddedStore):
        from storage.clickhouse_front import ClickHouseFront

        front = ClickHouseFront(store)
        await front.start("127.0.0.1", settings.analytics_port)
    try:
        await run_sink(settings.kafka_bootstrap, sink, stop, group)
    finally:
        if front is not None:
            await front.stop()


def main(args: argparse.Namespace) -> int:
    from streams.topics import kafka_from_environment

    found = kafka_from_environment("analytics", "the sink reads the stream from Kafka")
    if found is None:
        return 2
    settings, _ = found
    from streams.logs import setup

    setup(settings.log_level)
    try:
        store = open_store(settings.clickhouse_url or None, settings.data_dir)
        applied = migrate(store)
    except StoreError as error:
        print(f"proptrade analytics: error: {error}", file=sys.stderr)
        return 1
    print(f"history: {len(applied)} migration(s) applied", file=sys.stderr)
    try:
        programs = _documents(args.program)
    except (OSError, ValueError) as error:
        print(f"proptrade analytics: error: --program: {error}", file=sys.stderr)
        return 2
    asyncio.run(_serve(settings, store, args.group, programs))
    store.close()
    return 0


def _documents(paths: list[str]) -> list[dict[str, Any]]:
    import json
    from pathlib import Path

    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return [json.loads(file.read_text()) for file in files]


async def _serve(settings: Settings, store: Store, group: str,
                 programs: list[dict[str, Any]]) -> None:
    from storage.database import create_pool

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    pool = await create_pool(settings.database_url, "public", min_size=1, max_size=2)
    try:
        await run_analytics(settings, store, stop, group, programs, pool=pool)
    finally:
        with contextlib.suppress(Exception):
            await pool.close()
