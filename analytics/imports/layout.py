"""A report's rows cut into sections: data tables, and the label/value rows around them.

Every MetaTrader report is one long table: a banner row ("Deals", "Closed Transactions:")
opens a section, the next row is the section's header, data rows follow (a data row starts
with a time), then a totals row. Everything that is not a table's header or data row —
the account header, tester settings, results, summaries — is kept as *loose* rows, read
for label/value pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.imports.grid import Document, Row
from analytics.imports.labels import (
    CLOSED_TRANSACTIONS,
    DEALS,
    LANGUAGES,
    OPEN_POSITIONS,
    OPEN_TRADES,
    ORDERS,
    POSITIONS,
    WORKING_ORDERS,
    Language,
    normalize,
)
from analytics.imports.values import is_time

__all__ = ["Layout", "Table", "lay_out", "rank_languages", "section_title"]

TABLE_SECTIONS = frozenset({POSITIONS, ORDERS, DEALS, OPEN_POSITIONS, WORKING_ORDERS,
                            CLOSED_TRANSACTIONS, OPEN_TRADES})
_SECOND_COLUMN = {"time": "close_time", "price": "close_price"}  # Positions, MT4 trades
_MIN_HEADER_LABELS = 4


def section_title(section: str) -> str:
    """``"closed_transactions"`` → ``"Closed Transactions"`` (English, for messages)."""
    return section.replace("_", " ").title()


@dataclass
class Table:
    section: str
    columns: dict[str, int]  # column key → grid column
    rows: list[Row] = field(default_factory=list)
    closed: bool = False  # a non-data row or a banner followed the last data row

    def is_data(self, row: Row) -> bool:
        column = self.columns.get("time", self.columns.get("open_time"))
        return is_time(row.at(column))


@dataclass
class Layout:
    language: Language
    tables: dict[str, Table]  # the first table of each section
    loose: list[Row]
    sections: list[str]  # every section banner met, in order
    title_kind: str | None  # the kind the report's title names, when it names one

    @property
    def last_section(self) -> str | None:
        return self.sections[-1] if self.sections else None


def rank_languages(document: Document) -> list[Language]:
    """Languages by how many of the report's texts they recognise as labels, best first."""
    # Labels are not in data rows (a data row starts with a time: nearly every row) and
    # start with a letter: numbers and times (most other cells) are not looked at.
    cells = {text for row in document.rows if not is_time(next(iter(row.cells.values())))
             for text in row.cells.values() if not text[0].isdigit() and text[0] not in "-+"}
    texts = {normalize(text) for text in cells}
    texts.add(normalize(document.title))
    scores = {lang.code: lang.label_count(texts) for lang in LANGUAGES}
    return sorted(LANGUAGES, key=lambda lang: -scores[lang.code])  # stable: ties keep order


def lay_out(document: Document, language: Language) -> Layout:
    layout = Layout(language, {}, [], [], _title_kind(document, language))
    table: Table | None = None
    last_columns: dict[str, int] | None = None
    awaiting_header = False
    for row in document.rows:
        section = _banner(row, language)
        if section is not None:
            if table is not None:
                table.closed = True
            layout.sections.append(section)
            table, awaiting_header = None, section in TABLE_SECTIONS
            continue
        if awaiting_header:
            awaiting_header = False
            columns = _header(row, language)
            if columns is not None:
                last_columns = columns
                table = _new_table(layout, layout.sections[-1], columns)
                continue
            if last_columns is not None:  # MT4's Open Trades may reuse the header above
                table = _new_table(layout, layout.sections[-1], last_columns)
        if table is not None and table.is_data(row):
            table.rows.append(row)
            table.closed = False
            continue
        if table is not None and table.rows:
            table.closed = True
        layout.loose.append(row)
    return layout


def _new_table(layout: Layout, section: str, columns: dict[str, int]) -> Table:
    table = Table(section, columns)
    layout.tables.setdefault(section, table)
    return table


def _title_kind(document: Document, language: Language) -> str | None:
    candidates = [document.title, *(text for row in document.rows[:5] for text in row.texts())]
    for text in candidates:
        normalized = normalize(text)
        for title, kind in language.titles.items():
            if title in normalized:
                return kind
    return None


def _banner(row: Row, language: Language) -> str | None:
    if len(row.cells) != 1:
        return None
    return language.sections.get(normalize(row.texts()[0]))


def _header(row: Row, language: Language) -> dict[str, int] | None:
    columns: dict[str, int] = {}
    for position, text in row.cells.items():
        key = language.columns.get(normalize(text))
        if key is None:
            continue
        if key in columns:
            key = _SECOND_COLUMN.get(key, key + "_2")
        columns.setdefault(key, position)
    return columns if len(columns) >= _MIN_HEADER_LABELS else None
