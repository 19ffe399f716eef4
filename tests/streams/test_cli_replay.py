"""``proptrade replay`` as a user runs it: a real process on a file and on stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONSOLE_SCRIPT = Path(sys.executable).parent / "proptrade"

PROGRAM = {
    "id": "ftmo-100k",
    "currency": "USD",
    "initial_balance": 100000,
    "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
    "rules": {
        "daily_loss": {"limit": 0.05, "reference": "day_start_balance"},
        "max_loss": {"limit": 0.10, "mode": "static"},
        "profit_target": {"target": 0.10},
    },
}

EVENTS = [
    {"type": "symbol", "symbol": "XAUUSD", "contract_size": 100, "profit_currency": "USD"},
    {"type": "account", "ts": "2026-03-02T08:00:00Z", "account": "B2", "program": "ftmo-100k"},
    {"type": "account", "ts": "2026-03-02T09:00:00+01:00", "account": "A1", "program": "ftmo-100k"},
    {
        "type": "deal",
        "ts": "2026-03-02T09:00:00Z",
        "account": "A1",
        "deal": 1,
        "position": 1,
        "symbol": "XAUUSD",
        "side": "buy",
        "entry": "in",
        "volume": 1,
        "price": 2000.0,
    },
    {
        "type": "deal",
        "ts": "2026-03-02T09:00:00Z",
        "account": "B2",
        "deal": 2,
        "position": 1,
        "symbol": "XAUUSD",
        "side": "sell",
        "entry": "in",
        "volume": 1,
        "price": 2000.0,
    },
    {
        "type": "quote",
        "ts": "2026-03-02T09:30:00.250Z",
        "symbol": "XAUUSD",
        "bid": 1950.0,
        "ask": 1950.3,
    },
    {
        "type": "deal",
        "ts": "2026-03-02T10:00:00Z",
        "account": "B2",
        "deal": 3,
        "position": 1,
        "symbol": "XAUUSD",
        "side": "buy",
        "entry": "out",
        "volume": 1,
        "price": 1900.0,
        "profit": 10000.0,
    },
]


def command() -> list[str]:
    if CONSOLE_SCRIPT.exists():
        return [str(CONSOLE_SCRIPT)]
    return [sys.executable, "-c", "import sys; from streams.cli import main; sys.exit(main())"]


def proptrade(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*command(), *args], input=stdin, capture_output=True, cwd=REPO, timeout=60, check=False
    )


def write(tmp_path: Path, events: list) -> tuple[Path, Path]:
    program_path = tmp_path / "ftmo-100k.json"
    program_path.write_text(json.dumps(PROGRAM))
    events_path = tmp_path / "events.jsonl"
    events_path.write_text(
        "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events)
    )
    return program_path, events_path


def test_replay_file_and_stdin_are_deterministic_and_agree(tmp_path):
    program_path, events_path = write(tmp_path, EVENTS)

    first = proptrade("replay", "--program", str(program_path), str(events_path))
    assert first.returncode == 0, first.stderr.decode()
    assert first.stderr == b""
    second = proptrade("replay", "--program", str(program_path), str(events_path))
    assert second.stdout == first.stdout
    piped = proptrade("replay", "--program", str(program_path), "-", stdin=events_path.read_bytes())
    assert piped.returncode == 0, piped.stderr.decode()
    assert piped.stdout == first.stdout

    lines = [json.loads(line) for line in first.stdout.decode().splitlines()]
    answers = [
        {
            key: line.get(key)
            for key in ("type", "account", "rule", "objective", "ts", "equity", "floor")
        }
        for line in lines
        if line["type"] in ("breach", "objective", "passed")
    ]
    assert answers == [
        {
            "type": "breach",
            "account": "A1",
            "rule": "daily_loss",
            "objective": None,
            "ts": "2026-03-02T09:30:00.250Z",
            "equity": 95000.0,
            "floor": 95000.0,
        },
        {
            "type": "objective",
            "account": "B2",
            "rule": None,
            "objective": "profit_target",
            "ts": "2026-03-02T10:00:00Z",
            "equity": None,
            "floor": None,
        },
        {
            "type": "passed",
            "account": "B2",
            "rule": None,
            "objective": None,
            "ts": "2026-03-02T10:00:00Z",
            "equity": None,
            "floor": None,
        },
    ]
    states = [line for line in lines if line["type"] == "state"]
    assert [(s["account"], s["status"], s["balance"]) for s in states] == [
        ("A1", "failed", 100000.0),
        ("B2", "passed", 110000.0),
    ]
    assert lines[-2:] == states  # state lines come last, ordered by account id


def test_replay_bad_line_exits_1_and_goes_on(tmp_path):
    program_path, events_path = write(tmp_path, [*EVENTS[:3], "{broken", *EVENTS[3:]])
    bad_line = proptrade("replay", "--program", str(program_path), str(events_path))
    assert bad_line.returncode == 1
    assert bad_line.stderr.decode().startswith("line 4: ")
    # the broken line is skipped and everything else answered as without it
    clean_path = tmp_path / "clean.jsonl"
    clean_path.write_text("".join(json.dumps(event) + "\n" for event in EVENTS))
    clean = proptrade("replay", "--program", str(program_path), str(clean_path))
    assert clean.returncode == 0
    assert bad_line.stdout == clean.stdout
    assert [json.loads(line)["type"] for line in bad_line.stdout.decode().splitlines()][-2:] == [
        "state",
        "state",
    ]


def test_replay_invalid_program_exits_2_naming_file_and_field(tmp_path):
    _, events_path = write(tmp_path, EVENTS)
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({**PROGRAM, "rules": {"max_loss": {"limit": 0.1, "mode": "trailing"}}})
    )
    invalid = proptrade("replay", "--program", str(broken), str(events_path))
    assert invalid.returncode == 2
    assert invalid.stdout == b""
    # INTERFACE.md: `prog.json: rules.max_loss.mode: 'trailing' is not one of ...`
    assert invalid.stderr.decode().startswith(f"{broken}: rules.max_loss.mode: 'trailing' "), (
        invalid.stderr.decode()
    )
