"""Replay-level test helpers: build a feed, write program documents, run the engine.

Tests talk to the engine only through the stable interface of CONTRACTS.md §3:
``streams.replay.run(program_paths, events, out, err)`` fed with JSON Lines, answering
JSON Lines. Helpers are handed out as fixtures (``feed``, ``replay``) so test modules
import nothing from this file.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import pytest

# Instruments used across the suite. XAUUSD: 1 lot moves $100 per $1 of price, so a
# price move of 0.0001 on one lot is exactly one cent.
EURUSD = {"type": "symbol", "symbol": "EURUSD", "contract_size": 100000, "profit_currency": "USD"}
XAUUSD = {"type": "symbol", "symbol": "XAUUSD", "contract_size": 100, "profit_currency": "USD"}


def lines_of(lines: Iterable[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    """The output lines whose ``type`` is one of ``types``, in output order."""
    return [line for line in lines if line.get("type") in types]


def subset(line: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """Only ``keys`` of an output line (the contract lets lines grow new fields)."""
    return {key: line.get(key) for key in keys}


class ReplayResult(NamedTuple):
    """What one replay answered: parsed stdout lines, stderr lines, exit code."""

    lines: list[dict[str, Any]]
    stderr: list[str]
    code: int

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return lines_of(self.lines, *types)

    def breaches(self, rule: str | None = None, account: str | None = None) -> list[dict[str, Any]]:
        return [
            line
            for line in self.of_type("breach")
            if (rule is None or line.get("rule") == rule)
            and (account is None or line.get("account") == account)
        ]

    def state(self, account: str = "A1") -> dict[str, Any]:
        states = [line for line in self.of_type("state") if line.get("account") == account]
        assert len(states) == 1, f"expected one state line for {account}, got {states!r}"
        return states[0]

    def brief(self, line_type: str, *keys: str) -> list[dict[str, Any]]:
        """Lines of one type cut down to ``keys`` (lines may carry extra fields)."""
        return [subset(line, keys) for line in self.of_type(line_type)]

    def event_lines(self) -> list[dict[str, Any]]:
        """Every line except the final state lines."""
        return [line for line in self.lines if line.get("type") != "state"]


class Feed:
    """Builds a feed (JSON Lines) event by event. Deal ids are numbered automatically."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any] | str] = []
        self._deal_ids = itertools.count(1)

    def add(self, event: dict[str, Any] | str) -> Feed:
        self.events.append(event)
        return self

    def raw(self, text: str) -> Feed:
        """A line written as is (for malformed input)."""
        return self.add(text)

    def symbol(self, spec: dict[str, Any] = XAUUSD) -> Feed:
        return self.add(dict(spec))

    def account(self, ts: str, program: str, account: str = "A1", **extra: Any) -> Feed:
        return self.add(
            {"type": "account", "ts": ts, "account": account, "program": program, **extra}
        )

    def deal(
        self,
        ts: str,
        position: int,
        side: str,
        entry: str,
        volume: float,
        price: float,
        symbol: str = "XAUUSD",
        account: str = "A1",
        **extra: Any,
    ) -> Feed:
        return self.add(
            {
                "type": "deal",
                "ts": ts,
                "account": account,
                "deal": next(self._deal_ids),
                "position": position,
                "symbol": symbol,
                "side": side,
                "entry": entry,
                "volume": volume,
                "price": price,
                **extra,
            }
        )

    def buy(self, ts: str, position: int, volume: float, price: float, **extra: Any) -> Feed:
        """Open (or add to) a long position."""
        return self.deal(ts, position, "buy", "in", volume, price, **extra)

    def sell(self, ts: str, position: int, volume: float, price: float, **extra: Any) -> Feed:
        """Open (or add to) a short position."""
        return self.deal(ts, position, "sell", "in", volume, price, **extra)

    def close_long(self, ts: str, position: int, volume: float, price: float, **extra: Any) -> Feed:
        return self.deal(ts, position, "sell", "out", volume, price, **extra)

    def close_short(
        self, ts: str, position: int, volume: float, price: float, **extra: Any
    ) -> Feed:
        return self.deal(ts, position, "buy", "out", volume, price, **extra)

    def round_trip(
        self, ts_in: str, ts_out: str, position: int, profit: float, **extra: Any
    ) -> Feed:
        """Open and close one lot of XAUUSD long with a broker-given realised profit."""
        close_price = 2000 + profit / 100
        self.buy(ts_in, position, 1, 2000.0, **extra)
        return self.close_long(ts_out, position, 1, close_price, profit=profit, **extra)

    def quote(self, ts: str, bid: float, ask: float | None = None, symbol: str = "XAUUSD") -> Feed:
        if ask is None:
            ask = round(bid + 0.3, 4)
        return self.add({"type": "quote", "ts": ts, "symbol": symbol, "bid": bid, "ask": ask})

    def clock(self, ts: str) -> Feed:
        return self.add({"type": "clock", "ts": ts})

    def mark(self) -> int:
        """The number of events so far; ``feed.upto(mark)`` replays just that prefix."""
        return len(self.events)

    def upto(self, mark: int) -> list[dict[str, Any] | str]:
        return list(self.events[:mark])


def encode_events(events: Feed | Sequence[dict[str, Any] | str]) -> bytes:
    items = events.events if isinstance(events, Feed) else events
    lines = [item if isinstance(item, str) else json.dumps(item) for item in items]
    return "".join(line + "\n" for line in lines).encode()


def write_programs(
    directory: Path, programs: Sequence[dict[str, Any] | tuple[str, Any]]
) -> list[str]:
    """Write each program document as a file; a ``(file name, content)`` pair writes
    that name with that content (a dict as JSON, a str as is)."""
    paths = []
    for item in programs:
        if isinstance(item, tuple):
            name, content = item
        else:
            name, content = f"{item['id']}.json", item
        path = directory / name
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
        paths.append(str(path))
    return paths


def run_replay(program_paths: list[str], events_bytes: bytes) -> ReplayResult:
    from streams.replay import run

    out, err = io.StringIO(), io.StringIO()
    code = run(program_paths, io.BytesIO(events_bytes), out, err)
    text = out.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    stderr = [line for line in err.getvalue().splitlines() if line.strip()]
    return ReplayResult(lines, stderr, code)


ReplayFn = Callable[..., ReplayResult]


@pytest.fixture
def feed() -> Feed:
    return Feed()


@pytest.fixture
def replay(tmp_path: Path) -> ReplayFn:
    """``replay(programs, events)`` → ReplayResult.

    ``programs``: one program dict, or a list of dicts / ``(file name, content)`` pairs.
    ``events``: a Feed or a list of event dicts / raw lines.
    """
    counter = itertools.count()

    def _replay(
        programs: dict[str, Any] | Sequence[dict[str, Any] | tuple[str, Any]],
        events: Feed | Sequence[dict[str, Any] | str],
    ) -> ReplayResult:
        directory = tmp_path / f"programs{next(counter)}"
        directory.mkdir()
        docs = [programs] if isinstance(programs, dict) else list(programs)
        return run_replay(write_programs(directory, docs), encode_events(events))

    return _replay
