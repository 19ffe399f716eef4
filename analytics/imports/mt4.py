"""MT4 Detailed Statements as a :class:`Statement`.

MT4 prints one row per closed trade (Ticket, Open Time, Type, Size, Item, Price, S / L,
T / P, Close Time, Price, Commission, Taxes, Swap, Profit) and balance rows between them.
Each trade becomes an in deal at its open and an out deal at its close, both on position
= ticket, with deal ids ``<ticket>-in`` and ``<ticket>-out``; its money (profit,
commission, taxes as fee, swap) is on the out deal, where MT4 books it.

A partial close in MT4 closes the ticket and reopens the rest as a new ticket whose comment
(the ticket cell's title) is ``from #<ticket>``; the two are one position here: the first
ticket's in deal carries the whole volume, and each ticket closes its part.

MT4 prints symbol names in lower case ("eurusd"); they are upper-cased, which gives back
the usual names (a broker suffix comes back upper-cased too: "EURUSDM").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from analytics.imports.errors import FormatProblem
from analytics.imports.grid import Row
from analytics.imports.labelled import read_meta, read_printed
from analytics.imports.labels import CLOSED_TRANSACTIONS, OPEN_TRADES, STATEMENT, normalize
from analytics.imports.layout import Layout, Table
from analytics.imports.statement import DealRow, Statement
from analytics.imports.values import parse_number, parse_time

__all__ = ["read_mt4"]

_COLUMNS = ("ticket", "open_time", "type", "volume", "symbol", "price", "profit")
_FROM_TICKET = re.compile(r"from\s*#\s*(\d+)", re.IGNORECASE)
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass
class _Trade:
    ticket: str
    side: str
    symbol: str
    volume: float
    opened: datetime
    open_price: float
    closed: datetime | None
    close_price: float
    money: tuple[float, float, float, float]  # profit, commission, fee (taxes), swap
    parent: str  # the ticket this one is the rest of ("from #…"), or ""
    position: str = ""
    added_volume: float = field(default=0.0)


def read_mt4(layout: Layout) -> Statement:
    language = layout.language
    closed_table = layout.tables[CLOSED_TRANSACTIONS]
    missing = [column for column in (*_COLUMNS, "close_time", "close_price")
               if column not in closed_table.columns]
    if missing:
        name = missing[0].replace("_", " ").title()
        raise FormatProblem(f"the Closed Transactions table has no {name!r} column")
    trades, balance_rows = _read_table(closed_table, layout, closing=True)
    open_table = layout.tables.get(OPEN_TRADES)
    if open_table is not None and all(col in open_table.columns for col in _COLUMNS):
        trades += _read_table(open_table, layout, closing=False)[0]
    _link_partial_closes(trades)
    rows = balance_rows + [row for trade in trades for row in _deal_rows(trade)]
    meta = read_meta(layout.loose, language)
    account = meta.get("account", "").split(" ")[0]
    if not account:
        raise FormatProblem("the statement header has no 'Account:' line")
    currency = meta.get("currency", "").strip().upper()
    return Statement(
        STATEMENT, language.code, account,
        currency if _CURRENCY.fullmatch(currency) else "USD", None, False,
        sorted(rows, key=lambda row: row.ts), [], read_printed(layout.loose, language))


def _read_table(table: Table, layout: Layout, *, closing: bool,
                ) -> tuple[list[_Trade], list[DealRow]]:
    trades: list[_Trade] = []
    balance_rows: list[DealRow] = []
    for row in table.rows:
        kind = layout.language.deal_types.get(normalize(row.at(table.columns["type"])))
        if kind in ("buy", "sell"):
            trades.append(_trade(row, table.columns, layout, closing=closing))
        elif kind is not None:
            balance_rows.append(_balance_row(row, table.columns, layout, kind))
        # anything else is a cancelled pending order ("buy limit"): no deal, no money
    return trades, balance_rows


def _trade(row: Row, columns: dict[str, int], layout: Layout, *, closing: bool) -> _Trade:
    ticket = row.at(columns["ticket"])
    what = f"ticket {ticket or '?'}"
    comma = layout.language.decimal_comma

    def number(column: str) -> float:
        return parse_number(row.at(columns.get(column)), f"{what} {column}",
                            decimal_comma=comma, empty=0.0)

    if not row.at(columns["symbol"]) or number("volume") <= 0 or number("price") <= 0:
        raise FormatProblem(f"{what}: a trade needs an item, a size and a price")
    closed = parse_time(row.at(columns["close_time"]), f"{what} close time") if closing else None
    if closing and number("close_price") <= 0:
        raise FormatProblem(f"{what}: no close price")
    parent = _FROM_TICKET.search(" ".join(row.titles.values()) + " " + row.at(
        columns.get("comment")))
    return _Trade(
        ticket=ticket, side=layout.language.deal_types[normalize(row.at(columns["type"]))],
        symbol=row.at(columns["symbol"]).upper(), volume=number("volume"),
        opened=parse_time(row.at(columns["open_time"]), f"{what} open time"),
        open_price=number("price"), closed=closed, close_price=number("close_price"),
        money=(number("profit"), number("commission"), number("taxes"), number("swap"))
        if closing else (0.0, 0.0, 0.0, 0.0),
        parent=parent.group(1) if parent else "", position=ticket)


def _balance_row(row: Row, columns: dict[str, int], layout: Layout, kind: str) -> DealRow:
    ticket = row.at(columns["ticket"])
    amount = parse_number(row.at(columns["profit"]), f"ticket {ticket} amount",
                          decimal_comma=layout.language.decimal_comma)
    return DealRow(parse_time(row.at(columns["open_time"]), f"ticket {ticket} time"), ticket,
                   "", kind, "", 0.0, 0.0, "", 0.0, 0.0, 0.0, amount)


def _link_partial_closes(trades: list[_Trade]) -> None:
    by_ticket = {trade.ticket: trade for trade in trades}
    for trade in trades:
        root = trade
        seen = {trade.ticket}
        while root.parent in by_ticket and root.parent not in seen:
            root = by_ticket[root.parent]
            seen.add(root.ticket)
        if root is not trade:
            trade.position = root.ticket
            root.added_volume += trade.volume


def _deal_rows(trade: _Trade) -> list[DealRow]:
    rows: list[DealRow] = []
    if trade.position == trade.ticket:  # the rest of a partial close reuses its root's open
        rows.append(DealRow(trade.opened, f"{trade.ticket}-in", trade.symbol, trade.side, "in",
                            trade.volume + trade.added_volume, trade.open_price, trade.ticket,
                            0.0, 0.0, 0.0, 0.0, position=trade.position))
    if trade.closed is not None:
        profit, commission, fee, swap = trade.money
        closing_side = "sell" if trade.side == "buy" else "buy"
        rows.append(DealRow(trade.closed, f"{trade.ticket}-out", trade.symbol, closing_side,
                            "out", trade.volume, trade.close_price, trade.ticket, commission,
                            fee, swap, profit, position=trade.position))
    return rows
