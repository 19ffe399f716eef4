"""The rows of an XLSX report, read with ``zipfile`` and ``xml.etree`` (no openpyxl).

MetaTrader writes its XLSX parts in UTF-16 with a BOM, which expat reads as it is. Numbers
are stored with more digits than the report prints ("-5025.890000" under the format
"# ##0.00"); a numeric cell is rendered the way Excel shows it (its number format's
decimals, percentages × 100), so statistics keep the report's printed precision.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree import ElementTree

from analytics.imports.errors import FormatProblem
from analytics.imports.grid import Document, Row

__all__ = ["read_xlsx"]

_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_CELL_REF = re.compile(r"([A-Z]+)\d+")
_SHEET = re.compile(r"xl/worksheets/sheet(\d+)\.xml")
# Built-in number formats (ECMA-376 §18.8.30) MetaTrader or a re-saving Excel may use.
_BUILTIN_FORMATS = {1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%",
                    **{number: "yyyy-mm-dd hh:mm:ss" for number in (*range(14, 23), 45, 46, 47)}}
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)


class _Format:
    __slots__ = ("decimals", "is_date", "percent")

    def __init__(self, code: str) -> None:
        section = re.sub(r'"[^"]*"|\\.|\[[^]]*]', "", code.split(";")[0])
        self.percent = "%" in section
        self.is_date = bool(re.search(r"[ymdhs]", section, re.IGNORECASE)) and not any(
            char in section for char in "0#")
        fraction = re.search(r"\.([0#]+)", section)
        self.decimals = len(fraction.group(1)) if fraction else 0

    def render(self, value: str) -> str:
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
        root = _xml(archive, sheet)
        data_root = root.find(f"{_NS}sheetData")
        rows = [] if data_root is None else [_row(element, strings, formats)
                                             for element in data_root.iter(f"{_NS}row")]
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


def _row(element: ElementTree.Element, strings: list[str],
         formats: list[_Format | None]) -> Row:
    cells: dict[int, str] = {}
    for cell in element.iter(f"{_NS}c"):
        match = _CELL_REF.match(cell.get("r", ""))
        text = _cell_text(cell, strings, formats)
        if match and text:
            cells[_column_index(match.group(1))] = " ".join(text.split())
    return Row(cells)


def _cell_text(cell: ElementTree.Element, strings: list[str],
               formats: list[_Format | None]) -> str:
    kind = cell.get("t", "n")
    if kind == "inlineStr":
        return "".join(text.text or "" for text in cell.iter(f"{_NS}t"))
    value = cell.find(f"{_NS}v")
    raw = "" if value is None or value.text is None else value.text
    if kind == "s":
        index = int(raw) if raw.isdigit() else -1
        return strings[index] if 0 <= index < len(strings) else ""
    if kind != "n" or not raw:
        return raw
    style = int(cell.get("s", "0"))
    number_format = formats[style] if 0 <= style < len(formats) else None
    return raw if number_format is None else number_format.render(raw)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1
