"""``proptrade import FILE [--firm SLUG] [--program ID] [--jsonl]``: a MetaTrader report
into PropTrade.

With ``--jsonl`` the report's feed events go to stdout as JSON Lines, which ``proptrade
replay`` reads as they are; without it they go to the history store, under a firm: the
one whose slug ``--firm`` names (``--tenant`` takes its id instead), by default the
platform's default firm (``analytics.store_import.import_events``). One line says where
they went::

    ReportHistory-1512497509.xlsx: account 1512497509 (mt5-history) into firm default
    (PropTrade, tenant 1): 116 deals, 0 balance operations, 128 events, 243 rows stored

A file that is not a readable report prints ``proptrade import: error: <file>: <reason>``
and a firm that does not exist ``proptrade import: error: no firm has the slug 'x'
(firms: …)``; both exit with status 2, nothing stored.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import TextIO

import msgspec

from analytics.imports import Report, ReportError, read_report

__all__ = ["add_arguments", "main", "write_jsonl"]

EXIT_OK, EXIT_BAD_REPORT = 0, 2
STORE_MODULE = "analytics.store_import"  # its import_events(report, firm=…) stores it


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", type=Path,
                        help="an MT5 history (HTML or XLSX), MT5 tester or MT4 statement report")
    parser.add_argument("--program", default="imported", metavar="ID",
                        help="the program the account opens under (default: %(default)s)")
    parser.add_argument("--jsonl", action="store_true",
                        help="print the feed events as JSON Lines instead of storing them")
    firm = parser.add_mutually_exclusive_group()
    firm.add_argument("--firm", metavar="SLUG",
                      help="the firm whose history it joins, by its slug (default: the "
                           "platform's default firm, the demo firm of `make run`)")
    firm.add_argument("--tenant", type=int, metavar="ID",
                      help="the firm by its id (the tenant id in the platform database)")
    parser.add_argument("--schema", default="public", type=_schema,
                        help="PostgreSQL schema of the platform database (default public)")


def _schema(text: str) -> str:
    from storage.database import check_schema

    try:
        return check_schema(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def main(args: argparse.Namespace) -> int:
    try:
        report = read_report(args.file, program=args.program)
    except ReportError as exc:
        sys.stderr.write(f"proptrade import: error: {exc}\n")
        return EXIT_BAD_REPORT
    if args.jsonl:
        write_jsonl(report, sys.stdout)
        return EXIT_OK
    # Imported lazily: the stores (PostgreSQL, ClickHouse drivers) are not needed for --jsonl.
    store_import = importlib.import_module(STORE_MODULE)
    from storage.clickhouse import StoreError

    platform_errors = _platform_errors()
    try:
        imported = store_import.import_events(report, firm=args.firm, tenant=args.tenant,
                                              schema=args.schema)
    except store_import.NoSuchFirm as exc:
        sys.stderr.write(f"proptrade import: error: {exc}\n")
        return EXIT_BAD_REPORT
    except StoreError as exc:
        sys.stderr.write(f"proptrade import: error: the history store: {exc}\n")
        return 1
    except platform_errors as exc:  # unreachable, refused, not migratable
        sys.stderr.write(f"proptrade import: error: the platform database: {exc}\n")
        return 1
    except ValueError as exc:  # a value the history store cannot hold, named
        sys.stderr.write(f"proptrade import: error: {args.file.name}: {exc}\n")
        return EXIT_BAD_REPORT
    firm = imported.firm
    sys.stdout.write(
        f"{args.file.name}: account {', '.join(imported.accounts) or report.account} "
        f"({report.kind}) into firm {firm.slug} ({firm.name}, tenant {firm.id}): "
        f"{imported.deals} deals, {imported.balance_operations} balance operations, "
        f"{imported.events} events, {imported.rows} rows stored\n")
    return EXIT_OK


def _platform_errors() -> tuple[type[Exception], ...]:
    """What reaching the platform database may raise (connection, server, migrations,
    settings)."""
    import asyncpg

    from storage.migrations import MigrationError
    from streams.settings import SettingsError

    return (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, MigrationError,
            SettingsError)


def write_jsonl(report: Report, out: TextIO) -> None:
    """One event per line, encoded as the feed encodes its Structs."""
    encoder = msgspec.json.Encoder()
    out.write("".join(encoder.encode(event).decode() + "\n" for event in report.events))
