"""``proptrade broker --port N`` — a STAND-IN for helper DURABLE's command (issue 11).

Only so that ``proptrade up``'s supervisor can be built and tested before DURABLE's
durable broker lands: it runs tansu with the memory store (nothing survives a restart)
on 127.0.0.1:N, prints ``proptrade broker: ready at 127.0.0.1:N`` once a Kafka client can
fetch metadata, and runs until SIGINT/SIGTERM (tansu stopped within 5 s) or until tansu
dies (exit 1, saying so). The lead takes DURABLE's version of this file at merge.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys

from streams.broker import HOST, BrokerError, EmbeddedBroker, _fetch_metadata
from streams.supervisor import _die_with

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1")


def main(args: argparse.Namespace) -> int:
    import os

    try:
        binary = EmbeddedBroker()._resolve_binary()
    except BrokerError as error:
        print(f"proptrade broker: error: {error}", file=sys.stderr)
        return 1
    listener = f"tcp://{HOST}:{args.port}"
    tansu = subprocess.Popen(
        [binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener,
         "--storage-engine", "memory://tansu/"],
        stdin=subprocess.DEVNULL, env={}, preexec_fn=_die_with(os.getpid()))

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        ready = False
        while not stop.is_set():
            if tansu.poll() is not None:
                print(f"proptrade broker: error: tansu exited with status {tansu.returncode}",
                      file=sys.stderr, flush=True)
                return 1
            if not ready:
                try:
                    await _fetch_metadata(f"{HOST}:{args.port}", 2.0)
                except Exception:  # not answering yet
                    await asyncio.sleep(0.1)
                    continue
                ready = True
                print(f"proptrade broker: ready at {HOST}:{args.port}", flush=True)
            try:
                await asyncio.wait_for(stop.wait(), 0.2)
            except TimeoutError:
                pass
        return 0

    try:
        return asyncio.run(run())
    finally:
        if tansu.poll() is None:
            tansu.terminate()
            try:
                tansu.wait(5)
            except subprocess.TimeoutExpired:
                tansu.kill()
                tansu.wait()
