"""The gateway's link to the stream: engine verdicts become challenge outcomes, account
snapshots become the live cache, and both reach the websocket hub.

- ``risk.events`` (consumer group ``<group>.outcomes``): each answer is stored once in
  ``risk_events`` under its stable id — a redelivered answer finds its row and changes
  nothing — and in the same transaction fails the challenge (a ``fail`` breach) or passes
  the phase (``passed``: the next phase opens at once, or waits for an admin's review).
  Offsets are committed after the transaction, so a crash re-reads, never skips.
  Different accounts' answers are applied at once, each account's in order.
- ``risk.events`` again (group ``<group>.alerts``): each answer goes to the websocket hub
  as it is read, never waiting for the transactions above (a storm's breaches reach the
  desk at once; an answer read again after a crash is sent again under the same id, which
  the app shows once; one written more than five minutes ago is not news).
- ``risk.metrics``: each account's latest snapshot is kept in Redis
  (``<prefix>metrics:<login>``, a JSON document, 24 h) for REST reads.
- Redis pub/sub carries both to every gateway process's websocket hub:
  ``<prefix>live:account:<login>`` and ``<prefix>live:tenant:<id>``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
import numpy as np
import orjson

from gateway.accounts import LIVE, AccountRegistry, storable
from gateway.brokers import BrokerAdapter
from gateway.challenges import Challenges
from gateway.health import Parts, now_iso
from storage.cache import Cache
from streams.accounts import STATUS_NAMES
from streams.events import format_ts
from streams.outputs import Breach, Passed, Resumed, State
from streams.topics import Topics, consume, ensure_topics
from streams.wire import Answer, MetricsBatch, answer_decoder, metrics_decoder

log = logging.getLogger("proptrade.live")
METRICS_SECONDS = 24 * 3600


#: Seconds the gateway waits for the broker at start before serving without it (the
#: link keeps trying in the background), and for one command to be acknowledged.
CONNECT_TIMEOUT = 10.0
SEND_TIMEOUT = 10.0


class StreamLink:
    """The producer (broker commands) and the consumers of ``risk.*`` of one gateway.

    The gateway serves without the broker: when it does not answer at start, the link
    keeps trying in the background (:meth:`keep_connecting`) and commands are refused
    with a 503 until it does."""

    def __init__(self, bootstrap: str, topics: Topics, group: str) -> None:
        from aiokafka import AIOKafkaProducer

        self.bootstrap = bootstrap
        self.topics = topics
        self.group = group
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=1,
                                         request_timeout_ms=int(SEND_TIMEOUT * 1000))
        self.connected = False
        self.up = asyncio.Event()  # set once connected: the consumers start then
        self.problem = "not connected yet"

    async def start(self) -> bool:
        """Connect (at most :data:`CONNECT_TIMEOUT` s); False when the broker did not
        answer — :meth:`keep_connecting` goes on from there."""
        try:
            await asyncio.wait_for(self._connect(), CONNECT_TIMEOUT)
        except Exception as error:  # the broker is unreachable: serve without it
            self.problem = f"{type(error).__name__}: {error}"[:300]
            log.warning("the broker at %s does not answer (%s); serving without it and "
                        "retrying", self.bootstrap, self.problem)
            return False
        return True

    async def _connect(self) -> None:
        await ensure_topics(self.bootstrap, self.topics)
        if not self.connected:
            await self.producer.start()
        self.connected = True
        self.up.set()

    async def keep_connecting(self, stop: asyncio.Event) -> None:
        """Until connected or ``stop``: try again every few seconds."""
        delay = 1.0
        while not self.connected and not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
            if not stop.is_set() and await self.start():
                log.warning("the broker at %s answers: connected", self.bootstrap)
            delay = min(delay * 2, 10.0)

    async def stop(self) -> None:
        await self.producer.stop()

    async def ready(self) -> None:
        if not self.connected:
            raise ConnectionError(f"not connected: {self.problem}")
        if not await self.producer.client.force_metadata_update():
            raise ConnectionError("the broker did not answer a metadata request")


OUTCOME_CONCURRENCY = 4  # accounts whose answers are applied at once (of 10 connections)
NEWS_SECONDS = 300  # an answer older than this is not told live (the history holds it)


def _account_of(answer: Answer) -> str:
    return answer.output.account


class Outcomes:
    """Applies the engine's answers to accounts and challenges (exactly once per answer
    id), for every account on record: the platform's and the broker's."""

    def __init__(self, pool: Any, cache: Cache, challenges: Challenges,
                 broker: BrokerAdapter | None, registry: AccountRegistry) -> None:
        self.pool = pool
        self.cache = cache
        self.challenges = challenges
        self.broker = broker
        self.registry = registry
        self._waiting: set[asyncio.Task[None]] = set()  # answers told once recorded

    async def run(self, link: StreamLink, stop: asyncio.Event) -> None:
        # One account's answers in order; different accounts' at once (each answer locks
        # only its own account and challenge).
        await consume(link.bootstrap, link.topics.events, f"{link.group}.outcomes",
                      answer_decoder, self.apply, stop, key=_account_of,
                      concurrency=OUTCOME_CONCURRENCY)

    async def tell(self, link: StreamLink, stop: asyncio.Event) -> None:
        """Tell the websocket hubs of each answer as it comes, as a consumer group of its
        own: a storm's alerts reach the desk at the rate they are read, never waiting for
        the transactions that apply them (:meth:`run`)."""
        await consume(link.bootstrap, link.topics.events, f"{link.group}.alerts",
                      answer_decoder, None, stop, first=self.announce)

    async def announce(self, answers: list[Answer], stamps: list[int]) -> None:
        """Tell the desk and each trader of ``answers`` (their records written at
        ``stamps``, ms). An answer read again after a crash is heard again (the app keeps
        one alert per id); one older than :data:`NEWS_SECONDS` is not news (the desk reads
        it from the history). An account not on record yet is told once it is."""
        oldest = (time.time() - NEWS_SECONDS) * 1000
        wanted = [answer for answer, stamp in zip(answers, stamps, strict=True)
                  if stamp >= oldest and not isinstance(answer.output, State)
                  and storable(answer.output.account)]
        if not wanted:
            return
        rows = await self.pool.fetch(
            "SELECT login, tenant_id FROM trading_accounts WHERE login = ANY($1)",
            list({answer.output.account for answer in wanted}))
        tenants = {row["login"]: row["tenant_id"] for row in rows}
        told = [(answer, tenants[answer.output.account]) for answer in wanted
                if answer.output.account in tenants]
        if told:
            await self._tell(told)
        for answer in wanted:
            if answer.output.account not in tenants:
                task = asyncio.create_task(self._tell_when_recorded(answer))
                self._waiting.add(task)
                task.add_done_callback(self._waiting.discard)

    async def _tell_when_recorded(self, answer: Answer) -> None:
        account = answer.output.account
        if await self.registry.wait_for(account):
            tenant = await self.pool.fetchval(
                "SELECT tenant_id FROM trading_accounts WHERE login = $1", account)
            if tenant is not None:
                await self._tell([(answer, tenant)])

    async def _tell(self, answers: list[tuple[Answer, int]]) -> None:
        async with self.cache.client.pipeline(transaction=False) as pipe:
            for answer, tenant in answers:
                message = orjson.dumps({"type": "risk_event", "id": answer.id,
                                        "event": msgspec.to_builtins(answer.output)})
                pipe.publish(self.cache.key("live", "tenant", tenant), message)
                pipe.publish(self.cache.key("live", "account", answer.output.account),
                             message)
            await pipe.execute()

    async def apply(self, answer: Answer) -> bool:
        """Store and act on one answer; False when it is not ours or already applied."""
        output = answer.output
        if isinstance(output, State):
            return False  # replay's closing lines; never on the stream
        if not storable(output.account):
            log.warning("answer %s: account %r cannot be on record; not stored", answer.id,
                        output.account[:80])
            return False
        tenant = await self.pool.fetchval(
            "SELECT tenant_id FROM trading_accounts WHERE login = $1", output.account)
        if tenant is None and await self.registry.wait_for(output.account):
            tenant = await self.pool.fetchval(
                "SELECT tenant_id FROM trading_accounts WHERE login = $1", output.account)
        if tenant is None:
            log.warning("answer %s: account %s is not on record (its account event was not"
                        " read); not stored", answer.id, output.account)
            return False
        disable: str | None = None
        status: str | None = None
        async with self.pool.acquire() as connection, connection.transaction():
            account = await connection.fetchrow(
                "SELECT * FROM trading_accounts WHERE login = $1 FOR UPDATE", output.account)
            if account is None:
                return False  # forgotten meanwhile (a new embedded feed)
            kind = msgspec.to_builtins(output)["type"]
            rule = getattr(output, "rule", None) or getattr(output, "objective", None)
            stored = await connection.fetchval(
                "INSERT INTO risk_events (id, tenant_id, account_id, kind, rule, payload, ts)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamptz) "
                "ON CONFLICT (id) DO NOTHING RETURNING id", answer.id, account["tenant_id"],
                account["id"], kind, rule, msgspec.json.encode(output).decode(), output.ts)
            if stored is None:
                return False  # delivered before: applied then
            live = account["status"] in LIVE
            if isinstance(output, Breach) and output.action == "fail" and live:
                status = "failed"
                await connection.execute(
                    "UPDATE trading_accounts SET status = 'failed', closed_at = now() "
                    "WHERE id = $1", account["id"])
                await connection.execute(
                    "UPDATE challenges SET status = 'failed', updated_at = now() "
                    "WHERE id = $1 AND status IN ('active', 'review')", account["challenge_id"])
                if account["origin"] == "platform":  # the broker runs its own accounts
                    disable = f"{output.rule} breached"
                await self.challenges.notifier.failed(connection, account, output)
            elif isinstance(output, Breach) and output.action == "fail":
                # Another line of a failure (several rules on one event): it shares the
                # failure's override when the desk has overridden it already.
                await connection.execute(
                    "UPDATE risk_events e SET overridden_at = o.overridden_at, overridden_by ="
                    " o.overridden_by, override_reason = o.override_reason, replacement_id ="
                    " o.replacement_id FROM (SELECT * FROM risk_events WHERE account_id = $2"
                    " AND replacement_id IS NOT NULL LIMIT 1) o WHERE e.id = $1", answer.id,
                    account["id"])
            elif isinstance(output, Breach) and output.action == "pause" \
                    and account["status"] == "active":
                status = "paused"
            elif isinstance(output, Resumed) and account["status"] == "paused":
                status = "active"
            elif isinstance(output, Passed) and live:
                status = "passed"
                await self._passed(connection, account)
            if status in ("paused", "active"):
                await connection.execute(
                    "UPDATE trading_accounts SET status = $2 WHERE id = $1", account["id"],
                    status)
        if status is not None:
            await self.registry.published({output.account: status})
        if disable and self.broker is not None:
            try:
                await self.broker.disable_account(output.account, disable)
            except Exception as error:  # the verdict stands; the desk can stop it by hand
                log.warning("disabling %s at the broker failed: %s", output.account, error)
        return True

    async def _passed(self, connection: Any, account: Any) -> None:
        await self.challenges.notifier.passed(connection, account)
        await connection.execute(
            "UPDATE trading_accounts SET status = 'passed', closed_at = now() WHERE id = $1",
            account["id"])
        if account["challenge_id"] is None:
            return  # a broker's account: no challenge goes on
        challenge = await connection.fetchrow(
            "SELECT c.*, p.phases, p.advance FROM challenges c JOIN programs p "
            "ON p.id = c.program_id WHERE c.id = $1 FOR UPDATE OF c", account["challenge_id"])
        phases = orjson.loads(challenge["phases"])
        following = account["phase"] + 1
        if following >= len(phases):
            await connection.execute(
                "UPDATE challenges SET status = 'passed', updated_at = now() WHERE id = $1",
                challenge["id"])
        elif challenge["advance"] == "auto":
            await self.challenges.provision(connection, account["tenant_id"], challenge,
                                            following)
        else:
            await connection.execute(
                "UPDATE challenges SET status = 'review', phase = $2, updated_at = now() "
                "WHERE id = $1", challenge["id"], following)


def snapshots(batch: MetricsBatch) -> list[tuple[str, dict[str, Any]]]:
    """Each account's snapshot of a metrics batch, money in units, no floor as null."""
    status = np.frombuffer(batch.status, np.int8)
    columns = {name: np.frombuffer(getattr(batch, name), "<f8") / 100.0
               for name in ("balance", "equity", "daily_floor", "max_loss_floor")}
    positions = np.frombuffer(batch.open_positions, "<i4")
    # Fields a worker added later: absent from batches of an older worker.
    if batch.trading_days:
        days = np.frombuffer(batch.trading_days, "<i4")
        columns["day_start_balance"] = np.frombuffer(batch.day_start_balance, "<f8") / 100.0
        columns["day_start_equity"] = np.frombuffer(batch.day_start_equity, "<f8") / 100.0
    ts = format_ts(batch.ts)
    # Python lists: reading numpy's elements one at a time costs ~1 µs each.
    lists = {name: values.tolist() for name, values in columns.items()}
    states, held = status.tolist(), positions.tolist()
    traded = days.tolist() if batch.trading_days else []
    out = []
    for i, login in enumerate(batch.accounts):
        snapshot: dict[str, Any] = {"login": login, "status": STATUS_NAMES[states[i]],
                                    "ts": ts, "open_positions": held[i]}
        for name, values in lists.items():
            value = values[i]
            snapshot[name] = None if value != value else round(value, 2)  # NaN: no floor
        if batch.trading_days:
            snapshot["trading_days"] = traded[i]
        if batch.breach_prices:
            snapshot["breach_prices"] = [msgspec.structs.asdict(price)
                                         for price in batch.breach_prices[i]]
        out.append((login, snapshot))
    return out


