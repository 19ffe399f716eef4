"""What the gateway depends on, whether each part answers, and since when.

The parts: ``postgres`` (the system of record), ``redis`` (caches, sessions, the live
fan-out), ``broker`` (Kafka: live numbers and verdicts in, commands to the broker out;
only with ``KAFKA_BOOTSTRAP``) and ``analytics`` (the history store: ClickHouse at
``CLICKHOUSE_URL`` or the analytics process's front). The first three are the core: the
gateway is *ready* (``/readyz`` 200) only while they answer; without the analytics
store it is *degraded* (200, history endpoints answer 503).

:class:`Parts` probes each part every :data:`PROBE_INTERVAL` seconds (each probe bounded
by :data:`PROBE_TIMEOUT`) and request handlers report a part down the moment a call to
it fails (:meth:`Parts.failed`), so a part is marked down at once and up again within a
probe interval of its return. A part's state changes are logged (one line each way).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
import msgspec
import redis.exceptions

log = logging.getLogger("proptrade.health")

PROBE_INTERVAL = 2.0  # s between probes of every part
PROBE_TIMEOUT = 1.5  # s a probe may take
CORE = ("postgres", "redis", "broker")
#: What each part is, for the messages clients and operators read.
NAMES = {"postgres": "PostgreSQL", "redis": "Redis", "broker": "the broker (Kafka)",
         "analytics": "the analytics store"}

State = Literal["ok", "down"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PartState(msgspec.Struct):
    """One part as ``/readyz`` shows it."""

    state: State
    since: str  # ISO 8601 UTC: when the part entered this state
    reason: str | None = None  # why it is down (the last failure seen)
    core: bool = True  # needed for the gateway to be ready


@dataclass
class _Part:
    name: str
    probe: Callable[[], Awaitable[Any]]
    state: State = "ok"
    since: str = field(default_factory=now_iso)
    reason: str | None = None


def describe(error: BaseException) -> str:
    text = str(error).strip()
    if isinstance(error, TimeoutError) and not text:
        text = "no answer in time"
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


class Parts:
    """The state of every part, kept current by probes and by failures requests see."""

    def __init__(self) -> None:
        self.parts: dict[str, _Part] = {}
        self._task: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()  # set at every change of a part's state

    def add(self, name: str, probe: Callable[[], Awaitable[Any]]) -> None:
        self.parts[name] = _Part(name, probe)

    def is_down(self, name: str) -> bool:
        part = self.parts.get(name)
        return part is not None and part.state == "down"

    def down(self) -> list[str]:
        return [name for name, part in self.parts.items() if part.state == "down"]

    def since(self, name: str) -> str | None:
        part = self.parts.get(name)
        return None if part is None else part.since

    def failed(self, name: str, error: BaseException | str) -> None:
        """A call to ``name`` failed the way an unreachable part fails."""
        part = self.parts.get(name)
        if part is None:
            return
        reason = error if isinstance(error, str) else describe(error)
        part.reason = reason
        if part.state == "ok":
            part.state, part.since = "down", now_iso()
            # One template per part: the log's rate limit counts each part's own.
            log.warning(f"{NAMES.get(name, name)} is down: %s", reason)
            self._changed()

    def answered(self, name: str) -> None:
        part = self.parts.get(name)
        if part is None or part.state == "ok":
            return
        log.warning(f"{NAMES.get(name, name)} is back (down since %s)", part.since)
        part.state, part.since, part.reason = "ok", now_iso(), None
        self._changed()

    def _changed(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()

    async def probe(self, name: str) -> None:
        part = self.parts[name]
        try:
            await asyncio.wait_for(part.probe(), PROBE_TIMEOUT)
        except Exception as error:  # any failure of a probe means the part is down
            self.failed(name, error)
        else:
            self.answered(name)

    async def probe_all(self) -> None:
        await asyncio.gather(*(self.probe(name) for name in self.parts))

    def report(self) -> dict[str, PartState]:
        return {name: PartState(part.state, part.since, part.reason, name in CORE)
                for name, part in self.parts.items()}

    @property
    def ready(self) -> bool:
        return not any(part.state == "down" and name in CORE
                       for name, part in self.parts.items())

    async def run(self, stop: asyncio.Event) -> None:
        """Probe every part until ``stop``."""
        while not stop.is_set():
            await self.probe_all()
            try:
                await asyncio.wait_for(stop.wait(), PROBE_INTERVAL)
            except TimeoutError:
                pass


# -- which part an exception is about -----------------------------------------------------

def part_of(error: BaseException, parts: Parts | None = None) -> str | None:
    """The part an exception says is unreachable (None: not such a failure).

    Redis's client wraps its socket errors in its own; aiokafka raises its own; asyncpg
    raises its connection errors and, for a refused or timed-out connection or a query
    past ``command_timeout``, Python's ``OSError`` and ``TimeoutError``: those are
    PostgreSQL's unless a probe already found another core part down."""
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "redis"
    if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.InterfaceError
                  | asyncpg.CannotConnectNowError | asyncpg.AdminShutdownError
                  | asyncpg.CrashShutdownError | asyncpg.TooManyConnectionsError):
        return "postgres"
    from aiokafka.errors import KafkaError

    if isinstance(error, KafkaError):
        return "broker"
    if isinstance(error, OSError | TimeoutError):
        if parts is not None:
            for name in ("postgres", "redis", "broker"):
                if parts.is_down(name):
                    return name
        return "postgres"
    return None
