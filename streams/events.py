"""Feed events of CONTRACTS.md §1 as msgspec Structs: a tagged union on ``type``.

Files and the HTTP ingest carry JSON (one event per line); Kafka carries msgpack
envelopes (``wire.Batch``: lists of events), which decode about 300 times faster per
event than one message per event (ARCHITECTURE.md, "Batch envelopes").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
Name = Annotated[str, msgspec.Meta(min_length=1)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
Id = Annotated[str, msgspec.Meta(min_length=1)] | int
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]


class Symbol(msgspec.Struct, tag="symbol", tag_field="type", frozen=True):
    """Instrument specification; must precede deals on that symbol.

    ``base_currency`` is an extension: when absent, a symbol whose name starts with three
    letters other than its profit currency (``EURUSD``, ``USDJPY.r``) is taken as the pair
    base/profit for currency conversion.
    """

    symbol: Name
    contract_size: Positive
    profit_currency: Currency
    base_currency: Currency | None = None


class Quote(msgspec.Struct, tag="quote", tag_field="type", frozen=True):
    ts: Timestamp
    symbol: Name
    bid: Positive
    ask: Positive


class Account(msgspec.Struct, tag="account", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    program: Name
    balance: float | None = None
    currency: Currency | None = None


class Deal(msgspec.Struct, tag="deal", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    deal: Id
    position: Id
    symbol: Name
    side: Literal["buy", "sell"]
    entry: Literal["in", "out"]
    volume: Positive
    price: Positive
    profit: float | None = None
    commission: float | None = None
    swap: float | None = None
    fee: float | None = None


class Balance(msgspec.Struct, tag="balance", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    amount: float
    kind: Literal["deposit", "withdrawal", "credit", "correction"]


class Swap(msgspec.Struct, tag="swap", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    position: Id
    amount: float


class Equity(msgspec.Struct, tag="equity", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    equity: float
    balance: float | None = None


class Clock(msgspec.Struct, tag="clock", tag_field="type", frozen=True):
    ts: Timestamp


class ProgramDefinition(msgspec.Struct, tag="program", tag_field="type", frozen=True):
    """An extension of CONTRACTS.md §1: a program document (§2) published in the feed, so
    programs created on the platform reach every worker (and a replay of the feed) before
    the accounts that use them. A program already known by its id is replaced for the
    accounts opened after it; accounts already open keep the rules they opened under."""

    document: dict[str, Any]


Event = Symbol | Quote | Account | Deal | Balance | Swap | Equity | Clock | ProgramDefinition
AccountEvent = Account | Deal | Balance | Swap | Equity

json_decoder = msgspec.json.Decoder(Event)
msgpack_decoder = msgspec.msgpack.Decoder(Event)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_micros(ts: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (event time inside the engine)."""
    return (ts - _EPOCH) // _ONE_US


def from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def format_ts(micros: int) -> str:
    """ISO 8601 in UTC with ``Z``; milliseconds or microseconds only when not zero."""
    seconds, fraction = divmod(micros, 1_000_000)
    text = from_micros(seconds * 1_000_000).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction == 0:
        return text + "Z"
    if fraction % 1000 == 0:
        return f"{text}.{fraction // 1000:03d}Z"
    return f"{text}.{fraction:06d}Z"


def describe_error(exc: msgspec.MsgspecError) -> str:
    """A decoding error as ``field: reason`` (``volume: Expected `float` > 0.0``)."""
    message = str(exc)
    head, sep, path = message.rpartition(" - at `$")
    if not sep:
        return message
    field = path.rstrip("`").lstrip(".")
    return f"{field}: {head}" if field else head
