"""The rows of an XLSX report, read with ``zipfile``, ``re`` and ``xml.etree`` (no openpyxl).

MetaTrader writes its XLSX parts in UTF-16 with a BOM. Numbers are stored with more digits
than the report prints ("-5025.890000" under the format "# ##0.00"); a numeric cell is
rendered the way Excel shows it (its number format's decimals, percentages × 100), so
statistics keep the report's printed precision, and the stored number is kept beside it
(``Row.stored``: the report's six decimals, "0.729359" where it shows "0.73").

The worksheet is scanned with regular expressions, not parsed into a tree: a report of
2,000 trades is a 16 MB sheet of 165,000 cells, which ElementTree took 1.3-1.7 s to build
and the scan reads in about 0.3 s. Worksheet XML is flat (rows of cells holding a value
or an inline string), which is all the scan needs; the small parts (shared strings,
styles) are still parsed with ElementTree.
"""

from __future__ import annotations

import codecs
import html
import io
import re
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree import ElementTree

from analytics.imports.errors import FormatProblem
from analytics.imports.grid import Document, Row
from analytics.imports.labels import LANGUAGES, ORDERS, normalize

__all__ = ["read_xlsx"]

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL_REF = re.compile(r"([A-Z]+)\d*")
# The start of a row, or a cell with content (an empty one, <c r="B1" s="1"/>, does not
# match): its column letters when its reference comes first (as Excel and MetaTrader
# write it), its other attributes (a few distinct strings per sheet: parsed once each),
# its content.
# its content: a plain value apart (most cells), anything else whole.
_ROW_OR_CELL = re.compile(
    r"(<row\b)|<c\b(?:\s+r=\"([A-Z]+)\d*\")?([^>/]*)>(?:<v>([^<&]*)</v>|(.*?))</c>", re.S)
