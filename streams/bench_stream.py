"""``proptrade bench stream``: broker, one worker and a producer on this machine.

The producer publishes a synthetic firm (the engine benchmark's book), then offers quotes
and deals at rising rates (deals at half the quote rate), each step an equal share of
``--seconds``. Twenty times a second it also publishes a probe: an account opened on its
floor, which the engine answers with a breach at once. A probe's latency is the time from
its publication (its event time is the wall clock when it is handed to the producer) to
its breach being read back from ``risk.events``; it queues behind every quote and deal
published before it, so it measures the pipeline end to end under that step's load.

Prints one JSON line: the highest step sustained (offered rate reached, probe p99 within
100 ms) with its latency figures, every step, and the CPU share of each process. Then,
unless ``--no-recovery``, it kills the worker with SIGKILL under load, starts another and
reports how long until probes are answered within 100 ms again (``recovery``): the dead
member's session timeout, the checkpoint restore and the replay of the log since.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from storage.database import drop_schema
from streams import bench
from streams.broker import EmbeddedBroker
from streams.events import Account, Deal, Event, Quote
from streams.outputs import Breach
from streams.publisher import FeedPublisher
from streams.settings import child_environment
from streams.topics import Topics, ensure_topics
from streams.wire import answer_decoder
from streams.worker import CHECKPOINT_INTERVAL, FETCH_WAIT_MS

PROBE_PROGRAM = {"id": "bench-probe", "initial_balance": 1000,
                 "rules": {"max_loss": {"amount": 100}}}
PROBES_PER_S = 20
TICK = 0.01  # s between publications
DSN = "postgresql://localhost:5432/postgres"


class BrokerStalled(RuntimeError):
    """The broker stopped acknowledging the benchmark's messages."""


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Offer:
    """Quotes and deals generated on the fly, stamped with the wall clock."""

    def __init__(self, market: bench.Market, accounts: int, seed: int) -> None:
        self.market = market
        self.rng = random.Random(seed)
        self.accounts = accounts
        self.opened: list[tuple[str, int, int, str, float]] = []
        self.deal_id = 50_000_000

    def quote(self, now: datetime) -> Quote:
        market, rng = self.market, self.rng
        s = rng.randrange(len(market.mids))
        market.mids[s] *= 1.0 + rng.gauss(0.0, market.vols[s] / market.mids[s])
        return Quote(ts=now, symbol=market.symbols[s].symbol, bid=market.mids[s],
                     ask=market.mids[s] + market.spreads[s])

    def deal(self, now: datetime) -> Deal:
        market, rng = self.market, self.rng
        self.deal_id += 1
        if len(self.opened) < 1000 or rng.random() < 0.5:
            account = f"A{rng.randrange(self.accounts):07d}"
            s = rng.randrange(len(market.mids))
            side = "buy" if rng.random() < 0.5 else "sell"
            volume = 0.01 if market.symbols[s].contract_size >= 1000 else 0.1
            self.opened.append((account, self.deal_id, s, side, volume))
            return Deal(ts=now, account=account, deal=self.deal_id, position=self.deal_id,
                        symbol=market.symbols[s].symbol, side=side,  # type: ignore[arg-type]
                        entry="in", volume=volume, price=market.mids[s])
        account, position, s, side, volume = self.opened.pop(rng.randrange(len(self.opened)))
        return Deal(ts=now, account=account, deal=self.deal_id, position=position,
                    symbol=market.symbols[s].symbol, side="sell" if side == "buy" else "buy",
                    entry="out", volume=volume, price=market.mids[s], profit=0.0)


