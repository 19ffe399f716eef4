"""What travels on the ``feed.*`` and ``risk.*`` topics: msgpack envelopes of Structs.

A producer (a feed bridge, the simulator, ``proptrade feed``) numbers every event it
publishes (``seq``) and sends them in batches, one per partition. Each batch also
carries the producer's watermark ``upto``: every event numbered ``upto`` or less that is
meant for this partition has been sent. Producers send empty batches to partitions that
have nothing new, so a worker merging several partitions always knows how far each one
has come, and applies events in exactly the producer's order — the order of the file
``proptrade replay`` reads — however the broker interleaves the partitions.

Events travel as raw msgpack inside the batch and are decoded one by one, so a bad event
costs only itself (it goes to the dead-letter topic), not its batch.
"""

from __future__ import annotations

import msgspec

from streams.breach import BreachPrice
from streams.events import Event
from streams.outputs import Output


class Batch(msgspec.Struct, array_like=True, frozen=True):
    """Events of one producer for one partition, in the producer's order.

    ``marks`` (on ``feed.quotes`` partition 0, which every shard reads) carries the feed's
    event time to the shards that do not see the events moving it: ``[seq, µs, seq, µs,
    …]``, each numbered just before an account event that took the feed's time past every
    earlier event's. A shard applies each as a ``clock`` at that number, so a rollover or
    an inactivity deadline is revealed in every shard by the first event past it, whatever
    partition that event is on — as ``proptrade replay`` reveals it. Other readers (the
    analytics sink) ignore them.
    """

    source: str
    upto: int  # watermark: events numbered ≤ upto for this partition have all been sent
    seqs: list[int]
    events: list[msgspec.Raw]
    marks: list[int] = []


class Answer(msgspec.Struct, array_like=True, frozen=True):
    """One engine answer on ``risk.events``.

    ``id`` is stable (``<shard>:<seq>:<n>``: the n-th answer to the event numbered seq), so
    a consumer can drop a duplicate; a worker recovering from a crash also uses it to not
    publish again what it had published before.
    """

    id: str
    seq: int
    output: Output


class MetricsBatch(msgspec.Struct, array_like=True, frozen=True):
    """Live numbers of the accounts of one shard that changed, on ``risk.metrics``.

    Columnar: each numeric field is the raw little-endian bytes of a numpy array, one
    entry per account of ``accounts`` (money in cents as float64; floors ``-inf`` when the
    program has no such rule; status codes as in ``accounts.STATUS_NAMES``). Tens of
    thousands of accounts change every 250 ms in a busy firm: one Struct per account would
    cost more than the engine itself.
    """

    ts: int  # event time of the snapshot, µs since the epoch
    accounts: list[str]
    status: bytes  # int8
    balance: bytes  # float64 cents
    equity: bytes
    daily_floor: bytes
    max_loss_floor: bytes
    open_positions: bytes  # int32
    # Added later, last (older readers skip trailing fields; older batches decode with
    # these defaults): trading days as the state line counts them (int32), the day-start
    # balance and equity the daily floor is measured from (float64 cents), and each
    # account's breach prices (``streams.breach``; [] for an account with no floor or
    # no position).
    trading_days: bytes = b""
    day_start_balance: bytes = b""
    day_start_equity: bytes = b""
    breach_prices: list[list[BreachPrice]] = []


class DeadLetter(msgspec.Struct, frozen=True):
    """A message or event that could not be decoded or applied, and where it came from."""

    origin: str  # topic[partition]@offset
    reason: str
    payload: bytes


_encoder = msgspec.msgpack.Encoder()
batch_decoder = msgspec.msgpack.Decoder(Batch)
answer_decoder = msgspec.msgpack.Decoder(Answer)
metrics_decoder = msgspec.msgpack.Decoder(MetricsBatch)
dead_letter_decoder = msgspec.msgpack.Decoder(DeadLetter)


def encode(value: object) -> bytes:
    return _encoder.encode(value)


def make_batch(source: str, upto: int, seqs: list[int], events: list[Event],
               marks: list[int] | None = None) -> bytes:
    """Encode a batch (each event encoded on its own, see the module docstring)."""
    return _encoder.encode(
        Batch(source, upto, seqs, [msgspec.Raw(_encoder.encode(e)) for e in events],
              marks or [])
    )
