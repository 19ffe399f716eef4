"""From a file's bytes to a :class:`~analytics.imports.grid.Document`: sniff the format,
decode the text, and refuse clearly what is not a report.

MetaTrader writes HTML in UTF-16LE with a BOM (MT5) or in the terminal's code page (MT4,
usually windows-1252), and XLSX as a zip archive.
"""

from __future__ import annotations

import codecs
import re

from analytics.imports.errors import FormatProblem
from analytics.imports.grid import Document
from analytics.imports.html_tables import read_html
from analytics.imports.xlsx_tables import read_xlsx

__all__ = ["load_document"]

_ZIP = b"PK\x03\x04"
_NOT_REPORTS = (
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document; export the report as HTML or XLSX"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\xd0\xcf\x11\xe0", "an old binary Excel (.xls) file; export the report as XLSX or HTML"),
)
_CHARSET = re.compile(rb"charset=[\"']?([A-Za-z0-9_-]+)")
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def load_document(data: bytes) -> Document:
    """The rows of an HTML or XLSX report; :class:`FormatProblem` for anything else."""
    if not data.strip():
        raise FormatProblem("empty file" if not data else "empty file (only white space)")
    if data.startswith(_ZIP):
        return read_xlsx(data)
    for magic, what in _NOT_REPORTS:
        if data.startswith(magic):
            raise FormatProblem(f"not a MetaTrader report ({what})")
    text = _decode(data)
    if "\x00" in text:
        raise FormatProblem("not a MetaTrader report (binary data, not HTML or XLSX)")
    lowered = text.lower()
    if "<td" not in lowered and "<th" not in lowered:
        raise FormatProblem("not a MetaTrader report (no HTML table: MetaTrader exports "
                            "reports as HTML or XLSX)")
    return read_html(text)


def _decode(data: bytes) -> str:
    # errors="replace": a download cut in the middle of a character must still reach the
    # truncation check, which names what is missing.
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace")
    sample = data[:4096]
    if len(sample) >= 8 and sample[1::2].count(0) > len(sample) // 4:
        return data.decode("utf-16-le", errors="replace")  # UTF-16 that lost its BOM
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _CHARSET.search(data[:4096])
    if declared is not None:
        try:
            return data.decode(declared.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass  # a charset Python does not know: guess as if none were declared
    if _UTF8_SEQUENCE.search(data):  # UTF-8 with a damaged byte: keep the rest readable
        return data.decode("utf-8", errors="replace")
    return data.decode("cp1252", errors="replace")