async def _read_probes(bootstrap: str, topics: Topics, latencies: dict[str, float],
                       stop: asyncio.Event) -> None:
    from aiokafka import AIOKafkaConsumer

    reader = AIOKafkaConsumer(topics.events, bootstrap_servers=bootstrap, group_id=None,
                              auto_offset_reset="earliest", fetch_max_wait_ms=FETCH_WAIT_MS)
    await reader.start()
    try:
        while not stop.is_set():
            fetched = await reader.getmany(timeout_ms=50)
            received = time.time()
            for records in fetched.values():
                for record in records:
                    output = answer_decoder.decode(record.value).output
                    if output.account.startswith("PROBE") and isinstance(output, Breach):
                        sent = datetime.fromisoformat(output.ts).timestamp()
                        latencies[output.account] = (received - sent) * 1000
    finally:
        await reader.stop()


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    from aiokafka import AIOKafkaProducer

    tag = uuid.uuid4().hex[:8]
    topics = Topics(f"bench{tag}.", partitions=args.partitions)
    schema = f"bench_{tag}"
    _, market, setup, opens = bench.generate_book(args.accounts, args.positions,
                                                  args.symbols)
    folder = Path(tempfile.mkdtemp(prefix="proptrade-bench-"))
    for doc in [*bench.PROGRAMS, PROBE_PROGRAM]:
        (folder / f"{doc['id']}.json").write_text(json.dumps(doc))
    broker_dir = folder / "broker" if args.durable else None
    async with EmbeddedBroker(data_dir=broker_dir, fsync=args.fsync) as broker:
        bootstrap = broker.bootstrap
        await ensure_topics(bootstrap, topics)
        env = child_environment(KAFKA_BOOTSTRAP=bootstrap, KAFKA_TOPIC_PREFIX=topics.prefix,
                                FEED_PARTITIONS=str(topics.partitions), DATABASE_URL=DSN)
        log = (folder / "worker.log").open("wb")
        command = [sys.executable, "-m", "streams.cli", "worker", "--program", str(folder),
                   "--group", f"bench-{tag}", "--schema", schema,
                   "--checkpoint-interval", str(args.checkpoint_interval)]
        worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        recovery: dict[str, Any] | None = None
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=2,
                                    max_request_size=8 * 1024 * 1024)
        await producer.start()
        latencies: dict[str, float] = {}
        stop = asyncio.Event()
        reader = asyncio.create_task(_read_probes(bootstrap, topics, latencies, stop))
        publisher = FeedPublisher(producer, topics, "bench")
        try:
            probe_count = 0

            def probe(now: datetime) -> str:
                nonlocal probe_count
                probe_count += 1
                name = f"PROBE{probe_count:07d}"
                publisher.add(Account(ts=now, account=name, program="bench-probe",
                                      balance=900.0))
                return name

            started = time.monotonic()
            now = datetime.now(UTC)
            for event in [*setup, *opens]:
                publisher.add(_restamp(event, now))
                if publisher.pending >= 2000:
                    await publisher.flush()
            warm = probe(datetime.now(UTC))
            await publisher.flush()
            while warm not in latencies:
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker died: see {folder / 'worker.log'}")
                await asyncio.sleep(0.1)
            setup_seconds = time.monotonic() - started
            # The set-up events are published: drop them, and keep what remains out of
            # the collector, so its full collections do not delay the probes here.
            setup.clear()
            opens.clear()
            gc.collect()
            gc.freeze()

            offer = Offer(market, args.accounts, 11)
            rates = [int(r) for r in args.steps.split(",")]
            step_seconds = args.seconds / len(rates)
            steps: list[dict[str, Any]] = []
            pids = {"broker": broker.pid, "worker": worker.pid, "producer": os.getpid(),
                    "objectstore": broker.pids.get("objectstore")}
            async def offer_load(rate: int, seconds: float, until: Any = None
                                 ) -> dict[str, Any]:
                """Offer ``rate`` quotes/s and half as many deals for ``seconds`` (or
                until ``until()`` is true), with probes; returns the step's figures."""
                cpu_before = {k: cpu_seconds(p) for k, p in pids.items() if p}
                probes: list[str] = []
                sent_at: list[float] = []
                quotes = deals = 0
                began = time.monotonic()
                ticks = 0
                while time.monotonic() - began < seconds and not (until and until()):
                    ticks += 1
                    due = began + ticks * TICK
                    elapsed = ticks * TICK
                    now = datetime.now(UTC)
                    while quotes < rate * elapsed:
                        publisher.add(offer.quote(now))
                        quotes += 1
                    while deals < rate / 2 * elapsed:
                        publisher.add(offer.deal(now))
                        deals += 1
                    if len(probes) < PROBES_PER_S * elapsed:
                        probes.append(probe(now))
                        sent_at.append(time.monotonic())
                    await publisher.flush()
                    pause = due - time.monotonic()
                    if pause > 0:
                        await asyncio.sleep(pause)
                wall = time.monotonic() - began
                cpu = {k: round((cpu_seconds(p) - cpu_before[k]) / wall, 2)
                       for k, p in pids.items() if p and k in cpu_before}
                return {"offered_quotes_per_s": rate, "quotes_per_s": round(quotes / wall),
                        "deals_per_s": round(deals / wall), "probes": probes,
                        "sent_at": sent_at, "cpu": cpu}

            for rate in rates:
                step = await offer_load(rate, step_seconds)
                step.pop("sent_at")
                steps.append(step)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and any(
                    p not in latencies for s in steps for p in s["probes"]):
                await asyncio.sleep(0.2)
            if args.recovery:
                # kill -9 the worker under load, start another at once, and time until
                # probes are answered within 100 ms again (caught up).
                worker.kill()
                worker.wait(10)
                killed = time.monotonic()
                worker = subprocess.Popen(command, env=env, stdout=log,
                                          stderr=subprocess.STDOUT)
                pids["worker"] = worker.pid
                rate = rates[0]

                def caught_up() -> bool:
                    return any(latencies.get(p, 1e9) <= 100 for p in recovery_probes)

                recovery_probes: list[str] = []
                probe_count_before = probe_count
                load = asyncio.create_task(offer_load(rate, 120, caught_up))
                while not load.done() and time.monotonic() - killed < 150:
                    recovery_probes[:] = [f"PROBE{n:07d}" for n in
                                          range(probe_count_before + 1, probe_count + 1)]
                    await asyncio.sleep(0.05)
                if not load.done():
                    # The load's sends wait for the broker's acknowledgements: tansu's
                    # memory store, grown by the steps, was seen stalling them for minutes.
                    load.cancel()
                    raise BrokerStalled(f"publishing waited {time.monotonic() - killed:.0f} s "
                                        "for the broker during the recovery")
                step = await load
                answered = [(at, latencies[p]) for p, at in zip(step["probes"], step["sent_at"],
                                                                  strict=True)
                            if latencies.get(p, 1e9) <= 100]
                recovery = {"offered_quotes_per_s": rate,
                            "caught_up_s": round(answered[0][0] + answered[0][1] / 1000
                                                 - killed, 1) if answered else None}
        except BrokerStalled as stalled:
            recovery = {"offered_quotes_per_s": rates[0], "caught_up_s": None,
                        "stalled": str(stalled)}
        finally:
            stop.set()
            await reader
            try:
                await asyncio.wait_for(producer.stop(), 10)
            except TimeoutError:
                pass  # unsent messages of a stalled broker: the run is over
            worker.terminate()
            worker.wait(30)
            log.close()
            await drop_schema(DSN, schema)
    summary = _summary(steps, latencies, setup_seconds, args)
    summary["broker"] = ("durable" + (" (fsync)" if args.fsync else "")
                         if args.durable else "memory")
    if broker_dir is not None:
        objects = [f for f in (broker_dir / "objects").rglob("*") if f.is_file()]
        summary["broker_objects"] = len(objects)
        summary["broker_mb"] = round(sum(f.stat().st_size for f in objects) / 1e6, 1)
        if args.keep_log:
            summary["broker_dir"] = str(broker_dir)
        else:
            shutil.rmtree(broker_dir, ignore_errors=True)
    if recovery is not None:
        summary["recovery"] = recovery
    return summary


