"""Everything a gateway process holds open, built once at start and handed to handlers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.mail import Mailer, transport_for
from gateway.ratelimit import RateLimiter
from gateway.security import TokenSigner
from gateway.tenants import TenantDirectory
from gateway.users import Users
from storage.cache import Cache
from storage.database import create_pool
from streams.settings import Settings


@dataclass
class Services:
    settings: Settings
    pool: Any
    cache: Cache
    tenants: TenantDirectory
    users: Users
    limiter: RateLimiter
    mailer: Mailer
    kafka: Any = None  # the broker link, when the gateway talks to the stream

    @classmethod
    async def open(cls, settings: Settings, schema: str = "public") -> Services:
        pool = await create_pool(settings.database_url, schema, min_size=2, max_size=10)
        cache = Cache(settings.redis_url, settings.redis_prefix)
        signer = TokenSigner(settings.secret_key)
        mailer = Mailer(pool, transport_for(settings.smtp_url, settings.data_dir),
                        settings.mail_from)
        return cls(settings, pool, cache, TenantDirectory(pool), Users(pool, cache, signer),
                   RateLimiter(cache), mailer)

    async def close(self) -> None:
        await self.cache.close()
        await self.pool.close()
