"""Redis: one client per process, every key under the deployment's prefix."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis


class Cache:
    """A Redis client and the key prefix of this deployment (or test)."""

    def __init__(self, url: str, prefix: str, max_connections: int = 64) -> None:
        # A bounded pool that waits for a free connection: thousands of concurrent reads
        # (websocket clients subscribing at once) queue here instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10)
        self.client: Any = aioredis.Redis(connection_pool=pool)
        self.prefix = prefix

    def key(self, *parts: str | int) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()
        await self.client.connection_pool.disconnect()

    async def drop_prefix(self) -> None:
        """Delete every key of this prefix (a test's own)."""
        async for key in self.client.scan_iter(match=self.prefix + "*", count=1000):
            await self.client.delete(key)
