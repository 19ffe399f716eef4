"""``proptrade gateway``: migrate, then serve the API until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from gateway.app import serve
from gateway.services import Services
from storage.migrations import MigrationError, migrate
from streams.logs import setup
from streams.settings import SettingsError, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", default="public", help="PostgreSQL schema (default public)")
    parser.add_argument("--port", type=int, default=None, help="port (default HTTP_PORT)")


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"proptrade gateway: error: {error}", file=sys.stderr)
        return 2
    refusal = settings.exposed_insecure_key
    if refusal is not None:
        print(f"proptrade gateway: error: {refusal}", file=sys.stderr)
        return 2
    setup(settings.log_level)  # rate-limited: a part down is a line a kind, not a flood

    async def run() -> None:
        await migrate(settings.database_url, args.schema)
        services = await Services.open(settings, args.schema)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await serve(services, settings.http_host, args.port or settings.http_port, stop)
        finally:
            await services.close()

    try:
        asyncio.run(run())
    except (MigrationError, OSError) as error:
        print(f"proptrade gateway: error: {error}", file=sys.stderr)
        return 2
    return 0
