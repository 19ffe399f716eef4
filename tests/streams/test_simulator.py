"""The simulator: deterministic, valid per CONTRACTS.md, and a realistic outcome mix.

The big checks run one accelerated feed (300 accounts, 40,000 events, about 11 days of
event time at ``time_scale=40000``) through ``streams.replay.run``, the interface the
stream workers share; the feed and the answers are built once for the module.
"""

from __future__ import annotations

import collections
import io
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import msgspec
import pytest

from streams.cli import main as cli_main
from streams.events import Account, Clock, Deal, Event, Quote, Swap, Symbol
from streams.program import parse_program
from streams.replay import run as replay_run
from streams.simulator import PROGRAM_MIX, Simulator, paced

ACCOUNTS, EVENTS, TIME_SCALE, SEED = 300, 40_000, 40_000.0, 2


def take(sim: Simulator, count: int) -> list[Event]:
    return list(itertools.islice(sim.events(), count))


def jsonl(events: list[Event]) -> bytes:
    encode = msgspec.json.Encoder().encode
    return b"".join(encode(event) + b"\n" for event in events)


def write_programs(sim: Simulator, directory: Path) -> list[str]:
    paths = []
    for doc in sim.programs():
        path = directory / f"{doc['id']}.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    return paths


class Replayed(NamedTuple):
    sim: Simulator
    events: list[Event]
    code: int
    stderr: str
    lines: list[dict[str, Any]]

    def states(self) -> dict[str, dict[str, Any]]:
        return {line["account"]: line for line in self.lines if line["type"] == "state"}

    def behaviour(self) -> dict[str, str]:
        return {profile.account: profile.behaviour for profile in self.sim.profiles}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    sim = Simulator(SEED, ACCOUNTS, time_scale=TIME_SCALE)
    events = take(sim, EVENTS)
    paths = write_programs(sim, tmp_path_factory.mktemp("programs"))
    out, err = io.StringIO(), io.StringIO()
    code = replay_run(paths, io.BytesIO(jsonl(events)), out, err)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    return Replayed(sim, events, code, err.getvalue(), lines)


# ---------------------------------------------------------------------------- determinism


def test_same_seed_and_parameters_give_the_same_bytes() -> None:
    first = jsonl(take(Simulator(7, 200, time_scale=20_000), 20_000))
    again = jsonl(take(Simulator(7, 200, time_scale=20_000), 20_000))
    assert first == again
    sim = Simulator(7, 200, time_scale=20_000)
    assert jsonl(take(sim, 5_000)) == jsonl(take(sim, 5_000))  # events() starts afresh
    assert jsonl(take(Simulator(8, 200, time_scale=20_000), 20_000)) != first


def test_the_market_does_not_depend_on_the_population() -> None:
    def quotes(accounts: int) -> list[Quote]:
        events = take(Simulator(3, accounts, time_scale=20_000), 20_000)
        return [event for event in events if isinstance(event, Quote)][:2_000]

    assert quotes(0) == quotes(100)


# ---------------------------------------------------------------------------- the feed


def test_programs_are_valid_and_a_realistic_mix() -> None:
    docs = Simulator(1, 0).programs()
    programs = [parse_program(doc) for doc in docs]
    assert {p.id for p in programs} == set(PROGRAM_MIX)
    assert len({p.id for p in programs}) == len(programs)
    assert {p.currency for p in programs} == {"USD", "EUR"}
    modes = {p.max_loss.mode for p in programs if p.max_loss}
    assert {"static", "trailing_eod_balance", "trailing_equity", "trailing_balance"} <= modes
    assert any(p.daily_loss and p.daily_loss.action == "pause" for p in programs)
    assert any(p.consistency for p in programs)
    assert any(p.profit_target is None for p in programs)  # a funded account


def test_feed_order_symbols_then_accounts_then_quotes(replayed: Replayed) -> None:
    events = replayed.events
    symbols = [event for event in events if isinstance(event, Symbol)]
    assert len(symbols) == 50 and events[:50] == symbols
    opened_at_start = list(itertools.takewhile(lambda e: isinstance(e, Account), events[50:]))
    assert 0.2 * ACCOUNTS < len(opened_at_start) < 0.5 * ACCOUNTS
    after = events[50 + len(opened_at_start):]
    assert all(isinstance(event, Quote) for event in after[:50])  # one quote per symbol
    later = [event for event in after if isinstance(event, Account)]
    assert len(later) == ACCOUNTS - len(opened_at_start)  # the rest open over the first day
    assert later[-1].ts - later[0].ts > timedelta(hours=12)


