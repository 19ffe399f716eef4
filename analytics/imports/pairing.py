"""Which position every deal opens or closes: the ``position`` of the feed's Deal events.

MT5 gives a position id only indirectly: a position's id is the ticket of the order that
opened it (the in deal's Order), and a history's Positions table says which position
closed at which time, price and profit, which identifies the out deals. What is still
unknown (a tester report, a partial close the Positions table sums up) is paired here:

- an out deal closes positions of its symbol on the opposite side;
- among several, the one whose price move explains the deal's profit, when the symbol's
  money per point and lot is known (measured on the unambiguous closes), else the oldest
  (FIFO, MT5's own order when an expert closes "the" position);
- an out deal larger than the position it closes goes on to the next (netting);
- an in/out deal (a netting reversal) closes what is open and opens the rest;
- an out deal for which nothing is open (a position opened before the report's period)
  gets an in deal of its own just before it, at the open price the Positions table gives
  or else at its own price, so the engine sees a position it can close.

A deal split in pieces keeps its ticket on the first piece; the others are
``<ticket>.2``, ``<ticket>.3`` …; a made-up open is ``<ticket>.open``. The deal's money is
shared by volume, to the cent, the last piece taking the rounding remainder.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from analytics.imports.statement import ClosedTrade, DealRow, Statement

__all__ = ["Leg", "Money", "Pairing", "Sample", "pair", "point_values"]

VOLUME_EPSILON = 1e-9


@dataclass(frozen=True)
class Money:
    profit: float
    commission: float
    fee: float
    swap: float


NO_MONEY = Money(0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Leg:
    """One Deal event to be: a whole deal row, or a piece of one."""

    row: DealRow
    deal: str
    position: str
    side: str
    entry: str
    volume: float
    price: float
    money: Money


@dataclass(frozen=True)
class Sample:
    """A close matched whole to one position: price move against profit."""

    symbol: str
    side: str  # the position's side
    volume: float
    open_price: float
    close_price: float
    profit: float


@dataclass(frozen=True)
class Pairing:
    items: list[Leg | DealRow]  # in report order; a DealRow is a balance operation
    samples: list[Sample]


@dataclass
class _Lot:
    position: str
    symbol: str
    side: str
    volume: float
    price: float


def pair(statement: Statement) -> Pairing:
    """Position ids for every deal of ``statement``, and the samples sizes are measured on."""
    hints = _position_hints(statement)
    opens = {trade.position: trade.open_price for trade in statement.closed}
    samples = [Sample(trade.symbol, trade.side, trade.volume, trade.open_price,
                      trade.close_price, trade.profit) for trade in statement.closed]
    if not samples:  # no Positions table: a first pass by FIFO finds the clear cases
        samples = _Pairer(statement.netting, {}, hints, opens).run(statement.deals).samples
    pairer = _Pairer(statement.netting, point_values(samples), hints, opens)
    pairer.run(statement.deals)
    return Pairing(pairer.items, samples if statement.closed else pairer.samples)


def point_values(samples: list[Sample]) -> dict[str, float]:
    """Money per point per lot by symbol: Σ|profit| / Σ|price move × volume| over the
    samples whose profit has the sign of the move (a sum, so the large closes, least
    hurt by rounding to the cent, weigh the most)."""
    money: dict[str, float] = defaultdict(float)
    moves: dict[str, float] = defaultdict(float)
    for sample in samples:
        move = (sample.close_price - sample.open_price) * (1 if sample.side == "buy" else -1)
        if move == 0 or sample.profit == 0 or (move > 0) != (sample.profit > 0):
            continue
        money[sample.symbol] += abs(sample.profit)
        moves[sample.symbol] += abs(move) * sample.volume
    return {symbol: money[symbol] / moves[symbol] for symbol in money if moves[symbol] > 0}


def _position_hints(statement: Statement) -> dict[str, str]:
    """Out deal ticket → position id, where a Positions row closed at the deal's time,
    price and volume (and, among equals, with the deal's profit)."""
    index: dict[tuple[object, ...], list[ClosedTrade]] = defaultdict(list)
    for trade in statement.closed:
        index[trade.symbol, trade.side, trade.close_time, trade.close_price, trade.volume
              ].append(trade)
    hints: dict[str, str] = {}
    for row in statement.deals:
        if not row.is_trade or row.entry == "in":
            continue
        position_side = "sell" if row.kind == "buy" else "buy"
        matches = index.get((row.symbol, position_side, row.ts, row.price, row.volume))
        if matches:
            choice = next((trade for trade in matches if trade.profit == row.profit), matches[0])
            matches.remove(choice)
            hints[row.ticket] = choice.position
    return hints


def _deal_ids(ticket: str) -> Iterator[str]:
    yield ticket
    number = 2
    while True:
        yield f"{ticket}.{number}"
        number += 1


def _split(row: DealRow, volumes: list[float]) -> list[Money]:
    if len(volumes) == 1:
        return [Money(row.profit, row.commission, row.fee, row.swap)]
    total = sum(volumes)
    fields = (row.profit, row.commission, row.fee, row.swap)
    shares = [[round(value * volume / total, 2) for value in fields] for volume in volumes[:-1]]
    last = [round(value - sum(share[index] for share in shares), 2)
            for index, value in enumerate(fields)]
    return [Money(*share) for share in (*shares, last)]


class _Pairer:
    def __init__(self, netting: bool, values: dict[str, float], hints: dict[str, str],
                 opens: dict[str, float]) -> None:
        self.netting = netting
        self.values = values
        self.hints = hints
        self.opens = opens
        self.lots: dict[str, list[_Lot]] = defaultdict(list)  # by symbol, oldest first
        self.open_positions: dict[str, int] = defaultdict(int)  # position → its open lots
        self.items: list[Leg | DealRow] = []
        self.samples: list[Sample] = []

    def run(self, rows: list[DealRow]) -> _Pairer:
        for row in rows:
            if not row.is_trade:
                self.items.append(row)
            elif row.entry == "in":
                self._open(row, row.volume, row.ticket, _split(row, [row.volume])[0])
            elif row.entry == "out":
                self._close(row)
            else:
                self._reverse(row)
        return self

    def _open(self, row: DealRow, volume: float, deal: str, money: Money,
              position: str = "") -> None:
        lot = self._lot_to_add_to(row, position)
        if lot is None:
            lot = _Lot(self._new_position(row, position), row.symbol, row.kind, volume,
                       row.price)
            self.lots[row.symbol].append(lot)
            self.open_positions[lot.position] += 1
        else:  # more volume on an open position, at the volume-weighted price
            total = lot.volume + volume
            lot.price = (lot.price * lot.volume + row.price * volume) / total
            lot.volume = round(total, 8)
        self.items.append(Leg(row, deal, lot.position, row.kind, "in", volume, row.price,
                              money))

    def _lot_to_add_to(self, row: DealRow, position: str) -> _Lot | None:
        lots = self.lots[row.symbol]
        if self.netting:
            return lots[0] if lots and lots[0].side == row.kind else None
        wanted = position or row.position or row.order or row.ticket
        return next((lot for lot in lots if lot.position == wanted and lot.side == row.kind),
                    None)

    def _new_position(self, row: DealRow, position: str) -> str:
        wanted = position or row.position or row.order or row.ticket
        return f"{wanted}.{row.ticket}" if self.open_positions.get(wanted) else wanted

    def _close(self, row: DealRow) -> None:
        ids = _deal_ids(row.ticket)
        pieces = self._take(row, row.volume)
        missing = round(row.volume - sum(volume for _, volume in pieces), 8)
        if missing > VOLUME_EPSILON:
            pieces.append((self._made_up_open(row, missing), missing))
        for (lot, volume), money in zip(pieces, _split(row, [v for _, v in pieces]),
                                        strict=True):
            self.items.append(Leg(row, next(ids), lot.position, row.kind, "out", volume,
                                  row.price, money))
        if len(pieces) == 1:
            lot = pieces[0][0]
            self.samples.append(Sample(row.symbol, lot.side, row.volume, lot.price, row.price,
                                       row.profit))

    def _made_up_open(self, row: DealRow, volume: float) -> _Lot:
        position = self.hints.get(row.ticket) or f"{row.ticket}.open"
        price = self.opens.get(position, row.price)
        side = "sell" if row.kind == "buy" else "buy"
        self.items.append(Leg(row, f"{row.ticket}.open", position, side, "in", volume, price,
                              NO_MONEY))
        return _Lot(position, row.symbol, side, 0.0, price)  # wholly closed by this deal

    def _reverse(self, row: DealRow) -> None:
        ids = _deal_ids(row.ticket)
        open_volume = sum(lot.volume for lot in self._candidates(row))
        pieces = self._take(row, min(row.volume, open_volume))
        rest = round(row.volume - sum(volume for _, volume in pieces), 8)
        volumes = [volume for _, volume in pieces]
        shares = _split(row, volumes) if volumes else []
        for (lot, volume), money in zip(pieces, shares, strict=True):
            self.items.append(Leg(row, next(ids), lot.position, row.kind, "out", volume,
                                  row.price, money))
        if rest > VOLUME_EPSILON:
            # MT5 keeps a netting position's id through a reversal
            position = pieces[0][0].position if pieces and self.netting else ""
            money = NO_MONEY if pieces else _split(row, [rest])[0]
            self._open(row, rest, next(ids), money, position)

    def _candidates(self, row: DealRow) -> list[_Lot]:
        return [lot for lot in self.lots[row.symbol] if lot.side != row.kind]

    def _take(self, row: DealRow, volume: float) -> list[tuple[_Lot, float]]:
        pieces: list[tuple[_Lot, float]] = []
        need = volume
        for lot in self._ordered(row, self._candidates(row)):
            if need <= VOLUME_EPSILON:
                break
            taken = min(lot.volume, need)
            lot.volume = round(lot.volume - taken, 8)
            need = round(need - taken, 8)
            pieces.append((lot, taken))
            if lot.volume <= VOLUME_EPSILON:
                self.lots[row.symbol].remove(lot)
                self.open_positions[lot.position] -= 1
        return pieces

    def _ordered(self, row: DealRow, candidates: list[_Lot]) -> list[_Lot]:
        preferred = self.hints.get(row.ticket) or row.position
        first = next((lot for lot in candidates if preferred and lot.position == preferred),
                     None)
        value = self.values.get(row.symbol)
        if first is None and value is not None and len(candidates) > 1:
            whole = [lot for lot in candidates if lot.volume >= row.volume - VOLUME_EPSILON]
            if whole:
                first = min(whole, key=lambda lot: round(abs(
                    _expected_profit(lot, row, value) - row.profit), 2))  # min: oldest of ties
        if first is None:
            return candidates
        return [first, *(lot for lot in candidates if lot is not first)]


def _expected_profit(lot: _Lot, row: DealRow, value: float) -> float:
    direction = 1 if lot.side == "buy" else -1
    return (row.price - lot.price) * direction * row.volume * value
