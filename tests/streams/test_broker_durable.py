"""The durable embedded broker: `proptrade broker` killed in every way, and restarted.

Real processes: the command, tansu and the object store; kill -9 of each; a restart on the
same data directory must give back every message and the committed group offsets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.broker import EmbeddedBroker, find_free_port

TOPIC = "durable.test"
GROUP = "durable-group"
MESSAGES = 200
COMMITTED = {0: 40, 1: 70}  # the group's committed offset per partition


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def wait_dead(pids: list[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, f"still running: {[p for p in pids if alive(p)]}"
        time.sleep(0.05)


class Command:
    """`proptrade broker --port PORT` with its data under ``data_dir``."""

    def __init__(self, data_dir: Path, port: int) -> None:
        env = {**os.environ, "PROPTRADE_DATA_DIR": str(data_dir)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "broker", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode()
        assert line == f"proptrade broker: ready at 127.0.0.1:{port}\n", (
            line + self.stderr())
        self.bootstrap = f"127.0.0.1:{port}"
        self.children = self._children()

    def _children(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                found["objectstore" if "streams.objectstore" in cmdline else "tansu"] = int(
                    entry.name)
        assert set(found) == {"tansu", "objectstore"}, found
        return found

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read().decode()

    def all_pids(self) -> list[int]:
        return [self.process.pid, *self.children.values()]

    def kill_all(self) -> None:
        """SIGKILL the command; its children must follow (PR_SET_PDEATHSIG)."""
        self.process.kill()
        self.process.wait(5)
        wait_dead(self.all_pids())


@pytest.fixture
def port() -> int:
    return find_free_port()


@pytest.fixture
def started(tmp_path: Path, port: int) -> Iterator[list[Command]]:
    commands: list[Command] = []
    yield commands
    for command in commands:
        if command.process.poll() is None:
            command.process.kill()
            command.process.wait(5)
        for pid in command.children.values():
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        for stream in (command.process.stdout, command.process.stderr):
            if stream is not None:
                stream.close()


def start(started: list[Command], data_dir: Path, port: int) -> Command:
    command = Command(data_dir, port)
    started.append(command)
    return command


async def write(bootstrap: str) -> None:
    """Create the topic, produce MESSAGES, commit COMMITTED for the group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(TOPIC, f"m{i}".encode(), partition=i % 2)
                for i in range(MESSAGES)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(TOPIC, p) for p in COMMITTED])
        await consumer.commit({TopicPartition(TOPIC, p): o for p, o in COMMITTED.items()})
    finally:
        await consumer.stop()


async def read(bootstrap: str) -> tuple[list[bytes], dict[int, int | None], int]:
    """Every message, the group's committed offsets, and the offset of one more message."""
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    values: list[bytes] = []
    try:
        deadline = time.monotonic() + 15
        while len(values) < MESSAGES and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                values += [r.value for r in records if r.value is not None]
    finally:
        await consumer.stop()
    group = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP,
                             enable_auto_commit=False)
    await group.start()
    try:
        committed = {p: await group.committed(TopicPartition(TOPIC, p)) for p in COMMITTED}
    finally:
        await group.stop()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        appended = await producer.send_and_wait(TOPIC, b"after", partition=0)
    finally:
        await producer.stop()
    return values, committed, appended.offset


def check_everything_is_back(bootstrap: str) -> None:
    values, committed, appended = asyncio.run(read(bootstrap))
    assert sorted(values) == sorted(f"m{i}".encode() for i in range(MESSAGES))
    assert committed == COMMITTED
    # The partition's next offset survived too: nothing written over the old log.
    assert appended == MESSAGES // 2


def test_kill_9_of_the_whole_broker_loses_nothing(tmp_path: Path, port: int,
                                                  started: list[Command]) -> None:
    first = start(started, tmp_path, port)
    asyncio.run(write(first.bootstrap))
    first.kill_all()
    second = start(started, tmp_path, port)
    check_everything_is_back(second.bootstrap)
    assert (tmp_path / "broker" / "cluster-id").read_text().strip() == "proptrade"


@pytest.mark.parametrize("victim", ["tansu", "objectstore"])
def test_a_dead_child_stops_the_command_naming_it_and_a_restart_loses_nothing(
        tmp_path: Path, port: int, started: list[Command], victim: str) -> None:
    first = start(started, tmp_path, port)
    asyncio.run(write(first.bootstrap))
    os.kill(first.children[victim], signal.SIGKILL)
    assert first.process.wait(5) == 1
    assert f"{victim} exited with signal 9" in first.stderr()
    wait_dead(first.all_pids())  # and the other child was stopped
    second = start(started, tmp_path, port)
    check_everything_is_back(second.bootstrap)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_everything_within_5_s(tmp_path: Path, port: int,
                                              started: list[Command], signum: int) -> None:
    command = start(started, tmp_path, port)
    began = time.monotonic()
    command.process.send_signal(signum)
    assert command.process.wait(5) == 0
    wait_dead(command.all_pids(), timeout=max(0.1, 5 - (time.monotonic() - began)))
    assert time.monotonic() - began < 5


def test_a_busy_port_is_a_clear_error(tmp_path: Path, port: int,
                                      started: list[Command]) -> None:
    start(started, tmp_path / "one", port)
    second = subprocess.run(
        [sys.executable, "-m", "streams.cli", "broker", "--port", str(port)],
        env={**os.environ, "PROPTRADE_DATA_DIR": str(tmp_path / "two")},
        capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in second.stderr


def test_two_brokers_cannot_share_a_data_dir(tmp_path: Path) -> None:
    with EmbeddedBroker(data_dir=tmp_path) as first:
        assert first.durable
        with pytest.raises(Exception, match="in use by another object store"):
            EmbeddedBroker(data_dir=tmp_path, startup_timeout=5).start()


def test_the_memory_broker_dies_with_its_parent(tmp_path: Path) -> None:
    script = ("import sys, time\nfrom streams.broker import EmbeddedBroker\n"
              "b = EmbeddedBroker(); b.start(); print(b.pid, flush=True); time.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    tansu = int(parent.stdout.readline())
    assert alive(tansu)
    parent.kill()
    parent.wait(5)
    parent.stdout.close()
    wait_dead([tansu])
