"""MT5 reports (Trade History Report, Strategy Tester report) as a :class:`Statement`.

Both print a Deals table (Time, Deal, Symbol, Type, Direction, Volume, Price, Order,
Commission, [Fee,] Swap, Profit, Balance, Comment); a history also prints a Positions table,
one row per closed position, which tells which position each out deal closed.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from analytics.imports.errors import FormatProblem
from analytics.imports.grid import Row
from analytics.imports.labelled import read_meta, read_statistics
from analytics.imports.labels import DEALS, POSITIONS, TESTER, Language, normalize
from analytics.imports.layout import Layout, Table
from analytics.imports.statement import ClosedTrade, DealRow, Statement
from analytics.imports.values import PLAIN_NUMBER, normalize_number, parse_number, parse_time

__all__ = ["read_mt5"]

_DEAL_COLUMNS = ("time", "deal", "symbol", "type", "direction", "volume", "price", "profit")
_POSITION_COLUMNS = ("time", "position", "symbol", "type", "volume", "price", "close_time",
                     "close_price", "profit")
_ACCOUNT = re.compile(r"\s*(\S+)\s*(?:\((?P<details>[^)]*)\))?")
_CURRENCY = re.compile(r"[A-Z]{3}")


def read_mt5(layout: Layout, kind: str) -> Statement:
    language = layout.language
    deals = layout.tables[DEALS]
    _require(deals, _DEAL_COLUMNS)
    rows = [_deal_row(row, deals.columns, language) for row in deals.rows]
    positions = layout.tables.get(POSITIONS)
    closed: list[ClosedTrade] = []
    if positions is not None and positions.rows:
        _require(positions, _POSITION_COLUMNS)
        closed = [_closed_trade(row, positions.columns, language) for row in positions.rows]
    meta = read_meta(layout.loose, language)
    printed, stored = read_statistics(layout.loose, language)
    initial_deposit = None
    deposit_text = normalize_number(meta.get("initial_deposit", ""),
                                    decimal_comma=language.decimal_comma)
    if deposit_text is not None:
        initial_deposit = float(deposit_text)
        printed.setdefault("initial_deposit", deposit_text)
    account, currency, netting = (_tester_account(meta) if kind == TESTER
                                  else _history_account(meta))
    return Statement(kind, language.code, account, currency, initial_deposit, netting,
                     sorted(rows, key=lambda row: row.ts), closed, printed, stored)


def _require(table: Table, columns: tuple[str, ...]) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        names = ", ".join(repr(column.replace("_", " ").title()) for column in missing)
        raise FormatProblem(f"the {table.section.title()} table has no {names} column")


def _number_reader(row: Row, columns: dict[str, int], language: Language,
                   what: str) -> Callable[[str], float]:
    cells = row.cells

    def number(column: str) -> float:
        text = cells.get(columns.get(column, -1), "")
        if PLAIN_NUMBER.fullmatch(text):  # most cells: read at once (4,354 deal rows)
            return float(text)
        return parse_number(text, f"{what} {column}", decimal_comma=language.decimal_comma,
                            empty=0.0)
    return number


def _deal_row(row: Row, columns: dict[str, int], language: Language) -> DealRow:
    ticket = row.at(columns["deal"])
    what = f"deal {ticket or '?'}"
    number = _number_reader(row, columns, language, what)
    type_text = normalize(row.at(columns["type"]))
    kind = language.deal_types.get(type_text, type_text or "unknown")
    direction = language.directions.get(normalize(row.at(columns["direction"])), "")
    if kind in ("buy", "sell"):
        if not direction:
            raise FormatProblem(f"{what}: direction {row.at(columns['direction'])!r} is not "
                                "in, out or in/out")
        if not row.at(columns["symbol"]) or number("volume") <= 0 or number("price") <= 0:
            raise FormatProblem(f"{what}: a trade needs a symbol, a volume and a price")
    balance_text = row.at(columns.get("balance"))
    return DealRow(
        ts=parse_time(row.at(columns["time"]), f"{what} time"),
        ticket=ticket, symbol=row.at(columns["symbol"]), kind=kind, entry=direction,
        volume=number("volume"), price=number("price"), order=row.at(columns.get("order")),
        commission=number("commission"), fee=number("fee"), swap=number("swap"),
        profit=number("profit"),
        balance_after=number("balance") if balance_text else None,
    )


def _closed_trade(row: Row, columns: dict[str, int], language: Language) -> ClosedTrade:
    position = row.at(columns["position"])
    what = f"position {position or '?'}"
    number = _number_reader(row, columns, language, what)
    # A partly closed position prints "closed / total" ("0.05 / 0.10"): the closed part.
    volume_text = row.at(columns["volume"]).split("/")[0]
    side = language.deal_types.get(normalize(row.at(columns["type"])), "")
    return ClosedTrade(
        position=position, symbol=row.at(columns["symbol"]), side=side,
        volume=parse_number(volume_text, f"{what} volume",
                            decimal_comma=language.decimal_comma),
        open_price=number("price"),
        close_time=parse_time(row.at(columns["close_time"]), f"{what} close time"),
        close_price=number("close_price"), profit=number("profit"),
    )


def _history_account(meta: dict[str, str]) -> tuple[str, str, bool]:
    """``"1512497509 (USD, FTMO-Demo, demo, Hedge)"`` → login, currency, netting."""
    match = _ACCOUNT.match(meta.get("account", ""))
    if match is None or not match.group(1):
        raise FormatProblem("the report header has no Account (login) line")
    details = [part.strip() for part in (match.group("details") or "").split(",")]
    currency = next((part for part in details if _CURRENCY.fullmatch(part)),
                    _currency(meta.get("currency", "")))
    netting = any(normalize(part) == "netting" for part in details)
    return match.group(1), currency, netting


def _tester_account(meta: dict[str, str]) -> tuple[str, str, bool]:
    """A tester run has no login: the expert and symbol name it (``GoldHedgeRecovery-XAUUSD``)."""
    parts = [meta.get("expert", "").strip(), meta.get("symbol", "").split(" ")[0]]
    account = "-".join(part for part in parts if part) or "strategy-tester"
    return account, _currency(meta.get("currency", "")), False


def _currency(text: str) -> str:
    """The 3-letter code printed, else USD (the tester's default deposit currency)."""
    code = text.strip().upper()
    return code if _CURRENCY.fullmatch(code) else "USD"
