"""``proptrade replay``: the engine over a JSON Lines file (CONTRACTS.md §3).

Same engine code as the stream workers; deterministic (the same input gives the same
bytes). A bad line is reported as ``line N: reason`` on stderr and skipped, and the exit
status is then 1; an invalid program stops the run before any event (status 2).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

import msgspec

from streams.engine import Engine, FeedError
from streams.events import Event, describe_error, json_decoder
from streams.outputs import encode_line
from streams.program import Program, ProgramError, parse_program

EXIT_OK, EXIT_BAD_LINES, EXIT_BAD_PROGRAM = 0, 1, 2


def load_programs(paths: Sequence[str]) -> list[Program]:
    """Read and validate program files; a :class:`ProgramError` names the file and field."""
    programs: dict[str, Program] = {}
    for path in paths:
        try:
            text = Path(path).read_bytes()
        except OSError as exc:
            raise ProgramError("", f"cannot read ({exc.strerror})", path) from None
        try:
            program = parse_program(text)
        except ProgramError as exc:
            raise ProgramError(exc.field, exc.reason, path) from None
        if program.id in programs:
            raise ProgramError("id", f"program {program.id!r} is defined twice", path)
        programs[program.id] = program
    return list(programs.values())


def run(program_paths: Sequence[str], events: BinaryIO | Iterable[bytes], out: TextIO,
        err: TextIO) -> int:
    """Replay ``events`` (JSON Lines bytes) and write the answers; returns the exit status."""
    try:
        programs = load_programs(program_paths)
    except ProgramError as exc:
        err.write(f"{exc}\n")
        return EXIT_BAD_PROGRAM
    engine = Engine(programs)
    status = EXIT_OK
    chunk: list[Event] = []
    numbers: list[int] = []

    def apply_chunk() -> None:
        # Applied a chunk at a time so runs of quotes take the compiled path; the answers
        # are written in event order, refusals as they come.
        nonlocal status
        for index, outcome in engine.apply_many(chunk):
            if isinstance(outcome, FeedError):
                err.write(f"line {numbers[index]}: {outcome}\n")
                status = EXIT_BAD_LINES
            else:
                buffer.extend(encode_line(output) for output in outcome)
        chunk.clear()
        numbers.clear()
        if len(buffer) >= 4096:
            _flush(buffer, out)

    buffer: list[bytes] = []
    for number, line in enumerate(events, start=1):
        if not line.strip():
            continue
        try:
            chunk.append(json_decoder.decode(line))
            numbers.append(number)
        except msgspec.MsgspecError as exc:
            apply_chunk()  # keep stderr in line order
            err.write(f"line {number}: {describe_error(exc)}\n")
            status = EXIT_BAD_LINES
            continue
        if len(chunk) >= 1024:
            apply_chunk()
    apply_chunk()
    buffer.extend(encode_line(state) for state in engine.states())
    _flush(buffer, out)
    return status


def _flush(buffer: list[bytes], out: TextIO) -> None:
    if buffer:
        out.write(b"\n".join(buffer).decode() + "\n")
        buffer.clear()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--program", action="append", default=[], metavar="FILE",
                        required=True, help="a program document (JSON); repeat for several")
    parser.add_argument("events", metavar="EVENTS.jsonl",
                        help="feed events, one JSON object per line; '-' reads stdin")


def main(args: argparse.Namespace) -> int:
    if args.events == "-":
        return run(args.program, sys.stdin.buffer, sys.stdout, sys.stderr)
    try:
        with open(args.events, "rb") as events:
            return run(args.program, events, sys.stdout, sys.stderr)
    except OSError as exc:
        sys.stderr.write(f"{args.events}: cannot read ({exc.strerror})\n")
        return EXIT_BAD_PROGRAM
