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
from collections.abc import Iterator
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
    """Run the engine in this process until ``stop`` is set.

    ``settings.kafka_bootstrap`` is the broker in use (the embedded one when it was empty).
    The lead engineer finishes this with issue 2's engine: it will import
    ``streams.bench.generate_book`` and ``streams.engine`` here, lazily, and feed a
    generated book through the engine while it waits. Live Kafka workers arrive with
    issue 3.
    """
    _say("engine: in-process (live Kafka workers arrive with issue 3)")
    _say("ready; press Ctrl+C to stop")
    # A bounded wait in a loop, not wait(): the signal handler must get to run promptly.
    while not stop.wait(0.2):
        pass


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