def test_timestamps_are_utc_and_non_decreasing(replayed: Replayed) -> None:
    stamps = [event.ts for event in replayed.events if not isinstance(event, Symbol)]
    assert all(ts.utcoffset() == timedelta(0) for ts in stamps)
    assert all(a <= b for a, b in itertools.pairwise(stamps))
    assert stamps[-1] - stamps[0] > timedelta(days=9)


def test_quotes_are_plausible(replayed: Replayed) -> None:
    quotes = [event for event in replayed.events if isinstance(event, Quote)]
    assert all(quote.ask > quote.bid > 0 for quote in quotes)
    counts = collections.Counter(quote.symbol for quote in quotes)
    assert len(counts) == 50
    # Majors and gold tick far more often than the exotics.
    assert counts["EURUSD"] > 10 * counts["USDSEK"]
    assert counts["XAUUSD"] > 10 * counts["EURSEK"]
    first = {quote.symbol: quote.bid for quote in quotes[:50]}
    last = {quote.symbol: quote.bid for quote in reversed(quotes)}
    # Eleven days move EURUSD by a few percent at most, bitcoin by more.
    assert 0.9 < last["EURUSD"] / first["EURUSD"] < 1.1
    assert 0.5 < last["BTCUSD"] / first["BTCUSD"] < 2.0
    eurusd = [q for q in quotes if q.symbol == "EURUSD"]
    spreads = [q.ask - q.bid for q in eurusd]
    assert 0.00002 < sorted(spreads)[len(spreads) // 2] < 0.0003  # 0.2 to 3 pips


def test_only_crypto_quotes_over_the_weekend(replayed: Replayed) -> None:
    new_york = ZoneInfo("America/New_York")
    friday_close = datetime(2026, 3, 6, 17, 0, tzinfo=new_york)
    sunday_open = datetime(2026, 3, 8, 17, 0, tzinfo=new_york)
    weekend = {q.symbol for q in replayed.events
               if isinstance(q, Quote) and friday_close < q.ts < sunday_open}
    assert weekend and weekend <= {"BTCUSD", "ETHUSD", "LTCUSD"}
    clocks = [e.ts for e in replayed.events if isinstance(e, Clock)]
    # Hourly clocks; this weekend is 47 hours long (New York moves to DST on Sunday 8 March).
    hours = (sunday_open.astimezone(UTC) - friday_close.astimezone(UTC)) // timedelta(hours=1)
    assert hours == 47
    assert sum(friday_close < ts < sunday_open for ts in clocks) == hours - 1


def test_deals_follow_the_contract(replayed: Replayed) -> None:
    """``in`` opens or adds on the same side, ``out`` closes with the opposite side and
    never more than is open, and every fill is at the current quote."""
    bid: dict[str, float] = {}
    ask: dict[str, float] = {}
    accounts: set[str] = set()
    open_: dict[tuple[str, int | str], tuple[str, str, float]] = {}
    deals = outs = partials = adds = 0
    for event in replayed.events:
        if isinstance(event, Quote):
            bid[event.symbol], ask[event.symbol] = event.bid, event.ask
        elif isinstance(event, Account):
            accounts.add(event.account)
        elif isinstance(event, Swap):
            assert (event.account, event.position) in open_
        elif isinstance(event, Deal):
            deals += 1
            assert event.account in accounts
            key = (event.account, event.position)
            fill = ask if event.side == "buy" else bid
            assert event.price == fill[event.symbol]
            if event.entry == "in":
                if key in open_:
                    adds += 1
                    symbol, side, volume = open_[key]
                    assert (symbol, side) == (event.symbol, event.side)
                    open_[key] = (symbol, side, round(volume + event.volume, 2))
                else:
                    open_[key] = (event.symbol, event.side, event.volume)
            else:
                outs += 1
                assert event.profit is not None
                symbol, side, volume = open_[key]
                assert symbol == event.symbol and side != event.side
                assert event.volume <= volume + 1e-9
                left = round(volume - event.volume, 2)
                if left > 0:
                    partials += 1
                    open_[key] = (symbol, side, left)
                else:
                    del open_[key]
    assert deals > 8_000 and outs > 3_000 and partials > 10 and adds > 0


# ---------------------------------------------------------------------------- outcomes


def test_the_engine_accepts_every_event(replayed: Replayed) -> None:
    assert replayed.code == 0, replayed.stderr
    assert replayed.stderr == ""


def test_outcome_mix_is_realistic(replayed: Replayed) -> None:
    states, behaviour = replayed.states(), replayed.behaviour()
    assert len(states) == ACCOUNTS
    mix = collections.Counter((behaviour[a], s["status"]) for a, s in states.items())
    by_behaviour = collections.Counter(behaviour.values())
    # Martingale gamblers breach: nearly all of them within a couple of weeks.
    assert mix["gambler", "failed"] > 0.8 * by_behaviour["gambler"]
    # Careful traders: some pass, most are still trading.
    met = {line["account"] for line in replayed.lines if line["type"] == "objective"
           and line["objective"] == "profit_target" and behaviour[line["account"]] == "careful"}
    assert mix["careful", "passed"] >= 3 and len(met) >= 3
    assert mix["careful", "active"] > 0.6 * by_behaviour["careful"]
    # Swing traders rarely breach; scalpers bleed spread and commission.
    assert mix["swing", "active"] > 0.9 * by_behaviour["swing"]
    assert 0 < mix["scalper", "failed"] < by_behaviour["scalper"]
    statuses = collections.Counter(s["status"] for s in states.values())
    assert statuses["active"] + statuses["paused"] > 0.5 * ACCOUNTS


def test_days_roll_over(replayed: Replayed) -> None:
    states = replayed.states().values()
    assert sum(s["trading_days"] > 1 for s in states) > ACCOUNTS / 2
    assert max(s["trading_days"] for s in states) >= 7
    types = collections.Counter(line["type"] for line in replayed.lines)
    assert types["resumed"] > 0  # paused Topstep accounts come back the next day
    rules = {line["rule"] for line in replayed.lines if line["type"] == "breach"}
    assert {"daily_loss", "max_loss"} <= rules


def test_a_few_symbols_still_convert_for_every_account(tmp_path: Path) -> None:
    """With 5 symbols, EUR accounts trade only what the engine can convert to EUR."""
    sim = Simulator(5, 100, symbols=5, time_scale=20_000)
    events = take(sim, 8_000)
    out, err = io.StringIO(), io.StringIO()
    code = replay_run(write_programs(sim, tmp_path), io.BytesIO(jsonl(events)), out, err)
    assert code == 0, err.getvalue()
    assert sum(isinstance(event, Deal) for event in events) > 500


def test_bad_parameters_are_refused() -> None:
    bad: list[dict[str, Any]] = [
        {"accounts": -1}, {"symbols": 0}, {"rate": 0.0}, {"time_scale": -1.0},
        {"start": datetime(2026, 3, 2)},  # noqa: DTZ001 - naive on purpose
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            Simulator(**{"seed": 1, "accounts": 1, **kwargs})


# ---------------------------------------------------------------------------- pacing


def test_paced_yields_quotes_at_the_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    events = take(Simulator(1, 50), 2_000)
    quotes = sum(isinstance(event, Quote) for event in events)
    out = list(paced(events, 500.0, clock=lambda: now[0], sleep=sleep))
    assert out == events
    # Quote k is due k/500 s after the first; the generator itself took no time here.
    assert now[0] - 100.0 == pytest.approx((quotes - 1) / 500.0, abs=0.0021)
    assert all(seconds > 0.001 for seconds in slept)


# ---------------------------------------------------------------------------- command line


def test_cli_writes_json_lines_and_programs(tmp_path: Path,
                                            capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    code = cli_main(["simulate", "--seed", "4", "--accounts", "20", "--count", "300",
                     "--time-scale", "3600", "--programs-dir", str(tmp_path), "--jsonl"])
    assert code == 0
    lines = capsysbinary.readouterr().out.splitlines()
    assert len(lines) == 300
    decoder = msgspec.json.Decoder(Event)
    events = [decoder.decode(line) for line in lines]
    assert jsonl(events) == jsonl(take(Simulator(4, 20, time_scale=3600), 300))
    written = sorted(path.stem for path in tmp_path.glob("*.json"))
    assert written == sorted(PROGRAM_MIX)
    for path in tmp_path.glob("*.json"):
        parse_program(path.read_bytes())


def test_cli_without_jsonl_publishes_to_kafka_and_needs_its_address(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP", raising=False)
    assert cli_main(["simulate", "--count", "10"]) == 2
    assert "KAFKA_BOOTSTRAP is empty" in capsys.readouterr().err
    assert cli_main(["simulate", "--jsonl", "--rate", "0"]) == 2
    assert "rate" in capsys.readouterr().err


def test_default_start_is_utc() -> None:
    sim = Simulator(1, 0)
    first_quote = next(e for e in sim.events() if isinstance(e, Quote))
    assert first_quote.ts == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def test_the_demo_broker_trades_adopted_accounts_until_disabled(tmp_path: Path) -> None:
    from streams.commands import DisableAccount, OpenAccount
    from streams.events import ProgramDefinition
    from streams.simulator import demo_broker

    sim = Simulator(5, accounts=20, time_scale=20_000.0)
    stream = sim.events()
    before = list(itertools.islice(stream, 2_000))
    document = {"id": "platform-p1", "currency": "USD", "initial_balance": 50_000,
                "rules": {"max_loss": {"limit": 0.1}}}
    demo_broker(sim, OpenAccount("GW-1", document, balance=25_000.0))
    during = list(itertools.islice(stream, 30_000))
    mine = [e for e in during if getattr(e, "account", None) == "GW-1"]
    definitions = [e for e in during if isinstance(e, ProgramDefinition)]
    # The program stays as defined (other accounts open on it); the account opens at the
    # balance asked (an override's replacement opens at the failed account's last one).
    assert definitions[0].document["initial_balance"] == 50_000
    assert isinstance(mine[0], Account) and mine[0].program == "platform-p1"
    assert mine[0].balance == 25_000.0
    assert during.index(definitions[0]) < during.index(mine[0])
    assert any(isinstance(e, Deal) for e in mine), "the adopted account never traded"
    demo_broker(sim, DisableAccount("GW-1", "failed"))
    after = list(itertools.islice(stream, 30_000))
    assert not [e for e in after if getattr(e, "account", None) == "GW-1"]
    # The engine takes the whole feed (programs from the feed included) without a refusal.
    out, err = io.StringIO(), io.StringIO()
    code = replay_run(write_programs(sim, tmp_path), io.BytesIO(jsonl(before + during + after)),
                      out, err)
    assert code == 0, err.getvalue()[:500]


def test_requests_are_idempotent_and_a_pickled_run_continues_the_same() -> None:
    import pickle

    from streams.commands import DisableAccount, OpenAccount
    from streams.simulator import demo_broker

    document = {"id": "platform-p2", "currency": "USD", "initial_balance": 20_000,
                "rules": {"max_loss": {"limit": 0.1}}}
    sim = Simulator(6, accounts=10, time_scale=20_000.0)
    run = sim.run()
    taken: list[tuple[int, str, bool]] = []
    sim.on_command = lambda step, login, doc, _: taken.append((step, login, doc is None))
    events = run.advance()
    demo_broker(sim, OpenAccount("GW-7", document))
    demo_broker(sim, OpenAccount("A000001", document))  # one of the simulator's own
    for _ in range(200):
        events += run.advance()
    demo_broker(sim, OpenAccount("GW-7", document))  # asked again: nothing happens
    demo_broker(sim, DisableAccount("GW-7", "failed"))
    demo_broker(sim, DisableAccount("GW-7", "failed"))
    demo_broker(sim, DisableAccount("nobody", "failed"))
    events += run.advance()
    opened = [e.account for e in events if isinstance(e, Account)]
    assert opened.count("GW-7") == 1 and opened.count("A000001") <= 1
    assert [(login, disable) for _, login, disable in taken] == [("GW-7", False),
                                                                ("GW-7", True)]
    # Between two steps a run pickles whole and continues with the same events.
    copy = pickle.loads(pickle.dumps(run))
    assert [copy.advance() for _ in range(3_000)] == [run.advance() for _ in range(3_000)]
