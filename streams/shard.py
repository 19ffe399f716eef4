"""One partition of accounts under the risk engine: merge, apply, answer, checkpoint.

Pure (no Kafka, no database, no clock): the worker feeds it messages and publishes what
it returns, so the logic that must never lose or double an answer is tested without I/O.

A shard owns the accounts of one ``feed.accounts`` partition and sees every quote. It
merges its inputs into the producer's order (``merge``), applies each event to its own
:class:`~streams.engine.Engine`, and numbers its answers ``<partition>:<seq>:<n>``. A
checkpoint holds the engine snapshot, the last event applied and, per input, the offset
to read again from; restoring one and reading on gives exactly the answers an
uninterrupted shard gives. Answers that were published after the checkpoint and before a
crash are named in :meth:`Shard.suppress` and not returned a second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from streams.engine import Engine, FeedError
from streams.events import Clock, Event, describe_error, from_micros, msgpack_decoder
from streams.merge import Merger
from streams.program import Program
from streams.snapshot import capture, restore, seal
from streams.wire import Answer, DeadLetter, batch_decoder, encode

CHECKPOINT_VERSION = 1


class Checkpoint(msgspec.Struct, frozen=True):
    version: int
    partition: int
    applied: int
    resume: dict[str, int]  # input → offset to read again from
    watermarks: dict[str, int]
    engine: bytes


@dataclass
class Results:
    """What one round of applying produced, for the worker to publish."""

    answers: list[tuple[str, Answer]] = field(default_factory=list)  # (account, answer)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    last_ts: int | None = None  # event time of the last one (µs), for latency figures


def decode_batch(origin: str, payload: bytes, letters: list[DeadLetter]
                 ) -> tuple[int, list[int], list[Event]]:
    """A batch's watermark, numbers and events (its time marks as clocks, in number
    order); what cannot be decoded (the whole message, or one event of it) becomes a dead
    letter from ``origin`` (``topic[p]@offset``)."""
    try:
        batch = batch_decoder.decode(payload)
    except msgspec.MsgspecError as exc:
        letters.append(DeadLetter(origin, f"not a batch: {describe_error(exc)}", payload))
        return -1, [], []
    seqs: list[int] = []
    events: list[Event] = []
    marks = batch.marks
    m = 0
    for seq, raw in zip(batch.seqs, batch.events, strict=True):
        while m < len(marks) and marks[m] < seq:  # time marks: clocks at their numbers
            seqs.append(marks[m])
            events.append(Clock(ts=from_micros(marks[m + 1])))
            m += 2
        try:
            events.append(msgpack_decoder.decode(raw))
            seqs.append(seq)
        except msgspec.MsgspecError as exc:
            letters.append(DeadLetter(origin, describe_error(exc), bytes(raw)))
    for rest in range(m, len(marks) - 1, 2):
        seqs.append(marks[rest])
        events.append(Clock(ts=from_micros(marks[rest + 1])))
    return batch.upto, seqs, events


class Shard:
    """The accounts of one partition, fed by its inputs in the producer's order."""

    def __init__(self, partition: int, inputs: list[str], programs: Iterable[Program],
                 engine: Engine | None = None) -> None:
        self.partition = partition
        self.engine = engine if engine is not None else Engine(programs)
        self.merger = Merger(inputs)
        self._suppressed: set[str] = set()

    def offer(self, name: str, offset: int, payload: bytes, results: Results) -> None:
        """A message read from input ``name`` at ``offset``; a bad one is a dead letter."""
        upto, seqs, events = decode_batch(f"{name}@{offset}", payload, results.dead_letters)
        self.merger.offer(name, offset, upto, seqs, events)

    def drain(self, results: Results) -> None:
        """Apply every event the merge releases (runs of quotes in one compiled call)."""
        engine = self.engine
        released = list(self.merger.ready())
        events = [pending.event for pending, _ in released]
        for index, outcome in engine.apply_many(events):
            pending, name = released[index]
            if isinstance(outcome, FeedError):
                results.dead_letters.append(DeadLetter(
                    f"{name}@{pending.offset}", str(outcome), encode(events[index])))
                continue
            for n, output in enumerate(outcome):
                answer = Answer(f"{self.partition}:{pending.seq}:{n}", pending.seq, output)
                if answer.id in self._suppressed:
                    self._suppressed.discard(answer.id)
                    continue
                results.answers.append((output.account, answer))
        if engine.now is not None:
            results.last_ts = engine.now

    def suppress(self, ids: Iterable[str]) -> None:
        """Answers already published (found on ``risk.events`` after the checkpoint)."""
        self._suppressed.update(ids)

    def checkpoint(self) -> bytes:
        return self.capture()()

    def capture(self) -> Callable[[], bytes]:
        """The shard's state now; the returned function finishes the checkpoint (compresses
        and encodes it) and may run later, in another thread, while the shard goes on."""
        merger = self.merger
        partition, applied = self.partition, merger.applied
        resume, watermarks = merger.resume_offsets(), merger.resume_watermarks()
        engine = capture(self.engine)

        def finish() -> bytes:
            return msgspec.msgpack.encode(Checkpoint(
                version=CHECKPOINT_VERSION, partition=partition, applied=applied,
                resume=resume, watermarks=watermarks, engine=seal(engine)))

        return finish

    @classmethod
    def from_checkpoint(cls, data: bytes, inputs: list[str]) -> Shard:
        state = msgspec.msgpack.decode(data, type=Checkpoint)
        if state.version != CHECKPOINT_VERSION:
            raise ValueError(f"checkpoint version {state.version} is not supported")
        shard = cls(state.partition, inputs, (), engine=restore(state.engine))
        shard.merger.applied = state.applied
        for name, source in shard.merger.inputs.items():
            source.next_offset = state.resume.get(name, 0)
            source.watermark = state.watermarks.get(name, -1)
        return shard

    def resume_offsets(self) -> dict[str, int]:
        return self.merger.resume_offsets()
