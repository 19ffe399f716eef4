"""A report as rows of cells, whatever file it came from (HTML or XLSX).

A cell is keyed by its grid column: in HTML the sum of the ``colspan`` of the visible cells
before it, in XLSX its column letter. MetaTrader draws a data row with the same spans as its
header, so a column is found at the same key in both; MT4's balance rows (a comment spread
over ten columns, then the amount under "Profit") are why spans count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Document", "Row"]


@dataclass(frozen=True)
class Row:
    cells: dict[int, str]  # grid column → text; only cells with text
    titles: dict[int, str] = field(default_factory=dict)  # grid column → title attribute
    # grid column → the number as the file stores it, where the cell shows it rounded
    # (XLSX: "0.729359" shown "0.73")
    stored: dict[int, str] = field(default_factory=dict)

    def texts(self) -> list[str]:
        return list(self.cells.values())

    def at(self, column: int | None) -> str:
        return "" if column is None else self.cells.get(column, "")


@dataclass(frozen=True)
class Document:
    rows: list[Row]
    title: str  # the HTML <title>, or "" (XLSX)
    complete: bool  # False when the file ends inside a table: a truncated download
