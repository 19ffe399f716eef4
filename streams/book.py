"""Open positions held columnar, one block per (symbol, account currency).

A quote on a symbol re-marks every position of its blocks with a handful of numpy
operations over contiguous arrays — no Python loop per position. Blocks whose profit
currency differs from the account currency also hang off their conversion pair, so a
USDJPY quote re-marks EURJPY positions of USD accounts too.

The floating profit of one position is the same IEEE arithmetic in :func:`mark_one` and
:meth:`Block.mark`, so a position marked alone (on a deal) and in a vector (on a quote)
gets the same cents.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from streams.money import ROUND_HALF, round_cents_array

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]


class Position:
    """One open position (hedging: keyed by the broker's position id)."""

    __slots__ = ("account", "block", "is_buy", "key", "open_price", "sid", "slot", "swap",
                 "volume")

    def __init__(
        self, key: str, account: int, sid: int, is_buy: bool, volume: float, open_price: float
    ) -> None:
        self.key = key
        self.account = account
        self.sid = sid
        self.is_buy = is_buy
        self.volume = volume
        self.open_price = open_price
        self.swap = 0  # accrued swap, cents
        self.block: Block | None = None
        self.slot = -1


def signed_qty100(is_buy: bool, volume: float, contract_size: float) -> float:
    """Volume × contract size × 100 (profit straight in cents), negative for a sell."""
    qty = volume * contract_size * 100.0
    return qty if is_buy else -qty


def mark_one(
    is_buy: bool, open_price: float, qty100: float, bid: float, ask: float, rate: float
) -> float:
    """Floating profit of one position in whole cents of the account currency.

    Written as ``qty × price − qty × open`` like :meth:`Block.mark`'s matrix product; the
    product may fuse operations, so the two can differ in the last bits, which matters only
    within a millionth of a cent of a half-cent tie.
    """
    price = bid if is_buy else ask
    cents = qty100 * price + -(open_price * qty100)
    if rate != 1.0:
        cents = cents * rate
    return float(math.floor(cents + ROUND_HALF))


class Block:
    """The open positions on one symbol of the accounts of one currency."""

    __slots__ = (
        "account",
        "coef",
        "conv_invert",
        "conv_sid",
        "currency",
        "marks",
        "_prices",
        "n",
        "positions",
        "sid",
        "_per_account",
        "_shared",
    )

    def __init__(self, sid: int, currency: str, capacity: int = 16) -> None:
        self.sid = sid
        self.currency = currency
        self.conv_sid = -1  # -1: profit currency is the account currency
        self.conv_invert = False
        self.n = 0
        # Per position: qty if buy, qty if sell, −open × qty; so that the floating profit
        # of every position is one matrix-vector product with (bid, ask, 1).
        self.coef: F8 = np.zeros((capacity, 3))
        self.account: I8 = np.zeros(capacity, dtype=np.int64)
        self.marks: F8 = np.zeros(capacity)
        self._prices: F8 = np.ones(3)
        self.positions: list[Position] = []
        self._per_account: dict[int, int] = {}
        self._shared = 0  # positions whose account already has one in this block

    @property
    def has_shared_accounts(self) -> bool:
        return self._shared > 0

    def add(self, position: Position, qty100: float, mark: float) -> None:
        if self.n == len(self.marks):
            self._grow()
        slot = self.n
        self._set_coef(slot, position, qty100)
        self.account[slot] = position.account
        self.marks[slot] = mark
        self.positions.append(position)
        position.block, position.slot = self, slot
        self.n += 1
        count = self._per_account.get(position.account, 0)
        if count:
            self._shared += 1
        self._per_account[position.account] = count + 1

    def remove(self, position: Position) -> float:
        """Take a position out (swap with the last); returns its last mark."""
        slot, last = position.slot, self.n - 1
        mark = float(self.marks[slot])
        if slot != last:
            moved = self.positions[last]
            self.coef[slot] = self.coef[last]
            self.marks[slot] = self.marks[last]
            self.account[slot] = self.account[last]
            self.positions[slot] = moved
            moved.slot = slot
        self.positions.pop()
        self.n = last
        position.block, position.slot = None, -1
        count = self._per_account[position.account] - 1
        if count:
            self._shared -= 1
            self._per_account[position.account] = count
        else:
            del self._per_account[position.account]
        return mark

    def set_row(self, position: Position, qty100: float, mark: float) -> float:
        """Update a position's price/volume in place; returns the mark it replaces."""
        slot = position.slot
        previous = float(self.marks[slot])
        self._set_coef(slot, position, qty100)
        self.marks[slot] = mark
        return previous

    def mark(self, bid: float, ask: float, rate: float) -> F8:
        """Re-mark every position; returns the change of each mark (cents), marks updated."""
        n = self.n
        vector = self._prices
        vector[0], vector[1] = bid, ask
        prices = self.coef[:n] @ vector
        if rate != 1.0:
            np.multiply(prices, rate, out=prices)
        marks = round_cents_array(prices)
        delta = marks - self.marks[:n]
        self.marks[:n] = marks
        return delta

    def zero_marks(self) -> F8:
        """Marks back to 0 (no usable price or rate); returns the change of each mark."""
        delta = -self.marks[: self.n]
        self.marks[: self.n] = 0.0
        return delta

    def _set_coef(self, slot: int, position: Position, qty100: float) -> None:
        row = self.coef[slot]
        row[0] = qty100 if position.is_buy else 0.0
        row[1] = 0.0 if position.is_buy else qty100
        row[2] = -(position.open_price * qty100)

    def _grow(self) -> None:
        capacity = len(self.marks) * 2
        for name in ("coef", "account", "marks"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)
