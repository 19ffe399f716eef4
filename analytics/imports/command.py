"""``proptrade import FILE [--program ID] [--jsonl]``: a MetaTrader report into PropTrade.

With ``--jsonl`` the report's feed events go to stdout as JSON Lines, which ``proptrade
replay`` reads as they are; without it they go to the history store through
``analytics.store_import.import_events``. A file that is not a readable report prints
``proptrade import: error: <file>: <reason>`` and exits with status 2.
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
STORE_MODULE = "analytics.store_import"  # its import_events(report) writes to the store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", type=Path,
                        help="an MT5 history (HTML or XLSX), MT5 tester or MT4 statement report")
    parser.add_argument("--program", default="imported", metavar="ID",
                        help="the program the account opens under (default: %(default)s)")
    parser.add_argument("--jsonl", action="store_true",
                        help="print the feed events as JSON Lines instead of storing them")
    parser.add_argument("--tenant", type=int, default=0, metavar="ID",
                        help="the platform tenant (firm) id the history belongs to (default 0:"
                             " a store of imported reports)")


def main(args: argparse.Namespace) -> int:
    try:
        report = read_report(args.file, program=args.program)
    except ReportError as exc:
        sys.stderr.write(f"proptrade import: error: {exc}\n")
        return EXIT_BAD_REPORT
    if args.jsonl:
        write_jsonl(report, sys.stdout)
        return EXIT_OK
    # Imported lazily: the store (ClickHouse drivers) is not needed for --jsonl.
    store_import = importlib.import_module(STORE_MODULE)
    from storage.clickhouse import StoreError

    try:
        rows = store_import.import_events(report, tenant=args.tenant)
    except StoreError as exc:
        sys.stderr.write(f"proptrade import: error: the history store: {exc}\n")
        return 1
    sys.stdout.write(f"{args.file.name}: account {report.account} ({report.kind}), "
                     f"{len(report.events)} events, {rows} rows stored\n")
    return EXIT_OK


def write_jsonl(report: Report, out: TextIO) -> None:
    """One event per line, encoded as the feed encodes its Structs."""
    encoder = msgspec.json.Encoder()
    out.write("".join(encoder.encode(event).decode() + "\n" for event in report.events))
