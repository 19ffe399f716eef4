"""``proptrade``: the command line.

Each subcommand lives in its own module with ``add_arguments(parser)`` and
``main(args) -> int``. Only the module of the subcommand being run is imported, so
``proptrade --help`` is fast and works even when a subcommand's module is missing.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Final, NamedTuple

__all__ = ["main"]


class Command(NamedTuple):
    path: tuple[str, ...]  # words on the command line, e.g. ("bench", "engine")
    module: str
    summary: str


COMMANDS: Final = (
    Command(
        ("replay",),
        "streams.replay",
        "run the engine over a JSON Lines event file and print its answers",
    ),
    Command(("bench", "engine"), "streams.bench", "measure the engine's throughput"),
    Command(("bench", "replay"), "streams.bench_replay",
            "measure `proptrade replay` end to end on a generated 2,000,000-event feed"),
    Command(("bench", "stream"), "streams.bench_stream",
            "measure a worker on the broker: sustained rates and latency"),
    Command(("bench", "gateway"), "gateway.bench",
            "measure one gateway: REST reads and websocket fan-out"),
    Command(("bench", "analytics"), "analytics.bench",
            "measure the history store: sink rate and the dashboards' queries"),
    Command(("bench", "report-stats"), "analytics.bench_report_stats",
            "time `proptrade report-stats` on each shared MetaTrader report"),
    Command(("up",), "streams.up", "run PropTrade on this machine until interrupted"),
    Command(("broker",), "streams.broker_command",
            "run the embedded broker on 127.0.0.1:PORT, its log kept in the data directory"),
    Command(("simulate",), "streams.simulator",
            "simulate a market and a population of traders (a feed of events)"),
    Command(("demo-broker",), "streams.demo_broker",
            "the market simulator and demo broker, remembering its accounts across restarts"),
    Command(("feed",), "streams.feed", "publish a recorded feed (JSON Lines) to Kafka"),
    Command(("worker",), "streams.worker", "run the risk engine on Kafka (a stream worker)"),
    Command(("migrate",), "storage.command",
            "create the database if missing and apply its migrations"),
    Command(("gateway",), "gateway.command", "serve the REST API and the websocket"),
    Command(("analytics",), "analytics.command",
            "record the stream into the history store (and serve an embedded one)"),
    Command(("import",), "analytics.imports.command",
            "import a MetaTrader report (MT5 history/tester, MT4 statement) as feed events"),
    Command(("report-stats",), "analytics.report_stats",
            "compute a MetaTrader report's statistics (the dashboards' figures)"),
    Command(("users", "create"), "gateway.users_command",
            "create a verified user: a firm's first admin, risk officer or owner"),
)

GROUPS: Final[dict[tuple[str, ...], str]] = {("bench",): "benchmarks",
                                              ("users",): "the users of a firm"}

Handler = Callable[[argparse.Namespace], int]


Parsers = dict[tuple[str, ...], argparse.ArgumentParser]


def _build_parser() -> tuple[argparse.ArgumentParser, Parsers]:
    parser = argparse.ArgumentParser(
        prog="proptrade",
        description="PropTrade: the streaming risk engine and platform for prop trading firms.",
    )
    parser.add_argument("--version", action=_VersionAction)
    parsers: Parsers = {(): parser}
    subparsers: dict[tuple[str, ...], argparse._SubParsersAction[argparse.ArgumentParser]] = {}

    def child(path: tuple[str, ...], summary: str) -> argparse.ArgumentParser:
        parent = path[:-1]
        if parent not in parsers:
            child(parent, GROUPS[parent])
        if parent not in subparsers:
            subparsers[parent] = parsers[parent].add_subparsers(
                title="commands", metavar="COMMAND", dest="_command_" + "_".join(parent)
            )
        made = subparsers[parent].add_parser(path[-1], help=summary, description=summary)
        parsers[path] = made
        return made

    for command in COMMANDS:
        child(command.path, command.summary)
    return parser, parsers


class _VersionAction(argparse.Action):
    """``--version``, reading the installed version only when asked (it costs ~20 ms)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show the version"
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            installed = version("proptrade")
        except PackageNotFoundError:
            installed = "(not installed)"
        print(f"{parser.prog} {installed}")
        parser.exit()


def _chosen(argv: Sequence[str]) -> Command | None:
    """The command named by the leading words of ``argv``, before any option."""
    words = []
    for arg in argv:
        if arg.startswith("-"):
            break
        words.append(arg)
    for command in COMMANDS:
        if tuple(words[: len(command.path)]) == command.path:
            return command
    return None


def _load(command: Command) -> ModuleType | None:
    try:
        return importlib.import_module(command.module)
    except ImportError as error:
        if error.name == command.module:
            reason = f"the module {command.module} is missing"
        else:
            reason = f"{command.module} cannot import {error.name or error}"
        print(
            f"proptrade {' '.join(command.path)}: error: this command is not available: {reason}",
            file=sys.stderr,
        )
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``proptrade`` with ``argv`` (default: the process's arguments); return the
    exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser, parsers = _build_parser()
    command = _chosen(arguments)
    if command is not None:
        module = _load(command)
        if module is None:
            return 2
        module.add_arguments(parsers[command.path])
        handler: Handler = module.main
        parsers[command.path].set_defaults(_handler=handler)
    args = parser.parse_args(arguments)
    chosen: Handler | None = getattr(args, "_handler", None)
    if chosen is None:
        # `proptrade` or `proptrade bench` alone: show what there is to run.
        deepest = max((path for path in parsers if tuple(arguments[: len(path)]) == path), key=len)
        parsers[deepest].print_help()
        return 2
    return chosen(args)


if __name__ == "__main__":
    sys.exit(main())
