"""A shard without a broker: any interleaving of its partitions, any restart point, the
same answers (the merge and the checkpoint are where a live engine loses or doubles)."""

from __future__ import annotations

import random

import pytest

from streams.events import Event
from streams.merge import Merger
from streams.shard import Results, Shard
from streams.topics import Topics, route
from streams.wire import make_batch
from tests.streams.streamkit import expected_answers, make_feed, programs

TOPICS = Topics("x.", partitions=3, quote_partitions=2)


def publish(events: list[Event], per_flush: int) -> dict[str, list[bytes]]:
    """The partitions' logs as a FeedPublisher would write them (a batch per partition per
    flush, empty ones included)."""
    logs: dict[str, list[bytes]] = {}
    for topic, count in ((TOPICS.quotes, 2), (TOPICS.accounts, 3)):
        for partition in range(count):
            logs[f"{topic}[{partition}]"] = []
    pending: dict[str, tuple[list[int], list[Event]]] = {name: ([], []) for name in logs}

    def flush(upto: int) -> None:
        for name, (seqs, batch) in pending.items():
            logs[name].append(make_batch("test", upto, list(seqs), list(batch)))
            seqs.clear()
            batch.clear()

    for seq, event in enumerate(events):
        topic, partition = route(event, TOPICS)
        pending[f"{topic}[{partition}]"][0].append(seq)
        pending[f"{topic}[{partition}]"][1].append(event)
        if seq % per_flush == per_flush - 1:
            flush(seq)
    flush(len(events) - 1)
    return logs


def run(logs: dict[str, list[bytes]], partition: int, seed: int,
        restarts: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Feed a shard its partitions in a random interleaving; restart it from its
    checkpoint after the given numbers of messages. Returns the ids it answered."""
    inputs = TOPICS.inputs(partition)
    shard = Shard(partition, inputs, programs())
    position = dict.fromkeys(inputs, 0)
    rng = random.Random(seed)
    answered: list[str] = []
    read = 0
    while any(position[name] < len(logs[name]) for name in inputs):
        name = rng.choice([n for n in inputs if position[n] < len(logs[n])])
        results = Results()
        shard.offer(name, position[name], logs[name][position[name]], results)
        position[name] += 1
        shard.drain(results)
        answered += [answer.id for _, answer in results.answers]
        read += 1
        if read in restarts:
            shard = Shard.from_checkpoint(shard.checkpoint(), inputs)
            position = shard.resume_offsets()
    return answered


@pytest.mark.parametrize("per_flush", [1, 7, 500])
def test_every_interleaving_and_restart_gives_the_same_answers(per_flush: int) -> None:
    events = make_feed(seed=11, accounts=30, steps=2500)
    expected = expected_answers(events)
    logs = publish(events, per_flush)
    total = 0
    for partition in range(TOPICS.partitions):
        straight = run(logs, partition, seed=1)
        total += len(straight)
        for seed in (2, 3):
            assert run(logs, partition, seed) == straight
            length = sum(len(log) for log in logs.values())
            restarts = set(random.Random(seed).sample(range(1, length), min(5, length - 1)))
            assert run(logs, partition, seed, restarts) == straight, (partition, restarts)
    assert total == sum(len(answers) for answers in expected.values())


def test_the_merge_waits_for_an_input_that_may_still_send_a_lower_number() -> None:
    merger = Merger(["a", "b"])
    merger.offer("a", 0, upto=5, seqs=[5], events=[b"x"])  # type: ignore[list-item]
    assert list(merger.ready()) == []  # b has said nothing yet: it may hold 0-4
    merger.offer("b", 0, upto=3, seqs=[1, 3], events=[b"y", b"z"])  # type: ignore[list-item]
    assert [p.seq for p, _ in merger.ready()] == [1, 3]  # 5 waits: b may still send 4
    merger.offer("b", 1, upto=6, seqs=[], events=[])
    assert [p.seq for p, _ in merger.ready()] == [5]