#: Keeps and publishes snapshots. ARGV: the seconds to keep them, the metrics keys'
#: prefix, the live channels' prefix, then the logins (as JSON strings) and their
#: snapshots (JSON), each one a line: five arguments however many accounts (redis-py
#: packs each argument in Python, ~10 µs apiece).
TELL_SCRIPT = """
local ttl = tonumber(ARGV[1])
local logins = {}
for quoted in string.gmatch(ARGV[4], "[^\\n]+") do logins[#logins + 1] = quoted end
local i = 0
for snapshot in string.gmatch(ARGV[5], "[^\\n]+") do
  i = i + 1
  local login = cjson.decode(logins[i])
  redis.call('SET', ARGV[2] .. login, snapshot, 'EX', ttl)
  redis.call('PUBLISH', ARGV[3] .. login,
             '{"type":"metrics","account":' .. logins[i] .. ',"data":' .. snapshot .. '}')
end
return i
"""
TELL_CHUNK = 500  # accounts a script call (Redis runs each script alone: kept short)


class MetricsCache:
    """Keeps each account's latest snapshot in Redis and announces it, with the account's
    one status (the engine's own reading of it only for an account not on record)."""

    def __init__(self, cache: Cache, registry: AccountRegistry) -> None:
        self.cache = cache
        self.registry = registry
        self.parts: Parts | None = None  # set by Services: marks numbers stale
        self._script = cache.client.register_script(TELL_SCRIPT)

    async def run(self, link: StreamLink, stop: asyncio.Event) -> None:
        await consume(link.bootstrap, link.topics.metrics, f"{link.group}.metrics",
                      metrics_decoder, self.store, stop, max_records=200)

    async def store(self, batch: MetricsBatch) -> None:
        statuses = await self.registry.statuses(batch.accounts)
        received = now_iso()
        told: dict[str, dict[str, Any]] = {}
        for login, snapshot in snapshots(batch):
            snapshot["status"] = statuses.get(login, snapshot["status"])
            snapshot["as_of"] = received
            snapshot["stale"] = False  # just in from the broker
            told[login] = snapshot
        await self._tell(told)
        # A status that committed while these numbers were on their way (read above,
        # written after the registry announced the latest numbers with the new status)
        # would be overwritten by the old one, for good: the engine publishes nothing more
        # for an account it failed. Read the statuses again and tell those that changed.
        logins = [login for login in told if login in statuses]
        if not logins:
            return
        now = await self.cache.client.mget([self.registry.status_key(login)
                                            for login in logins])
        changed = {login: value.decode() for login, value in zip(logins, now, strict=True)
                   if value is not None and value.decode() != statuses[login]}
        if changed:
            await self.registry.restate(changed)

    async def _tell(self, snapshots: dict[str, dict[str, Any]]) -> None:
        """Keep each snapshot (:data:`METRICS_SECONDS`) and publish it, in one script
        call per :data:`TELL_CHUNK` accounts: a pipeline of two commands an account cost
        the loop ~50 µs an account in redis-py (100 ms and more for a 2,000-account batch,
        measured)."""
        items = list(snapshots.items())
        metrics, live = self.cache.key("metrics", ""), self.cache.key("live", "account", "")
        for start in range(0, len(items), TELL_CHUNK):
            chunk = items[start:start + TELL_CHUNK]
            # JSON as orjson writes it holds no raw line break: one a line.
            await self._script(args=[
                METRICS_SECONDS, metrics, live,
                b"\n".join(orjson.dumps(login) for login, _ in chunk),
                b"\n".join(orjson.dumps(snapshot) for _, snapshot in chunk)])

    async def latest_with_status(self, login: str) -> tuple[dict[str, Any] | None, str | None]:
        """The latest snapshot and the account's status (None: not on record): one round
        trip while the status is cached (REST reads are the hot path)."""
        raw, status = await self.cache.client.mget(self.cache.key("metrics", login),
                                                   self.registry.status_key(login))
        if status is None:
            found = (await self.registry.statuses([login])).get(login)
        else:
            found = status.decode()
        return (None if raw is None else orjson.loads(raw)), found

    async def latest(self, login: str) -> dict[str, Any] | None:
        """The latest snapshot with the account's status now (a stop after it shows)."""
        snapshot, status = await self.latest_with_status(login)
        if snapshot is not None and status is not None:
            snapshot["status"] = status
        return None if snapshot is None else self.marked(snapshot)

    def stale(self) -> bool:
        """Whether cached numbers may be behind: the broker they come from is down."""
        return self.parts is not None and self.parts.is_down("broker")

    def marked(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """``snapshot`` with ``stale`` (the broker is down: no newer numbers can arrive)
        and ``as_of`` (when this gateway received them; numbers cached before that field
        existed give their event time)."""
        snapshot["stale"] = self.stale()
        snapshot.setdefault("as_of", snapshot.get("ts"))
        return snapshot
