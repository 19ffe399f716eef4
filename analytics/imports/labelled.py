"""Label/value pairs of a report's loose rows: the header (account, currency), the tester's
settings, and every statistic the report prints (``Report.printed``).

A label is a cell whose normalised text is in the language's table and its value is the
next cell. MT4 splits some labels over two cells ("Largest" | "profit trade:"); the first
word is kept as a prefix for the rest of the row. MT4 also writes "Account: 2090123" in one
cell, which :func:`read_meta` splits.
"""

from __future__ import annotations

from analytics.imports.grid import Row
from analytics.imports.labels import Language, Stat, normalize
from analytics.imports.values import normalize_number, split_compound

__all__ = ["read_meta", "read_printed", "read_statistics"]

# Printed as text, kept as text: "0:00:26", "29:05:00", "0% real ticks".
_TEXT_STATS = frozenset({"minimal_position_holding_time", "maximal_position_holding_time",
                         "average_position_holding_time", "history_quality"})


def read_meta(rows: list[Row], language: Language) -> dict[str, str]:
    """Header and settings values by meta key (``account``, ``currency``, ``expert`` …)."""
    meta: dict[str, str] = {}
    for row in rows:
        texts = row.texts()
        for index, text in enumerate(texts):
            key = language.meta.get(normalize(text))
            if key is not None and index + 1 < len(texts):
                meta.setdefault(key, texts[index + 1])
                continue
            label, colon, value = text.partition(":")
            key = language.meta.get(normalize(label)) if colon else None
            if key is not None and value.strip():
                meta.setdefault(key, value.strip())
    return meta


def read_printed(rows: list[Row], language: Language) -> dict[str, str]:
    """Every statistic found, by English snake_case key; the first one printed wins."""
    return read_statistics(rows, language)[0]


def read_statistics(rows: list[Row], language: Language
                    ) -> tuple[dict[str, str], dict[str, str]]:
    """Every statistic as printed (:func:`read_printed`), and those whose cell stores
    more digits than it shows (XLSX: ``"0.729359"`` shown ``"0.73"``) as stored."""
    printed: dict[str, str] = {}
    stored: dict[str, str] = {}
    for row in rows:
        columns = list(row.cells)
        for key, value, index in _row_statistics(row.texts(), language):
            if key in printed:
                continue
            printed[key] = value
            exact = row.stored.get(columns[index]) if index is not None else None
            if exact is not None and (number := normalize_number(exact)) is not None:
                stored[key] = number
    return printed, stored


def _row_statistics(texts: list[str], language: Language
                    ) -> list[tuple[str, str, int | None]]:
    """(key, value, index of the value's cell when it holds that value alone)."""
    found: list[tuple[str, str, int | None]] = []
    prefix = ""
    index = 0
    while index < len(texts):
        stat = _stat(texts[index], prefix, language)
        if stat is None:
            label = normalize(texts[index])
            if label in language.prefixes:
                prefix = label
            index += 1
            continue
        value = texts[index + 1] if index + 1 < len(texts) else ""
        if _stat(value, prefix, language) is not None:
            index += 1  # a label with no value (a heading such as "Balance Drawdown:")
            continue
        values = _printed_value(value, stat, language.decimal_comma)
        found.extend((key, number, index + 1 if len(values) == 1 else None)
                     for key, number in values)
        index += 2
    return found


def _stat(text: str, prefix: str, language: Language) -> Stat | None:
    label = normalize(text)
    if prefix and (combined := language.stats.get(f"{prefix} {label}")) is not None:
        return combined
    return language.stats.get(label)


def _printed_value(text: str, stat: Stat, decimal_comma: bool) -> list[tuple[str, str]]:
    """``"152.73 (5.06%)"`` → ``[(key, "152.73"), (companion, "5.06")]``; ``[]`` if the
    cell holds no number (a header word, not a value)."""
    key, companion = stat
    main, extra = split_compound(text)
    number = normalize_number(main, decimal_comma=decimal_comma)
    if number is None:
        return [(key, text.strip())] if key in _TEXT_STATS and text.strip() else []
    values = [(key, number)]
    if extra is not None and companion is not None:
        extra_number = normalize_number(extra, decimal_comma=decimal_comma)
        if extra_number is not None:
            values.append((companion, extra_number))
    return values
