"""The compiled inner loops of the quote path.

A quote re-marks thousands of positions; numpy spends most of that time walking the same
arrays again for each operation (product, rounding, change, scatter, three gathers for the
check), which measured here at about 130 µs a quote on the benchmark's book. These loops
do the same work in one pass over each block: about 26 µs per 4,000 positions, bounded by
memory (the block's rows streamed, one random read of the account's equity and floors per
position), and one call per quote instead of a dozen numpy calls per block.

State stays where it was, in the engine's numpy columns; these functions only read and
write them. Floating-point operations are plain IEEE (no fast-math, so no fused
multiply-add): :func:`streams.book.mark_one` in Python computes the same bits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from streams.money import ROUND_HALF

REF_PEAK = 4  # accounts.REF_PEAK
ML_TRAILING_EQUITY = 1  # accounts.ML_TRAILING_EQUITY
ACTIVE, PAUSED = 0, 1

F8 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int64]
B1 = npt.NDArray[np.bool_]
Columns = tuple[npt.NDArray[Any], ...]  # the account columns raise_peaks takes, in order


@njit(cache=True, nogil=True)
def raise_peaks(rows: I8, n: int, hot: F8, status: npt.NDArray[np.int8],
                dl_ref: npt.NDArray[np.int8], day_peak: F8, dl_fixed: F8, dl_frac: F8,
                daily_floor: F8, ml_mode: npt.NDArray[np.int8], hwm: F8, ml_fixed: F8,
                ml_frac: F8, ml_cap: F8, ml_floor: F8) -> None:
    """Equity passed the peak threshold on these rows: move the intraday peak and the
    trailing-equity mark, the floors that follow them, and the thresholds (``hot``)."""
    for i in range(n):
        row = rows[i]
        value = hot[row, 0]
        # The intraday peak moves while the account is paused too: "the highest equity
        # since the day's start" is what its daily floor reports.
        if dl_ref[row] == REF_PEAK and value > day_peak[row]:
            day_peak[row] = value
            daily_floor[row] = value - dl_fixed[row] - math.floor(dl_frac[row] * value
                                                                   + ROUND_HALF)
        if ml_mode[row] == ML_TRAILING_EQUITY and value > hwm[row]:
            hwm[row] = value
            floor = value - ml_fixed[row] - math.floor(ml_frac[row] * value + ROUND_HALF)
            floor = min(floor, ml_cap[row])
            if floor > ml_floor[row]:
                ml_floor[row] = floor
        # Thresholds (accounts.thresholds_one): the account is live, as it holds positions.
        daily = daily_floor[row] if status[row] == ACTIVE else -np.inf
        hot[row, 1] = max(daily, ml_floor[row])
        threshold = np.inf
        if dl_ref[row] == REF_PEAK:
            threshold = day_peak[row]
        if ml_mode[row] == ML_TRAILING_EQUITY and ml_floor[row] < ml_cap[row]:
            threshold = min(threshold, hwm[row])
        hot[row, 2] = threshold


@njit(cache=True, nogil=True)
def on_quote(sid: int, bid: F8, ask: F8, quoted: B1, by_symbol: I8, block_ids: I8, start: I8,
             count: I8, block_sid: I8, conv_sid: I8, conv_invert: B1, coef: F8, marks: F8,
             account: I8, hot: F8, touched: I8, rising: I8, peaks: Columns) -> tuple[int, int]:
    """Re-mark the blocks a quote on ``sid`` prices (its own, and those converting through
    it), move the peaks that equity passed (``raise_peaks`` with the ``peaks`` columns),
    and list the accounts whose equity touched their floor in ``touched``.
    Returns (touched, positions marked).

    ``block_ids[by_symbol[sid]:by_symbol[sid + 1]]`` are the blocks; ``hot`` rows are
    (equity, floor_eff, track). A block is skipped while its price or its conversion rate
    is unknown, exactly as ``Engine._rate`` decides for a deal.

    Each account is compared right after each of its marks, while its row is in cache, so
    the comparison after its last mark of the quote sees its final equity: no account that
    ends the event on a floor is missed. Earlier comparisons may flag an account on an
    intermediate equity (several positions move in one event), so every candidate is
    judged again on its final equity at the end.
    """
    marked = n_touched = n_rising = 0
    for k in range(by_symbol[sid], by_symbol[sid + 1]):
        block = block_ids[k]
        n = count[block]
        price_sid = block_sid[block]
        if n == 0 or not quoted[price_sid]:
            continue
        rate = 1.0
        pair = conv_sid[block]
        if pair != -1:
            if pair == -2 or not quoted[pair]:
                continue
            mid = (bid[pair] + ask[pair]) / 2.0
            rate = 1.0 / mid if conv_invert[block] else mid
        b, a = bid[price_sid], ask[price_sid]
        for row in range(start[block], start[block] + n):
            # × 1.0 is exact, so the same-currency case needs no branch.
            mark = math.floor((coef[row, 0] * b + coef[row, 1] * a + coef[row, 2]) * rate
                              + ROUND_HALF)
            acc = account[row]
            value = hot[acc, 0] + (mark - marks[row])
            hot[acc, 0] = value
            marks[row] = mark
            if value <= hot[acc, 1]:
                touched[n_touched] = acc
                n_touched += 1
            elif value > hot[acc, 2]:
                rising[n_rising] = acc
                n_rising += 1
        marked += n
    kept = 0
    for i in range(n_touched):
        acc = touched[i]
        if hot[acc, 0] <= hot[acc, 1]:
            touched[kept] = acc
            kept += 1
    n_touched, kept = kept, 0
    for i in range(n_rising):
        acc = rising[i]
        if hot[acc, 2] < hot[acc, 0] and hot[acc, 1] < hot[acc, 0]:
            rising[kept] = acc
            kept += 1
    if kept:
        raise_peaks(rising, kept, hot, *peaks)
    return n_touched, marked


@njit(cache=True, nogil=True)
def quote_fits(sid: int, new_bid: float, new_ask: float, bid: F8, ask: F8, quoted: B1,
               by_symbol: I8, block_ids: I8, count: I8, block_sid: I8, conv_sid: I8,
               conv_invert: B1, qty_max: F8, open_max: F8, limit: float) -> bool:
    """Whether a quote on ``sid`` at ``new_bid``/``new_ask`` keeps every open position it
    re-marks (priced by it, or converted through it) worth at most ``limit`` cents, the
    range the cents arithmetic holds exactly. Bounded by block, from the blocks' largest
    quantity and open value (``Arena.qty_max``, ``open_max``): |mark| ≤ (qty × price +
    |open × qty|) × rate. A few operations per block, nothing per position."""
    for k in range(by_symbol[sid], by_symbol[sid + 1]):
        block = block_ids[k]
        if count[block] == 0:
            continue
        price_sid = block_sid[block]
        if price_sid == sid:
            b, a = new_bid, new_ask
        elif quoted[price_sid]:
            b, a = bid[price_sid], ask[price_sid]
        else:
            continue
        rate = 1.0
        pair = conv_sid[block]
        if pair == -2:
            continue
        if pair != -1:
            if pair == sid:
                mid = (new_bid + new_ask) / 2.0
            elif quoted[pair]:
                mid = (bid[pair] + ask[pair]) / 2.0
            else:
                continue
            rate = 1.0 / mid if conv_invert[block] else mid
        if (qty_max[block] * max(b, a) + open_max[block]) * rate > limit:
            return False
    return True


# Why on_quotes stopped before the end of a run (besides a floor touched).
GO_ON, REFUSED_BACKWARDS, REFUSED_VALUE = 0, 1, 2


@njit(cache=True, nogil=True)
def on_quotes(sids: I8, bids: F8, asks: F8, stamps: I8, first: int, last: int, boundary: int,
              quote_ts: I8, qty_max: F8, open_max: F8, limit: float,
              bid: F8, ask: F8, quoted: B1, by_symbol: I8, block_ids: I8, start: I8,
              count: I8, block_sid: I8, conv_sid: I8, conv_invert: B1, coef: F8, marks: F8,
              account: I8, hot: F8, touched: I8, rising: I8, peaks: Columns
              ) -> tuple[int, int, int, int, int]:
    """Apply quotes ``first`` to ``last`` (exclusive) of a run, one :func:`on_quote` each,
    until one touches a floor, one reaches ``boundary`` (a trading-day rollover or an
    inactivity deadline, which the engine handles in Python), or one is refused and not
    applied: older than its symbol's last quote (``quote_ts``, which each applied quote
    stamps; ``REFUSED_BACKWARDS``) or valuing a position beyond ``limit``
    (:func:`quote_fits`; ``REFUSED_VALUE``). Returns (the next quote to apply — the
    refused one when one is —, accounts touched by the last one applied, positions
    marked, latest time, GO_ON or why it was refused)."""
    marked = 0
    latest = -1
    for k in range(first, last):
        if stamps[k] >= boundary:
            return k, 0, marked, latest, GO_ON
        sid = sids[k]
        if stamps[k] < quote_ts[sid]:
            return k, 0, marked, latest, REFUSED_BACKWARDS
        if not quote_fits(sid, bids[k], asks[k], bid, ask, quoted, by_symbol, block_ids, count,
                          block_sid, conv_sid, conv_invert, qty_max, open_max, limit):
            return k, 0, marked, latest, REFUSED_VALUE
        bid[sid] = bids[k]
        ask[sid] = asks[k]
        quoted[sid] = True
        quote_ts[sid] = stamps[k]
        n_touched, moved = on_quote(sid, bid, ask, quoted, by_symbol, block_ids, start, count,
                                    block_sid, conv_sid, conv_invert, coef, marks, account,
                                    hot, touched, rising, peaks)
        marked += moved
        latest = max(latest, stamps[k])
        if n_touched:
            return k + 1, n_touched, marked, latest, GO_ON
    return last, 0, marked, latest, GO_ON


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel now, on a tiny book, so that the
    first quotes of a live worker do not wait one to two seconds for the compiler."""
    f8, i8, b1 = np.zeros(4), np.zeros(4, dtype=np.int64), np.zeros(4, dtype=np.bool_)
    columns = (np.zeros(4, dtype=np.int8), np.zeros(4, dtype=np.int8), f8, f8, f8, f8,
               np.zeros(4, dtype=np.int8), f8, f8, f8, f8, f8)
    by_symbol = np.zeros(2, dtype=np.int64)
    on_quotes(i8[:1], f8[:1], f8[:1], i8[:1], 0, 1, 1, i8, f8, f8, 1.0, f8, f8, b1, by_symbol,
              i8, i8, i8, i8, i8, b1, np.zeros((4, 3)), f8, i8, np.zeros((4, 3)), i8, i8,
              columns)
    quote_fits(0, 1.0, 1.0, f8, f8, b1, by_symbol, i8, i8, i8, i8, b1, f8, f8, 1.0)
    raise_peaks(i8, 0, np.zeros((4, 3)), *columns)
