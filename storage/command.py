"""``proptrade migrate``: create the database when missing, apply new migrations."""

from __future__ import annotations

import argparse
import asyncio
import sys

from storage.migrations import MigrationError, migrate
from streams.settings import SettingsError, load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--schema", default="public", help="PostgreSQL schema (default public)")


def main(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        applied = asyncio.run(migrate(settings.database_url, args.schema))
    except (SettingsError, MigrationError, ValueError, OSError) as error:
        print(f"proptrade migrate: error: {error}", file=sys.stderr)
        return 2
    for migration in applied:
        print(f"applied {migration.version:04d}_{migration.name}")
    if not applied:
        print("the database is up to date")
    return 0
