"""``proptrade demo-broker`` — a STAND-IN for helper DEMO's command (issue 11).

Only so that ``proptrade up``'s supervisor can be built and tested before DEMO's lands:
the simulator publishing the live market and its accounts' events, acting as the demo
broker for the accounts the platform opens (it follows ``broker.commands``). It remembers
nothing across restarts. The lead takes DEMO's version of this file at merge.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, datetime

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--time-scale", type=float, default=1800.0)
    parser.add_argument("--seed", type=int, default=1)


def main(args: argparse.Namespace) -> int:
    from streams.commands import follow_commands
    from streams.feed import publish_live
    from streams.simulator import Simulator, demo_broker
    from streams.topics import kafka_from_environment

    found = kafka_from_environment("demo-broker", "`proptrade up` runs one")
    if found is None:
        return 2
    settings, topics = found
    simulator = Simulator(args.seed, args.accounts, 50, datetime.now(UTC).replace(microsecond=0),
                          rate=args.rate, time_scale=args.time_scale)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        print(f"proptrade demo-broker: ready: {args.accounts} accounts, {args.rate:g} "
              f"quotes/s on {settings.kafka_bootstrap}", flush=True)
        await asyncio.gather(
            publish_live(simulator.events(), settings.kafka_bootstrap, topics, args.rate, stop),
            follow_commands(settings.kafka_bootstrap, topics, "proptrade-demo-broker",
                            lambda command: demo_broker(simulator, command), stop))

    try:
        asyncio.run(run())
    except Exception as error:
        print(f"proptrade demo-broker: error: {error}", file=sys.stderr)
        return 1
    return 0
