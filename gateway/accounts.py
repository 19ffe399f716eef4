"""Every account of a firm, and its one status.

- **On record.** ``trading_accounts`` holds the accounts the platform opened (a challenge's
  phase) and those that arrive from the firm's broker: the gateway reads the ``account``
  events of ``feed.accounts`` (consumer group ``<group>.accounts``) and records each
  account it does not know as a broker account of the firm :mod:`storage.attribution`
  names (the analytics sink places it by the same rule). So the engine's answers about
  every account reach the risk desk.
- **One status.** An account's status is its row's: the engine's answers keep it (a
  ``fail`` breach: failed, ``passed``: passed, a ``pause`` breach: paused, ``resumed``:
  active again) and so do the desk's actions (stopped). Every endpoint reads it from
  there; the live numbers, which the engine publishes with its own reading, carry it too.
  Redis keeps a copy per account (``<prefix>status:<login>``) for the hot reads, written
  after each change commits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

import msgspec
import orjson

from storage.attribution import FirmRule
from storage.cache import Cache
from streams.wire import Batch, batch_decoder

log = logging.getLogger("proptrade.accounts")

#: Every status an account can have (``trading_accounts.status``).
STATUSES = ("active", "paused", "passed", "failed", "stopped", "disabled")
#: Statuses of an account still trading and watched.
LIVE = ("active", "paused")
#: An answer about an account not on record waits this long for its row (the ``account``
#: event is read by another consumer, or the platform's row has not committed yet).
ACCOUNT_WAIT_SECONDS = 10.0
#: After a wait in vain, answers about that account are dropped without waiting for this
#: long (its ``account`` event is no longer on the broker).
GIVE_UP_SECONDS = 300.0
#: A cached status is read again from PostgreSQL after this long (it bounds how long two
#: changes of one account racing to the cache could leave the older one there).
STATUS_SECONDS = 600


def storable(text: str) -> bool:
    """Whether PostgreSQL can keep ``text`` as a login or program id (the feed allows any
    non-empty text; a NUL or a megabyte-long id would fail the consumer's transaction)."""
    return 0 < len(text) <= 256 and "\x00" not in text


class _Opening(msgspec.Struct):
    """What the registry reads of a feed event: its type and, for ``account``, the login
    and the program (the rest of the event is skipped, not decoded)."""

    type: str
    account: str = ""
    program: str = ""


_peek = msgspec.msgpack.Decoder(_Opening)


#: Puts a new status into each account's latest numbers where they are kept and
#: publishes them (no numbers yet: nothing; the first ones will carry it). KEYS the
#: metrics keys; for each, ARGV the status, the live channel and the login as JSON. The
#: snapshot's own ``"status":"…"`` (its second field, as orjson writes it; a login's
#: quotes are escaped, so the pattern never matches inside one) is replaced.
RESTATUS_SCRIPT = """
for i = 1, #KEYS do
  local raw = redis.call('GET', KEYS[i])
  if raw then
    local status = ARGV[3 * i - 2]
    local snapshot = (string.gsub(raw, '"status":"[%a_]*"', '"status":"' .. status .. '"', 1))
    redis.call('SET', KEYS[i], snapshot, 'KEEPTTL')
    redis.call('PUBLISH', ARGV[3 * i - 1],
               '{"type":"metrics","account":' .. ARGV[3 * i] .. ',"data":' .. snapshot .. '}')
  end
end
return #KEYS
"""


class AccountRegistry:
    """Records the broker's accounts as they open, and keeps the status cache."""

    def __init__(self, pool: Any, cache: Cache) -> None:
        self.pool = pool
        self.cache = cache
        self.rule = FirmRule(pool)
        self._given_up: dict[str, float] = {}
        self._restatus = cache.client.register_script(RESTATUS_SCRIPT)

    # -- the broker's accounts ----------------------------------------------------------

    async def run(self, bootstrap: str, topic: str, group: str, stop: asyncio.Event) -> None:
        from streams.topics import consume

        await consume(bootstrap, topic, group, batch_decoder, self.record_batch, stop)

    async def record_batch(self, batch: Batch) -> list[str]:
        """Record the accounts a feed batch opens that are not on record; returns them."""
        opened: dict[str, str] = {}
        for raw in batch.events:
            try:
                event = _peek.decode(raw)
            except msgspec.MsgspecError as error:
                log.warning("%s: an event cannot be read: %s", batch.source, error)
                continue
            if event.type != "account":
                continue
            if storable(event.account) and storable(event.program):
                opened.setdefault(event.account, event.program)
            else:
                log.warning("%s: account %r on program %r cannot be recorded", batch.source,
                            event.account[:80], event.program[:80])
        if not opened:
            return []
        return await self.record(opened, batch.source)

    async def record(self, opened: dict[str, str], source: str) -> list[str]:
        """Record ``{login: program}`` as broker accounts where not on record already
        (an account the platform is opening waits for its transaction, then stays the
        platform's)."""
        async with self.pool.acquire() as connection:
            if not self.rule.knows(set(opened.values())):
                await self.rule.load(connection)
            tenants = [self.rule.known_firm_of(program) for program in opened.values()]
            rows = await connection.fetch(
                "INSERT INTO trading_accounts (tenant_id, phase, login, engine_program, "
                "broker, origin) SELECT t, 0, l, p, $4, 'broker' FROM unnest($1::bigint[], "
                "$2::text[], $3::text[]) AS x(t, l, p) ON CONFLICT (login) DO NOTHING "
                "RETURNING login", tenants, list(opened), list(opened.values()),
                source[:200])
        return [row["login"] for row in rows]

    async def wait_for(self, login: str) -> bool:
        """Wait (at most :data:`ACCOUNT_WAIT_SECONDS`) until ``login`` is on record."""
        now = time.monotonic()
        if self._given_up.get(login, 0.0) > now:
            return False
        deadline = now + ACCOUNT_WAIT_SECONDS
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if await self.pool.fetchval("SELECT 1 FROM trading_accounts WHERE login = $1",
                                        login):
                return True
        if len(self._given_up) > 100_000:
            self._given_up.clear()
        self._given_up[login] = time.monotonic() + GIVE_UP_SECONDS
        return False

    async def on_record(self, tenant_id: int, login: str) -> bool:
        """Whether ``login`` is an account of this firm (the platform's or the broker's)."""
        return storable(login) and bool(await self.pool.fetchval(
            "SELECT 1 FROM trading_accounts WHERE login = $1 AND tenant_id = $2", login,
            tenant_id))

    # -- statuses -----------------------------------------------------------------------

    async def closed_by_platform(self, tenant_id: int) -> list[str]:
        """The firm's accounts the platform closed (stopped by the desk): the engine, and
        so the history, does not know they are closed."""
        rows = await self.pool.fetch(
            "SELECT login FROM trading_accounts WHERE tenant_id = $1 AND status IN "
            "('stopped', 'disabled')", tenant_id)
        return [row["login"] for row in rows]

    def status_key(self, login: str) -> str:
        return self.cache.key("status", login)

    async def published(self, statuses: dict[str, str]) -> None:
        """Copy statuses that just committed to the cache, and announce each account's
        latest numbers again with its new status: the engine publishes no more numbers for
        an account it failed or passed, and those it published before the status
        committed carried the old one — without this a live client would never see it.

        The numbers are changed where they are, in one script (atomic): read here and
        written back, they could overwrite newer numbers stored meanwhile."""
        if not statuses:
            return
        async with self.cache.client.pipeline(transaction=False) as pipe:
            for login, status in statuses.items():
                pipe.set(self.status_key(login), status, ex=STATUS_SECONDS)
            await pipe.execute()
        await self.restate(statuses)

    async def restate(self, statuses: dict[str, str]) -> None:
        """Put each status into its account's kept numbers and announce them (atomic)."""
        keys: list[str] = []
        args: list[Any] = []
        for login, status in statuses.items():
            keys.append(self.cache.key("metrics", login))
            args += (status, self.cache.key("live", "account", login), orjson.dumps(login))
        await self._restatus(keys=keys, args=args)

    async def statuses(self, logins: Iterable[str]) -> dict[str, str]:
        """The status of each login on record (the cache, else PostgreSQL)."""
        wanted = list(dict.fromkeys(logins))
        if not wanted:
            return {}
        cached = await self.cache.client.mget([self.status_key(login) for login in wanted])
        found = {login: value.decode() for login, value in zip(wanted, cached, strict=True)
                 if value is not None}
        missing = [login for login in wanted if login not in found]
        if missing:
            rows = await self.pool.fetch(
                "SELECT login, status FROM trading_accounts WHERE login = ANY($1)", missing)
            loaded = {row["login"]: row["status"] for row in rows}
            if loaded:
                # NX: a change committed meanwhile wrote a newer status; keep that one.
                async with self.cache.client.pipeline(transaction=False) as pipe:
                    for login, status in loaded.items():
                        pipe.set(self.status_key(login), status, nx=True, ex=STATUS_SECONDS)
                    await pipe.execute()
            found.update(loaded)
        return found

    # -- a new feed -----------------------------------------------------------------------

    async def new_feed(self, broker: Any, last_balance: Any) -> tuple[int, int]:
        """An embedded broker starts an empty feed at each ``proptrade up`` (and the
        history recorded from the last one is emptied): the broker accounts of earlier
        feeds are forgotten, with their answers, and the platform's live accounts are
        opened again at the broker (``broker.open_account``), each at its last known
        balance (``await last_balance(login)``, else its program's initial balance) — a
        challenge bought before the restart goes on. Returns (forgotten, reopened)."""
        async with self.pool.acquire() as connection, connection.transaction():
            forgotten = [row["login"] for row in await connection.fetch(
                "SELECT login FROM trading_accounts WHERE origin = 'broker'")]
            await connection.execute(
                "DELETE FROM risk_events WHERE account_id IN (SELECT id FROM "
                "trading_accounts WHERE origin = 'broker')")
            await connection.execute("DELETE FROM trading_accounts WHERE origin = 'broker'")
            live = await connection.fetch(
                "SELECT a.login, a.phase, p.phases FROM trading_accounts a JOIN challenges c"
                " ON c.id = a.challenge_id JOIN programs p ON p.id = c.program_id "
                "WHERE a.origin = 'platform' AND a.status IN ('active', 'paused') "
                "ORDER BY a.id")
        for start in range(0, len(forgotten), 1000):
            chunk = forgotten[start:start + 1000]
            await self.cache.client.delete(*[self.status_key(login) for login in chunk],
                                           *[self.cache.key("metrics", login)
                                             for login in chunk])
        for row in live:
            document = msgspec.json.decode(row["phases"])[row["phase"]]["document"]
            balance = await last_balance(row["login"])
            await broker.open_account(row["login"], document, float(
                document["initial_balance"]) if balance is None else balance)
        return len(forgotten), len(live)
