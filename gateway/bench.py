"""``proptrade bench gateway``: one gateway process under REST reads and websocket fan-out.

Starts ``proptrade gateway`` as its own process on a scratch schema and Redis prefix, with
a firm of ``--clients`` trading accounts whose latest numbers are in the live cache, then:

1. REST: ``GET /api/v1/accounts/<login>`` offered at ``--rps`` for ``--seconds`` over
   keep-alive connections (open loop: a request's latency counts from when it was due,
   so a slow server cannot hide behind a slow client);
2. websocket: ``--clients`` connections, each subscribed to one account; every account's
   snapshot is published ``--updates`` times a second into Redis (as the stream's metrics
   consumer does) with its publication time, and each client measures the lag from
   publication to receipt.

Prints one JSON line: ``rest_rps``, ``rest_p50_ms``, ``rest_p99_ms``, ``ws_clients``,
``ws_messages_per_s``, ``ws_p99_lag_ms`` and the CPU share of the gateway process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from storage.cache import Cache
from storage.database import create_pool, drop_schema
from storage.migrations import migrate
from streams.broker import find_free_port
from streams.settings import child_environment, load_settings


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def seed(pool: Any, cache: Cache, clients: int) -> list[str]:
    """A risk-desk user, one program, ``clients`` challenges with an account each, and
    each account's snapshot in the live cache."""
    from gateway.security import hash_password

    password_hash = await hash_password("bench passphrase 1")
    async with pool.acquire() as connection, connection.transaction():
        tenant = await connection.fetchval("SELECT id FROM tenants WHERE is_default")
        user = await connection.fetchval(
            "INSERT INTO users (tenant_id, email, password_hash, role, email_verified_at) "
            "VALUES ($1, 'desk@bench.test', $2, 'risk', now()) RETURNING id", tenant,
            password_hash)
        program = await connection.fetchval(
            "INSERT INTO programs (tenant_id, slug, name, price_cents, currency, "
            "account_size_cents, phases) VALUES ($1, 'bench', 'Bench', 10000, 'USD', "
            "10000000, '[]') RETURNING id", tenant)
        await connection.execute(
            "INSERT INTO challenges (tenant_id, user_id, program_id, status) "
            "SELECT $1, $2, $3, 'active' FROM generate_series(1, $4)", tenant, user, program,
            clients)
        await connection.execute(
            "INSERT INTO trading_accounts (tenant_id, challenge_id, user_id, phase, login, "
            "engine_program, broker) SELECT $1, id, $2, 0, 'B' || lpad(id::text, 7, '0'), "
            "'bench', 'demo' FROM challenges WHERE tenant_id = $1", tenant, user)
        logins = [r["login"] for r in await connection.fetch(
            "SELECT login FROM trading_accounts ORDER BY id")]
    async with cache.client.pipeline(transaction=False) as pipe:
        for login in logins:
            cached = snapshot(login, 0.0)
            del cached["sent"]
            pipe.set(cache.key("metrics", login), orjson.dumps(cached))
        await pipe.execute()
    return logins


def snapshot(login: str, sent: float) -> dict[str, Any]:
    return {"login": login, "status": "active", "balance": 100_000.0, "equity": 100_012.5,
            "daily_floor": 95_000.0, "max_loss_floor": 90_000.0, "open_positions": 2,
            "ts": "2026-11-28T12:00:00Z", "sent": sent}


