"""Account state held columnar: one numpy array per field, one row per account.

Rows never move (an account keeps its row for life), so positions and calendars refer
to accounts by row. Money columns are whole cents in float64 (see ``money``); absent
floors are ``-inf`` and absent thresholds ``+inf`` so that comparisons need no mask.

The floor formulas live here twice, as :func:`floors_of` over arrays (rollovers, quotes)
and :func:`daily_floor_one` / :func:`max_loss_floor_one` for one account (deals): the
same IEEE operations in the same order, checked equal by the property tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from streams.money import ROUND_HALF, round_cents, to_cents
from streams.program import DAILY_REFERENCES, MAX_LOSS_MODES, Program

INF = math.inf
NO_DEADLINE = np.iinfo(np.int64).max

ACTIVE, PAUSED, FAILED, PASSED = 0, 1, 2, 3
STATUS_NAMES = ("active", "paused", "failed", "passed")

REF_DAY_START_BALANCE, REF_DAY_START_EQUITY, REF_DAY_START_MAX, REF_INITIAL, REF_PEAK = range(5)
ML_STATIC, ML_TRAILING_EQUITY, ML_TRAILING_BALANCE, ML_TRAILING_EOD = range(4)
assert DAILY_REFERENCES[REF_PEAK] == "intraday_peak_equity"
assert MAX_LOSS_MODES[ML_TRAILING_EOD] == "trailing_eod_balance"

OBJ_PROFIT_TARGET, OBJ_MIN_DAYS, OBJ_CONSISTENCY = 1, 2, 4
OBJECTIVE_NAMES = ((OBJ_PROFIT_TARGET, "profit_target"), (OBJ_MIN_DAYS, "min_trading_days"),
                   (OBJ_CONSISTENCY, "consistency"))

# name → dtype; the order is the snapshot order.
COLUMNS: dict[str, type] = {
    "status": np.int8,
    "calendar": np.int32,
    "initial": np.float64,
    "balance": np.float64,
    "equity": np.float64,
    "offset": np.float64,  # broker-reported equity minus ours, until the next account event
    "day_start_balance": np.float64,
    "day_start_equity": np.float64,
    "day_peak": np.float64,
    "dl_ref": np.int8,  # -1: no daily_loss rule
    "dl_fixed": np.float64,
    "dl_frac": np.float64,
    "dl_pause": np.bool_,
    "daily_floor": np.float64,
    "ml_mode": np.int8,  # -1: no max_loss rule
    "ml_fixed": np.float64,
    "ml_frac": np.float64,
    "ml_cap": np.float64,
    "hwm": np.float64,  # the high-water mark the max_loss mode trails (initial for static)
    "ml_floor": np.float64,
    "floor_eff": np.float64,  # equity ≤ this → some floor is touched
    "track": np.float64,  # equity > this → a peak (intraday or trailing) moves
    "day_profit": np.float64,
    "best_day": np.float64,  # best closed profit of the days before today
    "total_profit": np.float64,
    "days_closed": np.int32,  # trading days counted before today
    "opened_today": np.bool_,
    "count_profitable": np.bool_,
    "min_day_profit": np.float64,
    "open_volume": np.float64,
    "open_positions": np.int32,
    "deadline": np.int64,  # inactivity: fails at this event time (µs)
    "met": np.int8,  # objectives met, OBJ_* bits
    "exposure_warned": np.bool_,
}
NO_TIME = int(np.iinfo(np.int64).min)  # no event yet (or restored from a version 2 snapshot)


@dataclass(frozen=True, slots=True)
class Rules:
    """A program compiled to cents and enum codes, shared by its accounts."""

    program: Program
    initial: float
    dl_ref: int
    dl_fixed: float
    dl_frac: float
    dl_pause: bool
    ml_mode: int
    ml_fixed: float
    ml_frac: float
    ml_cap: float
    target: float  # balance to reach, cents; inf when no profit target
    min_days: int
    count_profitable: bool
    min_day_profit: float
    consistency_share: float
    consistency_fails: bool
    max_lots: float
    exposure_warns: bool
    inactivity_us: int  # 0: no inactivity rule
    objectives: int  # OBJ_* bits of the objectives present


def compile_rules(program: Program) -> Rules:
    initial = float(to_cents(program.initial_balance))
    dl, ml = program.daily_loss, program.max_loss
    dl_fixed = dl_frac = 0.0
    if dl is not None:
        if dl.amount is not None:
            dl_fixed = float(to_cents(dl.amount))
        elif dl.of == "reference":
            dl_frac = float(dl.limit or 0.0)
        else:
            dl_fixed = float(round_cents((dl.limit or 0.0) * initial))
    ml_fixed = ml_frac = 0.0
    ml_cap = INF
    if ml is not None:
        if ml.amount is not None:
            ml_fixed = float(to_cents(ml.amount))
        elif ml.of == "high_water_mark":
            ml_frac = float(ml.limit or 0.0)
        else:
            ml_fixed = float(round_cents((ml.limit or 0.0) * initial))
        if ml.lock_at is not None:
            ml_cap = float(round_cents(initial * (1.0 + ml.lock_at)))
    objectives = 0
    target = INF
    if program.profit_target is not None:
        objectives |= OBJ_PROFIT_TARGET
        target = float(round_cents(initial * (1.0 + program.profit_target)))
    mtd = program.min_trading_days
    if mtd is not None:
        objectives |= OBJ_MIN_DAYS
    cons = program.consistency
    if cons is not None:
        objectives |= OBJ_CONSISTENCY
    exposure = program.max_exposure
    return Rules(
        program=program,
        initial=initial,
        dl_ref=-1 if dl is None else DAILY_REFERENCES.index(dl.reference),
        dl_fixed=dl_fixed,
        dl_frac=dl_frac,
        dl_pause=dl is not None and dl.action == "pause",
        ml_mode=-1 if ml is None else MAX_LOSS_MODES.index(ml.mode),
        ml_fixed=ml_fixed,
        ml_frac=ml_frac,
        ml_cap=ml_cap,
        target=target,
        min_days=0 if mtd is None else mtd.days,
        count_profitable=mtd is not None and mtd.count == "profitable_day",
        min_day_profit=0.0 if mtd is None else float(round_cents(mtd.min_day_profit * initial)),
        consistency_share=1.0 if cons is None else cons.max_best_day_share,
        consistency_fails=cons is not None and cons.on_violation == "fail",
        max_lots=INF if exposure is None else exposure.lots,
        exposure_warns=exposure is not None and exposure.action == "warn",
        inactivity_us=0
        if program.inactivity_days is None
        else round(program.inactivity_days * 86_400_000_000),
        objectives=objectives,
    )


# Read together for every position a quote moves, so kept side by side in one row of
# ``AccountTable.hot``: one cache line per account instead of three (measured: the scan
# after a quote went from about 17 to 12 µs per 4,000 positions).
HOT = ("equity", "floor_eff", "track")


class AccountTable:
    """The columns of every account, grown by doubling."""

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self.capacity = capacity
        self._allocate(capacity)
        for name, dtype in COLUMNS.items():
            if name not in HOT:
                self.columns[name] = np.zeros(capacity, dtype=dtype)
        for name, array in self.columns.items():
            setattr(self, name, array)

    def _allocate(self, capacity: int) -> None:
        self.hot: npt.NDArray[np.float64] = np.zeros((capacity, len(HOT)))
        columns = getattr(self, "columns", {})
        for i, name in enumerate(HOT):
            columns[name] = self.hot[:, i]
        self.columns: dict[str, npt.NDArray[np.generic]] = columns

    # Typed views for mypy and readers; assigned in __init__ / _grow via setattr.
    status: npt.NDArray[np.int8]
    calendar: npt.NDArray[np.int32]
    initial: npt.NDArray[np.float64]
    balance: npt.NDArray[np.float64]
    equity: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    day_start_balance: npt.NDArray[np.float64]
    day_start_equity: npt.NDArray[np.float64]
    day_peak: npt.NDArray[np.float64]
    dl_ref: npt.NDArray[np.int8]
    dl_fixed: npt.NDArray[np.float64]
    dl_frac: npt.NDArray[np.float64]
    dl_pause: npt.NDArray[np.bool_]
    daily_floor: npt.NDArray[np.float64]
    ml_mode: npt.NDArray[np.int8]
    ml_fixed: npt.NDArray[np.float64]
    ml_frac: npt.NDArray[np.float64]
    ml_cap: npt.NDArray[np.float64]
    hwm: npt.NDArray[np.float64]
    ml_floor: npt.NDArray[np.float64]
    floor_eff: npt.NDArray[np.float64]
    track: npt.NDArray[np.float64]
    day_profit: npt.NDArray[np.float64]
    best_day: npt.NDArray[np.float64]
    total_profit: npt.NDArray[np.float64]
    days_closed: npt.NDArray[np.int32]
    opened_today: npt.NDArray[np.bool_]
    count_profitable: npt.NDArray[np.bool_]
    min_day_profit: npt.NDArray[np.float64]
    open_volume: npt.NDArray[np.float64]
    open_positions: npt.NDArray[np.int32]
    deadline: npt.NDArray[np.int64]
    met: npt.NDArray[np.int8]
    exposure_warned: npt.NDArray[np.bool_]

    def append(self) -> int:
        if self.n == self.capacity:
            self._grow()
        row = self.n
        self.n += 1
        return row

    def _grow(self) -> None:
        self.capacity *= 2
        hot = self.hot
        self._allocate(self.capacity)
        self.hot[: self.n] = hot[: self.n]
        for name, old in list(self.columns.items()):
            if name not in HOT:
                new = np.zeros(self.capacity, dtype=old.dtype)
                new[: self.n] = old[: self.n]
                self.columns[name] = new
        for name, array in self.columns.items():
            setattr(self, name, array)

    def open(self, row: int, rules: Rules, calendar: int, balance: float, deadline: int) -> None:
        """Initialise a row for a new account opened with ``balance`` cents."""
        for name, value in (
            ("status", ACTIVE), ("calendar", calendar), ("initial", rules.initial),
            ("balance", balance), ("equity", balance), ("offset", 0.0),
            ("day_start_balance", balance), ("day_start_equity", balance),
            ("day_peak", balance), ("dl_ref", rules.dl_ref), ("dl_fixed", rules.dl_fixed),
            ("dl_frac", rules.dl_frac), ("dl_pause", rules.dl_pause),
            ("ml_mode", rules.ml_mode), ("ml_fixed", rules.ml_fixed),
            ("ml_frac", rules.ml_frac), ("ml_cap", rules.ml_cap),
            ("hwm", rules.initial if rules.ml_mode == ML_STATIC
             else max(rules.initial, balance)),
            ("ml_floor", -INF), ("day_profit", 0.0), ("best_day", 0.0),
            ("total_profit", 0.0), ("days_closed", 0), ("opened_today", False),
            ("count_profitable", rules.count_profitable),
            ("min_day_profit", rules.min_day_profit), ("open_volume", 0.0),
            ("open_positions", 0), ("deadline", deadline), ("met", 0),
            ("exposure_warned", False),
        ):
            self.columns[name][row] = value


def daily_floor_one(ref: int, dsb: float, dse: float, peak: float, initial: float,
                    fixed: float, frac: float) -> float:
    if ref < 0:
        return -INF
    value = (dsb, dse, dsb if dsb >= dse else dse, initial, peak)[ref]
    return value - fixed - math.floor(frac * value + ROUND_HALF)


def max_loss_floor_one(mode: int, hwm: float, fixed: float, frac: float, cap: float,
                       previous: float) -> float:
    if mode < 0:
        return -INF
    floor = hwm - fixed - math.floor(frac * hwm + ROUND_HALF)
    if floor > cap:
        floor = cap
    return floor if floor > previous else previous


def floors_of(t: AccountTable, rows: npt.NDArray[np.int64]) -> None:
    """Recompute daily floor, max-loss floor, effective floor and peak threshold of rows."""
    ref = t.dl_ref[rows]
    dsb, dse = t.day_start_balance[rows], t.day_start_equity[rows]
    value = np.select(
        [ref == REF_DAY_START_BALANCE, ref == REF_DAY_START_EQUITY, ref == REF_DAY_START_MAX,
         ref == REF_INITIAL],
        [dsb, dse, np.maximum(dsb, dse), t.initial[rows]],
        t.day_peak[rows],
    )
    daily = value - t.dl_fixed[rows] - np.floor(t.dl_frac[rows] * value + ROUND_HALF)
    daily[ref < 0] = -INF
    t.daily_floor[rows] = daily

    mode, hwm = t.ml_mode[rows], t.hwm[rows]
    floor = hwm - t.ml_fixed[rows] - np.floor(t.ml_frac[rows] * hwm + ROUND_HALF)
    np.minimum(floor, t.ml_cap[rows], out=floor)
    np.maximum(floor, t.ml_floor[rows], out=floor)
    floor[mode < 0] = -INF
    t.ml_floor[rows] = floor
    thresholds_of(t, rows)


def thresholds_of(t: AccountTable, rows: npt.NDArray[np.int64]) -> None:
    """``floor_eff`` and ``track`` of rows from their floors, peaks and status."""
    status = t.status[rows]
    daily = np.where(status == ACTIVE, t.daily_floor[rows], -INF)
    live = status <= PAUSED
    t.floor_eff[rows] = np.where(live, np.maximum(daily, t.ml_floor[rows]), -INF)
    # A paused account's intraday peak moves too (its daily floor reports it).
    peak = np.where(t.dl_ref[rows] == REF_PEAK, t.day_peak[rows], INF)
    trailing = (t.ml_mode[rows] == ML_TRAILING_EQUITY) & (t.ml_floor[rows] < t.ml_cap[rows])
    hwm = np.where(trailing, t.hwm[rows], INF)
    t.track[rows] = np.where(live, np.minimum(peak, hwm), INF)


def thresholds_one(t: AccountTable, row: int) -> None:
    status = int(t.status[row])
    if status > PAUSED:
        t.floor_eff[row] = -INF
        t.track[row] = INF
        return
    ml_floor = float(t.ml_floor[row])
    daily = float(t.daily_floor[row]) if status == ACTIVE else -INF
    t.floor_eff[row] = daily if daily > ml_floor else ml_floor
    track = INF
    if t.dl_ref[row] == REF_PEAK:  # active or paused: the peak moves either way
        track = float(t.day_peak[row])
    if t.ml_mode[row] == ML_TRAILING_EQUITY and ml_floor < t.ml_cap[row]:
        track = min(track, float(t.hwm[row]))
    t.track[row] = track
