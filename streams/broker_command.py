"""``proptrade broker``: the embedded Kafka-protocol broker, durable, in the foreground.

Runs tansu on ``127.0.0.1:PORT`` over :mod:`streams.objectstore`, which keeps the log
under ``$PROPTRADE_DATA_DIR/broker/`` (topics, messages, committed group offsets: all of
it is there again after a restart on the same directory, clean or ``kill -9``). Prints
``proptrade broker: ready at 127.0.0.1:PORT`` once a Kafka client can fetch metadata.
SIGINT or SIGTERM stops both children within 5 s (SIGKILL after that) and exits 0; if a
child dies, the other is stopped and the command exits 1 naming it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType
from typing import Final

from streams.broker import HOST, BrokerError, EmbeddedBroker, _port_accepts
from streams.settings import SettingsError, load_settings

__all__ = ["add_arguments", "main"]

DEFAULT_PORT: Final = 9092
POLL: Final = 0.1  # s between checks of the children


class _Stop(BaseException):
    """SIGINT or SIGTERM arrived."""


def _say(line: str, *, error: bool = False) -> None:
    stream = sys.stderr if error else sys.stdout
    stream.write(f"proptrade broker: {line}\n")
    stream.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"the port to listen on, on 127.0.0.1 (default {DEFAULT_PORT})")
    parser.add_argument("--fsync", action="store_true",
                        help="fsync every write of the log before acknowledging it (default: "
                             "atomic writes, the file system synced every second: a kill -9 "
                             "loses nothing acknowledged, a power cut at most the last second)")
    parser.add_argument("--retain", type=int, default=None, metavar="BATCHES",
                        help="record batches kept per partition, the newest (default "
                             "BROKER_RETAIN_BATCHES; tansu's fetch lists them all: this "
                             "bounds its cost and the disk)")
    parser.add_argument("--startup-timeout", type=float, default=30.0,
                        help="seconds to wait until the broker answers (default 30)")


def main(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        _say(f"--port must be 1-65535, not {args.port}", error=True)
        return 2
    try:
        settings = load_settings()
    except SettingsError as error:
        _say(str(error), error=True)
        return 2
    retain = settings.broker_retain_batches if args.retain is None else args.retain
    if retain < 1:
        _say(f"--retain must be at least 1, not {retain}", error=True)
        return 2
    data_dir = settings.data_dir / "broker"
    if _port_accepts(HOST, args.port):
        _say(f"port {args.port} on {HOST} is already in use", error=True)
        return 1

    signals = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal signals
        signals += 1
        if signals == 1:  # later ones: we are stopping already
            raise _Stop

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    broker = EmbeddedBroker(data_dir=data_dir, port=args.port, fsync=args.fsync, retain=retain,
                            startup_timeout=args.startup_timeout)
    try:
        try:
            started = time.monotonic()
            broker.start()
            _say(f"ready at {broker.bootstrap}")
            pids = ", ".join(f"{name} pid {pid}" for name, pid in broker.pids.items())
            _say(f"log under {data_dir} ({pids}; ready in {time.monotonic() - started:.1f} s)",
                 error=True)
            while (dead := broker.dead_child()) is None:
                time.sleep(POLL)
            name, code = dead
            status = f"signal {-code}" if code < 0 else f"status {code}"
            _say(f"{name} exited with {status}; stopping (see {data_dir / 'broker.log'})",
                 error=True)
            return 1
        except _Stop:
            return 0
        except BrokerError as error:
            _say(str(error), error=True)
            return 1
        finally:
            try:
                broker.stop()
            except _Stop:  # pragma: no cover - a signal in the middle of a stop
                broker.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
