"""Shard checkpoints in PostgreSQL, where they survive the worker and its machine.

One row per (stream, partition): the shard's checkpoint (engine snapshot, last event
applied, offsets to read again from) and the end of its ``risk.events`` partition when it
was taken. A checkpoint of 25,000 accounts is a few megabytes compressed: too large for a
Kafka message (1 MB by default), at home in a ``bytea``.
"""

from __future__ import annotations

from typing import Any

from storage.database import check_schema

CREATE = """
CREATE TABLE IF NOT EXISTS {schema}.stream_checkpoints (
    stream text NOT NULL,
    partition integer NOT NULL,
    checkpoint bytea NOT NULL,
    events_offset bigint NOT NULL,
    saved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, partition)
)
"""


class CheckpointStore:
    """Load and save shard checkpoints (asyncpg)."""

    def __init__(self, dsn: str, schema: str = "public") -> None:
        self.dsn = dsn
        self.schema = check_schema(schema)
        self._pool: Any = None

    async def open(self) -> None:
        import asyncpg

        self._pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2)
        # Workers starting together would race on CREATE ... IF NOT EXISTS (PostgreSQL
        # checks the catalogue before it locks it): one at a time, under a lock.
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtext('proptrade.stream_checkpoints'))")
            await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            await connection.execute(CREATE.format(schema=self.schema))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def load(self, stream: str, partition: int) -> tuple[bytes, int] | None:
        row = await self._pool.fetchrow(
            f"SELECT checkpoint, events_offset FROM {self.schema}.stream_checkpoints "
            "WHERE stream = $1 AND partition = $2", stream, partition)
        return None if row is None else (bytes(row["checkpoint"]), int(row["events_offset"]))

    async def forget(self, stream: str) -> None:
        """Drop a stream's checkpoints (its topics are gone: an embedded broker stopped)."""
        await self._pool.execute(
            f"DELETE FROM {self.schema}.stream_checkpoints WHERE stream = $1", stream)

    async def save(self, stream: str, partition: int, checkpoint: bytes,
                   events_offset: int) -> None:
        await self._pool.execute(
            f"INSERT INTO {self.schema}.stream_checkpoints "
            "(stream, partition, checkpoint, events_offset) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (stream, partition) DO UPDATE SET checkpoint = EXCLUDED.checkpoint, "
            "events_offset = EXCLUDED.events_offset, saved_at = now()",
            stream, partition, checkpoint, events_offset)
