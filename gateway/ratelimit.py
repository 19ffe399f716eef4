"""Rate limits in Redis, shared by every gateway process: fixed windows per key.

Registration, password reset and two-factor codes are limited per client address and per
account. Logins follow a policy of their own (:class:`LoginGuard`), because a per-account
lockout is itself an attack: whoever knows an e-mail address could keep its owner out.
For the same reason a reset request is never refused for its account: past
:data:`RESET_MAIL` an hour the account's mail stops, silently (:meth:`RateLimiter.allows`).

Over a limit the answer is 429 with ``Retry-After``: the seconds left in the window.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from gateway.errors import TooManyRequests
from storage.cache import Cache


@dataclass(frozen=True)
class Limit:
    name: str
    count: int  # attempts allowed per window
    seconds: int


REGISTER = Limit("register", 5, 3600)
RESET = Limit("reset", 5, 3600)  # per address: reset requests and reset tokens sent
# Reset mails per account (per firm) an hour. The answer stays 202 past it: the mails an
# attacker's requests caused went to the owner, and any of them resets the password.
RESET_MAIL = Limit("reset-mail", 5, 3600)
# Wrong two-factor codes, per user and per address, counted only once the password was
# right (a wrong password spends nothing of it); a right code gives its attempt back.
TWO_FACTOR = Limit("2fa", 10, 300)
# Wrong current passwords given to a password change, per user (of its firm): a stolen
# session guesses the password no faster than this; a right one gives its attempt back.
PASSWORD_CHANGE = Limit("password-change", 5, 900)

# Failed logins. One address guessing one account: 10 per 5 minutes (120 an hour). One
# address across accounts (a password spray): 20 per 5 minutes. One account from
# addresses it never signed in from (a guess spread over many addresses): 30 an hour —
# slower than one address may guess, so spreading buys an attacker nothing, and an
# address the account signed in from within KNOWN_DAYS is never held by it. A device
# the account signed in on within DEVICE_DAYS (its signed cookie) is held only by its
# own failures, LOGIN_PAIR per device: never by its address's or the account's.
LOGIN_PAIR = Limit("login-pair", 10, 300)
LOGIN_ADDRESS = Limit("login-address", 20, 300)
LOGIN_ACCOUNT = Limit("login-account", 30, 3600)
LOGIN_DEVICE = Limit("login-device", LOGIN_PAIR.count, LOGIN_PAIR.seconds)
KNOWN_DAYS = 30
KNOWN_PER_ACCOUNT = 20  # addresses remembered per account (the most recent)
DEVICE_DAYS = 90  # a device cookie's life, renewed by each sign-in on it
DEVICES_PER_ACCOUNT = 20  # devices remembered per account (the most recent)
DEVICE_ID = re.compile(r"[0-9a-f]{32}\Z")

HELD_MESSAGE = ("too many failed sign-ins to this account from devices it has not used: "
                "sign in on a device you used before, add your two-factor code, or reset "
                "your password; or retry in {seconds} s")

# Check every counter, then count on each only when none is at its limit: an attempt one
# limit refuses is never counted by another (an address the pair limit holds cannot run
# the account's count up). Atomic, so parallel attempts cannot all pass one check.
# KEYS: the counters; ARGV: each one's count and seconds. Returns each counter's seconds
# to wait (0: not held).
_RESERVE = """
local held, waits = false, {}
for i, key in ipairs(KEYS) do
  local most, seconds = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  waits[i] = 0
  if tonumber(redis.call('GET', key) or '0') >= most then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then
      redis.call('EXPIRE', key, seconds)
      ttl = seconds
    end
    waits[i] = ttl
    held = true
  end
end
if not held then
  for i, key in ipairs(KEYS) do
    redis.call('INCR', key)
    redis.call('EXPIRE', key, ARGV[2 * i], 'NX')
  end
