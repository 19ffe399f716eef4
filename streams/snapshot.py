"""Engine state snapshots: a versioned, compact encoding for checkpoints.

Layout: the magic ``PTSN``, a format version byte, then zlib-compressed msgpack of
:class:`SnapshotV3` (version 3; version 2 snapshots, :class:`SnapshotV2`, still restore).
Account columns travel as raw little-endian numpy bytes (about 250 bytes per account
before compression); positions travel block by block in slot order so a restored engine
has the same layout, and therefore the same answers, as the original.
Every reader goes through :func:`restore`, which refuses versions it does not know.
"""

from __future__ import annotations

import zlib
from typing import Any

import msgspec
import numpy as np

from streams.accounts import COLUMNS, NO_TIME, compile_rules
from streams.book import Position
from streams.engine import CalendarState, Engine, EngineError
from streams.events import Symbol
from streams.program import Program
from streams.tradingday import TradingCalendar

MAGIC = b"PTSN"
# 2: positions as columns (a 200,000-position snapshot took 0.6 s as records).
# 3: what checks the feed's order: each account's last event time, its remembered deal
#    ids and their latest time, each symbol's last quote time.
VERSION = 3
READABLE = (2, 3)


class SnapshotError(EngineError):
    """A snapshot that cannot be read (wrong magic, unknown version, corrupt)."""


class Positions(msgspec.Struct, array_like=True):
    """Every position as columns (raw little-endian numpy bytes), block by block in slot
    order, then those of failed accounts (kept only for their count)."""

    keys: list[str]
    account: bytes  # int64
    sid: bytes  # int64
    is_buy: bytes  # bool
    volume: bytes  # float64 lots
    open_price: bytes  # float64
    swap: bytes  # int64 cents
    mark: bytes  # float64 cents
    # int64: each position's place among its account's positions as the engine holds them
    # (the order it acts on them in, e.g. when the account fails); empty in older
    # snapshots, which restore them in the order above.
    rank: bytes = b""


class BlockRecord(msgspec.Struct, array_like=True):
    sid: int
    currency: str
    count: int


class CalendarRecord(msgspec.Struct, array_like=True):
    timezone: str
    starts_at: str
    day: int
    next_rollover: int
    rows: list[int]


class SnapshotV2(msgspec.Struct):
    programs: list[Program]  # every program ever used or registered
    registered: list[str]  # ids currently registered (the latest definition of each)
    account_ids: list[str]
    account_program: list[int]  # index into programs
    account_currency: list[str]
    columns: dict[str, bytes]
    symbols: list[Symbol]
    bid: list[float]
    ask: list[float]
    quoted: list[bool]
    blocks: list[BlockRecord]
    positions: Positions
    calendars: list[CalendarRecord]
    now: int | None
    next_deadline: int


class SnapshotV3(SnapshotV2):
    """Version 2 and the feed-order checks' memory. Restored from a version 2 snapshot,
    an engine has none: it checks the order of each account and symbol from its next
    event on, and remembers deal ids from then on."""

    quote_ts: list[int]  # per symbol, µs of its last quote
    last_ts: bytes  # int64 per account: µs of its last event
    deal_ts: bytes  # int64 per account: µs of the latest deal it remembers
    deal_counts: bytes  # int32 per account: how many of deal_keys are its (in order)
    deal_keys: list[str]


_encoder = msgspec.msgpack.Encoder()
_decoders: dict[int, msgspec.msgpack.Decoder[Any]] = {
    2: msgspec.msgpack.Decoder(SnapshotV2), 3: msgspec.msgpack.Decoder(SnapshotV3)}


def snapshot(engine: Engine) -> bytes:
    """Encode the whole state of an engine."""
    return seal(capture(engine))


def seal(captured: bytes) -> bytes:
    """The snapshot of a :func:`capture`: compressed and stamped with the format. Touches
    no engine (and zlib releases the GIL), so a live worker runs it in another thread."""
    return MAGIC + bytes([VERSION]) + zlib.compress(captured, 1)


def capture(engine: Engine) -> bytes:
    """The engine's state as it is now, encoded but not yet compressed (the part of a
    snapshot that must run while nothing applies events)."""
    programs: list[Program] = []
    program_index: dict[int, int] = {}

    def index_of(program: Program) -> int:
        key = id(program)
        if key not in program_index:
            program_index[key] = len(programs)
            programs.append(program)
        return program_index[key]

    registered = [index_of(rules.program) for rules in engine.rules.values()]
    account_program = [index_of(rules.program) for rules in engine.account_rules]
    n = engine.table.n
    columns = {
        name: np.ascontiguousarray(engine.table.columns[name][:n]).astype(
            np.dtype(dtype).newbyteorder("<")).tobytes()
        for name, dtype in COLUMNS.items()
    }
    blocks = [BlockRecord(b.sid, b.currency, b.n) for b in engine.blocks.values()]
    held = [p for b in engine.blocks.values() for p in b.positions]
    detached = [p for positions in engine.positions for p in positions.values()
                if p.block is None]
    marks = [engine.book.marks[b.start:b.start + b.n] for b in engine.blocks.values()]
    every = held + detached
    ranks = {id(p): rank for positions in engine.positions
             for rank, p in enumerate(positions.values())}
    columns_of_positions = Positions(
        keys=[p.key for p in every],
        account=_bytes([p.account for p in every], np.int64),
        sid=_bytes([p.sid for p in every], np.int64),
        is_buy=_bytes([p.is_buy for p in every], np.bool_),
        volume=_bytes([p.volume for p in every], np.float64),
        open_price=_bytes([p.open_price for p in every], np.float64),
        swap=_bytes([p.swap for p in every], np.int64),
        mark=np.concatenate([*marks, np.zeros(len(detached))]).astype("<f8").tobytes(),
        rank=_bytes([ranks[id(p)] for p in every], np.int64),
    )
    remembered = [ids or [] for ids in engine.deal_ids]
    state = SnapshotV3(
        programs=programs,
        registered=[programs[i].id for i in registered],
        account_ids=list(engine.account_ids),
        account_program=account_program,
        account_currency=list(engine.account_currency),
        columns=columns,
        symbols=list(engine.symbols),
        bid=engine.bid[: len(engine.symbols)].tolist(),
        ask=engine.ask[: len(engine.symbols)].tolist(),
        quoted=engine.quoted[: len(engine.symbols)].tolist(),
        blocks=blocks,
        positions=columns_of_positions,
        calendars=[
            CalendarRecord(c.calendar.timezone, c.calendar.starts_at, c.day, c.next_rollover,
                           list(c.rows))
            for c in engine.calendars
        ],
        now=engine.now,
        next_deadline=engine.next_deadline,
        quote_ts=engine.quote_ts[: len(engine.symbols)].tolist(),
        last_ts=_bytes(engine.last_ts, np.int64),
        deal_ts=_bytes(engine.deal_ts, np.int64),
        deal_counts=_bytes([len(ids) for ids in remembered], np.int32),
        deal_keys=[key for ids in remembered for key in ids],
    )
    return _encoder.encode(state)


