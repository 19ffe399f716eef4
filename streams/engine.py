"""The risk engine: feed events in, breaches, objectives and passes out (CONTRACTS.md).

Pure: no I/O, no clock, no Kafka or HTTP. ``proptrade replay`` and the stream workers
call the same :meth:`Engine.apply`, so a file and a live feed give the same answers.

Hot paths:
- a quote re-marks the blocks of positions it prices (``book``), adds the mark changes
  to the accounts' equity, and compares those accounts with their floors and peak
  thresholds in one vector step; only accounts that touched something go further;
- a deal is a scalar path: its position, its account's balance, floors, objectives;
- a trading-day rollover is one vector step over the accounts of a calendar.
Each event is evaluated on its own, so a floor touched by one quote and recovered by the
next is still a breach.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from streams import accounts as acc
from streams import breach, kernels
from streams.accounts import (
    ACTIVE,
    FAILED,
    INF,
    NO_DEADLINE,
    NO_TIME,
    PASSED,
    PAUSED,
    STATUS_NAMES,
    AccountTable,
    Rules,
    compile_rules,
)
from streams.book import Arena, Block, Position, mark_one, signed_qty100
from streams.breach import BreachPrice
from streams.events import (
    Account,
    Balance,
    Clock,
    Deal,
    Equity,
    Event,
    ProgramDefinition,
    Quote,
    Swap,
    Symbol,
    format_ts,
    to_micros,
)
from streams.money import MAX_HOLDING, MAX_HOLDING_CENTS, round_cents, to_cents, to_units
from streams.outputs import Breach, Objective, Output, Passed, Resumed, State
from streams.program import Program, ProgramError, parse_program
from streams.tradingday import TradingCalendar

VOLUME_EPSILON = 1e-9  # lots; volumes are decimal fractions summed in binary floating point
# Deal ids an account remembers beyond those of its latest instant. A redelivered deal
# carries its original time, so one older than the account's last event is refused as
# going back in time whether remembered or not; the ids of the latest instant are always
# kept, so no redelivery is ever applied. These few name the usual case (a bridge
# resending its last deals) for what it is, and catch one stamped anew while it is among
# them. 16 ids cost about 1.1 KB an account (a list of strings; a dict of them measured
# 2 KB); a closed account forgets them (its deals change nothing).
DEAL_MEMORY = 16
_HOLDING = f"{MAX_HOLDING:,.0f}"

Rows = npt.NDArray[np.int64]


class EngineError(Exception):
    """Root of the engine's errors."""


class FeedError(EngineError, ValueError):
    """An event that cannot be applied; the engine state is unchanged."""


@dataclass
class CalendarState:
    """A trading calendar shared by programs with the same timezone and start time."""

    calendar: TradingCalendar
    day: int = 0
    next_rollover: int = 0
    rows: list[int] = field(default_factory=list)
    _rows_array: Rows | None = None

    def rows_array(self) -> Rows:
        if self._rows_array is None or len(self._rows_array) != len(self.rows):
            self._rows_array = np.array(self.rows, dtype=np.int64)
        return self._rows_array


