"""Breach prices: for each symbol an account holds, the price at which its equity would
touch its nearest floor, every other price held where it is.

Pure, from the engine's own state and arithmetic (``book.mark_one``): a quote on the
symbol moves its bid and ask together (the spread held), every position on it is marked
as the engine marks it — longs at the bid, shorts at the ask, times the contract size,
converted to the account currency at the mid of the joining pair (which moves too when
the symbol is that pair, e.g. USDJPY in a USD account) and rounded to the cent per
position — and the equity keeps everything else: the balance, the other symbols' marks,
accrued swaps, a broker's equity gap.

The nearest floor is the higher of the daily floor (while the account is active) and the
maximum-loss floor, as ``accounts.floor_eff`` holds it; touching it is a breach
(CONTRACTS.md §2), so at the price given the engine answers a breach: the price is the
exact solution, moved by at most a few ulps toward the floor until the engine's cents
(rounded per position) touch it.

The price is the bid for a symbol held net long, the ask for one held net short; a
symbol held net flat (hedged to zero) has none, nor has one without a quote yet, one
whose conversion rate is not known, or one whose price would have to fall to zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import msgspec

from streams.accounts import ACTIVE, INF, PAUSED
from streams.book import Block, Position, mark_one, signed_qty100
from streams.money import MAX_PRICE

VOLUME_EPSILON = 1e-9  # engine.VOLUME_EPSILON: lots summed in binary floating point
REFINEMENTS = 64  # steps of a few ulps toward the floor until the cents touch it


class BreachPrice(msgspec.Struct, array_like=True, frozen=True):
    """One symbol's breach price (on ``risk.metrics`` as a msgpack array)."""

    symbol: str
    price: float | None  # None: no price reaches the floor (flat, unquoted, beyond zero)
    quote: str | None  # "bid" (net long) or "ask" (net short); None when flat
    net_volume: float  # lots, positive long, negative short
    floor: str  # "daily" or "max_loss": the floor it touches


class Leg:
    """The positions of one account in one block a quote on the symbol moves."""

    __slots__ = ("block", "moves_price", "moves_rate", "positions")

    def __init__(self, block: Block, moves_price: bool, moves_rate: bool) -> None:
        self.block = block
        self.moves_price = moves_price
        self.moves_rate = moves_rate
        self.positions: list[Position] = []


def nearest_floor(status: int, daily_floor: float, ml_floor: float) -> tuple[float, str] | None:
    """The floor equity would touch first (cents) and its name; None without one."""
    if status > PAUSED:
        return None
    daily = daily_floor if status == ACTIVE else -INF
    if daily == -INF and ml_floor == -INF:
        return None
    return (daily, "daily") if daily >= ml_floor else (ml_floor, "max_loss")


def solve(legs: list[Leg], other: float, floor: float, bid: list[float], ask: list[float],
          contract_size: Callable[[int], float], long: bool) -> float | None:
    """The shift ``d`` of the symbol's bid and ask at which ``other`` plus the legs'
    marks (cents, rounded as the engine rounds them) first touch ``floor``; None when no
    positive price does. ``long``: equity falls as the price falls."""
    # Per leg, its positions summed: longs' and shorts' quantities and the open term, so
    # the unrounded equity is a few operations per leg (the search evaluates it often).
    sums = []
    for leg in legs:
        size = contract_size(leg.block.sid)
        longs = shorts = opens = 0.0
        for p in leg.positions:
            qty = signed_qty100(p.is_buy, p.volume, size)
            if p.is_buy:
                longs += qty
            else:
                shorts += qty
            opens += -(p.open_price * qty)
        sums.append((leg, longs, shorts, opens))

    def quote(leg: Leg, d: float) -> tuple[float, float, float]:
        block = leg.block
        shift = d if leg.moves_price else 0.0
        b, a = bid[block.sid] + shift, ask[block.sid] + shift
        rate = 1.0
        if block.conv_sid != -1:
            pair = block.conv_sid
            mid = (bid[pair] + ask[pair]) / 2.0 + (d if leg.moves_rate else 0.0)
            rate = 1.0 / mid if block.conv_invert else mid
        return b, a, rate

    def smooth(d: float) -> float:  # unrounded, for the search
        total = other
        for leg, longs, shorts, opens in sums:
            b, a, rate = quote(leg, d)
            total += (longs * b + shorts * a + opens) * rate
        return total - floor

    def touches(d: float) -> bool:  # the engine's own cents at the shift
        total = other
        for leg in legs:
            b, a, rate = quote(leg, d)
            size = contract_size(leg.block.sid)
            for p in leg.positions:
                qty = signed_qty100(p.is_buy, p.volume, size)
                total += mark_one(p.is_buy, p.open_price, qty, b, a, rate)
        return total <= floor

    # The bracket the price may move in: down to (just above) zero, up to the largest
    # price the engine takes.
    prices = [bid[leg.block.sid] for leg in legs if leg.moves_price] + [
        (bid[leg.block.conv_sid] + ask[leg.block.conv_sid]) / 2.0
        for leg in legs if leg.moves_rate]
    base = max(prices)
    lowest = -min(prices) * (1.0 - 1e-12)
    highest = MAX_PRICE - max(ask[leg.block.sid] for leg in legs if leg.moves_price)
    d: float | None
    if not any(leg.moves_rate for leg in legs):
        at_zero = smooth(0.0)
        slope = smooth(1.0) - at_zero
        if slope == 0.0:
            return None
        d = -at_zero / slope
    else:
        d = _converting(sums, other - floor, bid, ask, lowest, highest)
        if d is None:
            return None
    if not lowest <= d <= highest:
        return None
    # Per-position cents may leave the exact solution a cent short of the floor: step
    # toward the floor until the engine's own equity touches it.
    step = max(abs(d), base, 1.0) * 4 * 2.0 ** -52
    for _ in range(REFINEMENTS):
        if touches(d):
            return d
        d = d - step if long else d + step
        step *= 2.0
    return None


