"""Engine state snapshots: a versioned, compact encoding for checkpoints.

Layout: the magic ``PTSN``, a format version byte, then zlib-compressed msgpack of
:class:`SnapshotV1`. Account columns travel as raw little-endian numpy bytes (about 250 bytes
per account before compression); positions travel block by block in slot order so a
restored engine has the same layout, and therefore the same answers, as the original.
Every reader goes through :func:`restore`, which refuses versions it does not know.
"""

from __future__ import annotations

import zlib

import msgspec
import numpy as np

from streams.accounts import COLUMNS, compile_rules
from streams.book import Position, signed_qty100
from streams.engine import CalendarState, Engine, EngineError
from streams.events import Symbol
from streams.program import Program
from streams.tradingday import TradingCalendar

MAGIC = b"PTSN"
VERSION = 1


class SnapshotError(EngineError):
    """A snapshot that cannot be read (wrong magic, unknown version, corrupt)."""


class PositionRecord(msgspec.Struct, array_like=True):
    key: str
    account: int
    sid: int
    is_buy: bool
    volume: float
    open_price: float
    swap: int
    mark: float


class BlockRecord(msgspec.Struct, array_like=True):
    sid: int
    currency: str
    positions: list[PositionRecord]


class CalendarRecord(msgspec.Struct, array_like=True):
    timezone: str
    starts_at: str
    day: int
    next_rollover: int
    rows: list[int]


class SnapshotV1(msgspec.Struct):
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
    detached: list[PositionRecord]  # positions of failed accounts, kept for their count
    calendars: list[CalendarRecord]
    now: int | None
    next_deadline: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(SnapshotV1)


def snapshot(engine: Engine) -> bytes:
    """Encode the whole state of an engine."""
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
    blocks = []
    for block in engine.blocks.values():
        records = [
            _record(position, block.sid, block.mark_of(position))
            for position in block.positions
        ]
        blocks.append(BlockRecord(block.sid, block.currency, records))
    detached = []
    for positions in engine.positions:
        for position in positions.values():
            if position.block is None:
                detached.append(_record(position, position.sid, 0.0))
    state = SnapshotV1(
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
        detached=detached,
        calendars=[
            CalendarRecord(c.calendar.timezone, c.calendar.starts_at, c.day, c.next_rollover,
                           list(c.rows))
            for c in engine.calendars
        ],
        now=engine.now,
        next_deadline=engine.next_deadline,
    )
    return MAGIC + bytes([VERSION]) + zlib.compress(_encoder.encode(state), 1)


def restore(data: bytes) -> Engine:
    """Rebuild an engine from :func:`snapshot` bytes."""
    if data[:4] != MAGIC or len(data) < 5:
        raise SnapshotError("not a PropTrade engine snapshot")
    if data[4] != VERSION:
        raise SnapshotError(f"snapshot version {data[4]} is not supported (expected {VERSION})")
    try:
        state = _decoder.decode(zlib.decompress(data[5:]))
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
    for symbol in state.symbols:
        engine._on_symbol(symbol, [])
    count = len(state.symbols)
    engine.bid[:count], engine.ask[:count] = state.bid, state.ask
    engine.quoted[:count] = state.quoted
    for record in state.blocks:
        block = engine.book.new_block(record.sid, record.currency)
        engine.blocks[(record.sid, record.currency)] = block
        engine.marked_by[record.sid].append(block)
        engine._resolve_conversion(block)
        size = engine.symbols[record.sid].contract_size
        for item in record.positions:
            position = _position(item)
            block.add(position, signed_qty100(item.is_buy, item.volume, size), item.mark)
            engine.positions[item.account][item.key] = position
    for item in state.detached:
        engine.positions[item.account][item.key] = _position(item)
    for c in state.calendars:
        engine.calendar_index[(c.timezone, c.starts_at)] = len(engine.calendars)
        engine.calendars.append(CalendarState(TradingCalendar(c.timezone, c.starts_at), c.day,
                                              c.next_rollover, list(c.rows)))
    engine.now = state.now
    engine.next_deadline = state.next_deadline
    return engine


def _record(position: Position, sid: int, mark: float) -> PositionRecord:
    return PositionRecord(position.key, position.account, sid, position.is_buy,
                          position.volume, position.open_price, position.swap, mark)


def _position(item: PositionRecord) -> Position:
    position = Position(item.key, item.account, item.sid, item.is_buy, item.volume,
                        item.open_price)
    position.swap = item.swap
    return position
