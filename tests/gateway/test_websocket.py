"""``/ws``: live metrics and risk events for the right people, and slow clients bounded."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import tornado.httpclient
import tornado.websocket

from gateway.hub import MAX_PENDING_EVENTS, Client
from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import PROGRAM, admin_token, buy_and_pay


class Socket:
    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.received: list[dict] = []

    async def send(self, message: dict) -> None:
        await self.connection.write_message(orjson.dumps(message).decode())

    async def until(self, predicate, timeout: float = 30.0) -> dict:
        """The first message (already received or coming) that satisfies ``predicate``."""
        for message in self.received:
            if predicate(message):
                return message
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.connection.read_message()
                assert raw is not None, f"closed: {self.connection.close_reason}"
                message = orjson.loads(raw)
                self.received.append(message)
                if predicate(message):
                    return message


async def connect(gateway: Gateway, token: str | None = None, client: str | None = None
                  ) -> Socket:
    """A websocket to the gateway; from ``client`` (X-Forwarded-For) when given."""
    url = f"ws://127.0.0.1:{gateway.port}/ws" + (f"?token={token}" if token else "")
    headers = {"X-Forwarded-For": client} if client else {}
    return Socket(await tornado.websocket.websocket_connect(
        tornado.httpclient.HTTPRequest(url, headers=headers)))


def test_metrics_and_breaches_reach_the_trader_and_the_desk(live: tuple[Gateway, Bridge]
                                                            ) -> None:
    gateway, bridge = live
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    trader = gateway.verified_user("ws@trader.test")["access_token"]
    buy_and_pay(gateway, trader)
    [login] = bridge.wait_opened(1)
    gateway.verified_user("ws@desk.test")
    gateway.promote("ws@desk.test", "risk")
    desk_token = gateway.login("ws@desk.test")["access_token"]

    async def scenario() -> None:
        mine = await connect(gateway, trader)
        await mine.until(lambda m: m["type"] == "authenticated")
        await mine.send({"type": "subscribe", "accounts": [login, "T9C9P1"]})
        refused = await mine.until(lambda m: m["type"] == "error")
        assert refused["code"] == "not_found" and "T9C9P1" in refused["message"]
        await mine.until(lambda m: m["type"] == "subscribed" and m["accounts"] == [login])
        await mine.send({"type": "subscribe", "feed": "risk"})
        forbidden = await mine.until(lambda m: m.get("code") == "forbidden")
        assert forbidden["type"] == "error"

        desk = await connect(gateway)  # authenticates with its first message
        await desk.send({"type": "auth", "token": desk_token})
        await desk.until(lambda m: m["type"] == "authenticated" and m["role"] == "risk")
        await desk.send({"type": "subscribe", "feed": "risk"})
        await desk.until(lambda m: m["type"] == "subscribed")

        bridge.publisher.add(bridge.quote(2000.0))
        first = await mine.until(lambda m: m["type"] == "metrics")
        assert first["account"] == login and first["data"]["equity"] == 10_000.0
        bridge.publisher.add(bridge.deal(login, 1, "buy", "in", 1.0, 2000.5))
        bridge.publisher.add(bridge.quote(1990.0))
        event = await mine.until(lambda m: m["type"] == "risk_event")
        assert event["event"]["type"] == "breach" and event["event"]["account"] == login
        seen = await desk.until(lambda m: m["type"] == "risk_event")
        assert seen["id"] == event["id"] and seen["event"]["rule"] == "max_loss"
        # The failure is announced with the latest numbers the gateway has (maybe those
        # before the deal), and the engine's last numbers follow with the same status.
        await mine.until(lambda m: m["type"] == "metrics" and m["data"]["status"] == "failed"
                         and m["data"]["equity"] == 8_950.0)
        mine.connection.close()
        desk.connection.close()

    gateway.call(scenario())


def test_a_status_change_reaches_subscribed_clients_without_new_numbers(
        live: tuple[Gateway, Bridge]) -> None:
    """The desk stops an account while its trader watches: the trader's live numbers say
    `stopped` at once, although the engine publishes nothing new for the account (the
    same path carries a failure whose numbers were published before it committed)."""
    gateway, bridge = live
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    trader = gateway.verified_user("st@trader.test")["access_token"]
    buy_and_pay(gateway, trader)
    [login] = bridge.wait_opened(1)

    async def scenario() -> None:
        mine = await connect(gateway, trader)
        await mine.until(lambda m: m["type"] == "authenticated")
        await mine.send({"type": "subscribe", "accounts": [login]})
        bridge.publisher.add(bridge.quote(2000.0))
        first = await mine.until(lambda m: m["type"] == "metrics")
        assert first["data"]["status"] == "active"
        stopped = await asyncio.to_thread(
            gateway.post, f"/api/v1/risk/accounts/{login}/stop", {"reason": "copy trading"},
            admin)
        assert stopped.status_code == 204, stopped.text
        now = await mine.until(lambda m: m["type"] == "metrics"
                               and m["data"]["status"] == "stopped", timeout=10)
        assert now["data"]["equity"] == 10_000.0
        mine.connection.close()

    gateway.call(scenario())


def test_a_bad_token_is_refused(gateway: Gateway) -> None:
    async def scenario() -> None:
        socket = await connect(gateway, "not-a-token")
        message = await socket.until(lambda m: m["type"] == "error")
        assert message["code"] == "token_invalid"
        assert await socket.connection.read_message() is None  # closed by the server
        assert socket.connection.close_code == 4001
        socket.connection.close()

    gateway.call(scenario())


class FakeSocket:
    def __init__(self) -> None:
        self.dropped: list[str] = []

    def drop(self, reason: str) -> None:
        self.dropped.append(reason)


def test_a_slow_client_keeps_only_the_latest_snapshot_and_is_dropped_past_a_bound() -> None:
    async def scenario() -> None:
        socket = FakeSocket()
        client = Client(socket)  # type: ignore[arg-type]
        for equity in range(1000):
            client.deliver("live:account:A1", orjson.dumps(
                {"type": "metrics", "account": "A1", "data": {"equity": equity}}))
        assert len(client.latest) == 1
        assert orjson.loads(client.latest["live:account:A1"])["data"]["equity"] == 999
        for n in range(MAX_PENDING_EVENTS):
            client.deliver("live:tenant:1", orjson.dumps({"type": "risk_event", "n": n}))
        assert not socket.dropped
        client.deliver("live:tenant:1", orjson.dumps({"type": "risk_event", "n": -1}))
        assert socket.dropped and "too slow" in socket.dropped[0]

    asyncio.run(scenario())


def test_connections_per_user_and_messages_per_connection_are_capped(configured) -> None:
    gateway = configured(ws_max_connections_per_user=2, ws_max_messages_per_second=5)
    token = gateway.verified_user("cap@ws.test")["access_token"]
    other = gateway.login("cap@ws.test")["access_token"]  # another session, same user

    async def scenario() -> None:
        first = await connect(gateway, token)
        await first.until(lambda m: m["type"] == "authenticated")
        second = await connect(gateway)
        await second.send({"type": "auth", "token": other})
        await second.until(lambda m: m["type"] == "authenticated")
        third = await connect(gateway, token)
        refused = await third.until(lambda m: m["type"] == "error")
        assert refused["code"] == "too_many_connections", refused
        assert "at most 2" in refused["message"]
        assert await third.connection.read_message() is None
        assert third.connection.close_code == 1008
        assert "at most 2 per user" in third.connection.close_reason
        # A closed connection stops counting.
        first.connection.close()
        await asyncio.sleep(0.5)
        fourth = await connect(gateway, token)
        await fourth.until(lambda m: m["type"] == "authenticated")

        # A burst of the allowed rate is served ...
        for _ in range(5):
            await second.send({"type": "ping"})
        await second.until(lambda m: sum(x["type"] == "pong" for x in second.received) >= 5)
        # ... a flood is not.
        for _ in range(20):
            try:
                await second.send({"type": "ping"})
            except tornado.websocket.WebSocketClosedError:
                break  # the server has had enough
        flooded = await second.until(lambda m: m.get("code") == "too_many_messages")
        assert "at most 5 messages a second" in flooded["message"]
        while await second.connection.read_message() is not None:
            pass
        assert second.connection.close_code == 1008
        assert "too many messages" in second.connection.close_reason
        assert sum(x["type"] == "pong" for x in second.received) < 10
        for socket in (second, third, fourth):
            socket.connection.close()

    gateway.call(scenario())


def test_connections_before_authentication_are_capped_per_address(configured) -> None:
    gateway = configured(ws_max_unauthenticated_per_address=3,
                         trusted_proxies=("127.0.0.1/32",))
    token = gateway.verified_user("early@ws.test")["access_token"]
    here, there = "2001:db8:5:1::1", "203.0.113.80"

    async def refused(socket: Socket) -> None:
        error = await socket.until(lambda m: m["type"] == "error", timeout=5)
        assert error["code"] == "too_many_unauthenticated", error
        assert "at most 3" in error["message"]
        assert await socket.connection.read_message() is None
        assert socket.connection.close_code == 1008
        assert "before authentication" in socket.connection.close_reason
        socket.connection.close()  # the client's side too (an unclosed one warns when freed)

    async def scenario() -> None:
        # Three waiting from one /64 (each another address in it): the fourth is refused.
        waiting = [await connect(gateway, client=f"2001:db8:5:1::{n + 1:x}")
                   for n in range(3)]
        await refused(await connect(gateway, client="2001:db8:5:1:ffff::9"))
        # Another address is not held by them.
        elsewhere = await connect(gateway, client=there)
        await elsewhere.send({"type": "auth", "token": token})
        await elsewhere.until(lambda m: m["type"] == "authenticated")
        # Authenticating frees a place; so does leaving.
        await waiting[0].send({"type": "auth", "token": token})
        await waiting[0].until(lambda m: m["type"] == "authenticated")
        fourth = await connect(gateway, client=here)
        await refused(await connect(gateway, client=here))
        waiting[1].connection.close()
        await asyncio.sleep(0.5)
        fifth = await connect(gateway, client=here)
        await refused(await connect(gateway, token, client=here))  # ?token= waits too ...
        fifth.connection.close()
        await asyncio.sleep(0.5)
        with_token = await connect(gateway, token, client=here)
        await with_token.until(lambda m: m["type"] == "authenticated")
        sixth = await connect(gateway, client=here)  # ... only while its token is checked
        await refused(await connect(gateway, client=here))
        for socket in (*waiting, fourth, with_token, sixth, elsewhere):
            socket.connection.close()

    gateway.call(scenario())


def test_a_stopping_gateway_says_going_away_and_gives_its_leases_back(configured) -> None:
    # Reconnecting tabs were refused (1008) for a minute after a restart: the stopped
    # process's leases still counted.
    gateway = configured(ws_max_connections_per_user=1)
    token = gateway.verified_user("bye@ws.test")["access_token"]
    user_id = gateway.sql("SELECT id FROM users WHERE email = 'bye@ws.test'")[0][0]
    cache = gateway.services.cache
    leases: list[int] = []

    async def count_leases() -> None:
        leases.append(await cache.client.zcard(cache.key("ws", "user", user_id)))

    gateway.after_stop.append(count_leases)

    async def scenario() -> Socket:
        socket = await connect(gateway, token)
        await socket.until(lambda m: m["type"] == "authenticated")
        await count_leases()
        gateway.stop_event.set()
        async with asyncio.timeout(10):
            while await socket.connection.read_message() is not None:
                pass
        socket.connection.close()  # the client's side too (an unclosed one warns when freed)
        return socket

    socket = gateway.call(scenario())
    gateway.running.result(30)
    assert socket.connection.close_code == 1001, socket.connection.close_reason
    assert "stopping" in socket.connection.close_reason
    assert leases == [1, 0]


def test_leases_follow_the_redis_clock_not_each_hosts(gateway: Gateway, monkeypatch) -> None:
    # A gateway host whose clock runs an hour fast evicted every other host's leases (the
    # expiry was each host's time.time()).
    import time as real_time
    from types import SimpleNamespace

    from gateway import hub as hub_module
    from gateway.hub import Hub

    cache = gateway.services.cache
    honest, fast = Hub(cache), Hub(cache)
    assert gateway.call(honest.admit(7, "honest", 2))
    monkeypatch.setattr(hub_module, "time", SimpleNamespace(
        time=lambda: real_time.time() + 3600, monotonic=real_time.monotonic))
    assert gateway.call(fast.admit(7, "fast", 2))
    gateway.call(fast.renew(7, "fast"))
    key = cache.key("ws", "user", 7)
    assert gateway.call(cache.client.zscore(key, "honest")) is not None
    assert not gateway.call(honest.admit(7, "third", 2))  # two leases held: the cap
    [fast_until] = [score for member, score in gateway.call(
        cache.client.zrange(key, 0, -1, withscores=True)) if member == b"fast"]
    assert fast_until < real_time.time() + 120  # Redis's clock: a minute, not an hour
