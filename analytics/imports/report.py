"""``read_report``: a MetaTrader report file in, a :class:`Report` of feed events out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, cast

import msgspec

from analytics.imports.errors import FormatProblem, ReportError
from analytics.imports.feed import build_events, opening_balance
from analytics.imports.grid import Document
from analytics.imports.labels import (
    CLOSED_TRANSACTIONS,
    DEALS,
    STATEMENT,
    TESTER,
    normalize,
    supported_names,
)
from analytics.imports.layout import TABLE_SECTIONS, Layout, lay_out, rank_languages, section_title
from analytics.imports.mt4 import read_mt4
from analytics.imports.mt5 import read_mt5
from analytics.imports.pairing import pair
from analytics.imports.source import load_document
from analytics.imports.statement import Statement
from analytics.imports.values import is_time, normalize_number
from streams.events import Event, describe_error

__all__ = ["MAX_REPORT_BYTES", "Report", "parse_report", "read_report"]

#: The largest file read as a report, by ``proptrade import`` and the gateway's upload
#: alike. The largest real report at hand (2,134 trades, XLSX) is 1.25 MB and its sheet
#: 16 MB unpacked; an HTML export of as many trades is ~4 MB (UTF-16): 32 MiB is several
#: times that, and bounds what one upload may make a gateway parse.
MAX_REPORT_BYTES = 32 * 1024 * 1024

ReportKind = Literal["mt5-history", "mt5-tester", "mt4-statement"]
_events_decoder = msgspec.json.Decoder(list[Event])


@dataclass(frozen=True)
class Report:
    """A MetaTrader report read as PropTrade feed events.

    :param path: the file read.
    :param kind: ``mt5-history``, ``mt5-tester`` or ``mt4-statement``.
    :param language: the language of the report's labels (``en``, ``fr``, …).
    :param account: the login; for a tester run, ``<expert>-<symbol>``.
    :param currency: the account (deposit) currency; ``USD`` when the report prints none.
    :param initial_balance: the first deposit (the tester's initial deposit).
    :param events: Symbol events, one Account event, then Balance and Deal events, in time
        order (see :mod:`analytics.imports`).
    :param printed: every statistic the report prints, by English snake_case key.
    :param stored: the statistics whose cells store more digits than they show (an XLSX
        report stores "0.729359" and shows "0.73"), as stored; the same keys as printed.
    """

    path: Path
    kind: ReportKind
    language: str
    account: str
    currency: str
    initial_balance: float
    events: list[Event]
    printed: dict[str, str]
    stored: dict[str, str] = field(default_factory=dict)


def read_report(path: Path, *, program: str = "imported") -> Report:
    """Read a MetaTrader report (MT5 history HTML/XLSX, MT5 tester HTML, MT4 statement).

    :param path: the report file.
    :param program: the program id the Account event opens the account under.
    :raises ReportError: the file cannot be read as a report; the message names the file
        and what is missing.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise ReportError(path, too_large(size))
        data = path.read_bytes()
    except OSError as exc:
        raise ReportError(path, f"cannot read the file ({exc.strerror or exc})") from None
    return parse_report(data, path, program=program)


def too_large(size: int) -> str:
    return (f"too large: {size:,} bytes; a report is read up to {MAX_REPORT_BYTES:,} "
            f"bytes ({MAX_REPORT_BYTES // (1024 * 1024)} MiB)")


def parse_report(data: bytes, path: Path | str, *, program: str = "imported") -> Report:
    """A report from its bytes (``path``: the file's name, for messages); as
    :func:`read_report`, whose size limit the caller enforces."""
    path = Path(path)
    try:
        statement = _statement(load_document(data))
        events = build_events(statement, pair(statement), program)
        _validate(events)
    except FormatProblem as problem:
        raise ReportError(path, problem.reason) from None
    balance, _ = opening_balance(statement)
    return Report(path=path, kind=cast(ReportKind, statement.kind),
                  language=statement.language, account=statement.account,
                  currency=statement.currency,
                  initial_balance=statement.initial_deposit or balance,
                  events=events, printed=statement.printed, stored=statement.stored)


def _statement(document: Document) -> Statement:
    layout = _find_layout(document)
    if not document.complete:
        raise FormatProblem(_truncation(layout))
    if CLOSED_TRANSACTIONS in layout.tables:
        table = layout.tables[CLOSED_TRANSACTIONS]
        if table.rows and not table.closed:
            raise FormatProblem("truncated: the Closed Transactions table has no closing rows")
        return read_mt4(layout)
    deals = layout.tables.get(DEALS)
    if deals is None:
        seen = ", ".join(section_title(section) for section in layout.sections)
        raise FormatProblem(f"not a MetaTrader report (no Deals/Positions table found; "
                            f"sections: {seen or 'none'})")
    if deals.rows and not deals.closed:
        raise FormatProblem("truncated: the Deals table has no closing rows")
    return read_mt5(layout, _mt5_kind(layout))


def _find_layout(document: Document) -> Layout:
    """The layout in the first language (by labels recognised) that finds a data table."""
    for language in rank_languages(document):
        layout = lay_out(document, language)
        if any(section in TABLE_SECTIONS for section in layout.sections) and layout.tables:
            return layout
    if _looks_like_metatrader(document):
        found = ", ".join(repr(text) for text in _banner_texts(document)[:3])
        raise FormatProblem(f"labels in an unsupported language (found {found or 'no titles'}"
                            f"); supported: {supported_names()}")
    if not document.complete:
        raise FormatProblem("truncated: the file ends inside a table, and no Deals/Positions "
                            "table was found")
    raise FormatProblem("not a MetaTrader report (no Deals/Positions table found)")


def _mt5_kind(layout: Layout) -> str:
    if layout.title_kind is not None and layout.title_kind != STATEMENT:
        return layout.title_kind
    if "settings" in layout.sections:
        return TESTER
    return "mt5-history"


def _truncation(layout: Layout) -> str:
    last = layout.last_section
    if last is None:
        where = "inside a table"
    elif last in TABLE_SECTIONS:
        where = f"inside the {section_title(last)} table"
    else:
        where = f"in the {section_title(last)} section"
    if last != DEALS and DEALS not in layout.tables and CLOSED_TRANSACTIONS not in layout.tables:
        return f"truncated: the file ends {where}, before the Deals table"
    return f"truncated: the file ends {where}"


def _looks_like_metatrader(document: Document) -> bool:
    """Rows of a trade table: several cells, one a MetaTrader time ("2024.01.15 10:30")."""
    trade_rows = sum(1 for row in document.rows
                     if len(row.cells) >= 5 and any(is_time(text) for text in row.texts()))
    return trade_rows >= 2


def _banner_texts(document: Document) -> list[str]:
    """Section-like titles (single-cell rows of words) to name in an error message."""
    texts = [document.title] if document.title else []
    for row in document.rows:
        if len(row.cells) == 1:
            text = row.texts()[0]
            if not is_time(text) and normalize_number(text) is None and len(text) < 60:
                texts.append(text)
    return list(dict.fromkeys(text for text in texts if normalize(text)))


def _validate(events: list[Event]) -> None:
    """Check the events against the feed's own decoder, as a replay would read them."""
    try:
        _events_decoder.decode(msgspec.json.encode(events))
    except msgspec.ValidationError as exc:
        raise FormatProblem(f"the report gives an invalid event ({describe_error(exc)})"
                            ) from None