end
return waits
"""


def account_key(tenant_id: int, email: str) -> str:
    """An account as rate limits name it, whether or not it exists: the firm and the
    e-mail address (hashed: an address may hold ':' and anything else a key should not)."""
    return f"{tenant_id}:{hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]}"


class RateLimiter:
    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.logins = LoginGuard(cache)
        self._reserve = cache.client.register_script(_RESERVE)

    async def hit(self, limit: Limit, *subjects: str) -> None:
        """Count one attempt against each subject; 429 if any is over its limit."""
        worst = 0
        for subject in subjects:
            worst = max(worst, await self._count(self.cache.key("rate", limit.name, subject),
                                                 limit))
        if worst:
            raise TooManyRequests(worst)

    async def allows(self, limit: Limit, subject: str) -> bool:
        """Count one against ``subject``; False past the limit (the caller goes on
        quietly, without the act the limit bounds)."""
        return not await self._count(self.cache.key("rate", limit.name, subject), limit)

    async def reserve(self, limit: Limit, *subjects: str) -> Reservation:
        """Count one failure in advance against each subject, unless one of them is at
        its limit (429, nothing counted); :meth:`Reservation.give_back` when it was none."""
        counters = [(self.cache.key("rate", limit.name, subject), limit)
                    for subject in subjects]
        waits = await reserve(self._reserve, counters)
        if any(waits):
            raise TooManyRequests(max(waits))
        return Reservation(self.cache, counters)

    async def forget(self, limit: Limit, *subjects: str) -> None:
        """Start the counts of ``subjects`` again."""
        await self.cache.client.delete(*(self.cache.key("rate", limit.name, subject)
                                         for subject in subjects))

    async def _count(self, key: str, limit: Limit) -> int:
        """Count one against ``key``; the seconds to wait when over ``limit``, else 0."""
        async with self.cache.client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, limit.seconds, nx=True)
            pipe.ttl(key)
            count, _, ttl = await pipe.execute()
        return (ttl if ttl > 0 else limit.seconds) if count > limit.count else 0


async def reserve(script: Any, counters: list[tuple[str, Limit]]) -> list[int]:
    """Run :data:`_RESERVE` over ``counters``: each one's seconds to wait (all 0: each
    was counted)."""
    if not counters:
        return []
    keys = [key for key, _ in counters]
    arguments = [value for _, limit in counters for value in (limit.count, limit.seconds)]
    return [int(wait) for wait in await script(keys=keys, args=arguments)]


class Reservation:
    """Failures counted in advance; given back when the attempt was no failure."""

    def __init__(self, cache: Cache, counters: list[tuple[str, Limit]]) -> None:
        self.cache = cache
        self.counters = counters

    async def give_back(self) -> None:
        async with self.cache.client.pipeline(transaction=True) as pipe:
            for counter, limit in self.counters:
                pipe.decr(counter)
                # Expired since the attempt: the -1 left behind must expire too.
                pipe.expire(counter, limit.seconds, nx=True)
            await pipe.execute()


class LoginAttempt:
    """One login attempt that got past the limits: counted as a failure unless the
    password proves right (:meth:`password_right`).

    :attr held: set when only the account's limit held this new device and the attempt
        came with a second factor: it may pass with the right password and a right
        second factor, and gets this same 429 for anything else.
    """

    def __init__(self, guard: LoginGuard, account: str, generation: str, address: str,
                 device: str | None, counters: list[tuple[str, Limit]],
                 held: TooManyRequests | None = None) -> None:
        self.guard = guard
        self.account = account
        self.generation = generation
        self.address = address
        self.device = device  # its id when it came with a valid device cookie
        self.counters = counters  # the failure counters this attempt raised, pair first
        self.held = held

    async def password_right(self) -> None:
        """No failure to count: the pair's (or the device's) count starts again, the
        others are given back."""
        if not self.counters:
            return
        (pair, _), *others = self.counters
        async with self.guard.cache.client.pipeline(transaction=True) as pipe:
            pipe.delete(pair)
            for counter, limit in others:
                pipe.decr(counter)
                pipe.expire(counter, limit.seconds, nx=True)  # as in Reservation
            await pipe.execute()

    async def signed_in(self) -> str:
        """The attempt signed in: its address and device become known to the account.
        Returns the device's id, for its cookie (a new one for a device without)."""
        device = self.device or secrets.token_hex(16)
        key, now = self.guard.cache.key, time.time()
        known = key("login-known", self.account)
        devices = key("login-devices", self.generation)
        async with self.guard.cache.client.pipeline(transaction=True) as pipe:
            # The generation lives as long as its devices do (no-op when never reset).
            pipe.expire(key("login-epoch", self.account), DEVICE_DAYS * 86400)
            pipe.zadd(known, {self.address: now})
            pipe.zremrangebyrank(known, 0, -KNOWN_PER_ACCOUNT - 1)  # keep the newest
            pipe.expire(known, KNOWN_DAYS * 86400)
            pipe.zadd(devices, {device: now})
            pipe.zremrangebyrank(devices, 0, -DEVICES_PER_ACCOUNT - 1)
            pipe.expire(devices, DEVICE_DAYS * 86400)
            await pipe.execute()
        return device


