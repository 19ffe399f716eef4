"""Deterministic merge of several partitions into the producer's order.

A shard of the risk engine reads its partition of ``feed.accounts`` and every partition
of ``feed.quotes``. The broker interleaves them as it pleases; the merge releases an
event only when no input can still deliver an event numbered lower (its next event is
numbered higher, or its watermark says nothing lower is coming). So the engine sees the
producer's order, and its answers are those of ``proptrade replay`` on the same file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from streams.events import Event


@dataclass
class Pending:
    seq: int
    event: Event
    offset: int  # offset of the Kafka message that carried it


@dataclass
class Input:
    """One partition being merged."""

    name: str  # topic[partition]
    watermark: int = -1  # every event numbered ≤ this has been received
    next_offset: int = 0  # offset of the next message to read
    offered: int = -1  # the highest number taken from this input (a re-read drops below)
    queue: deque[Pending] = field(default_factory=deque)

    def resume_offset(self) -> int:
        """Where to read again after a restart so that no pending event is lost."""
        return self.queue[0].offset if self.queue else self.next_offset

    def resume_watermark(self) -> int:
        """The watermark a restart may start from: below the first pending event, which
        will be read again, so that nothing numbered higher overtakes it meanwhile."""
        return self.queue[0].seq - 1 if self.queue else self.watermark


class Merger:
    """Releases events of several inputs in sequence order, once it is safe to."""

    def __init__(self, names: list[str]) -> None:
        self.inputs = {name: Input(name) for name in names}
        self.applied = -1  # the last sequence number released

    def offer(self, name: str, offset: int, upto: int, seqs: list[int],
              events: Sequence[Event]) -> None:
        """Add a batch read at ``offset`` from input ``name``. Events already taken (read
        again after a restart, or by a reader shared with a shard that is behind) are
        dropped, so an input may be read again from any earlier offset."""
        source = self.inputs[name]
        floor = max(self.applied, source.offered)
        for seq, event in zip(seqs, events, strict=True):
            if seq > floor:
                source.queue.append(Pending(seq, event, offset))
        if seqs:
            source.offered = max(source.offered, seqs[-1])
        source.watermark = max(source.watermark, upto, seqs[-1] if seqs else -1)
        source.next_offset = max(source.next_offset, offset + 1)

    def ready(self) -> Iterator[tuple[Pending, str]]:
        """The events that can be applied now, in order, with the input each came from."""
        inputs = list(self.inputs.values())
        while True:
            best: Input | None = None
            for source in inputs:
                if source.queue and (best is None or source.queue[0].seq < best.queue[0].seq):
                    best = source
            if best is None:
                return
            seq = best.queue[0].seq
            for source in inputs:
                if source is not best and not source.queue and source.watermark < seq:
                    return  # that input may still send something numbered lower
            pending = best.queue.popleft()
            self.applied = pending.seq
            yield pending, best.name

    def resume_offsets(self) -> dict[str, int]:
        return {name: source.resume_offset() for name, source in self.inputs.items()}

    def resume_watermarks(self) -> dict[str, int]:
        return {name: source.resume_watermark() for name, source in self.inputs.items()}