class Engine:
    """Risk state of many accounts; :meth:`apply` one event, get the outputs it causes."""

    def __init__(self, programs: Iterable[Program] = ()) -> None:
        self.rules: dict[str, Rules] = {}
        for program in programs:
            self.add_program(program)
        self.table = AccountTable()
        self.account_ids: list[str] = []
        self.rows: dict[str, int] = {}
        self.account_rules: list[Rules] = []
        self.account_currency: list[str] = []
        self.positions: list[dict[str, Position]] = []
        self.symbol_ids: dict[str, int] = {}
        self.symbols: list[Symbol] = []
        self.bid = np.zeros(64)
        self.ask = np.zeros(64)
        self.quoted = np.zeros(64, dtype=np.bool_)
        self.quote_ts = np.full(64, NO_TIME, dtype=np.int64)  # per symbol: its last quote
        # Per account, plain lists (read on every event of the account: a list item costs
        # a fifth of a numpy scalar): its last event's time (µs), its last deals' ids and
        # the time of the latest of them.
        self.last_ts: list[int] = []
        self.deal_ids: list[list[str] | None] = []
        self.deal_ts: list[int] = []
        self.book = Arena()
        self.blocks: dict[tuple[int, str], Block] = {}
        self.marked_by: list[list[Block]] = []  # per symbol: the blocks its quotes move
        self._by_symbol = np.zeros(1, dtype=np.int64)  # marked_by as CSR for the kernel
        self._block_ids = np.zeros(0, dtype=np.int64)
        self._marked_by_changed = True
        self.calendars: list[CalendarState] = []
        self.calendar_index: dict[tuple[str, str], int] = {}
        self.now: int | None = None
        self.next_deadline = int(NO_DEADLINE)
        self.marks = 0  # positions re-marked by quotes, for the benchmark
        self._touched = np.empty(0, dtype=np.int64)  # scratch of the quote kernel
        self._rising = np.empty(0, dtype=np.int64)
        self._handlers: dict[type, Callable[[Any, list[Output]], None]] = {
            Quote: self._on_quote,
            Deal: self._on_deal,
            Account: self._on_account,
            Balance: self._on_balance,
            Swap: self._on_swap,
            Equity: self._on_equity,
            Clock: self._on_clock,
            Symbol: self._on_symbol,
            ProgramDefinition: self._on_program,
        }

    # ------------------------------------------------------------------ public

    def add_program(self, program: Program) -> None:
        """Register (or replace, for accounts opened from now on) a program."""
        self.rules[program.id] = compile_rules(program)

    def apply(self, event: Event) -> list[Output]:
        """Apply one event; raises :class:`FeedError` (state unchanged) for a bad one."""
        out: list[Output] = []
        self._handlers[type(event)](event, out)
        return out

    def apply_many(self, events: Sequence[Event]) -> list[tuple[int, list[Output] | FeedError]]:
        """Apply events in order, as :meth:`apply` one by one would; returns, for each event
        that answered or was refused, its index and its outputs or its error.

        Runs of quotes go through the compiled pass a run at a time (``kernels.on_quotes``),
        which saves the Python cost of a quote (5 µs, a third of a quote's whole cost with
        100,000 accounts) — the answers are the same, event by event.
        """
        answers: list[tuple[int, list[Output] | FeedError]] = []
        index, total = 0, len(events)
        while index < total:
            event = events[index]
            if type(event) is Quote:
                index = self._quote_run(events, index, answers)
                continue
            try:
                outputs = self.apply(event)
            except FeedError as error:
                answers.append((index, error))
            else:
                if outputs:
                    answers.append((index, outputs))
            index += 1
        return answers

    def _quote_run(self, events: Sequence[Event], first: int,
                   answers: list[tuple[int, list[Output] | FeedError]]) -> int:
        """Apply the quotes from ``first`` on; returns the index of the first event left."""
        sids: list[int] = []
        bids: list[float] = []
        asks: list[float] = []
        stamps: list[int] = []
        end = first
        while end < len(events) and type(events[end]) is Quote:
            quote = events[end]
            assert isinstance(quote, Quote)
            sid = self.symbol_ids.get(quote.symbol)
            if sid is None or quote.ask < quote.bid:
                break  # refused on the ordinary path below, with its reason
            sids.append(sid)
            bids.append(quote.bid)
            asks.append(quote.ask)
            stamps.append(to_micros(quote.ts))
            end += 1
        if end == first:
            try:
                self.apply(events[first])
            except FeedError as error:
                answers.append((first, error))
            return first + 1
        run = (np.array(sids, dtype=np.int64), np.array(bids), np.array(asks),
               np.array(stamps, dtype=np.int64))
        book = self.book
        k, count = 0, end - first
        while k < count:
            boundary = min([self.next_deadline, *(c.next_rollover for c in self.calendars)])
            k, n_touched, marked, latest_ts, refused = kernels.on_quotes(
                *run, k, count, boundary, self.quote_ts, book.qty_max, book.open_max,
                MAX_HOLDING_CENTS, *self._kernel_args())
            self.marks += marked
            if latest_ts >= 0 and (self.now is None or latest_ts > self.now):
                self.now = latest_ts
            if n_touched:
                out: list[Output] = []
                self._report_touched(n_touched, stamps[k - 1], out)
                if out:
                    answers.append((first + k - 1, out))
            elif refused:
                quote = events[first + k]
                assert isinstance(quote, Quote)
                answers.append((first + k, self._backwards_quote(quote, sids[k])
                                if refused == kernels.REFUSED_BACKWARDS
                                else self._too_valuable(quote)))
                k += 1
            elif k < count:  # a rollover or a deadline falls due: the ordinary path
                try:
                    outputs = self.apply(events[first + k])
                except FeedError as error:  # its price may still be refused
                    answers.append((first + k, error))
                else:
                    if outputs:
                        answers.append((first + k, outputs))
                k += 1
        return end

    def apply_all(self, events: Iterable[Event]) -> list[Output]:
        out: list[Output] = []
        for event in events:
            out.extend(self.apply(event))
        return out

    def states(self) -> list[State]:
        """One state line per account, ordered by account id."""
        return [self.state(account) for account in sorted(self.rows)]

    def state(self, account: str) -> State:
        row = self.rows[account]
        t = self.table
        daily, max_loss = float(t.daily_floor[row]), float(t.ml_floor[row])
        return State(
            account=account,
            status=STATUS_NAMES[int(t.status[row])],
            balance=to_units(t.balance[row]),
            equity=to_units(t.equity[row]),
            daily_floor=None if daily == -INF else to_units(daily),
            max_loss_floor=None if max_loss == -INF else to_units(max_loss),
            trading_days=self._trading_days(row),
            open_positions=int(t.open_positions[row]),
        )

    def breach_prices(self, account: str) -> list[BreachPrice]:
        """For each symbol the account holds, the price at which its equity would touch
        its nearest floor, every other price held (:mod:`streams.breach`)."""
        return self.breach_prices_of([self.rows[account]])[0]

    def breach_prices_of(self, rows: Iterable[int]) -> list[list[BreachPrice]]:
        """:meth:`breach_prices` of many rows at once (the quotes read once)."""
        t = self.table
        bid, ask, quoted = self.bid.tolist(), self.ask.tolist(), self.quoted.tolist()
        names = [spec.symbol for spec in self.symbols]
        sizes = [spec.contract_size for spec in self.symbols]
        out: list[list[BreachPrice]] = []
        for row in rows:
            positions = self.positions[row]
            nearest = breach.nearest_floor(t.status.item(row), t.daily_floor.item(row),
                                           t.ml_floor.item(row)) if positions else None
            if nearest is None:
                out.append([])
                continue
            out.append(breach.breach_prices(
                positions.values(), t.equity.item(row), *nearest, bid, ask, quoted, names,
                sizes, self.marked_by.__getitem__))
        return out

    def trading_days_of(self, rows: Rows) -> npt.NDArray[np.int32]:
        """:meth:`_trading_days` of many rows, as one vector step."""
        t = self.table
        profit = t.day_profit[rows]
        today = np.where(t.count_profitable[rows],
                         (profit >= t.min_day_profit[rows]) & (profit > 0),
                         t.opened_today[rows])
        return (t.days_closed[rows] + today).astype(np.int32)

    # ------------------------------------------------------------------ time

    def _advance(self, ts: int, out: list[Output]) -> None:
        """Move event time forward (never back) and run what falls due. An account whose
        rollover and inactivity deadline the same event reveals gets both lines."""
        if self.now is not None and ts <= self.now:
            return
        self.now = ts
        t = self.table
        # Closed accounts have no deadline, so these were live when the event came.
        due = np.flatnonzero(t.deadline[: t.n] <= ts) if ts >= self.next_deadline else None
        for state in self.calendars:
            if ts >= state.next_rollover:
                self._rollover(state, ts, out)
        if due is not None:
            self._inactivity(due, ts, out)

    def _rollover(self, state: CalendarState, ts: int, out: list[Output]) -> None:
        """Start a new trading day for every live account of a calendar (one vector step)."""
        state.day = state.calendar.day_of(ts)
        state.next_rollover = state.calendar.rollover_at(state.day + 1)
        if not state.rows:
            return
        t = self.table
        rows = state.rows_array()
        rows = rows[t.status[rows] <= PAUSED]
        if len(rows) == 0:
            return
        day_profit = t.day_profit[rows]
        qualified = np.where(
            t.count_profitable[rows],
            (day_profit >= t.min_day_profit[rows]) & (day_profit > 0),
            t.opened_today[rows],
        )
        t.days_closed[rows] += qualified.astype(np.int32)
        t.best_day[rows] = np.maximum(t.best_day[rows], t.day_profit[rows])
        t.day_profit[rows] = 0.0
        t.opened_today[rows] = False
        balance, equity = t.balance[rows], t.equity[rows]
        t.day_start_balance[rows] = balance
        t.day_start_equity[rows] = equity
        t.day_peak[rows] = equity
        eod = rows[t.ml_mode[rows] == acc.ML_TRAILING_EOD]
        t.hwm[eod] = np.maximum(t.hwm[eod], t.balance[eod])
        paused = rows[t.status[rows] == PAUSED]
        if len(paused):
            t.status[paused] = ACTIVE
            stamp = format_ts(ts)
            for row in self._by_account(paused):
                out.append(Resumed(account=self.account_ids[row], ts=stamp))
        acc.floors_of(t, rows)
        touched = rows[t.equity[rows] <= t.floor_eff[rows]]
        for row in self._by_account(touched):
            self._check_floors(row, ts, out)

    def _inactivity(self, due: Rows, ts: int, out: list[Output]) -> None:
        """Fail the accounts whose deadline ``ts`` passed; one a rollover of this very event
        failed already still gets its line (each rule breached on one event does)."""
        t = self.table
        for row in self._by_account(due):
            out.append(self._breach(row, "inactivity", ts, None))
            if t.status[row] <= PAUSED:
                self._close(row, FAILED)
        self.next_deadline = int(t.deadline[: t.n].min()) if t.n else int(NO_DEADLINE)

    # ------------------------------------------------------------------ market

    def _on_program(self, event: ProgramDefinition, out: list[Output]) -> None:
        try:
            program = parse_program(event.document)
        except ProgramError as error:
            path = f"document.{error.field}" if error.field else "document"
            raise FeedError(f"{path}: {error.reason}") from None
        self.add_program(program)

    def _on_symbol(self, event: Symbol, out: list[Output]) -> None:
        sid = self.symbol_ids.get(event.symbol)
        if sid is not None:
            if self.symbols[sid] != event:
                raise FeedError(f"symbol {event.symbol!r} is already defined differently")
            return
        sid = len(self.symbols)
        self.symbol_ids[event.symbol] = sid
        self.symbols.append(event)
        if sid == len(self.bid):
            self.bid = np.resize(self.bid, sid * 2)
            self.ask = np.resize(self.ask, sid * 2)
            self.quoted = np.resize(self.quoted, sid * 2)
            self.quote_ts = np.resize(self.quote_ts, sid * 2)
        self.bid[sid] = self.ask[sid] = 0.0
        self.quoted[sid] = False
        self.quote_ts[sid] = NO_TIME
        self.marked_by.append([])
        self._marked_by_changed = True
        for block in self.blocks.values():
            if block.conv_sid == -2:
                self._resolve_conversion(block)

    def _on_quote(self, event: Quote, out: list[Output]) -> None:
        sid = self._symbol(event.symbol)
        if event.ask < event.bid:
            raise FeedError(f"ask {event.ask} is below bid {event.bid}")
        ts = to_micros(event.ts)
        if ts < self.quote_ts.item(sid):
            raise self._backwards_quote(event, sid)
        book, args = self.book, self._kernel_args()
        bounds = (*args[:5], book.n, book.sid, book.conv_sid, book.conv_invert, book.qty_max,
                  book.open_max, MAX_HOLDING_CENTS)
        if not kernels.quote_fits(sid, event.bid, event.ask, *bounds):
            raise self._too_valuable(event)
        self._advance(ts, out)
        self.bid[sid], self.ask[sid], self.quoted[sid] = event.bid, event.ask, True
        self.quote_ts[sid] = ts
        n_touched, marked = kernels.on_quote(sid, *args)
        self.marks += marked
        self._report_touched(n_touched, ts, out)

    def _kernel_args(self) -> tuple[Any, ...]:
        """The book and account columns the quote kernels take, after ``sid``."""
        if self._marked_by_changed:
            self._index_marked_by()
        book, t = self.book, self.table
        if len(self._touched) < book.top:
            self._touched = np.empty(len(book.marks), dtype=np.int64)
            self._rising = np.empty(len(book.marks), dtype=np.int64)
        peaks = (t.status, t.dl_ref, t.day_peak, t.dl_fixed, t.dl_frac, t.daily_floor,
                 t.ml_mode, t.hwm, t.ml_fixed, t.ml_frac, t.ml_cap, t.ml_floor)
        return (self.bid, self.ask, self.quoted, self._by_symbol, self._block_ids, book.start,
                book.n, book.sid, book.conv_sid, book.conv_invert, book.coef, book.marks,
                book.account, t.hot, self._touched, self._rising, peaks)

    def _backwards_quote(self, quote: Quote, sid: int) -> FeedError:
        return FeedError(f"ts {format_ts(to_micros(quote.ts))} is before the last quote of "
                         f"{quote.symbol} ({format_ts(self.quote_ts.item(sid))}): a symbol's "
                         "quotes may not go back in time")

    @staticmethod
    def _too_valuable(quote: Quote) -> FeedError:
        return FeedError(f"quote {quote.bid:g}/{quote.ask:g} on {quote.symbol} would value an "
                         f"open position beyond {_HOLDING} (volume × contract size × price), "
                         "the range the engine's cents arithmetic holds exactly")

    def _report_touched(self, n_touched: int, ts: int, out: list[Output]) -> None:
        """Breach lines for the accounts the kernel found on a floor (in account order)."""
        if n_touched:
            for row in self._by_account(set(self._touched[:n_touched].tolist())):
                self._check_floors(row, ts, out)

    def _index_marked_by(self) -> None:
        """``marked_by`` as compressed rows (offsets per symbol, block ids) for the kernel."""
        counts = [len(blocks) for blocks in self.marked_by]
        self._by_symbol = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        self._block_ids = np.array([b.id for blocks in self.marked_by for b in blocks],
                                   dtype=np.int64)
        self._marked_by_changed = False

    def _on_clock(self, event: Clock, out: list[Output]) -> None:
        self._advance(to_micros(event.ts), out)

    # ------------------------------------------------------------------ accounts

    def _on_account(self, event: Account, out: list[Output]) -> None:
        if event.account in self.rows:
            raise FeedError(f"account {event.account!r} is already open")
        rules = self.rules.get(event.program)
        if rules is None:
            raise FeedError(f"unknown program {event.program!r}")
        ts = to_micros(event.ts)
        self._advance(ts, out)
        calendar = self._calendar(rules.program)
        row = self.table.append()
        balance = rules.initial if event.balance is None else float(to_cents(event.balance))
        deadline = int(NO_DEADLINE)
        if rules.inactivity_us:
            deadline = max(ts, self.now or ts) + rules.inactivity_us
            self.next_deadline = min(self.next_deadline, deadline)
        self.table.open(row, rules, calendar, balance, deadline)
        self.account_ids.append(event.account)
        self.rows[event.account] = row
        self.account_rules.append(rules)
        self.account_currency.append(event.currency or rules.program.currency)
        self.positions.append({})
        self.last_ts.append(ts)
        self.deal_ids.append(None)
        self.deal_ts.append(NO_TIME)
        self.calendars[calendar].rows.append(row)
        # Objectives hold or not whatever event made them: an account opened at or above
        # its target (with nothing else to meet) passes at its opening.
        if not self._settle(row, ts, out):
            self._check_objectives(row, ts, out)

    def _on_deal(self, event: Deal, out: list[Output]) -> None:
        row = self._account(event.account)
        sid = self._symbol(event.symbol)
        t = self.table
        deal = str(event.deal)
        remembered = self.deal_ids[row]
        if remembered is not None and deal in remembered:
            raise FeedError(f"deal {event.deal!r} of account {event.account!r} was already "
                            "applied: a deal counts once (a redelivery is ignored)")
        ts = to_micros(event.ts)
        if ts < self.last_ts[row]:
            raise self._backwards(row, ts)
        if t.status[row] > PAUSED:
            self._closed_account_event(row, ts, out)
            return  # a failed or passed account stays as it is
        key = str(event.position)
        position = self.positions[row].get(key)
        is_buy = event.side == "buy"
        if event.entry == "in":
            if position is not None:
                self._same_position(position, sid, event)
                if position.is_buy != is_buy:
                    raise FeedError(
                        f"position {key!r} is a {'buy' if position.is_buy else 'sell'}; "
                        f"an 'in' deal cannot add a {event.side} to it"
                    )
        else:
            if position is None:
                raise FeedError(f"position {key!r} of account {event.account!r} is not open")
            self._same_position(position, sid, event)
            if position.is_buy == is_buy:
                raise FeedError(
                    f"an 'out' deal closes with the opposite side; position {key!r} is a "
                    f"{event.side} too"
                )
            if event.volume > position.volume + VOLUME_EPSILON:
                raise FeedError(
                    f"deal closes {event.volume:g} lots but position {key!r} has "
                    f"{position.volume:g} open"
                )
        block = self._block(sid, row)
        rate = self._rate(block)
        # The position's value may not go beyond what the cents arithmetic holds exactly:
        # (volume × contract size × 100) × (the higher of the deal's price and the ask,
        # never below the bid) plus the open price's term, converted; what the quote pass
        # checks too (kernels.quote_fits).
        if position is None:
            volume, open_price = event.volume, event.price
        elif event.entry == "in":
            volume = position.volume + event.volume
            open_price = (position.open_price * position.volume
                          + event.price * event.volume) / volume
        else:
            volume, open_price = event.volume, position.open_price
        qty = volume * self.symbols[sid].contract_size * 100.0
        value = qty * (max(event.price, self.ask.item(sid)) + open_price)
        if not value * (1.0 if rate is None else rate) <= MAX_HOLDING_CENTS:
            raise self._too_valuable_deal(event, value * (1.0 if rate is None else rate))
        profit = 0
        if event.profit is not None:
            profit = to_cents(event.profit)
        elif event.entry == "out":
            if rate is None:
                raise FeedError(
                    f"cannot compute the profit of deal {event.deal!r}: no quote yet converts "
                    f"{self.symbols[sid].profit_currency} to {self.account_currency[row]}; "
                    "give 'profit'"
                )
            assert position is not None
            qty = signed_qty100(position.is_buy, event.volume, self.symbols[sid].contract_size)
            profit = int(mark_one(position.is_buy, position.open_price, qty, event.price,
                                  event.price, rate))
        money = profit + self._cents(event.commission) + self._cents(event.fee)
        accrued = 0
        if event.entry == "in":
            money += self._cents(event.swap)
        else:
            assert position is not None
            realised, accrued = self._realised_swap(position, event)
            money += realised
        if not abs(t.balance.item(row) + money) <= MAX_HOLDING_CENTS:
            raise self._too_rich(row, money, event)

        self._advance(ts, out)
        self.last_ts[row] = ts
        if t.status[row] > PAUSED:  # failed by a rollover or inactivity this very event
            return
        # Remember its id: the last DEAL_MEMORY of the account, and all of its latest
        # instant (see DEAL_MEMORY).
        if remembered is None:
            remembered = self.deal_ids[row] = []
        if ts > self.deal_ts[row]:
            # A new instant: the ids remembered so far are all older than it, so all but
            # the last few may go. Within one instant none goes.
            self.deal_ts[row] = ts
            if len(remembered) >= DEAL_MEMORY:
                del remembered[:len(remembered) - DEAL_MEMORY + 1]
        remembered.append(deal)
        equity_change = -float(t.offset[row])
        t.offset[row] = 0.0
        if event.entry == "in":
            equity_change += self._open_or_add(row, block, position, key, event, rate, ts)
            t.open_volume[row] += event.volume
        else:
            assert position is not None
            change = self._reduce(row, block, position, event, rate, accrued)
            equity_change += change
            t.open_volume[row] = max(0.0, float(t.open_volume[row]) - event.volume)
        t.balance[row] += money
        t.equity[row] += equity_change + money
        t.day_profit[row] += money
        t.total_profit[row] += money
        # Every rule the deal breaks gets its line: a floor and the exposure limit both.
        failed = self._settle(row, ts, out)
        if self._check_exposure(row, ts, out) or failed:
            return
        self._check_objectives(row, ts, out)

    def _in_order(self, row: int, ts: int) -> None:
        """Refuse an event of an account older than the account's last event."""
        if ts < self.last_ts[row]:
            raise self._backwards(row, ts)

    def _backwards(self, row: int, ts: int) -> FeedError:
        last = self.last_ts[row]
        return FeedError(f"ts {format_ts(ts)} is before the last event of account "
                         f"{self.account_ids[row]!r} ({format_ts(last)}): an account's "
                         "events may not go back in time")

    def _closed_account_event(self, row: int, ts: int, out: list[Output]) -> None:
        """An event of a failed or passed account changes nothing of it, but its time is
        event time: it reveals the other accounts' rollovers and deadlines."""
        self._advance(ts, out)
        self.last_ts[row] = ts

    @staticmethod
    def _too_valuable_deal(event: Deal, cents: float) -> FeedError:
        return FeedError(f"deal {event.deal!r} would make position {str(event.position)!r} "
                         f"worth {cents / 100:.4g} (volume × contract size × price), beyond "
                         f"{_HOLDING}, the range the engine's cents arithmetic holds exactly")

    def _too_rich(self, row: int, change: float, event: Deal | Balance) -> FeedError:
        """A deal or balance operation that would take the balance beyond the range the
        cents arithmetic holds exactly."""
        balance = self.table.balance.item(row) + change
        what = (f"deal {event.deal!r}" if isinstance(event, Deal)
                else f"{event.kind} of {event.amount:g}")
        return FeedError(f"{what} would take the balance of account "
                         f"{self.account_ids[row]!r} to {balance / 100:.4g}, beyond "
                         f"±{_HOLDING}, the range the engine's cents arithmetic holds "
                         "exactly")

    def _open_or_add(self, row: int, block: Block, position: Position | None, key: str,
                     event: Deal, rate: float | None, ts: int) -> float:
        """Open a position or add to it; returns the change of its mark (cents)."""
        t = self.table
        contract_size = self.symbols[block.sid].contract_size
        if position is None:
            position = Position(key, row, block.sid, event.side == "buy", event.volume,
                                event.price)
            qty = signed_qty100(position.is_buy, position.volume, contract_size)
            mark = self._mark(block, position.is_buy, position.open_price, qty, rate)
            block.add(position, qty, mark)
            self.positions[row][key] = position
            t.open_positions[row] += 1
            t.opened_today[row] = True
            rules = self.account_rules[row]
            if rules.inactivity_us:
                t.deadline[row] = ts + rules.inactivity_us
            return mark
        volume = position.volume + event.volume
        position.open_price = (
            position.open_price * position.volume + event.price * event.volume
        ) / volume
        position.volume = volume
        qty = signed_qty100(position.is_buy, volume, contract_size)
        mark = self._mark(block, position.is_buy, position.open_price, qty, rate)
        return mark - block.set_row(position, qty, mark)

    @staticmethod
    def _realised_swap(position: Position, event: Deal) -> tuple[int, int]:
        """(realised, accrued) swap of a closing deal, in cents: the accrued swap of the
        share closed, unless the deal gives ``swap``, which is then the realised amount."""
        remaining = position.volume - event.volume
        share = min(1.0, event.volume / position.volume)
        accrued = position.swap if remaining <= VOLUME_EPSILON else round_cents(
            position.swap * share)
        return (accrued if event.swap is None else to_cents(event.swap)), accrued

    def _reduce(self, row: int, block: Block, position: Position, event: Deal,
                rate: float | None, accrued: int) -> float:
        """Close part or all of a position, whose ``accrued`` swap (cents) is realised;
        returns the equity change of marks and swaps (the realised swap is part of the
        deal's money)."""
        remaining = position.volume - event.volume
        position.swap -= accrued
        change = -float(accrued)
        if remaining <= VOLUME_EPSILON:
            change -= block.remove(position)
            del self.positions[row][position.key]
            self.table.open_positions[row] -= 1
        else:
            position.volume = remaining
            qty = signed_qty100(position.is_buy, remaining,
                                self.symbols[block.sid].contract_size)
            mark = self._mark(block, position.is_buy, position.open_price, qty, rate)
            change += mark - block.set_row(position, qty, mark)
        return change

    def _on_balance(self, event: Balance, out: list[Output]) -> None:
        row = self._account(event.account)
        ts = to_micros(event.ts)
        self._in_order(row, ts)
        t = self.table
        if t.status[row] > PAUSED:
            self._closed_account_event(row, ts, out)
            return
        amount = to_cents(event.amount)
        if not abs(t.balance.item(row) + amount) <= MAX_HOLDING_CENTS:
            raise self._too_rich(row, amount, event)
        self._advance(ts, out)
        self.last_ts[row] = ts
        if t.status[row] > PAUSED:
            return
        t.equity[row] += amount - t.offset[row]
        t.offset[row] = 0.0
        t.balance[row] += amount
        if not self._settle(row, ts, out):
            self._check_objectives(row, ts, out)

    def _on_swap(self, event: Swap, out: list[Output]) -> None:
        row = self._account(event.account)
        ts = to_micros(event.ts)
        self._in_order(row, ts)
        t = self.table
        if t.status[row] > PAUSED:
            self._closed_account_event(row, ts, out)
            return
        position = self.positions[row].get(str(event.position))
        if position is None:
            raise FeedError(f"position {str(event.position)!r} of account "
                            f"{event.account!r} is not open")
        amount = to_cents(event.amount)
        if not abs(position.swap + amount) <= MAX_HOLDING_CENTS:
            raise FeedError(f"swap would accrue beyond ±{_HOLDING} on position "
                            f"{position.key!r}, the range the engine's cents arithmetic "
                            "holds exactly")
        self._advance(ts, out)
        self.last_ts[row] = ts
        if t.status[row] > PAUSED:
            return
        position.swap += amount
        t.equity[row] += amount - t.offset[row]
        t.offset[row] = 0.0
        self._settle(row, ts, out)

    def _on_equity(self, event: Equity, out: list[Output]) -> None:
        """Broker-reported equity: the truth for that instant; the gap to our own marks
        stays until the account's next event (deal, balance, swap) re-bases it."""
        row = self._account(event.account)
        ts = to_micros(event.ts)
        self._in_order(row, ts)
        t = self.table
        if t.status[row] > PAUSED:
            self._closed_account_event(row, ts, out)
            return
        self._advance(ts, out)
        self.last_ts[row] = ts
        if t.status[row] > PAUSED:
            return
        ours = float(t.equity[row] - t.offset[row])
        if event.balance is not None:
            balance = float(to_cents(event.balance))
            ours += balance - float(t.balance[row])
            t.balance[row] = balance
        reported = float(to_cents(event.equity))
        t.offset[row] = reported - ours
        t.equity[row] = reported
        if not self._settle(row, ts, out) and event.balance is not None:
            self._check_objectives(row, ts, out)

    # ------------------------------------------------------------------ rules

    def _settle(self, row: int, ts: int, out: list[Output]) -> bool:
        """After an account event: move peaks, recompute floors, check them. True if failed.

        The same arithmetic as :func:`accounts.daily_floor_one`, ``max_loss_floor_one`` and
        ``thresholds_one``, on Python floats read with ``item`` (a numpy scalar costs about
        twice as much to read and compare): this runs once per deal."""
        t = self.table
        equity = t.equity.item(row)
        peak = t.day_peak.item(row)
        if equity > peak:
            t.day_peak[row] = peak = equity
        mode = t.ml_mode.item(row)
        hwm = t.hwm.item(row)
        if mode == acc.ML_TRAILING_EQUITY and equity > hwm:
            t.hwm[row] = hwm = equity
        elif mode == acc.ML_TRAILING_BALANCE:
            balance = t.balance.item(row)
            if balance > hwm:
                t.hwm[row] = hwm = balance
        ref = t.dl_ref.item(row)
        daily = acc.daily_floor_one(
            ref, t.day_start_balance.item(row), t.day_start_equity.item(row), peak,
            t.initial.item(row), t.dl_fixed.item(row), t.dl_frac.item(row))
        cap = t.ml_cap.item(row)
        ml_floor = acc.max_loss_floor_one(mode, hwm, t.ml_fixed.item(row),
                                          t.ml_frac.item(row), cap, t.ml_floor.item(row))
        t.daily_floor[row] = daily
        t.ml_floor[row] = ml_floor
        status = t.status.item(row)
        if status > PAUSED:
            t.floor_eff[row] = -acc.INF
            t.track[row] = acc.INF
            return False
        if status != ACTIVE:
            daily = -acc.INF
        floor = daily if daily > ml_floor else ml_floor
        t.floor_eff[row] = floor
        track = peak if ref == acc.REF_PEAK else acc.INF
        if mode == acc.ML_TRAILING_EQUITY and ml_floor < cap and hwm < track:
            track = hwm
        t.track[row] = track
        if equity <= floor:
            return self._check_floors(row, ts, out)
        return False

    def _check_floors(self, row: int, ts: int, out: list[Output]) -> bool:
        """Emit the floor breaches of a row whose floors are current. True if it failed."""
        t = self.table
        status = int(t.status[row])
        if status > PAUSED:
            return status == FAILED
        equity = float(t.equity[row])
        pause = fail = False
        if status == ACTIVE and equity <= t.daily_floor[row]:
            pause = bool(t.dl_pause[row])
            fail = not pause
            out.append(self._breach(row, "daily_loss", ts, float(t.daily_floor[row]),
                                    "pause" if pause else "fail"))
        if equity <= t.ml_floor[row]:
            fail = True
            out.append(self._breach(row, "max_loss", ts, float(t.ml_floor[row])))
        if fail:
            self._close(row, FAILED)
        elif pause:
            t.status[row] = PAUSED
            acc.thresholds_one(t, row)
        return fail

    def _check_exposure(self, row: int, ts: int, out: list[Output]) -> bool:
        t = self.table
        rules = self.account_rules[row]
        volume = float(t.open_volume[row])
        if volume <= rules.max_lots + VOLUME_EPSILON:
            t.exposure_warned[row] = False
            return False
        if rules.exposure_warns:
            if not t.exposure_warned[row]:
                t.exposure_warned[row] = True
                out.append(self._breach(row, "max_exposure", ts, None, "warn", volume,
                                        rules.max_lots))
            return False
        out.append(self._breach(row, "max_exposure", ts, None, "fail", volume, rules.max_lots))
        if t.status[row] <= PAUSED:  # not already failed by a floor on the same deal
            self._close(row, FAILED)
        return True

    def _check_objectives(self, row: int, ts: int, out: list[Output]) -> None:
        rules = self.account_rules[row]
        if not rules.objectives:
            return
        t = self.table
        met = 0
        if (rules.objectives & acc.OBJ_PROFIT_TARGET and t.open_positions[row] == 0
                and t.balance[row] >= rules.target):
            met |= acc.OBJ_PROFIT_TARGET
        if rules.objectives & acc.OBJ_MIN_DAYS and self._trading_days(row) >= rules.min_days:
            met |= acc.OBJ_MIN_DAYS
        if rules.objectives & acc.OBJ_CONSISTENCY:
            total = float(t.total_profit[row])
            best = max(float(t.best_day[row]), float(t.day_profit[row]))
            if total > 0 and best <= round_cents(rules.consistency_share * total):
                met |= acc.OBJ_CONSISTENCY
        before = int(t.met[row])
        t.met[row] = met
        for bit, name in acc.OBJECTIVE_NAMES:
            if met & bit and not before & bit:
                out.append(Objective(account=self.account_ids[row], objective=name,
                                     ts=format_ts(ts)))
        others = rules.objectives & ~acc.OBJ_CONSISTENCY
        if (rules.consistency_fails and rules.objectives & acc.OBJ_PROFIT_TARGET
                and not met & acc.OBJ_CONSISTENCY and met & others == others):
            out.append(self._breach(row, "consistency", ts, None))
            self._close(row, FAILED)
            return
        if rules.objectives & acc.OBJ_PROFIT_TARGET and met == rules.objectives:
            out.append(Passed(account=self.account_ids[row], ts=format_ts(ts)))
            self._close(row, PASSED)

    def _trading_days(self, row: int) -> int:
        t = self.table
        if t.count_profitable[row]:
            today = t.day_profit[row] >= t.min_day_profit[row] and t.day_profit[row] > 0
        else:
            today = bool(t.opened_today[row])
        return int(t.days_closed[row]) + int(today)

    def _breach(self, row: int, rule: str, ts: int, floor: float | None,
                action: str = "fail", lots: float | None = None,
                max_lots: float | None = None) -> Breach:
        return Breach(
            account=self.account_ids[row], rule=rule, ts=format_ts(ts),
            equity=to_units(self.table.equity[row]),
            floor=None if floor is None else to_units(floor), action=action,
            lots=lots, max_lots=max_lots,
        )

    def _close(self, row: int, status: int) -> None:
        """Fail or pass an account: freeze its numbers, drop its positions from the book."""
        t = self.table
        t.status[row] = status
        for position in self.positions[row].values():
            if position.block is not None:
                position.block.remove(position)
        t.deadline[row] = NO_DEADLINE
        self.deal_ids[row] = None  # its deals change nothing from now on
        acc.thresholds_one(t, row)

    # ------------------------------------------------------------------ helpers

    def _account(self, account: str) -> int:
        row = self.rows.get(account)
        if row is None:
            raise FeedError(f"unknown account {account!r}")
        return row

    def _symbol(self, symbol: str) -> int:
        sid = self.symbol_ids.get(symbol)
        if sid is None:
            raise FeedError(f"unknown symbol {symbol!r} (no symbol event defines it)")
        return sid

    def _same_position(self, position: Position, sid: int, event: Deal) -> None:
        if position.sid != sid:
            held = self.symbols[position.sid].symbol
            raise FeedError(f"position {position.key!r} is on {held}, not {event.symbol}")

    @staticmethod
    def _cents(amount: float | None) -> int:
        return 0 if amount is None else to_cents(amount)

    def _by_account(self, rows: Iterable[Any]) -> list[int]:
        """Rows in account-id order, so outputs of one event do not depend on row order."""
        return sorted((int(row) for row in rows), key=self.account_ids.__getitem__)

    def _calendar(self, program: Program) -> int:
        key = (program.timezone, program.starts_at)
        index = self.calendar_index.get(key)
        if index is None:
            calendar = TradingCalendar(*key)
            now = self.now if self.now is not None else 0
            day = calendar.day_of(now)
            state = CalendarState(calendar, day, calendar.rollover_at(day + 1))
            index = len(self.calendars)
            self.calendars.append(state)
            self.calendar_index[key] = index
        return index

    def _block(self, sid: int, row: int) -> Block:
        currency = self.account_currency[row]
        block = self.blocks.get((sid, currency))
        if block is None:
            block = self.book.new_block(sid, currency)
            self.blocks[(sid, currency)] = block
            self.marked_by[sid].append(block)
            self._marked_by_changed = True
            self._resolve_conversion(block)
        return block

    def _resolve_conversion(self, block: Block) -> None:
        """Find the pair joining the block's profit currency and account currency."""
        profit = self.symbols[block.sid].profit_currency
        if profit == block.currency:
            block.set_conversion(-1, False)
            return
        block.set_conversion(-2, False)  # unresolved until a joining pair is defined
        for sid, spec in enumerate(self.symbols):
            base = spec.base_currency or _base_currency(spec)
            pair = (base, spec.profit_currency)
            if pair in ((profit, block.currency), (block.currency, profit)):
                block.set_conversion(sid, pair[0] == block.currency)
                if block not in self.marked_by[sid]:
                    self.marked_by[sid].append(block)
                    self._marked_by_changed = True
                return

    def _rate(self, block: Block) -> float | None:
        """Profit currency → account currency at the pair's mid; None while unknown."""
        sid = block.conv_sid
        if sid == -1:
            return 1.0
        if sid == -2 or not self.quoted[sid]:
            return None
        mid = (float(self.bid[sid]) + float(self.ask[sid])) / 2.0
        return 1.0 / mid if block.conv_invert else mid

    def _mark(self, block: Block, is_buy: bool, open_price: float, qty100: float,
              rate: float | None) -> float:
        sid = block.sid
        if rate is None or not self.quoted[sid]:
            return 0.0
        return mark_one(is_buy, open_price, qty100, float(self.bid[sid]), float(self.ask[sid]),
                        rate)


def _base_currency(spec: Symbol) -> str | None:
    head = spec.symbol[:3].upper()
    if len(head) == 3 and head.isalpha() and head != spec.profit_currency:
        return head
    return None
