"""Feed events, engine answers and live numbers as rows of the history store.

One conversion for every writer: the sink (from Kafka), ``proptrade import`` and
``proptrade report-stats`` (from a broker's report) all fill a :class:`Recorder` and flush
it, so a deal recorded from the stream and the same deal imported from a file are the same
row. Rows are buffered column by column (``Store.insert`` takes columns): a row costs a
few list appends, which is what lets the sink reach hundreds of thousands of rows a second.

Event ids (the deduplication key of every table): a deal is keyed by its deal ticket (unique
within its account at the broker, so a redelivered deal — or the same deal imported again
— is one row); every other feed event by ``<source>:<seq>``, the producer's name and its
number for the event; an engine answer by its stable answer id.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
import numpy as np

from storage.clickhouse import Store
from streams.accounts import STATUS_NAMES
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
    to_micros,
)
from streams.outputs import Breach, Objective, Output, Passed, Resumed
from streams.wire import Answer, MetricsBatch

__all__ = ["TABLES", "PositionBook", "Recorder", "insert_tables", "record_events"]

TABLES: dict[str, tuple[str, ...]] = {
    "accounts": ("tenant", "account", "program", "opened_at", "initial_balance", "currency",
                 "seq", "event_id"),
    "programs": ("program", "document", "seq", "event_id"),
    "symbols": ("symbol", "contract_size", "profit_currency", "base_currency", "seq",
                "event_id"),
    "deals": ("tenant", "account", "ts", "deal", "position", "symbol", "side", "entry",
              "volume", "price", "profit", "commission", "swap", "fee", "has_profit", "seq",
              "event_id"),
    "balance_operations": ("tenant", "account", "ts", "amount", "kind", "seq", "event_id"),
    "account_events": ("tenant", "account", "ts", "type", "body", "seq", "event_id"),
    "quotes": ("ts", "symbol", "bid", "ask", "seq"),
    "equity": ("tenant", "account", "ts", "status", "balance", "equity", "daily_floor",
               "max_loss_floor", "open_positions"),
    "risk_events": ("tenant", "account", "ts", "type", "rule", "action", "equity", "floor",
                    "body", "event_id"),
    "positions": ("tenant", "account", "position", "symbol", "side", "lots", "open_price",
                  "opened_at", "updated_at", "seq"),
}

# Volumes below this are float residue of a closed position (lots have 2 decimals).
_CLOSED_LOTS = 1e-9


class PositionBook:
    """Every open position's state, kept from the deals as they are recorded, written to
    the ``positions`` table at each flush for the positions that changed.

    A deal applies once: the book remembers, per account, the highest ``seq`` applied, and
    a deal at or below it (a redelivery after a restart) is skipped. The state survives a
    restart through the table itself (:meth:`load`). Closed positions leave memory once
    written (their row says 0 lots)."""

    def __init__(self) -> None:
        # (tenant, account, position) -> [symbol, side, lots, open_price, opened, updated, seq]
        self.open: dict[tuple[int, str, str], list[Any]] = {}
        self.applied: dict[tuple[int, str], int] = {}
        self.touched: set[tuple[int, str, str]] = set()

    def apply(self, tenant: int, deal: Deal, ts: int, seq: int) -> None:
        if seq <= self.applied.get((tenant, deal.account), -1):
            return
        self.applied[tenant, deal.account] = seq
        key = (tenant, deal.account, str(deal.position))
        state = self.open.get(key)
        if deal.entry == "in":
            if state is None or state[2] <= _CLOSED_LOTS:
                self.open[key] = [deal.symbol, deal.side, deal.volume, deal.price, ts, ts, seq]
            else:
                lots = state[2] + deal.volume
                state[3] = (state[3] * state[2] + deal.price * deal.volume) / lots
                state[2], state[5], state[6] = lots, ts, seq
        elif state is not None:
            state[2] = max(0.0, state[2] - deal.volume)
            state[5], state[6] = ts, seq
        else:
            return  # closes a position opened before the recording began
        self.touched.add(key)

    def write(self, columns: dict[str, list[Any]]) -> int:
        """The changed positions as rows of ``positions``; forgets the closed ones."""
        for key in self.touched:
            state = self.open[key]
            values = (*key, state[0], state[1], state[2], state[3], state[4], state[5],
                      state[6])
            for column, value in zip(columns.values(), values, strict=True):
                column.append(value)
            if state[2] <= _CLOSED_LOTS:
                del self.open[key]
        count = len(self.touched)
        self.touched.clear()
        return count

    def load(self, store: Store) -> None:
        """The open positions and the last deal applied per account, from the table."""
        for tenant, account, seq in store.query(
                "SELECT tenant, account, max(seq) FROM positions GROUP BY tenant, account").rows:
            self.applied[int(tenant), account] = int(seq)
        for (tenant, account, position, symbol, side, lots, price, opened, updated,
             seq) in store.query(
                "SELECT tenant, account, position, symbol, toString(side), lots, open_price,"
                " toUnixTimestamp64Micro(opened_at), toUnixTimestamp64Micro(updated_at), seq"
                " FROM positions FINAL WHERE lots > {closed:Float64}",
                {"closed": _CLOSED_LOTS}).rows:
            self.open[int(tenant), account, position] = [symbol, side, lots, price, opened,
                                                         updated, int(seq)]

_json = msgspec.json.Encoder()
_STATUS_ARRAY = np.array(STATUS_NAMES, dtype=object)
_NAN = math.nan


# Decimal(18, 2) holds up to 9.2e16; a feed amount beyond a trillion is a broken value.
_MONEY_LIMIT = 1e12


def _money(value: float | None, name: str = "amount") -> float:
    """A money value the store can hold exactly; ValueError (naming it) otherwise."""
    if value is None:
        return 0.0
    if not math.isfinite(value) or abs(value) >= _MONEY_LIMIT:
        raise ValueError(f"{name}: {value!r} is not a storable amount of money")
    return value


def _ts(text: str) -> int:
    return to_micros(datetime.fromisoformat(text))


class Recorder:
    """Rows waiting for one insert per table; :meth:`flush` writes and empties them."""

    def __init__(self) -> None:
        # Rows wait as tuples and become columns at flush (one zip in C), which costs a
        # third of appending each value to its column as it comes (1.1 µs a deal vs 3.1).
        self.pending: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
        self.columns: dict[str, dict[str, list[Any]]] = {
            table: {name: [] for name in names} for table, names in TABLES.items()}
        self.rows = 0
        self.book = PositionBook()
        self._initial_balances: dict[str, float] = {}

    def _append(self, table: str, *values: Any) -> None:
        self.pending[table].append(values)
        self.rows += 1

    def add_event(self, event: Event, *, tenant: int, seq: int, event_id: str) -> None:
        """One feed event; ``tenant`` matters only for account events."""
        if isinstance(event, Quote):
            self._append("quotes", to_micros(event.ts), event.symbol, event.bid, event.ask, seq)
        elif isinstance(event, Deal):
            money = (_money(event.profit, "profit"), _money(event.commission, "commission"),
                     _money(event.swap, "swap"), _money(event.fee, "fee"))  # checked first
            ts = to_micros(event.ts)
            self.book.apply(tenant, event, ts, seq)
            self._append(
                "deals", tenant, event.account, ts, str(event.deal), str(event.position),
                event.symbol, event.side, event.entry, event.volume, event.price, *money,
                event.profit is not None, seq, str(event.deal))
        elif isinstance(event, Balance):
            self._append("balance_operations", tenant, event.account, to_micros(event.ts),
                         _money(event.amount), event.kind, seq, event_id)
        elif isinstance(event, Account):
            balance = event.balance
            if balance is None:
                balance = self._initial_balances.get(event.program, 0.0)
            _money(balance, "balance")
            self._append("accounts", tenant, event.account, event.program,
                         to_micros(event.ts), balance, event.currency or "", seq, event_id)
        elif isinstance(event, Swap | Equity):
            self._append("account_events", tenant, event.account, to_micros(event.ts),
                         type(event).__name__.lower(), _json.encode(event).decode(), seq,
                         event_id)
        elif isinstance(event, Clock):
            self._append("quotes", to_micros(event.ts), "", 0.0, 0.0, seq)
        elif isinstance(event, Symbol):
            self._append("symbols", event.symbol, event.contract_size, event.profit_currency,
                         event.base_currency or "", seq, event_id)
        elif isinstance(event, ProgramDefinition):
            program = str(event.document.get("id", ""))
            initial = event.document.get("initial_balance")
            if isinstance(initial, int | float):
                self._initial_balances[program] = float(initial)
            self._append("programs", program, _json.encode(event.document).decode(), seq,
                         event_id)

    def load(self, store: Store) -> None:
        """What a restarted writer must remember: the position book and the programs'
        initial balances (for accounts that open without one)."""
        self.book.load(store)
        for program, initial in store.query(
                "SELECT program, JSONExtractFloat(argMax(document, seq), 'initial_balance')"
                " FROM programs GROUP BY program").rows:
            if initial:
                self._initial_balances.setdefault(program, float(initial))

    def add_answer(self, answer: Answer, tenant: int) -> None:
        """One engine answer of ``risk.events`` (final ``state`` lines are not history)."""
        output: Output = answer.output
        if not isinstance(output, Breach | Objective | Passed | Resumed):
            return
        rule = ""
        action = ""
        equity = floor = _NAN
        if isinstance(output, Breach):
            rule, action, equity = output.rule, output.action, output.equity
            floor = _NAN if output.floor is None else output.floor
        elif isinstance(output, Objective):
            rule = output.objective
        kind = type(output).__name__.lower()
        self._append("risk_events", tenant, output.account, _ts(output.ts), kind, rule,
                     action, equity, floor, _json.encode(output).decode(), answer.id)

    def add_metrics(self, batch: MetricsBatch, tenants: Iterable[int]) -> None:
        """A ``risk.metrics`` batch, one row per account; ``tenants`` in account order."""
        status = np.frombuffer(batch.status, dtype=np.int8)
        columns = self.columns["equity"]
        count = len(batch.accounts)
        columns["tenant"].extend(tenants)
        columns["account"].extend(batch.accounts)
        columns["ts"].extend([batch.ts] * count)
        columns["status"].extend(_STATUS_ARRAY[status].tolist())
        for name in ("balance", "equity", "daily_floor", "max_loss_floor"):
            cents = np.frombuffer(getattr(batch, name), dtype=np.float64)
            money = np.where(np.isfinite(cents), cents / 100.0, np.nan)
            columns[name].extend(money.tolist())
        columns["open_positions"].extend(
            np.frombuffer(batch.open_positions, dtype=np.int32).tolist())
        self.rows += count

    def detach(self) -> dict[str, dict[str, list[Any]]]:
        """Hand over every buffered row as columns per table (tables with rows only) and
        start empty; the position book keeps its state."""
        self.book.write(self.columns["positions"])
        for table, rows in self.pending.items():
            if rows:
                for column, cells in zip(self.columns[table].values(), zip(*rows, strict=True),
                                         strict=True):
                    column.extend(cells)
                rows.clear()
        taken = {table: columns for table, columns in self.columns.items()
                 if next(iter(columns.values()))}
        for table in taken:
            self.columns[table] = {name: [] for name in TABLES[table]}
        self.rows = 0
        return taken

    def flush(self, store: Store) -> int:
        """Insert every buffered row (one insert per table with rows); returns the count."""
        return insert_tables(store, self.detach())


def insert_tables(store: Store, tables: dict[str, dict[str, list[Any]]]) -> int:
    """Insert what :meth:`Recorder.detach` handed over; returns the number of rows."""
    return sum(store.insert(table, columns) for table, columns in tables.items())


def record_events(store: Store, events: Iterable[Event], *, tenant: int = 0,
                  source: str = "import") -> int:
    """Write ``events`` (a file's, in time order) to ``store``; returns the rows written.

    A file has no feed numbering: an event's ``seq`` is its time in µs × 1,000 plus its
    place among the file's events of the same instant. Two reports of one account that
    overlap (last month's, this month's) so give the same events the same seq — and the
    same id, so they are stored once — and the position book applies each deal once."""
    recorder = Recorder()
    recorder.load(store)
    previous, same = -1, 0
    for event in events:
        ts = getattr(event, "ts", None)
        moment = to_micros(ts) if ts is not None else max(previous, 0)
        same = same + 1 if moment == previous else 0
        previous = moment
        seq = moment * 1000 + same
        recorder.add_event(event, tenant=tenant, seq=seq, event_id=f"{source}:{seq}")
    return recorder.flush(store)