class LoginGuard:
    """Failed-login limits that keep guessing out without handing anyone a lockout.

    - per (address, account) pair (:data:`LOGIN_PAIR`): the attacker's own address is
      held for that account; the owner elsewhere is not;
    - per address over every account (:data:`LOGIN_ADDRESS`): a password spray;
    - per account (:data:`LOGIN_ACCOUNT`), counting only attempts from addresses the
      account has not signed in from within :data:`KNOWN_DAYS`: a guess spread over many
      addresses. The owner at a known address is never held by it;
    - a device the account signed in on (a signed, HttpOnly cookie naming a random
      device id, which the account remembers for :data:`DEVICE_DAYS`) is counted only
      per (device, account) (:data:`LOGIN_DEVICE`): neither an address it shares with an
      attacker nor a guess spread over the world holds the owner's own browser;
    - a new device held only by the account's limit still signs in with the right
      password *and* a right second factor (an account with two-factor auth); any other
      attempt gets the same 429, so the limit is no oracle for the password. Without
      two-factor auth the way in is a device used before, or a password reset;
    - an attempt is counted only when no limit refused it, before the password is checked
      (parallel guesses cannot all pass a check made before any is counted), and given
      back when the password proves right;
    - a password reset (:meth:`forget_account`) starts the account's counts again and
      forgets its devices.
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self._reserve = cache.client.register_script(_RESERVE)

    async def attempt(self, tenant_id: int, email: str, address: str,
                      device: str | None = None, second_factor: bool = False
                      ) -> LoginAttempt:
        """Count an attempt; 429 when the pair, the address or the account is held.

        :param device: the device id of the request's device cookie, if any.
        :param second_factor: the attempt carries a TOTP or recovery code.
        """
        account = account_key(tenant_id, email)
        key, client = self.cache.key, self.cache.client
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(key("login-epoch", account))
            pipe.zscore(key("login-known", account), address)
            epoch, known_at = await pipe.execute()
        generation = f"{account}:{int(epoch or 0)}"  # a reset moves to a new generation
        if device is not None and not DEVICE_ID.match(device):
            device = None
        seen = None
        if device is not None:
            seen = await client.zscore(key("login-devices", generation), device)
        if device is not None and seen is not None \
                and float(seen) > time.time() - DEVICE_DAYS * 86400:
            counters = [(key("rate", LOGIN_DEVICE.name, generation, device), LOGIN_DEVICE)]
        else:
            counters = [(key("rate", LOGIN_PAIR.name, generation, address), LOGIN_PAIR),
                        (key("rate", LOGIN_ADDRESS.name, address), LOGIN_ADDRESS)]
            known = known_at is not None and \
                float(known_at) > time.time() - KNOWN_DAYS * 86400
            if not known:
                counters.append((key("rate", LOGIN_ACCOUNT.name, generation),
                                 LOGIN_ACCOUNT))
        waits = await reserve(self._reserve, counters)
        if not any(waits):
            return LoginAttempt(self, account, generation, address, device, counters)
        worst = max(waits)
        account_only = [limit for (_, limit), wait in zip(counters, waits, strict=True)
                        if wait] == [LOGIN_ACCOUNT]
        if not account_only:
            raise TooManyRequests(worst)
        held = TooManyRequests(worst, HELD_MESSAGE.format(seconds=worst))
        if second_factor:
            others = counters[:-1]
            if not any(await reserve(self._reserve, others)):
                return LoginAttempt(self, account, generation, address, device, others,
                                    held)
        raise held

    async def forget_account(self, tenant_id: int, email: str) -> None:
        """A password reset: every count against the account starts again and its devices
        are forgotten (the old counters and devices are left to expire)."""
        account = account_key(tenant_id, email)
        epoch = self.cache.key("login-epoch", account)
        async with self.cache.client.pipeline(transaction=True) as pipe:
            pipe.incr(epoch)
            pipe.expire(epoch, DEVICE_DAYS * 86400)
            await pipe.execute()
