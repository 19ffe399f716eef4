"""The websocket hub: ``/ws`` streams account metrics and risk events to browsers.

Protocol (JSON text frames):

- authenticate with ``/ws?token=<access token>`` or a first message
  ``{"type": "auth", "token": "…"}`` within 10 s;
- ``{"type": "subscribe", "accounts": ["T1C7P1"]}`` — a trader only its own accounts, the
  risk desk and admins any of the firm's; the cached snapshot comes at once;
- ``{"type": "subscribe", "feed": "risk"}`` — the firm's risk events (staff only);
- ``{"type": "unsubscribe", "accounts": [...]}`` / ``{"type": "unsubscribe", "feed": "risk"}``;
- the server sends ``metrics`` (``{"type": "metrics", "account", "data"}``), ``risk_event``,
  ``heartbeat`` every 15 s, ``subscribed`` and ``error``.
- ``data`` carries ``as_of`` (when this gateway received the numbers) and ``stale`` (true
  while the broker is down); when the broker goes down or comes back, each subscribed
  account's latest numbers are sent again with the flag. A request a part cannot answer
  gets ``{"type": "error", "code": "unavailable", "part": "redis", …}``.

Limits (settings): a user holds at most ``WS_MAX_CONNECTIONS_PER_USER`` connections
across every gateway process (one more gets ``{"type": "error", "code":
"too_many_connections"}`` and is closed with 1008, policy violation), and a client sends at
most ``WS_MAX_MESSAGES_PER_SECOND`` messages a second, in bursts of as many (faster: an
error ``too_many_messages`` and 1008). Connections are counted in Redis with a lease each
process renews on every heartbeat, so those of a process that died stop counting within
:data:`LEASE` seconds; a lease's expiry is read from Redis's clock (``TIME``), so a host
whose clock runs fast cannot expire the others' leases. A gateway that stops closes each
connection with 1001 (going away) and gives its leases back first, so reconnecting tabs
are admitted at once by the processes that remain.

Before authenticating, one client address (an IPv6 one by its /64) holds at most
``WS_MAX_UNAUTHENTICATED_PER_ADDRESS`` connections on one process (one more: an error
``too_many_unauthenticated`` and 1008). Counted in the process, not in Redis: what such a
connection costs (a socket, a coroutine, memory for at most :data:`AUTH_WINDOW` seconds)
is the process's own, a count in the process dies with it, and an unauthenticated client
gets no Redis round trip to spend; behind a balancer an address holds at most that many
per process.

Every gateway process subscribes in Redis only to the channels its clients want, so any
process can serve any client. A slow client is never given a growing queue: it gets the
latest snapshot of each account when it is ready again (older ones are replaced), and
risk events up to :data:`MAX_PENDING_EVENTS`; past that, or when a write has waited
:data:`MAX_STALL` seconds, the connection is closed (code 1013: try again later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from typing import Any

import orjson
import tornado.websocket

from gateway.accesslog import request_summary
from gateway.clients import limit_subject
from gateway.errors import ApiError
from gateway.health import NAMES, Parts, describe, part_of
from gateway.tenants import Tenant
from gateway.users import Principal

log = logging.getLogger("proptrade.hub")

HEARTBEAT = 15.0  # s
AUTH_WINDOW = 10.0  # s to authenticate after connecting
MAX_PENDING_EVENTS = 1000
MAX_STALL = 10.0  # s a single write may wait on a slow client
MAX_ACCOUNTS = 200  # subscriptions per connection
STAFF = ("risk", "admin", "owner")
LEASE = 4 * HEARTBEAT  # s a connection counts against its user unless renewed
GOING_AWAY = 1001  # RFC 6455 §7.4.1: the server is going down
POLICY_VIOLATION = 1008
CLOSE_WAIT = 2.0  # s a stopping gateway waits for its clients' close frames

# Leases on Redis's clock. KEYS[1]: the user's leases; ARGV: the connection, the lease's
# seconds, the most the user may hold. 1 admitted, 0 not (and not counted).
_ADMIT = """
local now = redis.call('TIME')
local at = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', at)
redis.call('ZADD', KEYS[1], at + tonumber(ARGV[2]), ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
if count > tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 0
end
return 1
"""
# KEYS[1]: the user's leases; ARGV: the connection, the lease's seconds.
_RENEW = """
local now = redis.call('TIME')
local at = tonumber(now[1]) + tonumber(now[2]) / 1000000
redis.call('ZADD', KEYS[1], 'XX', at + tonumber(ARGV[2]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
return 1
"""


class Hub:
    """Routes Redis pub/sub messages to the websocket clients of this process."""

    def __init__(self, cache: Any, parts: Parts | None = None) -> None:
        self.cache = cache
        self.parts = parts
        self.channels: dict[str, set[Client]] = {}
        self.pubsub: Any = None
        self.reader: asyncio.Task[None] | None = None
        self._leaving: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.sockets: set[LiveSocket] = set()  # open on this process
        self.unauthenticated: dict[str, int] = {}  # client address → connections waiting
        self._admit = cache.client.register_script(_ADMIT)
        self._renew = cache.client.register_script(_RENEW)

    async def start(self) -> None:
        self.pubsub = self.cache.client.pubsub(ignore_subscribe_messages=True)
        # A placeholder channel keeps the connection in subscriber mode from the start.
        await self.pubsub.subscribe(self.cache.key("live", "hub"))
        self.reader = asyncio.create_task(self._read())

    async def close_all(self) -> None:
        """The gateway is stopping: give every connection's lease back, close each with
        1001 (going away), and wait (at most :data:`CLOSE_WAIT` s) for them to close."""
        leases = [socket.give_up_lease() for socket in list(self.sockets)]
        held = [lease for lease in leases if lease is not None]
        if held:
            async with self.cache.client.pipeline(transaction=False) as pipe:
                for user_id, connection in held:
                    pipe.zrem(self.cache.key("ws", "user", user_id), connection)
                await pipe.execute()
        for socket in list(self.sockets):
            socket.close(GOING_AWAY, "the gateway is stopping; reconnect")
        deadline = time.monotonic() + CLOSE_WAIT
        while self.sockets and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    def hold_unauthenticated(self, address: str, most: int) -> bool:
        """Count a connection of ``address`` waiting to authenticate; False (and not
        counted) past ``most``."""
        count = self.unauthenticated.get(address, 0)
        if count >= most:
            return False
        self.unauthenticated[address] = count + 1
        return True

    def release_unauthenticated(self, address: str) -> None:
        count = self.unauthenticated.get(address, 0) - 1
        if count > 0:
            self.unauthenticated[address] = count
        else:
            self.unauthenticated.pop(address, None)

    async def stop(self) -> None:
        self.stopping = True
        for task in list(self._leaving):
            task.cancel()
        await asyncio.gather(*self._leaving, return_exceptions=True)
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        if self.pubsub is not None:
            await self.pubsub.aclose()

    async def _read(self) -> None:
        """Deliver what Redis publishes; when Redis goes away, subscribe again (to every
        channel a client of this process wants) as soon as it answers."""
        while True:
            try:
                message = await self.pubsub.get_message(timeout=1.0)
            except Exception as error:
                if part_of(error, self.parts) != "redis":
                    raise
                if self.parts is not None:
                    self.parts.failed("redis", error)
                await self._resubscribe()
                continue
            if message is None:
                continue
            channel = message["channel"].decode()
            for client in list(self.channels.get(channel, ())):
                client.deliver(channel, message["data"])

    async def _resubscribe(self) -> None:
        delay = 0.5
        while True:
            await asyncio.sleep(delay)
            old, self.pubsub = self.pubsub, self.cache.client.pubsub(
                ignore_subscribe_messages=True)
            with contextlib.suppress(Exception):
                await old.aclose()
            try:
                await self.pubsub.subscribe(self.cache.key("live", "hub"), *self.channels)
            except Exception as error:
                if part_of(error, self.parts) != "redis":
                    raise
                delay = min(delay * 2, 5.0)
                continue
            log.warning("live updates: subscribed again to %d channels", len(self.channels))
            return

    async def restamp(self, metrics: Any) -> None:
        """Send each subscribed account's latest numbers again, as they are marked now
        (``stale`` while the broker is down)."""
        prefix = self.cache.key("live", "account", "")
        for channel in [c for c in self.channels if c.startswith(prefix)]:
            login = channel[len(prefix):]
            latest = await metrics.latest(login)
            if latest is None:
                continue
            data = orjson.dumps({"type": "metrics", "account": login, "data": latest})
            for client in list(self.channels.get(channel, ())):
                client.deliver(channel, data)

    async def join(self, client: Client, channel: str) -> None:
        members = self.channels.setdefault(channel, set())
        if not members:
            await self.pubsub.subscribe(channel)
        members.add(client)

    async def admit(self, user_id: int, connection: str, most: int) -> bool:
        """Count a connection against its user (leases nobody renewed are dropped first);
        False (and not counted) past ``most``."""
        admitted = await self._admit(keys=[self.cache.key("ws", "user", user_id)],
                                     args=[connection, LEASE, most])
        return bool(admitted)

    async def renew(self, user_id: int, connection: str) -> None:
        await self._renew(keys=[self.cache.key("ws", "user", user_id)],
                          args=[connection, LEASE])

    def release(self, user_id: int, connection: str) -> None:
        """A connection closed: it no longer counts against its user (in the background)."""
        if self.stopping:
            return  # its lease runs out
        self._background(self.cache.client.zrem(self.cache.key("ws", "user", user_id),
                                                connection))

    def _background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._leaving.add(task)
        task.add_done_callback(self._left)

    def _left(self, task: asyncio.Task[Any]) -> None:
        self._leaving.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:  # Redis away: the lease runs out by itself
            if self.parts is not None and part_of(error, self.parts) == "redis":
                self.parts.failed("redis", error)
            log.warning("a closed connection's clean-up failed: %s", describe(error))

    def forget(self, client: Client) -> None:
        """A connection closed: leave its channels (in the background)."""
        async def leave_all() -> None:
            for channel in list(client.channels):
                await self.leave(client, channel)

        if self.stopping:
            return  # the hub's subscriptions go with it
        self._background(leave_all())

    async def leave(self, client: Client, channel: str) -> None:
        members = self.channels.get(channel)
        if members is None or client not in members:
            return
        members.discard(client)
        if not members:
            del self.channels[channel]
            await self.pubsub.unsubscribe(channel)


class Client:
    """What one connection waits to receive."""

    def __init__(self, socket: LiveSocket) -> None:
        self.socket = socket
        self.latest: dict[str, bytes] = {}  # account → its newest metrics message
        self.events: deque[bytes] = deque()
        self.wake = asyncio.Event()
        self.channels: set[str] = set()

    def deliver(self, channel: str, data: bytes) -> None:
        if b'"type":"metrics"' in data[:20]:
            self.latest[channel] = data  # replaces what the client has not taken yet
        else:
            if len(self.events) >= MAX_PENDING_EVENTS:
                self.socket.drop("too slow: risk events piled up")
                return
            self.events.append(data)
        self.wake.set()


class LiveSocket(tornado.websocket.WebSocketHandler):
    """``/ws``."""

    principal: Principal | None = None
    tenant: Tenant

    def initialize(self) -> None:
        self.services = self.application.settings["services"]
        self.hub: Hub = self.application.settings["hub"]
        self.client = Client(self)
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = False
        self.connection_id = uuid.uuid4().hex
        self.admitted = False  # counted against its user's connections
        self.waiting = False  # counted against its address until it authenticates
        self.address = limit_subject(self.request.remote_ip or "unknown")
        self.refused = False  # closed for sending too fast
        self.rate = self.services.settings.ws_max_messages_per_second
        self.allowance, self.checked = float(self.rate), time.monotonic()

    def _request_summary(self) -> str:
        return request_summary(self.request)  # /ws?token=: Tornado's warnings, redacted

    def check_origin(self, origin: str) -> bool:
        # Tokens, not cookies, authenticate: a foreign page cannot borrow a session. The
        # firm's own origins and same-host pages are allowed.
        host = self.request.host
        return origin.split("://", 1)[-1] == host or origin in self.tenant.cors_origins

    async def prepare(self) -> None:
        try:
            self.tenant = await self.services.tenants.resolve(self.request.host)
        except ApiError as error:
            raise tornado.web.HTTPError(error.status, error.message) from None

    async def open(self, *args: str) -> None:
        self.services.telemetry.websockets.inc()
        self.hub.sockets.add(self)
        most = self.services.settings.ws_max_unauthenticated_per_address
        if not self.hub.hold_unauthenticated(self.address, most):
            await self._refuse(POLICY_VIOLATION, "too_many_unauthenticated",
                               f"at most {most} connections from one address may wait to "
                               "authenticate; authenticate or close one first",
                               f"too many connections before authentication: at most {most}")
            return
        self.waiting = True
        token = self.get_query_argument("token", None)
        if token:
            await self._authenticate(token)
        self.tasks = [asyncio.create_task(self._writer()), asyncio.create_task(self._beat())]
        if self.principal is None:
            self.tasks.append(asyncio.create_task(self._auth_deadline()))

    async def _authenticate(self, token: str) -> bool:
        try:
            principal = await self.services.users.authenticate(self.tenant, token)
        except ApiError as error:
            await self._refuse(4001, error.code, error.message, "authentication failed")
            return False
        most = self.services.settings.ws_max_connections_per_user
        if not await self.hub.admit(principal.user_id, self.connection_id, most):
            await self._refuse(POLICY_VIOLATION, "too_many_connections",
                               f"at most {most} connections per user; close one first",
                               f"too many connections: at most {most} per user")
            return False
        self.principal, self.admitted = principal, True
        self._stop_waiting()
        if self.closed:  # the client left while it was being counted
            self.admitted = False
            self.hub.release(principal.user_id, self.connection_id)
            return False
        self.send({"type": "authenticated", "role": principal.role})
        return True

    async def _refuse(self, close_code: int, code: str, message: str, reason: str) -> None:
        """Say why in an error message, then close with ``close_code`` and ``reason``."""
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):
            await self.write_message(orjson.dumps(
                {"type": "error", "code": code, "message": message}))
        self.close(close_code, reason)

    def _within_rate(self) -> bool:
        """A token bucket: ``rate`` messages a second, bursts of ``rate``."""
        now = time.monotonic()
        self.allowance = min(float(self.rate),
                             self.allowance + (now - self.checked) * self.rate)
        self.checked = now
        if self.allowance < 1.0:
            return False
        self.allowance -= 1.0
        return True

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(AUTH_WINDOW)
        if self.principal is None:
            self.close(4001, "no authentication")

    async def on_message(self, message: str | bytes) -> None:
        if self.refused:
            return  # closing: what is still in flight is not read
        if not self._within_rate():
            self.refused = True
            await self._refuse(POLICY_VIOLATION, "too_many_messages",
                               f"at most {self.rate} messages a second",
                               f"too many messages: at most {self.rate} a second")
            return
        try:
            request = orjson.loads(message)
            kind = request["type"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            self.send({"type": "error", "code": "bad_message",
                       "message": "expected a JSON object with a type"})
            return
        try:
            await self._request(kind, request)
        except Exception as error:
            part = part_of(error, self.services.parts)
            if part is None:
                raise
            self.services.parts.failed(part, error)
            log.warning("websocket %s: %s does not answer: %s", kind, part, describe(error))
            self.send({"type": "error", "code": "unavailable", "part": part,
                       "message": f"{NAMES[part]} does not answer; try again shortly"})

    async def _request(self, kind: str, request: dict[str, Any]) -> None:
        if kind == "auth":
            if self.principal is None:
                await self._authenticate(str(request.get("token", "")))
            return
        if self.principal is None:
            self.send({"type": "error", "code": "unauthorized", "message": "authenticate first"})
            return
        if kind == "ping":
            self.send({"type": "pong"})
        elif kind in ("subscribe", "unsubscribe"):
            await self._subscription(kind == "subscribe", request)
        else:
            self.send({"type": "error", "code": "bad_message",
                       "message": f"unknown type {kind!r}"})

    async def _subscription(self, subscribe: bool, request: dict[str, Any]) -> None:
        assert self.principal is not None
        key = self.services.cache.key
        channels: list[str] = []
        if request.get("feed") == "risk":
            if self.principal.role not in STAFF:
                self.send({"type": "error", "code": "forbidden",
                           "message": "the risk feed is for the risk desk"})
                return
            channels.append(key("live", "tenant", self.tenant.id))
        accounts = request.get("accounts") or []
        if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
            self.send({"type": "error", "code": "bad_message",
                       "message": "accounts: expected a list of logins"})
            return
        if subscribe:
            allowed = await self._allowed(accounts)
            refused = [a for a in accounts if a not in allowed]
            if refused:
                self.send({"type": "error", "code": "not_found",
                           "message": f"no such account: {refused[0]}"})
            accounts = [a for a in accounts if a in allowed]
            if len(self.client.channels) + len(accounts) > MAX_ACCOUNTS:
                self.send({"type": "error", "code": "too_many",
                           "message": f"at most {MAX_ACCOUNTS} subscriptions"})
                return
        channels += [key("live", "account", login) for login in accounts]
        for channel in channels:
            if subscribe:
                await self.hub.join(self.client, channel)
                self.client.channels.add(channel)
            else:
                await self.hub.leave(self.client, channel)
                self.client.channels.discard(channel)
        if subscribe:
            self.send({"type": "subscribed", "accounts": accounts,
                       "feed": request.get("feed")})
            for login in accounts:
                latest = await self.services.metrics.latest(login)
                if latest is not None:
                    self.client.deliver(key("live", "account", login), orjson.dumps(
                        {"type": "metrics", "account": login, "data": latest}))

    async def _allowed(self, accounts: list[str]) -> set[str]:
        assert self.principal is not None
        if not accounts:
            return set()
        rows = await self.services.pool.fetch(
            "SELECT login FROM trading_accounts WHERE tenant_id = $1 AND login = ANY($2) "
            "AND ($3 OR user_id = $4)", self.tenant.id, accounts,
            self.principal.role in STAFF, self.principal.user_id)
        return {row["login"] for row in rows}

    async def _writer(self) -> None:
        client = self.client
        while not self.closed:
            await client.wake.wait()
            client.wake.clear()
            batch = list(client.latest.values())
            client.latest.clear()
            while client.events:
                batch.append(client.events.popleft())
            self.services.telemetry.delivered.inc(len(batch))
            for data in batch:
                started = time.monotonic()
                try:
                    await asyncio.wait_for(self.write_message(data), MAX_STALL)
                except (tornado.websocket.WebSocketClosedError, asyncio.CancelledError):
                    return
                except TimeoutError:
                    self.drop(f"too slow: a write waited {time.monotonic() - started:.0f} s")
                    return

    async def _beat(self) -> None:
        while not self.closed:
            await asyncio.sleep(HEARTBEAT)
            self.send({"type": "heartbeat", "ts": time.time()})
            if self.admitted and self.principal is not None:
                await self.hub.renew(self.principal.user_id, self.connection_id)

    def send(self, message: dict[str, Any]) -> None:
        if not self.closed:
            self.client.events.append(orjson.dumps(message))
            self.client.wake.set()

    def drop(self, reason: str) -> None:
        log.info("dropping a websocket client: %s", reason)
        self.services.telemetry.dropped.inc()
        self.close(1013, reason[:120])

    def _stop_waiting(self) -> None:
        if self.waiting:
            self.waiting = False
            self.hub.release_unauthenticated(self.address)

    def give_up_lease(self) -> tuple[int, str] | None:
        """Stop counting against the user here; the lease, for the caller to remove."""
        if not (self.admitted and self.principal is not None):
            return None
        self.admitted = False
        return self.principal.user_id, self.connection_id

    def on_close(self) -> None:
        if not self.closed:
            self.services.telemetry.websockets.dec()
        self.closed = True
        self.hub.sockets.discard(self)
        self._stop_waiting()
        self.client.wake.set()
        for task in self.tasks:
            task.cancel()
        self.hub.forget(self.client)
        lease = self.give_up_lease()
        if lease is not None:
            self.hub.release(*lease)
