"""What the format readers (MT5 HTML/XLSX, MT4) hand to the pairing and the event builder:
a report's deals in MetaTrader's own terms, before positions are known."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["ClosedTrade", "DealRow", "Statement"]

TRADE_KINDS = frozenset({"buy", "sell"})


@dataclass(frozen=True)
class DealRow:
    """One row of a Deals table (MT4: one half of a closed transaction)."""

    ts: datetime
    ticket: str
    symbol: str
    kind: str  # buy, sell, or a balance operation: balance, credit, charge, correction …
    entry: str  # in, out, inout; "" for balance operations
    volume: float
    price: float
    order: str
    commission: float
    fee: float
    swap: float
    profit: float
    balance_after: float | None = None  # the Balance column, when the report has one
    position: str = ""  # the position id when the report says it (MT4 tickets)

    @property
    def money(self) -> float:
        return self.profit + self.commission + self.fee + self.swap

    @property
    def is_trade(self) -> bool:
        return self.kind in TRADE_KINDS


@dataclass(frozen=True)
class ClosedTrade:
    """A closed position as a Positions section (MT5 history) prints it: which position an
    out deal closed, and a clean sample of price move against profit for contract sizes."""

    position: str
    symbol: str
    side: str  # the position's side: buy or sell
    volume: float
    open_price: float
    close_time: datetime
    close_price: float
    profit: float


@dataclass(frozen=True)
class Statement:
    kind: str
    language: str
    account: str
    currency: str
    initial_deposit: float | None  # printed by the tester's settings
    netting: bool  # an MT5 netting account: one position per symbol
    deals: list[DealRow]  # in time order
    closed: list[ClosedTrade]
    printed: dict[str, str]
    stored: dict[str, str] = field(default_factory=dict)  # XLSX: as stored, more digits
