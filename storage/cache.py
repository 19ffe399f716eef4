"""Redis: one client per process, every key under the deployment's prefix."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis


class Cache:
    """A Redis client and the key prefix of this deployment (or test)."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client: Any = aioredis.from_url(url, decode_responses=False)
        self.prefix = prefix

    def key(self, *parts: str | int) -> str:
        return self.prefix + ":".join(str(part) for part in parts)

    async def ping(self) -> bool:
        return bool(await self.client.ping())

    async def close(self) -> None:
        await self.client.aclose()

    async def drop_prefix(self) -> None:
        """Delete every key of this prefix (a test's own)."""
        async for key in self.client.scan_iter(match=self.prefix + "*", count=1000):
            await self.client.delete(key)
