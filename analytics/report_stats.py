"""``proptrade report-stats FILE``: a MetaTrader report's statistics, computed by PropTrade.

The report's deals go into a scratch history store (chDB in a temporary directory) and
the dashboards' own SQL computes the statistics, so what this prints is what the
statistics API answers for the same deals, next to what MetaTrader printed in the file.
One JSON object on stdout, keys in :data:`analytics.statistics.KEYS` order. A file that is
not a readable report prints ``proptrade report-stats: error: <file>: <reason>`` on stderr
and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import orjson

from analytics.imports import Report, ReportError, read_report
from analytics.records import record_events
from analytics.statistics import Value, account_statistics
from storage.clickhouse import EmbeddedStore, Store, migrate

__all__ = ["add_arguments", "main", "report_statistics"]

EXIT_OK, EXIT_BAD_REPORT = 0, 2
TENANT = 0  # the tenant of a store of imported reports


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", type=Path,
                        help="an MT5 history (HTML or XLSX), MT5 tester or MT4 statement report")


def main(args: argparse.Namespace) -> int:
    try:
        report = read_report(args.file)
    except ReportError as exc:
        sys.stderr.write(f"proptrade report-stats: error: {exc}\n")
        return EXIT_BAD_REPORT
    with tempfile.TemporaryDirectory(prefix="proptrade-report-stats-") as scratch:
        store = EmbeddedStore(scratch, "report")
        try:
            statistics = report_statistics(store, report)
        finally:
            store.close()
    sys.stdout.write(orjson.dumps(statistics).decode() + "\n")
    return EXIT_OK


def report_statistics(store: Store, report: Report) -> dict[str, Value]:
    """Record ``report``'s events in ``store`` (migrated here) and compute its account's
    statistics, rounded as MetaTrader prints them."""
    migrate(store)
    record_events(store, report.events, tenant=TENANT, source="report")
    return account_statistics(store, TENANT, report.account)
