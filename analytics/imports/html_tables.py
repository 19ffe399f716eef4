"""The rows of an HTML report, read with the standard library's tolerant HTML parser.

MetaTrader's HTML is table markup with unclosed tags in places (MT4 omits some ``</td>``);
a new ``<tr>`` or ``<td>`` ends the open one. Cells MT5 hides (``class="hidden"``, the
comment drill-down of the Positions rows) are dropped: they are not in the header, and
keeping them would shift every column after them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from analytics.imports.grid import Document, Row

__all__ = ["read_html"]

_HIDDEN_CLASS = re.compile(r"\bhidden\b", re.IGNORECASE)
_NO_DISPLAY = re.compile(r"display\s*:\s*none", re.IGNORECASE)


class _Cell:
    __slots__ = ("hidden", "parts", "span", "title")

    def __init__(self, attrs: dict[str, str | None]) -> None:
        self.parts: list[str] = []
        self.span = _span(attrs.get("colspan"))
        self.title = (attrs.get("title") or "").strip()
        self.hidden = bool(_HIDDEN_CLASS.search(attrs.get("class") or "")
                           or _NO_DISPLAY.search(attrs.get("style") or ""))

    def text(self) -> str:
        return " ".join("".join(self.parts).split())


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


class _RowCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[Row] = []
        self.open_tables = 0
        self.title: list[str] = []
        self._in_title = False
        self._cells: list[_Cell] | None = None
        self._cell: _Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._end_row()
            self.open_tables += 1
        elif tag == "tr":
            self._end_row()
            self._cells = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self._cells is None:
                self._cells = []
            self._cell = _Cell(dict(attrs))
        elif tag == "br" and self._cell is not None:
            self._cell.parts.append(" ")
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table":
            self._end_row()
            self.open_tables = max(0, self.open_tables - 1)
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.parts.append(data)
        elif self._in_title:
            self.title.append(data)

    def finish(self) -> None:
        """Close what the file left open (a truncated file ends inside a row)."""
        self.close()
        self._end_row()

    def _end_cell(self) -> None:
        if self._cell is not None and self._cells is not None:
            self._cells.append(self._cell)
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._cells:
            row = _grid_row(self._cells)
            if row.cells:
                self.rows.append(row)
        self._cells = None


def _grid_row(cells: list[_Cell]) -> Row:
    texts: dict[int, str] = {}
    titles: dict[int, str] = {}
    column = 0
    for cell in cells:
        if cell.hidden:
            continue
        text = cell.text()
        if text:
            texts[column] = text
            if cell.title:
                titles[column] = cell.title
        column += cell.span
    return Row(texts, titles)


def read_html(text: str) -> Document:
    """Every non-empty table row of an HTML report, in document order."""
    collector = _RowCollector()
    collector.feed(text)
    collector.finish()
    complete = collector.open_tables == 0
    title = " ".join("".join(collector.title).split())
    return Document(collector.rows, title, complete)