def _converting(sums: list[tuple[Leg, float, float, float]], rest: float, bid: list[float],
               ask: list[float], lowest: float, highest: float) -> float | None:
    """The shift when the symbol is also a conversion pair of what the account holds
    (USDJPY in a USD account converts its own JPY profit, and its EURJPY's). With ``m``
    the pair's mid, the equity less the floor is ``(c0 + c1·d)`` (legs at a fixed rate)
    ``+ (P + Q·d) / (m + d)`` (legs converted at 1 / mid) ``+ R·(m + d)`` (legs converted
    at the mid, whose own price stays): times ``m + d`` (> 0), a quadratic in ``d``. Of
    its roots in the bracket, the one nearest the current price."""
    c0, c1, p0, q1, r0 = rest, 0.0, 0.0, 0.0, 0.0
    m = 0.0
    for leg, longs, shorts, opens in sums:
        block = leg.block
        shift = longs + shorts if leg.moves_price else 0.0
        at_zero = longs * bid[block.sid] + shorts * ask[block.sid] + opens
        pair = block.conv_sid
        if leg.moves_rate:
            m = (bid[pair] + ask[pair]) / 2.0
            if block.conv_invert:
                p0, q1 = p0 + at_zero, q1 + shift
            elif shift:
                return None  # a symbol whose base is its own profit currency: none such
            else:
                r0 += at_zero
            continue
        rate = 1.0
        if pair != -1:
            mid = (bid[pair] + ask[pair]) / 2.0
            rate = 1.0 / mid if block.conv_invert else mid
        c0, c1 = c0 + at_zero * rate, c1 + shift * rate
    a = c1 + r0
    b = c0 + c1 * m + q1 + 2.0 * r0 * m
    c = c0 * m + p0 + r0 * m * m
    if a == 0.0:
        roots = [] if b == 0.0 else [-c / b]
    else:
        disc = b * b - 4.0 * a * c
        if disc < 0.0:
            return None
        # The stable pair of formulas: no cancellation in either root.
        q = -(b + math.copysign(math.sqrt(disc), b)) / 2.0
        roots = [q / a] + ([c / q] if q != 0.0 else [])
    valid = [d for d in roots if lowest <= d <= highest and m + d > 0.0]
    return min(valid, key=abs) if valid else None


def breach_prices(positions: Iterable[Position], equity: float, floor: float, floor_name: str,
                  bid: list[float], ask: list[float], quoted: list[bool],
                  symbols: list[str], contract_sizes: list[float],
                  marked_by: Callable[[int], list[Block]]) -> list[BreachPrice]:
    """Every held symbol's breach price, in symbol-name order.

    ``positions``: the account's open positions; ``equity`` and ``floor`` in cents;
    ``bid``/``ask``/``quoted`` per symbol id; ``marked_by(sid)``: the blocks a quote on
    the symbol re-marks (its own and those converting through it), as the engine keeps
    them."""
    held: dict[int, float] = {}
    by_block: dict[int, list[Position]] = {}
    for position in positions:
        block = position.block
        if block is None:
            continue
        held[position.sid] = held.get(position.sid, 0.0) + (
            position.volume if position.is_buy else -position.volume)
        by_block.setdefault(block.id, []).append(position)
    out: list[BreachPrice] = []
    for sid in sorted(held, key=symbols.__getitem__):
        net = held[sid]
        legs: list[Leg] = []
        known = True
        for block in marked_by(sid):
            mine = by_block.get(block.id)
            if not mine:
                continue
            rate_known = block.conv_sid == -1 or (block.conv_sid >= 0
                                                  and quoted[block.conv_sid])
            if block.sid == sid:
                known = known and quoted[sid] and rate_known
            elif not quoted[block.sid]:
                continue  # marked at 0 whatever the rate: part of the rest
            leg = Leg(block, block.sid == sid, block.conv_sid == sid)
            leg.positions = mine
            legs.append(leg)
        long = net > VOLUME_EPSILON
        flat = abs(net) <= VOLUME_EPSILON
        price: float | None = None
        if known and not flat:
            marks = 0.0
            for leg in legs:
                for p in leg.positions:
                    marks += leg.block.arena.marks.item(leg.block.start + p.slot)
            d = solve(legs, equity - marks, floor, bid, ask,
                      contract_sizes.__getitem__, long)
            if d is not None:
                price = (bid[sid] if long else ask[sid]) + d
                price = None if price <= 0.0 or math.isnan(price) else price
        out.append(BreachPrice(symbol=symbols[sid], price=price,
                               quote=None if flat else ("bid" if long else "ask"),
                               net_volume=0.0 if flat else round(net, 8), floor=floor_name))
    return out