def restore(data: bytes) -> Engine:
    """Rebuild an engine from :func:`snapshot` bytes."""
    if data[:4] != MAGIC or len(data) < 5:
        raise SnapshotError("not a PropTrade engine snapshot")
    version = data[4]
    if version not in READABLE:
        raise SnapshotError(f"snapshot version {version} is not supported (this engine "
                            f"reads {', '.join(map(str, READABLE))})")
    try:
        state = _decoders[version].decode(zlib.decompress(data[5:]))
    except (zlib.error, msgspec.MsgspecError) as exc:
        raise SnapshotError(f"corrupt snapshot: {exc}") from None
    compiled = [compile_rules(program) for program in state.programs]
    by_id = {program.id: i for i, program in enumerate(state.programs)}
    engine = Engine()
    for program_id in state.registered:
        engine.rules[program_id] = compiled[by_id[program_id]]
    n = len(state.account_ids)
    table = engine.table
    while table.capacity < n:
        table._grow()
    table.n = n
    for name, dtype in COLUMNS.items():
        table.columns[name][:n] = np.frombuffer(state.columns[name],
                                                dtype=np.dtype(dtype).newbyteorder("<"))
    engine.account_ids = list(state.account_ids)
    engine.rows = {account: row for row, account in enumerate(state.account_ids)}
    engine.account_rules = [compiled[i] for i in state.account_program]
    engine.account_currency = list(state.account_currency)
    engine.positions = [{} for _ in range(n)]
    engine.last_ts = [NO_TIME] * n
    engine.deal_ids = [None] * n
    engine.deal_ts = [NO_TIME] * n
    for symbol in state.symbols:
        engine._on_symbol(symbol, [])
    count = len(state.symbols)
    engine.bid[:count], engine.ask[:count] = state.bid, state.ask
    engine.quoted[:count] = state.quoted
    if isinstance(state, SnapshotV3):
        engine.quote_ts[:count] = state.quote_ts
        engine.last_ts = np.frombuffer(state.last_ts, "<i8").tolist()
        engine.deal_ts = np.frombuffer(state.deal_ts, "<i8").tolist()
        counts = np.frombuffer(state.deal_counts, "<i4").tolist()
        first = 0
        for row, size in enumerate(counts):
            if size:
                engine.deal_ids[row] = state.deal_keys[first:first + size]
                first += size
    stored = state.positions
    account = np.frombuffer(stored.account, "<i8")
    sid = np.frombuffer(stored.sid, "<i8")
    is_buy = np.frombuffer(stored.is_buy, np.bool_)
    volume = np.frombuffer(stored.volume, "<f8")
    open_price = np.frombuffer(stored.open_price, "<f8")
    swap = np.frombuffer(stored.swap, "<i8")
    marks = np.frombuffer(stored.mark, "<f8")
    positions = []
    for i, key in enumerate(stored.keys):
        position = Position(key, int(account[i]), int(sid[i]), bool(is_buy[i]),
                            float(volume[i]), float(open_price[i]))
        position.swap = int(swap[i])
        positions.append(position)
    ranks = np.frombuffer(stored.rank, "<i8") if stored.rank else np.arange(len(positions))
    for i in np.lexsort((ranks, account)) if len(positions) else ():
        position = positions[i]
        engine.positions[position.account][position.key] = position
    start = 0
    for record in state.blocks:
        block = engine.book.new_block(record.sid, record.currency)
        engine.blocks[(record.sid, record.currency)] = block
        engine.marked_by[record.sid].append(block)
        engine._resolve_conversion(block)
        rows = slice(start, start + record.count)
        size = engine.symbols[record.sid].contract_size
        qty = volume[rows] * size * 100.0  # signed_qty100, as a vector
        block.load(positions[rows], np.where(is_buy[rows], qty, -qty), marks[rows])
        start += record.count
    for c in state.calendars:
        engine.calendar_index[(c.timezone, c.starts_at)] = len(engine.calendars)
        engine.calendars.append(CalendarState(TradingCalendar(c.timezone, c.starts_at), c.day,
                                              c.next_rollover, list(c.rows)))
    engine.now = state.now
    engine.next_deadline = state.next_deadline
    return engine


def _bytes(values: list[Any], dtype: Any) -> bytes:
    return np.array(values, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<")).tobytes()
