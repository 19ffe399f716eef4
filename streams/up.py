"""``proptrade up``: run PropTrade on one machine.

Starts the embedded tansu broker unless ``KAFKA_BOOTSTRAP`` names one, then the engine,
and runs until SIGINT or SIGTERM (or ``--seconds N``), stopping everything it started.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from types import FrameType

from streams.broker import BrokerError, EmbeddedBroker
from streams.settings import Settings, SettingsError, load_settings

__all__ = ["add_arguments", "main", "run_engine_demo"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``proptrade up``'s options on ``parser``."""
    duration = parser.add_mutually_exclusive_group()
    duration.add_argument(
        "--seconds",
        type=float,
        metavar="N",
        help="stop by itself after N seconds (smoke tests); default: run until interrupted",
    )
    duration.add_argument(
        "--once",
        action="store_const",
        const=0.0,
        dest="seconds",
        help="start everything, report it, and stop at once (same as --seconds 0)",
    )


def main(args: argparse.Namespace) -> int:
    """Run ``proptrade up``; the exit status is 0 after a clean stop."""
    seconds: float | None = args.seconds
    if seconds is not None and seconds < 0:
        print("proptrade up: error: --seconds must not be negative", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"proptrade up: error: {error}", file=sys.stderr)
        return 2
    if settings.uses_insecure_secret_key:
        print(
            "proptrade up: warning: SECRET_KEY is unset, so tokens are signed with the public "
            "development key; set SECRET_KEY before anyone else can reach this machine",
            file=sys.stderr,
            flush=True,
        )

    stop = threading.Event()
    if seconds is not None:
        timer = threading.Timer(seconds, stop.set)
        timer.daemon = True
        timer.start()
    try:
        with _stop_on_signals(stop), contextlib.ExitStack() as running:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            if settings.uses_embedded_broker:
                broker = running.enter_context(
                    EmbeddedBroker(log_path=settings.data_dir / "logs" / "broker.log")
                )
                settings = dataclasses.replace(settings, kafka_bootstrap=broker.bootstrap)
                _say(f"broker: embedded tansu at {broker.bootstrap} (pid {broker.pid})")
            else:
                _say(f"broker: external Kafka at {settings.kafka_bootstrap}")
            _say(f"data dir: {settings.data_dir}")
            run_engine_demo(settings, stop)
            _say("stopping")
    except BrokerError as error:
        print(f"proptrade up: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"proptrade up: error: {error}", file=sys.stderr)
        return 1
    _say("stopped")
    return 0


def run_engine_demo(settings: Settings, stop: threading.Event) -> None:
    """Run the engine in this process on a simulated book until ``stop`` is set.

    ``settings.kafka_bootstrap`` is the broker in use; the live Kafka workers and the
    market simulator that will feed them arrive with issue 3. Until then the engine runs
    in-process on the benchmark's synthetic firm (2,000 accounts, 4,000 positions) at a
    modest 1,000 quotes/s and reports what it decided every five seconds.
    """
    from streams import bench
    from streams.engine import Engine, FeedError
    from streams.outputs import Breach, Passed

    programs, market, setup, opens = bench.generate_book(2_000, 4_000, 50, seed=11)
    engine = Engine(programs)
    for event in (*setup, *opens):
        engine.apply(event)
    _say(f"engine: in-process, {len(engine.rows)} simulated accounts on "
         f"{len(programs)} programs, {sum(len(p) for p in engine.positions)} open positions")
    _say("ready; press Ctrl+C to stop")
    ts = bench.START
    step = timedelta(milliseconds=1)  # event time runs at the pace of the quotes
    seed, quotes, breaches, passes = 0, 0, 0, 0
    last_report = time.monotonic()
    while not stop.is_set():
        seed += 1
        started = time.monotonic()
        for quote in bench.quote_stream(market, 200, seed, ts, step):
            try:
                outputs = engine.apply(quote)
            except FeedError as error:  # a generated quote is never bad; say so if it is
                _say(f"engine: rejected a simulated quote: {error}")
                continue
            quotes += 1
            breaches += sum(isinstance(o, Breach) for o in outputs)
            passes += sum(isinstance(o, Passed) for o in outputs)
            ts = quote.ts
        if time.monotonic() - last_report >= 5.0:
            last_report = time.monotonic()
            live = int((engine.table.status[: engine.table.n] <= 1).sum())
            _say(f"engine: {quotes} quotes, {breaches} breaches, {passes} passes, "
                 f"{live} accounts live, event time {ts:%Y-%m-%d %H:%M:%S}Z")
        # 200 quotes every 0.2 s: 1,000 quotes/s; the bounded wait keeps Ctrl+C prompt.
        stop.wait(max(0.0, 0.2 - (time.monotonic() - started)))


def _say(line: str) -> None:
    # Flushed at once: `proptrade up` is watched through pipes (tests, process managers).
    print(f"proptrade up: {line}", flush=True)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into ``stop.set()``; restore the handlers after."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        # Event.set() takes a lock the interrupted main thread may be holding inside
        # Event.wait(); setting it from another thread cannot deadlock.
        threading.Thread(target=stop.set, name="proptrade-stop").start()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
