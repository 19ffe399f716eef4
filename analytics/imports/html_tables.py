"""The rows of an HTML report, read from its table tags.

MetaTrader's HTML is table markup with unclosed tags in places (MT4 omits some ``</td>``);
a new ``<tr>`` or ``<td>`` ends the open one. The markup is scanned with one regular
expression (tags, comments, script and style elements, the text between them) rather than
the standard library's ``HTMLParser``, which read a 2,134-trade history (2.9 M
characters) in 2.2-3.0 s where the scan takes 0.6 s. Text is unescaped as HTML
(``&nbsp;``, ``&#39;``). Cells MT5 hides (``class="hidden"``, the comment drill-down of
the Positions rows) are dropped: they are not in the header, and keeping them would shift
every column after them.
"""

from __future__ import annotations

import html
import re

from analytics.imports.grid import Document, Row
from analytics.imports.labels import LANGUAGES, ORDERS, normalize

__all__ = ["read_html"]

_HIDDEN_CLASS = re.compile(r"\bhidden\b", re.IGNORECASE)
_NO_DISPLAY = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_UNTIDY = re.compile(r"^\s|\s$|\s\s|[^\S ]")  # what " ".join(text.split()) would change

# What the reader looks at in the markup: a plain cell (no attributes, text only: most
# cells of a deal row, handled at once), a script or style element (skipped whole), a
# comment or declaration (skipped), or a start or end tag (name, attributes); everything
# between two of them is text.
_MARKUP = re.compile(
    r"<(?:td|th)>([^<]*)</(?:td|th)\s*>"
    r"|<(script|style)\b[^>]*>.*?</\2\s*>"
    r"|<!--.*?-->|<![^>]*>|<\?[^>]*>"
    r"""|<(/?)([a-zA-Z][^\s/>]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""",
    re.S | re.I)
_ATTRIBUTE = re.compile(r"""([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_TAGS = frozenset({"table", "tr", "td", "th", "br", "title"})


class _Cell:
    """A cell with attributes or markup inside, while its text comes in."""

    __slots__ = ("hidden", "parts", "span", "title")

    def __init__(self, attrs: dict[str, str]) -> None:
        self.parts: list[str] = []
        self.span = _span(attrs.get("colspan"))
        self.title = attrs.get("title", "").strip()
        self.hidden = bool(_HIDDEN_CLASS.search(attrs.get("class", ""))
                           or _NO_DISPLAY.search(attrs.get("style", "")))

    def done(self) -> Piece:
        return _tidy("".join(self.parts)), self.span, self.hidden, self.title


Piece = tuple[str, int, bool, str]  # a finished cell: text, column span, hidden, title


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1


def _tidy(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split()) if _UNTIDY.search(text) else text


def _attributes(text: str) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for name, double, single, bare in _ATTRIBUTE.findall(text):
        value = double or single or bare
        attributes.setdefault(name.lower(), html.unescape(value) if "&" in value else value)
    return attributes


class _RowCollector:
    """Rows of cells from the tags that make them (``table``, ``tr``, ``td``/``th``,
    ``br``) and the text in cells; every other tag is ignored, its text kept."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.open_tables = 0
        self.title: list[str] = []
        self._in_title = False
        self._cells: list[Piece] | None = None
        self._cell: _Cell | None = None

    def feed(self, text: str) -> None:
        position = 0
        for match in _MARKUP.finditer(text):
            if match.start() > position and (self._cell is not None or self._in_title):
                self._data(text[position:match.start()])
            position = match.end()
            plain = match.group(1)
            if plain is not None:
                self._end_cell()
                if self._cells is None:
                    self._cells = []
                self._cells.append((_tidy(plain), 1, False, ""))
                continue
            name = match.group(4)
            if name is None or (tag := name.lower()) not in _TAGS:
                continue
            if match.group(3):
                self._end_tag(tag)
            else:
                self._start_tag(tag, match.group(5))
        if position < len(text):
            self._data(text[position:])

    def _data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.parts.append(data)
        elif self._in_title:
            self.title.append(html.unescape(data) if "&" in data else data)

    def _start_tag(self, tag: str, attributes: str) -> None:
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
            self._cell = _Cell(_attributes(attributes) if attributes.strip() else {})
        elif tag == "br" and self._cell is not None:
            self._cell.parts.append(" ")
        elif tag == "title":
            self._in_title = True

    def _end_tag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._end_cell()
        elif tag == "tr":
            self._end_row()
        elif tag == "table":
            self._end_row()
            self.open_tables = max(0, self.open_tables - 1)
        elif tag == "title":
            self._in_title = False

    def finish(self) -> None:
        """Close what the file left open (a truncated file ends inside a row)."""
        self._end_row()

    def _end_cell(self) -> None:
        if self._cell is not None and self._cells is not None:
            self._cells.append(self._cell.done())
        self._cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self._cells:
            row = _grid_row(self._cells)
            if row.cells:
                self.rows.append(row)
        self._cells = None


def _grid_row(cells: list[Piece]) -> Row:
    texts: dict[int, str] = {}
    titles: dict[int, str] = {}
    column = 0
    for text, span, hidden, title in cells:
        if hidden:
            continue
        if text:
            texts[column] = text
            if title:
                titles[column] = title
        column += span
    return Row(texts, titles)


# Text between tags that may be a section banner's (<th …><div><b>Orders</b></div></th>):
# short and without digits, which passes over nearly every cell of a table's rows.
_LONE_TEXT = re.compile(r">\s*([^<>\d]{3,40}?)\s*<")
_TAG = re.compile(r"<[^>]*>")
_BANNERS = {label: section for language in LANGUAGES
            for label, section in language.sections.items()}


def _without_orders(text: str) -> str:
    """The report without the rows of its Orders table, which no reader uses: a third of
    a history's rows. The banner row stays (the layout still sees the section); without
    a banner row after it nothing is cut."""
    orders_end = None
    for match in _LONE_TEXT.finditer(text):
        label = normalize(match.group(1))
        if label not in _BANNERS:
            continue
        row = _banner_row(text, match.start(), match.end(), label)
        if row is None:
            continue
        if orders_end is None:
            if _BANNERS[label] == ORDERS:
                orders_end = row[1]
        elif row[0] >= orders_end:
            return text[:orders_end] + text[row[0]:]
    return text


def _banner_row(text: str, start: int, end: int, label: str) -> tuple[int, int] | None:
    """(start, end) of the row around ``text[start:end]`` if that row holds nothing but
    ``label`` (a section banner), else None."""
    row_start = text.rfind("<tr", 0, start)
    row_end = text.find("<tr", end)
    if row_start == -1:
        return None
    row_end = len(text) if row_end == -1 else row_end
    inside = _TAG.sub(" ", text[row_start:row_end])
    words = " ".join((html.unescape(inside) if "&" in inside else inside).split())
    return (row_start, row_end) if normalize(words) == label else None


def read_html(text: str) -> Document:
    """Every non-empty table row of an HTML report (but its Orders table's), in document
    order."""
    collector = _RowCollector()
    collector.feed(_without_orders(text))
    collector.finish()
    complete = collector.open_tables == 0
    title = " ".join("".join(collector.title).split())
    return Document(collector.rows, title, complete)
