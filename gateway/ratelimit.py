"""Rate limits in Redis, shared by every gateway process: fixed windows per key.

Each sensitive action is limited per client address and per account (e-mail or user),
so one address cannot try many accounts and many addresses cannot hammer one account.
Over the limit the answer is 429 with ``Retry-After``: the seconds left in the window.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import TooManyRequests
from storage.cache import Cache


@dataclass(frozen=True)
class Limit:
    name: str
    count: int  # attempts allowed per window
    seconds: int


LOGIN = Limit("login", 10, 300)
REGISTER = Limit("register", 5, 3600)
RESET = Limit("reset", 5, 3600)
TWO_FACTOR = Limit("2fa", 10, 300)


class RateLimiter:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    async def hit(self, limit: Limit, *subjects: str) -> None:
        """Count one attempt against each subject; 429 if any is over its limit."""
        client = self.cache.client
        worst = 0
        for subject in subjects:
            key = self.cache.key("rate", limit.name, subject)
            async with client.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, limit.seconds, nx=True)
                pipe.ttl(key)
                count, _, ttl = await pipe.execute()
            if count > limit.count:
                worst = max(worst, ttl if ttl > 0 else limit.seconds)
        if worst:
            raise TooManyRequests(worst)
