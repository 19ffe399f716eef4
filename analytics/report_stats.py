"""``proptrade report-stats FILE``: a MetaTrader report's statistics, computed by PropTrade.

The report's deals go through :mod:`analytics.deal_statistics`, the Python twin of the
dashboards' SQL (``analytics/sql/account_statistics.sql``): the figures are the ones the
statistics API answers for the same deals once imported (a test holds the two equal on
every shared real report), computed without a store, so one file's statistics take a
fraction of a second where a scratch chDB store cost 3-7 s.

One JSON object on stdout, keys in :data:`analytics.deal_statistics.KEYS` order. Each
figure the report prints is given at the precision the file holds it: an XLSX report's
cell (six decimals for ratios: profit factor 0.729359), an HTML report's text (two);
the others as the API gives them (money at the cent, the rest at six decimals). A file
that is not a readable report prints ``proptrade report-stats: error: <file>: <reason>``
on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

from analytics.deal_statistics import DECIMALS, Value, compute, feed_of, finish
from analytics.imports import Report, ReportError, read_report
from analytics.imports.values import normalize_number

__all__ = ["add_arguments", "main", "report_decimals", "report_statistics"]

EXIT_OK, EXIT_BAD_REPORT = 0, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FILE", type=Path,
                        help="an MT5 history (HTML or XLSX), MT5 tester or MT4 statement report")


def main(args: argparse.Namespace) -> int:
    # Reading a report allocates a few hundred thousand small objects and none of them
    # cycles: the cyclic collector ran 250 times over them for 0.12 s of a 2,134-trade
    # report's 1.1 s, for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report = read_report(args.file)
        statistics = report_statistics(report)
    except ReportError as exc:
        sys.stderr.write(f"proptrade report-stats: error: {exc}\n")
        return EXIT_BAD_REPORT
    finally:
        if collecting:
            gc.enable()
    # (json, not orjson: one small object, and the import costs orjson 50 ms here)
    sys.stdout.write(json.dumps(statistics, separators=(",", ":")) + "\n")
    return EXIT_OK


def report_statistics(report: Report, *, rounded: bool = True) -> dict[str, Value]:
    """``report``'s account statistics; ``rounded``: at :func:`report_decimals` (False:
    the full values)."""
    opening, feed = feed_of(report.events, report.account)
    return finish(compute(opening, feed), report_decimals(report) if rounded else {})


def report_decimals(report: Report) -> dict[str, int]:
    """Per figure, the decimals to give it with: as many as the file holds for the
    figures it prints (its XLSX cell, else its text), else the API's."""
    decimals = dict(DECIMALS)
    for key in decimals:
        text = report.stored.get(key) or report.printed.get(key)
        if text is not None and normalize_number(text) is not None:
            decimals[key] = len(text.partition(".")[2])
    return decimals
