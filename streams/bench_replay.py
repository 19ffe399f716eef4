"""``proptrade bench replay``: ``proptrade replay`` end to end on a generated feed.

Generates a feed of the realistic kind — the simulator's market and traders (quotes,
deals, swaps, clocks, accounts under its five program families, about 20 days of event
time at the default size) with a deposit or withdrawal after every 40th deal — writes it
as JSON Lines, then runs ``proptrade replay`` on it in a child process (``python -m
streams.cli replay``: interpreter start, JSON parsing, validation, the engine, writing
the answers) and times it from spawn to exit. Prints one JSON line: events, seconds,
events/s (and per second of the child's CPU time), the child's peak RSS, answers and
refused lines, and the load average before and after (the reference machine is shared; a
figure means little without it).

Not a test: a figure to compare across commits on the same machine. Generating 2,000,000
events takes about three minutes; ``--save FILE`` keeps the feed and ``--feed FILE``
times an existing one (its programs: ``--programs DIR``, default the simulator's).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import msgspec
import orjson

from streams.events import Balance, Deal, Event
from streams.simulator import Simulator

BALANCE_EVERY = 40  # deals; brokers' balance operations are rare next to trading


def generate(path: Path, events: int, accounts: int, seed: int, time_scale: float
             ) -> Counter[str]:
    """Write ``events`` feed events to ``path``; returns how many of each type."""
    sim = Simulator(seed, accounts, time_scale=time_scale)
    encode = msgspec.json.Encoder().encode
    counts: Counter[str] = Counter()
    lines: list[bytes] = []
    with path.open("wb") as out:
        for written, event in enumerate(_with_balance_operations(sim.events(), seed), 1):
            lines.append(encode(event))
            counts[type(event).__name__.lower()] += 1
            if written == events or len(lines) == 65536:
                out.write(b"\n".join(lines) + b"\n")
                lines.clear()
            if written == events:
                break
    return counts


def _with_balance_operations(events: Iterator[Event], seed: int) -> Iterator[Event]:
    rng = random.Random(seed)
    deals = 0
    for event in events:
        yield event
        if type(event) is Deal:
            deals += 1
            if deals % BALANCE_EVERY == 0:
                deposit = rng.random() < 0.5
                amount = rng.choice((50.0, 100.0, 250.0))
                yield Balance(ts=event.ts, account=event.account,
                              amount=amount if deposit else -amount,
                              kind="deposit" if deposit else "withdrawal")


def write_programs(directory: Path) -> list[str]:
    paths = []
    for document in Simulator(1, 0).programs():
        path = directory / f"{document['id']}.json"
        path.write_bytes(orjson.dumps(document))
        paths.append(str(path))
    return paths


def time_replay(programs: list[str], feed: Path, workdir: Path) -> dict[str, float | int]:
    """Run ``proptrade replay`` in a child process; its wall time and peak RSS."""
    command = [sys.executable, "-m", "streams.cli", "replay"]
    for program in programs:
        command += ["--program", program]
    command.append(str(feed))
    answers, refusals = workdir / "answers.jsonl", workdir / "refused.txt"
    with answers.open("wb") as out, refusals.open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    with answers.open("rb") as lines:
        answered = sum(1 for _ in lines)
    with refusals.open("rb") as lines:
        refused = sum(1 for line in lines if line.startswith(b"line "))
    # CPU time too: on a shared machine the wall time also measures the neighbours.
    return {"seconds": round(seconds, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "exit_status": child.returncode,
            "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
            "answer_lines": answered, "refused_lines": refused}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=2_000_000, help="feed events to time")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=1000.0,
                        help="the simulator's event seconds per wall second: 1000 gives "
                             "about 13%% deals, 86%% quotes")
    parser.add_argument("--feed", type=Path, help="time this feed instead of generating one")
    parser.add_argument("--programs", type=Path, metavar="DIR",
                        help="with --feed: the program documents (*.json) it uses")
    parser.add_argument("--save", type=Path, metavar="FILE",
                        help="keep the generated feed in FILE (to time it again with --feed)")


def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="proptrade-bench-replay-") as scratch:
        workdir = Path(scratch)
        if args.programs is not None:
            programs = sorted(str(p) for p in args.programs.glob("*.json"))
        else:
            programs = write_programs(workdir)
        counts: Counter[str] = Counter()
        if args.feed is not None:
            feed = args.feed
            with feed.open("rb") as lines:
                events = sum(1 for line in lines if line.strip())
        else:
            feed = args.save or workdir / "feed.jsonl"
            counts = generate(feed, args.events, args.accounts, args.seed, args.time_scale)
            events = sum(counts.values())
        load_before = os.getloadavg()[0]
        figures = time_replay(programs, feed, workdir)
        load_after = os.getloadavg()[0]
    result: dict[str, object] = {
        "events": events,
        "events_per_s": round(events / float(figures["seconds"])),
        "events_per_cpu_s": round(events / float(figures["cpu_seconds"])),
        **figures,
        "mix": dict(counts.most_common()),
        "load_avg_before": round(load_before, 2),
        "load_avg_after": round(load_after, 2),
        "cpus": os.cpu_count(),
    }
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0 if figures["exit_status"] in (0, 1) else 1
