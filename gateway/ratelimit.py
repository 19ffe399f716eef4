"""Rate limits in Redis, shared by every gateway process: fixed windows per key.

Registration, password reset and two-factor codes are limited per client address and per
account. Logins follow a policy of their own (:class:`LoginGuard`), because a per-account
lockout is itself an attack: whoever knows an e-mail address could keep its owner out.

Over a limit the answer is 429 with ``Retry-After``: the seconds left in the window.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from gateway.errors import TooManyRequests
from storage.cache import Cache


@dataclass(frozen=True)
class Limit:
    name: str
    count: int  # attempts allowed per window
    seconds: int


REGISTER = Limit("register", 5, 3600)
RESET = Limit("reset", 5, 3600)
TWO_FACTOR = Limit("2fa", 10, 300)

# Failed logins. One address guessing one account: 10 per 5 minutes (120 an hour). One
# address across accounts (a password spray): 20 per 5 minutes. One account from
# addresses it never signed in from (a guess spread over many addresses): 30 an hour —
# slower than one address may guess, so spreading buys an attacker nothing, and an
# address the account signed in from within KNOWN_DAYS is never held by it.
LOGIN_PAIR = Limit("login-pair", 10, 300)
LOGIN_ADDRESS = Limit("login-address", 20, 300)
LOGIN_ACCOUNT = Limit("login-account", 30, 3600)
KNOWN_DAYS = 30
KNOWN_PER_ACCOUNT = 20  # addresses remembered per account (the most recent)


class RateLimiter:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.logins = LoginGuard(cache)

    async def hit(self, limit: Limit, *subjects: str) -> None:
        """Count one attempt against each subject; 429 if any is over its limit."""
        worst = 0
        for subject in subjects:
            worst = max(worst, await self._count(self.cache.key("rate", limit.name, subject),
                                                 limit))
        if worst:
            raise TooManyRequests(worst)

    async def _count(self, key: str, limit: Limit) -> int:
        """Count one against ``key``; the seconds to wait when over ``limit``, else 0."""
        async with self.cache.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, limit.seconds, nx=True)
            pipe.ttl(key)
            count, _, ttl = await pipe.execute()
        return (ttl if ttl > 0 else limit.seconds) if count > limit.count else 0


class LoginAttempt:
    """One login attempt that got past the limits: counted as a failure unless
    :meth:`succeeded` says otherwise."""

    def __init__(self, guard: LoginGuard, account: str, address: str,
                 counters: list[tuple[str, Limit]]) -> None:
        self.guard = guard
        self.account = account
        self.address = address
        self.counters = counters  # the failure counters this attempt raised, pair first

    async def succeeded(self) -> None:
        """The password (and second factor) were right: the attempt was no failure, the
        pair's count starts again, and the address becomes known to the account."""
        await self.guard.succeeded(self)


class LoginGuard:
    """Failed-login limits that keep guessing out without handing anyone a lockout.

    - per (address, account) pair (:data:`LOGIN_PAIR`): the attacker's own address is
      held for that account; the owner elsewhere is not;
    - per address over every account (:data:`LOGIN_ADDRESS`): a password spray;
    - per account (:data:`LOGIN_ACCOUNT`), counting only attempts from addresses the
      account has not signed in from within :data:`KNOWN_DAYS`: a guess spread over many
      addresses. The owner at a known address is never held by it;
    - a password reset (:meth:`forget_account`) starts the account's counts again.

    Attempts are counted before the password is checked (so parallel guesses cannot all
    pass a check made before any is counted) and given back when they succeed.
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def _account(self, tenant_id: int, email: str) -> str:
        # Hashed: an address may hold ':' and anything else a key should not.
        return f"{tenant_id}:{hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]}"

    async def attempt(self, tenant_id: int, email: str, address: str) -> LoginAttempt:
        """Count an attempt; 429 when the pair, the address or the account is held."""
        account = self._account(tenant_id, email)
        key, client = self.cache.key, self.cache.client
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(key("login-epoch", account))
            pipe.zscore(key("login-known", account), address)
            epoch, known_at = await pipe.execute()
        generation = f"{account}:{int(epoch or 0)}"  # a reset moves to a new generation
        limits = [(key("rate", LOGIN_PAIR.name, generation, address), LOGIN_PAIR),
                  (key("rate", LOGIN_ADDRESS.name, address), LOGIN_ADDRESS)]
        known = known_at is not None and float(known_at) > time.time() - KNOWN_DAYS * 86400
        if not known:
            limits.append((key("rate", LOGIN_ACCOUNT.name, generation), LOGIN_ACCOUNT))
        async with client.pipeline(transaction=True) as pipe:
            for counter, limit in limits:
                pipe.incr(counter)
                pipe.expire(counter, limit.seconds, nx=True)
                pipe.ttl(counter)
            results = await pipe.execute()
        worst = 0
        for index, (_, limit) in enumerate(limits):
            count, ttl = results[3 * index], results[3 * index + 2]
            if count > limit.count:
                worst = max(worst, ttl if ttl > 0 else limit.seconds)
        if worst:
            raise TooManyRequests(worst)
        return LoginAttempt(self, account, address, limits)

    async def succeeded(self, attempt: LoginAttempt) -> None:
        (pair, _), *others = attempt.counters
        known = self.cache.key("login-known", attempt.account)
        async with self.cache.client.pipeline(transaction=True) as pipe:
            pipe.delete(pair)
            for counter, limit in others:
                pipe.decr(counter)
                # Expired since the attempt: the -1 left behind must expire too.
                pipe.expire(counter, limit.seconds, nx=True)
            pipe.zadd(known, {attempt.address: time.time()})
            pipe.zremrangebyrank(known, 0, -KNOWN_PER_ACCOUNT - 1)  # keep the newest
            pipe.expire(known, KNOWN_DAYS * 86400)
            await pipe.execute()

    async def forget_account(self, tenant_id: int, email: str) -> None:
        """A password reset: every count against the account starts again (the old
        counters are left to expire)."""
        account = self._account(tenant_id, email)
        epoch = self.cache.key("login-epoch", account)
        async with self.cache.client.pipeline(transaction=True) as pipe:
            pipe.incr(epoch)
            pipe.expire(epoch, KNOWN_DAYS * 86400)
            await pipe.execute()
