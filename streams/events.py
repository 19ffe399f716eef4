"""Feed events of CONTRACTS.md §1 as msgspec Structs: a tagged union on ``type``.

Files and the HTTP ingest carry JSON (one event per line); Kafka carries msgpack
envelopes (``wire.Batch``: lists of events), which decode about 300 times faster per
event than one message per event (ARCHITECTURE.md, "Batch envelopes").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import msgspec

from streams.money import MAX_AMOUNT, MAX_CONTRACT_SIZE, MAX_PRICE, MAX_VOLUME

Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
Name = Annotated[str, msgspec.Meta(min_length=1)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}(?!\n)$")]  # "$" alone takes a final "\n"
# Numbers are bounded to what the engine's cents arithmetic holds exactly (``money``);
# the bounds are checked by the decoder itself (C, no cost per event in Python), so a
# file (``replay``, ``proptrade feed``) and the broker (the workers, the analytics sink)
# refuse the same lines.
Price = Annotated[float, msgspec.Meta(gt=0, le=MAX_PRICE)]
Volume = Annotated[float, msgspec.Meta(gt=0, le=MAX_VOLUME)]
ContractSize = Annotated[float, msgspec.Meta(gt=0, le=MAX_CONTRACT_SIZE)]
Money = Annotated[float, msgspec.Meta(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
# Ids travel as msgpack integers on Kafka, which hold 64 bits.
Id = Annotated[str, msgspec.Meta(min_length=1)] | Annotated[
    int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

# The range of each bounded field, as error messages state it (``describe_error``).
_EXACT = "the range the engine's cents arithmetic holds exactly"
RANGES = {
    "bid": f"0 < price ≤ {MAX_PRICE:,.0f}, {_EXACT}",
    "ask": f"0 < price ≤ {MAX_PRICE:,.0f}, {_EXACT}",
    "price": f"0 < price ≤ {MAX_PRICE:,.0f}, {_EXACT}",
    "volume": f"0 < volume ≤ {MAX_VOLUME:,.0f} lots, {_EXACT}",
    "contract_size": f"0 < contract size ≤ {MAX_CONTRACT_SIZE:,.0f}, {_EXACT}",
    **{name: f"an amount within ±{MAX_AMOUNT:,.0f}, {_EXACT}"
       for name in ("balance", "amount", "profit", "commission", "swap", "fee", "equity")},
    "deal": "a string, or an integer within 64 bits as Kafka carries it",
    "position": "a string, or an integer within 64 bits as Kafka carries it",
}


class Symbol(msgspec.Struct, tag="symbol", tag_field="type", frozen=True):
    """Instrument specification; must precede deals on that symbol.

    ``base_currency`` is an extension: when absent, a symbol whose name starts with three
    letters other than its profit currency (``EURUSD``, ``USDJPY.r``) is taken as the pair
    base/profit for currency conversion.
    """

    symbol: Name
    contract_size: ContractSize
    profit_currency: Currency
    base_currency: Currency | None = None


class Quote(msgspec.Struct, tag="quote", tag_field="type", frozen=True):
    ts: Timestamp
    symbol: Name
    bid: Price
    ask: Price


class Account(msgspec.Struct, tag="account", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    program: Name
    balance: Money | None = None
    currency: Currency | None = None


class Deal(msgspec.Struct, tag="deal", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    deal: Id
    position: Id
    symbol: Name
    side: Literal["buy", "sell"]
    entry: Literal["in", "out"]
    volume: Volume
    price: Price
    profit: Money | None = None
    commission: Money | None = None
    swap: Money | None = None
    fee: Money | None = None


class Balance(msgspec.Struct, tag="balance", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    amount: Money
    kind: Literal["deposit", "withdrawal", "credit", "correction"]


class Swap(msgspec.Struct, tag="swap", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    position: Id
    amount: Money


class Equity(msgspec.Struct, tag="equity", tag_field="type", frozen=True):
    ts: Timestamp
    account: Name
    equity: Money
    balance: Money | None = None


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
    """A decoding error as ``field: reason`` (``volume: Expected `float` > 0.0``); a
    number out of its range also says the range the engine holds exactly
    (``bid: Expected `float` <= 1000000000.0 (0 < price ≤ 1,000,000,000, …)``)."""
    message = str(exc)
    head, sep, path = message.rpartition(" - at `$")
    if not sep:
        return message
    field = path.rstrip("`").lstrip(".")
    bounds = RANGES.get(field)
    if bounds is not None and (head.startswith(("Expected `float` <", "Expected `float` >",
                                                "Expected `int` <", "Expected `int` >"))
                               or "out of range" in head):
        head = f"{head} ({bounds})"
    return f"{field}: {head}" if field else head