_UNTIDY = re.compile(r"^\s|\s$|\s\s|[^\S ]")  # what " ".join(text.split()) would change
_ATTRIBUTE = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_VALUE = re.compile(r"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_TEXT = re.compile(r"<t(?:\s[^>]*)?>(.*?)</t>", re.S)
_DECLARED_ENCODING = re.compile(r"<\?xml[^>]*encoding\s*=\s*[\"']([\w-]+)")
_SHEET = re.compile(r"xl/worksheets/sheet(\d+)\.xml")
# Built-in number formats (ECMA-376 §18.8.30) MetaTrader or a re-saving Excel may use.
_BUILTIN_FORMATS = {1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%",
                    **{number: "yyyy-mm-dd hh:mm:ss" for number in (*range(14, 23), 45, 46, 47)}}
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
_SHORT_DECIMAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?")


class _Format:
    __slots__ = ("decimals", "is_date", "percent", "shown")

    def __init__(self, code: str) -> None:
        self.shown: dict[str, str] = {}  # stored text → shown text, for this sheet
        section = re.sub(r'"[^"]*"|\\.|\[[^]]*]', "", code.split(";")[0])
        self.percent = "%" in section
        self.is_date = bool(re.search(r"[ymdhs]", section, re.IGNORECASE)) and not any(
            char in section for char in "0#")
        fraction = re.search(r"\.([0#]+)", section)
        self.decimals = len(fraction.group(1)) if fraction else 0

    @property
    def keeps_stored(self) -> bool:
        """Whether a number shown rounded keeps its stored text (not dates, percentages)."""
        return not (self.is_date or self.percent)

    def render(self, value: str) -> str:
        whole, _, fraction = value.partition(".")
        if (len(fraction) <= self.decimals and self.keeps_stored
                and _SHORT_DECIMAL.fullmatch(value)):
            # no more decimals than shown (prices, volumes, money): padded, not rounded
            return f"{whole}.{fraction.ljust(self.decimals, '0')}" if self.decimals else whole
        try:
            return self._render(Decimal(value))
        except (InvalidOperation, OverflowError, ValueError):
            return value  # not a number Excel could show: kept as stored

    def _render(self, number: Decimal) -> str:
        if self.is_date:
            moment = _EXCEL_EPOCH + timedelta(days=float(number))
            return moment.strftime("%Y.%m.%d %H:%M:%S")
        if self.percent:
            number *= 100
        # Excel rounds half away from zero, as ROUND_HALF_UP does on a Decimal.
        text = str(number.quantize(Decimal(1).scaleb(-self.decimals), rounding=ROUND_HALF_UP))
        return text + ("%" if self.percent else "")


def read_xlsx(data: bytes) -> Document:
    """The first worksheet's rows; shared strings and number formats resolved."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
        if "xl/workbook.xml" not in names:
            raise FormatProblem("not a MetaTrader report (a zip archive, not an XLSX workbook)")
        sheet = _first_sheet(names)
        strings = _shared_strings(archive, names)
        formats = _cell_formats(archive, names)
        text = _text(archive, sheet)
        if "<worksheet" not in text[:1000] or "</worksheet>" not in text[-1000:]:
            raise FormatProblem(f"truncated or damaged XLSX ({sheet} is not a whole "
                                "worksheet)")
        rows = _rows(_without_orders(text, strings), strings, formats)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise FormatProblem(f"truncated or damaged XLSX (the zip archive is unreadable: {exc})"
                            ) from None
    except ValueError as exc:  # a style index or format id that is not a number
        raise FormatProblem(f"damaged XLSX (a cell style is not a number: {exc})") from None
    return Document([row for row in rows if row.cells], "", complete=True)


def _first_sheet(names: set[str]) -> str:
    sheets = sorted((int(match.group(1)), name) for name in names
                    if (match := _SHEET.fullmatch(name)))
    if not sheets:
        raise FormatProblem("not a MetaTrader report (the workbook has no worksheet)")
    return sheets[0][1]


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(name))
    except ElementTree.ParseError as exc:
        raise FormatProblem(f"truncated or damaged XLSX ({name} is not valid XML: {exc})"
                            ) from None


def _text(archive: zipfile.ZipFile, name: str) -> str:
    """A part's XML as text: UTF-16 with a BOM (MetaTrader), else UTF-8 or the encoding
    its declaration names."""
    data = archive.read(name)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    declared = _DECLARED_ENCODING.match(data[:200].decode("ascii", errors="replace"))
    try:
        return data.decode(declared.group(1) if declared else "utf-8", errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _shared_strings(archive: zipfile.ZipFile, names: set[str]) -> list[str]:
    if "xl/sharedStrings.xml" not in names:
        return []
    root = _xml(archive, "xl/sharedStrings.xml")
    return ["".join(text.text or "" for text in item.iter(f"{_NS}t"))
            for item in root.iter(f"{_NS}si")]


def _cell_formats(archive: zipfile.ZipFile, names: set[str]) -> list[_Format | None]:
    """Per cell style index, its number format (None: "General", the value as stored)."""
    if "xl/styles.xml" not in names:
        return []
    root = _xml(archive, "xl/styles.xml")
    codes = dict(_BUILTIN_FORMATS)
    for numfmt in root.iter(f"{_NS}numFmt"):
        codes[int(numfmt.get("numFmtId", "0"))] = numfmt.get("formatCode", "General")
    cell_xfs = root.find(f"{_NS}cellXfs")
    formats: list[_Format | None] = []
    for xf in [] if cell_xfs is None else cell_xfs.iter(f"{_NS}xf"):
        code = codes.get(int(xf.get("numFmtId", "0")))
        formats.append(_Format(code) if code and code != "General" else None)
    return formats


_SHARED, _NUMBER, _OTHER = "shared", "number", "other"  # how a cell's value is read
Spec = tuple[str, _Format | None, str | None]  # (how, number format, column letters)


# Section banners in every language: the Orders banner, and any banner (where it ends).
_BANNERS = {label: section for language in LANGUAGES
            for label, section in language.sections.items()}
_ORDERS_BANNERS = frozenset(label for label, section in _BANNERS.items() if section == ORDERS)


def _without_orders(text: str, strings: list[str]) -> str:
    """The sheet without the rows of its Orders table, which no reader uses: in an MT5
    history they are a third of the sheet (4,354 of 10,978 rows for 2,134 trades), and
    skipping them halves the time :func:`_rows` takes. The table's banner row stays, so
    the layout still sees the section; without a banner after it nothing is cut."""
    banners = {index: normalize(string) for index, string in enumerate(strings)
               if normalize(string) in _BANNERS}
    starts = [_banner_row(text, index, 0) for index, label in banners.items()
              if label in _ORDERS_BANNERS]
    found = [span for span in starts if span is not None]
    if not found:
        return text
    _, orders_end = min(found)
    ends = [_banner_row(text, index, orders_end) for index in banners]
    following = [span for span in ends if span is not None]
    if not following:
        return text
    next_start, _ = min(following)
    return text[:orders_end] + text[next_start:]


def _banner_row(text: str, index: int, start: int) -> tuple[int, int] | None:
    """(start, end) of the first row from ``start`` whose one cell with content is the
    shared string ``index`` (a section banner), or None."""
    value = f"><v>{index}</v></c>"
    position = text.find(value, start)
    while position != -1:
        cell = text.rfind("<c", start, position)
        row_start = text.rfind("<row", start, position)
        row_end = text.find("</row>", position)
        if (cell != -1 and row_start != -1 and row_end != -1
                and 't="s"' in text[cell:position]
                and text.count("</c>", row_start, row_end) == 1):
            return row_start, row_end + len("</row>")
        position = text.find(value, position + 1)
    return None


def _rows(text: str, strings: list[str], formats: list[_Format | None]) -> list[Row]:
    """The sheet's rows that hold text. One regular expression finds every row start and
    cell; what a cell's attributes say is worked out once per distinct attribute string
    (22 in a 165,000-cell report), a number's rendering once per format and value."""
    shared = {str(index): _tidy(string) for index, string in enumerate(strings)}
    rows: list[Row] = []
    cells: dict[int, str] = {}
    stored: dict[int, str] = {}
    column = -1
    columns: dict[str, int] = {}
    specs: dict[str, Spec] = {}
    for row_start, letters, others, plain, body in _ROW_OR_CELL.findall(text):
        if row_start:
            if cells:
                rows.append(Row(cells, stored=stored))
            cells, stored, column = {}, {}, -1
            continue
        spec = specs.get(others)
        if spec is None:
            spec = _spec(others, formats)
            if spec[2] is None:  # (a reference not written first is in the string)
                specs[others] = spec
        how, number_format, late_letters = spec
        letters = letters or late_letters or ""
        if letters:
            index = columns.get(letters)
            column = columns[letters] = _column_index(letters) if index is None else index
        else:
            column += 1
        value = plain if plain or not body else _cell_value(how, body)
        if how is _SHARED:
            found = shared.get(value)
            if found is None:  # not written as the index plainly ("012"), or none
                found = shared.get(str(int(value)), "") if value.isdigit() else ""
            value = found
        elif number_format is not None and value:
            shown = number_format.shown.get(value)
            if shown is None:
                shown = number_format.shown[value] = number_format.render(value)
            if shown != value:
                if number_format.keeps_stored:
                    stored[column] = value
                value = shown
        elif how is _OTHER and value:
            value = _tidy(value)
        if value:
            cells[column] = value
    if cells:
        rows.append(Row(cells, stored=stored))
    return rows


def _spec(attributes: str, formats: list[_Format | None]) -> Spec:
    found = {name: double or single for name, double, single in _ATTRIBUTE.findall(attributes)}
    kind, style = found.get("t", "n"), found.get("s", "0")
    reference = _CELL_REF.match(found["r"]) if "r" in found else None
    letters = reference.group(1) if reference else None
    if kind == "s":
        return _SHARED, None, letters
    if kind != "n":
        return _OTHER, None, letters
    number_format = formats[int(style)] if style.isdigit() and int(style) < len(formats) else None
    return _NUMBER, number_format, letters


def _tidy(text: str) -> str:
    return " ".join(text.split()) if _UNTIDY.search(text) else text


def _cell_value(how: str, body: str) -> str:
    """The text of a cell's content other than a plain value: an inline string's text
    runs, or the value beside a formula."""
    if how is _OTHER and "<is>" in body:
        value = "".join(_TEXT.findall(body))
    else:
        found = _VALUE.search(body)
        value = "" if found is None else found.group(1)
    return html.unescape(value) if "&" in value else value


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1