async def rest_phase(port: int, token: str, logins: list[str], rps: int, seconds: float,
                     connections: int = 32) -> dict[str, Any]:
    """Open-loop GETs over keep-alive connections; latency from each request's due time."""
    queue: asyncio.Queue[tuple[float, str] | None] = asyncio.Queue()
    latencies: list[float] = []
    errors = 0

    async def connection() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (item := await queue.get()) is not None:
                due, login = item
                writer.write(f"GET /api/v1/accounts/{login} HTTP/1.1\r\nHost: localhost\r\n"
                             f"Authorization: Bearer {token}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                if not head.startswith(b"HTTP/1.1 200"):
                    errors += 1
                latencies.append(time.perf_counter() - due)
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    started = time.perf_counter()
    total = int(rps * seconds)
    for n in range(total):
        due = started + n / rps
        pause = due - time.perf_counter()
        if pause > 0:
            await asyncio.sleep(pause)
        queue.put_nowait((due, logins[n % len(logins)]))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    wall = time.perf_counter() - started
    values = np.array(latencies) * 1000
    return {"rest_rps": round(len(latencies) / wall), "rest_p50_ms":
            round(float(np.percentile(values, 50)), 2),
            "rest_p99_ms": round(float(np.percentile(values, 99)), 2),
            "rest_errors": errors}


async def ws_phase(port: int, token: str, logins: list[str], cache: Cache, updates: float,
                   seconds: float) -> dict[str, Any]:
    import tornado.websocket

    lags: list[float] = []
    received = 0
    measuring = False

    async def client(login: str, ready: asyncio.Event) -> Any:
        nonlocal received
        connection = await tornado.websocket.websocket_connect(
            f"ws://127.0.0.1:{port}/ws?token={token}", max_message_size=1 << 20)
        await connection.write_message(orjson.dumps(
            {"type": "subscribe", "accounts": [login]}).decode())
        while True:
            try:
                raw = await connection.read_message()
            except tornado.websocket.WebSocketClosedError:
                raw = None
            if raw is None:
                return connection
            message = orjson.loads(raw)
            if message["type"] == "subscribed":
                ready.set()
            elif message["type"] == "metrics" and measuring:
                received += 1
                lags.append(time.time() - message["data"]["sent"])

    readies = [asyncio.Event() for _ in logins]
    tasks = []
    for index, login in enumerate(logins):
        tasks.append(asyncio.create_task(client(login, readies[index])))
        if index % 100 == 99:
            await asyncio.sleep(0.05)  # connect in waves, as real clients arrive
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    say(f"{len(logins)} websocket clients subscribed")
    connected = sum(1 for r in readies if r.is_set())
    measuring = True
    started = time.perf_counter()
    tick = 0.05
    per_tick = len(logins) * updates * tick
    sent = 0.0
    cursor = 0
    while time.perf_counter() - started < seconds:
        target = (time.perf_counter() - started + tick) / tick * per_tick
        async with cache.client.pipeline(transaction=False) as pipe:
            now = time.time()
            while sent < target:
                login = logins[cursor % len(logins)]
                cursor += 1
                sent += 1
                pipe.publish(cache.key("live", "account", login), orjson.dumps(
                    {"type": "metrics", "account": login, "data": snapshot(login, now)}))
            await pipe.execute()
        await asyncio.sleep(max(0.0, started + (cursor / len(logins) / updates)
                                - time.perf_counter()))
    await asyncio.sleep(1.0)  # let the last messages arrive
    measuring = False
    wall = time.perf_counter() - started
    for task in tasks:
        task.cancel()
    values = np.array(lags) * 1000 if lags else np.array([np.inf])
    return {"ws_clients": connected, "ws_published_per_s": round(sent / seconds),
            "ws_messages_per_s": round(received / wall),
            "ws_p50_lag_ms": round(float(np.percentile(values, 50)), 1),
            "ws_p99_lag_ms": round(float(np.percentile(values, 99)), 1)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import requests

    settings = load_settings()
    tag = uuid.uuid4().hex[:8]
    schema = f"bench_gw_{tag}"
    prefix = f"bench:{tag}:"
    await migrate(settings.database_url, schema)
    pool = await create_pool(settings.database_url, schema)
    cache = Cache(settings.redis_url, prefix)
    port = find_free_port()
    gateway = None
    try:
        logins = await seed(pool, cache, args.clients)
        say(f"seeded {len(logins)} accounts")
        # One desk token stands for every client: the per-user cap is lifted to their count.
        env = child_environment(REDIS_PREFIX=prefix, KAFKA_BOOTSTRAP="", LOG_LEVEL="WARNING",
                                SECRET_KEY=f"bench-{tag}-{secrets.token_hex(16)}",
                                WS_MAX_CONNECTIONS_PER_USER=str(args.clients))
        log_path = Path(tempfile.mkdtemp(prefix="proptrade-bench-gateway-")) / "gateway.log"
        log = log_path.open("wb")
        gateway = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "gateway", "--schema", schema, "--port",
             str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        say(f"gateway log: {log_path}")
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or gateway.poll() is not None:
                raise RuntimeError("the gateway did not start")
            await asyncio.sleep(0.2)
        token = requests.post(f"http://127.0.0.1:{port}/api/v1/auth/login", json={
            "email": "desk@bench.test", "password": "bench passphrase 1"},
            timeout=10).json()["access_token"]
        say(f"gateway pid {gateway.pid} on port {port}; REST phase")
        before = cpu_seconds(gateway.pid)
        began = time.perf_counter()
        rest = await rest_phase(port, token, logins, args.rps, args.seconds)
        rest["rest_gateway_cpu"] = round((cpu_seconds(gateway.pid) - before)
                                         / (time.perf_counter() - began), 2)
        say(f"REST: {rest}; websocket phase")
        before = cpu_seconds(gateway.pid)
        began = time.perf_counter()
        ws = await ws_phase(port, token, logins, cache, args.updates, args.seconds)
        ws["ws_gateway_cpu"] = round((cpu_seconds(gateway.pid) - before)
                                     / (time.perf_counter() - began), 2)
        return {**rest, **ws, "accounts": len(logins), "seconds": args.seconds}
    finally:
        if gateway is not None:
            gateway.terminate()
            gateway.wait(30)
        await cache.drop_prefix()
        await cache.close()
        await pool.close()
        await drop_schema(settings.database_url, schema)


def say(text: str) -> None:
    print(f"bench gateway: {text}", file=sys.stderr, flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=5000,
                        help="websocket clients, one account each (also the accounts)")
    parser.add_argument("--updates", type=float, default=4.0,
                        help="snapshots per account per second")
    parser.add_argument("--rps", type=int, default=1000, help="REST reads offered per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")


def main(args: argparse.Namespace) -> int:
    sys.stdout.write(orjson.dumps(asyncio.run(run(args))).decode() + "\n")
    return 0