def _restamp(event: Event, now: datetime) -> Event:
    import msgspec

    return msgspec.structs.replace(event, ts=now) if hasattr(event, "ts") else event


def _ms(value: Any, digits: int = 1) -> float | None:
    """A latency in ms, rounded; None when some probe was never answered (inf, or NaN
    from interpolating between infinities)."""
    number = float(value)
    return round(number, digits) if np.isfinite(number) else None


def _summary(steps: list[dict[str, Any]], latencies: dict[str, float], setup_seconds: float,
             args: argparse.Namespace) -> dict[str, Any]:
    best: dict[str, Any] | None = None
    for step in steps:
        measured = np.array([latencies.get(p, np.inf) for p in step.pop("probes")])
        finite = measured[np.isfinite(measured)]
        step["probes_answered"] = f"{len(finite)}/{len(measured)}"
        step["p50_ms"] = _ms(np.percentile(measured, 50))
        step["p99_ms"] = _ms(np.percentile(measured, 99))
        step["max_ms"] = _ms(measured.max())
        # p99 of each 5 s of the step: a warm-up or a pause shows apart from a backlog.
        window = 5 * PROBES_PER_S
        step["p99_ms_by_5s"] = [_ms(np.percentile(measured[i:i + window], 99), 0)
                                for i in range(0, len(measured), window)]
        kept_up = step["quotes_per_s"] >= 0.95 * step["offered_quotes_per_s"]
        if kept_up and step["p99_ms"] is not None and step["p99_ms"] <= 100:
            best = step
    chosen = best or steps[0]
    return {
        "quotes_per_s": chosen["quotes_per_s"] if best else 0,
        "deals_per_s": chosen["deals_per_s"] if best else 0,
        "p50_ms": chosen["p50_ms"], "p99_ms": chosen["p99_ms"], "max_ms": chosen["max_ms"],
        "accounts": args.accounts, "positions": args.positions, "symbols": args.symbols,
        "setup_s": round(setup_seconds, 1), "steps": steps,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--positions", type=int, default=200_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--checkpoint-interval", type=float, default=CHECKPOINT_INTERVAL,
                        help="seconds between a shard's checkpoints (the worker's default)")
    parser.add_argument("--no-recovery", dest="recovery", action="store_false",
                        help="skip the kill -9 / restart measurement at the end")
    parser.add_argument("--durable", action="store_true",
                        help="the broker keeps its log on disk (streams.objectstore), as "
                             "`proptrade broker` does; default: in memory")
    parser.add_argument("--fsync", action="store_true",
                        help="with --durable: fsync every write of the log")
    parser.add_argument("--keep-log", action="store_true",
                        help="with --durable: keep the broker's directory (printed)")
    parser.add_argument("--steps", default="1000,2500,5000,7500,10000,12500",
                        help="offered quotes/s of each step (deals at half of it)")


def main(args: argparse.Namespace) -> int:
    sys.stdout.write(orjson.dumps(asyncio.run(_run(args))).decode() + "\n")
    return 0
