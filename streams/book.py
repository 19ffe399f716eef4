"""Open positions held columnar, one block per (symbol, account currency).

Every position is a row of one :class:`Arena` (its pricing coefficients, its current mark,
its account row); a block is a contiguous segment of the arena, so a quote on a symbol is
one pass over the segments of the blocks it prices (``kernels.on_quotes``), with no Python
per position. Blocks whose profit currency differs from the account currency also hang
off their conversion pair, so a USDJPY quote re-marks EURJPY positions of USD accounts.

A position marked alone (on a deal, :func:`mark_one`) and in the vector pass gets the
same cents: the same IEEE operations in the same order.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from streams.money import ROUND_HALF

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

    Written as ``kernels.mark_block`` computes it from the coefficients
    ``(qty if buy, qty if sell, −open × qty)``: the term of the other side is an exact zero.
    """
    price = bid if is_buy else ask
    cents = qty100 * price + -(open_price * qty100)
    if rate != 1.0:
        cents = cents * rate
    return float(math.floor(cents + ROUND_HALF))


class Arena:
    """The rows of every open position, and where each block's segment starts.

    A block that outgrows its segment moves to a segment twice as large at the end; the
    space it leaves is reclaimed by :meth:`compact` once it is half of the arena.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.coef: F8 = np.zeros((capacity, 3))
        self.marks: F8 = np.zeros(capacity)
        self.account: I8 = np.zeros(capacity, dtype=np.int64)
        self.top = 0  # first row not given to any segment
        self.blocks: list[Block] = []
        # Per block, for the compiled quote pass; kept in step by Block.
        self.start: I8 = np.zeros(16, dtype=np.int64)
        self.n: I8 = np.zeros(16, dtype=np.int64)
        self.sid: I8 = np.zeros(16, dtype=np.int64)
        self.conv_sid: I8 = np.zeros(16, dtype=np.int64)
        self.conv_invert = np.zeros(16, dtype=np.bool_)
        # Per block, upper bounds of its rows' |volume × contract size × 100| and
        # |open price × that|: a quote is checked against them before it re-marks the
        # block (``kernels.quote_fits``). They only grow, until the block empties.
        self.qty_max: F8 = np.zeros(16)
        self.open_max: F8 = np.zeros(16)

    def new_block(self, sid: int, currency: str) -> Block:
        block = Block(self, len(self.blocks), sid, currency)
        if block.id == len(self.start):
            for name in ("start", "n", "sid", "conv_sid", "conv_invert", "qty_max",
                         "open_max"):
                old = getattr(self, name)
                new = np.zeros(len(old) * 2, dtype=old.dtype)
                new[: len(old)] = old
                setattr(self, name, new)
        self.blocks.append(block)
        self.sid[block.id] = sid
        self.conv_sid[block.id] = -1
        self._place(block, 16)
        return block

    def _place(self, block: Block, capacity: int) -> None:
        """Give a block a segment of ``capacity`` rows at the end, moving its rows there."""
        if self.top + capacity > len(self.marks):
            used = sum(b.n for b in self.blocks)
            if used + capacity <= len(self.marks) // 2:
                self.compact()
            if self.top + capacity > len(self.marks):
                self._grow(max(len(self.marks) * 2, self.top + capacity))
        start, n = self.top, block.n
        old = block.start
        if n:
            self.coef[start:start + n] = self.coef[old:old + n]
            self.marks[start:start + n] = self.marks[old:old + n]
            self.account[start:start + n] = self.account[old:old + n]
        block.start, block.capacity = start, capacity
        self.start[block.id] = start
        self.top += capacity

    def compact(self) -> None:
        """Pack every segment to the front, in block order (keeps each block's capacity)."""
        coef, marks, account = self.coef.copy(), self.marks.copy(), self.account.copy()
        top = 0
        for block in self.blocks:
            old, n = block.start, block.n
            self.coef[top:top + n] = coef[old:old + n]
            self.marks[top:top + n] = marks[old:old + n]
            self.account[top:top + n] = account[old:old + n]
            block.start = top
            self.start[block.id] = top
            top += block.capacity
        self.top = top

    def _grow(self, capacity: int) -> None:
        for name in ("coef", "marks", "account"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self.top] = old[: self.top]
            setattr(self, name, new)


class Block:
    """The open positions on one symbol of the accounts of one currency."""

    __slots__ = ("arena", "capacity", "conv_invert", "conv_sid", "currency", "id", "n",
                 "open_max", "positions", "qty_max", "sid", "start")

    def __init__(self, arena: Arena, block_id: int, sid: int, currency: str) -> None:
        self.arena = arena
        self.id = block_id
        self.sid = sid
        self.currency = currency
        self.conv_sid = -1  # -1: profit currency is the account currency; -2: unresolved
        self.conv_invert = False
        self.start = 0
        self.capacity = 0
        self.n = 0
        self.positions: list[Position] = []
        self.qty_max = self.open_max = 0.0  # as Arena.qty_max / open_max, read faster

    def set_conversion(self, conv_sid: int, invert: bool) -> None:
        self.conv_sid, self.conv_invert = conv_sid, invert
        self.arena.conv_sid[self.id] = conv_sid
        self.arena.conv_invert[self.id] = invert

    def add(self, position: Position, qty100: float, mark: float) -> None:
        if self.n == self.capacity:
            self.arena._place(self, self.capacity * 2)
        arena, slot = self.arena, self.n
        row = self.start + slot
        self._set_coef(row, position, qty100)
        arena.account[row] = position.account
        arena.marks[row] = mark
        self._bound(position, qty100)
        self.positions.append(position)
        position.block, position.slot = self, slot
        self.n += 1
        arena.n[self.id] = self.n

    def load(self, positions: list[Position], qty100: F8, marks: F8) -> None:
        """Fill an empty block at once (restoring a snapshot): the rows ``add`` would
        write, vectorised. ``qty100`` is signed, as :func:`signed_qty100` gives it."""
        n = len(positions)
        capacity = 16
        while capacity < n:
            capacity *= 2
        self.arena._place(self, capacity)
        rows = slice(self.start, self.start + n)
        coef = self.arena.coef[rows]
        buys = np.array([p.is_buy for p in positions], dtype=bool)
        opens = np.array([p.open_price for p in positions])
        coef[:, 0] = np.where(buys, qty100, 0.0)
        coef[:, 1] = np.where(buys, 0.0, qty100)
        coef[:, 2] = -(opens * qty100)
        self.arena.marks[rows] = marks
        self.arena.account[rows] = [p.account for p in positions]
        if n:
            self.qty_max = self.arena.qty_max[self.id] = float(np.abs(qty100).max())
            self.open_max = self.arena.open_max[self.id] = float(np.abs(coef[:, 2]).max())
        for slot, position in enumerate(positions):
            position.block, position.slot = self, slot
        self.positions = list(positions)
        self.n = n
        self.arena.n[self.id] = n

    def remove(self, position: Position) -> float:
        """Take a position out (the last row takes its place); returns its last mark."""
        arena = self.arena
        slot, last = position.slot, self.n - 1
        row, last_row = self.start + slot, self.start + last
        mark = float(arena.marks[row])
        if slot != last:
            moved = self.positions[last]
            arena.coef[row] = arena.coef[last_row]
            arena.marks[row] = arena.marks[last_row]
            arena.account[row] = arena.account[last_row]
            self.positions[slot] = moved
            moved.slot = slot
        self.positions.pop()
        self.n = last
        arena.n[self.id] = last
        if last == 0:
            self.qty_max = self.open_max = arena.qty_max[self.id] = arena.open_max[self.id] = 0.0
        position.block, position.slot = None, -1
        return mark

    def set_row(self, position: Position, qty100: float, mark: float) -> float:
        """Update a position's price/volume in place; returns the mark it replaces."""
        row = self.start + position.slot
        previous = float(self.arena.marks[row])
        self._set_coef(row, position, qty100)
        self.arena.marks[row] = mark
        self._bound(position, qty100)
        return previous

    def _bound(self, position: Position, qty100: float) -> None:
        qty = abs(qty100)
        if qty > self.qty_max:
            self.qty_max = self.arena.qty_max[self.id] = qty
        value = abs(position.open_price * qty100)
        if value > self.open_max:
            self.open_max = self.arena.open_max[self.id] = value

    def _set_coef(self, row: int, position: Position, qty100: float) -> None:
        coef = self.arena.coef[row]
        coef[0] = qty100 if position.is_buy else 0.0
        coef[1] = 0.0 if position.is_buy else qty100
        coef[2] = -(position.open_price * qty100)
