"""A paired statement as feed events (CONTRACTS.md §1), in the order the engine needs them.

Symbols first (a symbol must precede its deals), then the Account, then Balance and Deal
events in the report's order.

Opening balance: the Account event carries the account's balance before its first
operation — the first deposit itself when the report starts with one (then that deposit is
not repeated as a Balance event), else the Balance column of the first row minus that row's
money. Every later balance operation is a Balance event and every deal carries its money,
so the engine's balance ends on the report's final balance. Opening with ``balance = 0``
and depositing next would be the same sum, but the engine checks its rules on the Account
event, where an empty account is below every loss floor.

Balance kinds: a "balance" operation is a deposit (or a withdrawal when negative), "bonus"
likewise, "credit" is a credit, and every other operation (correction, charge, commission,
interest, dividend, tax, an unknown type with money) a correction. MT5 keeps credit out of
its Balance column: a report with credit operations ends with the engine's balance off by
the credit, which the printed ``credit_facility`` shows.
"""

from __future__ import annotations

from typing import Literal

from analytics.imports.pairing import Leg, Pairing
from analytics.imports.sizes import symbol_events
from analytics.imports.statement import DealRow, Statement
from streams.events import Account, Balance, Deal, Event, Id

__all__ = ["build_events", "opening_balance"]

BalanceKind = Literal["deposit", "withdrawal", "credit", "correction"]


def opening_balance(statement: Statement) -> tuple[float, bool]:
    """The balance the account opens with, and whether the first row is folded into it."""
    if not statement.deals:
        return statement.initial_deposit or 0.0, False
    first = statement.deals[0]
    if first.kind == "balance" and first.money > 0 and _before(first) in (None, 0.0):
        return first.money, True
    before = _before(first)
    return (before if before is not None else statement.initial_deposit or 0.0), False


def _before(row: DealRow) -> float | None:
    return None if row.balance_after is None else round(row.balance_after - row.money, 2)


def build_events(statement: Statement, pairing: Pairing, program: str) -> list[Event]:
    balance, folded = opening_balance(statement)
    symbols = list(dict.fromkeys(row.symbol for row in statement.deals if row.is_trade))
    events: list[Event] = list(symbol_events(symbols, pairing.samples, statement.currency))
    if not statement.deals:
        return events
    events.append(Account(ts=statement.deals[0].ts, account=statement.account,
                          program=program, balance=balance, currency=statement.currency))
    items = pairing.items[1:] if folded else pairing.items
    for item in items:
        if isinstance(item, Leg):
            events.append(_deal(item, statement.account))
        elif item.money != 0:
            events.append(Balance(ts=item.ts, account=statement.account,
                                  amount=round(item.money, 2), kind=_balance_kind(item)))
    return events


def _deal(leg: Leg, account: str) -> Deal:
    return Deal(
        ts=leg.row.ts, account=account, deal=_id(leg.deal), position=_id(leg.position),
        symbol=leg.row.symbol, side="buy" if leg.side == "buy" else "sell",
        entry="in" if leg.entry == "in" else "out", volume=leg.volume, price=leg.price,
        profit=leg.money.profit, commission=leg.money.commission, swap=leg.money.swap,
        fee=leg.money.fee,
    )


def _id(text: str) -> Id:
    """Tickets as numbers, as the broker's feed sends them; made-up ids stay text."""
    return int(text) if text.isdigit() else text


def _balance_kind(row: DealRow) -> BalanceKind:
    if row.kind in ("balance", "bonus"):
        return "deposit" if row.money >= 0 else "withdrawal"
    if row.kind == "credit":
        return "credit"
    return "correction"
