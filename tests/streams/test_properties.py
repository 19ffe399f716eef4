"""Property-based tests of the engine core: invariants over random feeds (hypothesis)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import msgspec
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streams import accounts as acc
from streams.engine import Engine, FeedError
from streams.events import Account, Clock, Deal, Event, Quote, Symbol
from streams.outputs import Breach, encode_line
from streams.program import parse_program
from streams.replay import run
from streams.snapshot import restore, snapshot

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
SYMBOLS = [
    Symbol(symbol="EURUSD", contract_size=100000.0, profit_currency="USD"),
    Symbol(symbol="USDJPY", contract_size=100000.0, profit_currency="JPY"),
    Symbol(symbol="XAUUSD", contract_size=100.0, profit_currency="USD"),
]
MIDS = [1.08, 151.0, 2300.0]
PROGRAMS = {
    "static": {"id": "static", "initial_balance": 100000,
               "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
               "rules": {"daily_loss": {"limit": 0.05}, "max_loss": {"limit": 0.10},
                         "profit_target": {"target": 0.10},
                         "min_trading_days": {"days": 2}}},
    "trail-eq": {"id": "trail-eq", "initial_balance": 100000,
                 "day": {"timezone": "America/New_York", "starts_at": "17:00"},
                 "rules": {"daily_loss": {"limit": 0.04, "reference": "day_start_max"},
                           "max_loss": {"limit": 0.06, "mode": "trailing_equity",
                                        "lock_at": 0.01}}},
    "trail-bal": {"id": "trail-bal", "initial_balance": 100000,
                  "rules": {"daily_loss": {"amount": 3000, "reference": "intraday_peak_equity",
                                           "action": "pause"},
                            "max_loss": {"limit": 0.08, "mode": "trailing_balance",
                                         "of": "high_water_mark"},
                            "consistency": {"max_best_day_share": 0.4},
                            "profit_target": {"target": 0.05}}},
    "trail-eod": {"id": "trail-eod", "initial_balance": 50000,
                  "day": {"timezone": "UTC", "starts_at": "00:30"},
                  "rules": {"daily_loss": {"limit": 0.03, "reference": "day_start_equity",
                                           "of": "reference"},
                            "max_loss": {"amount": 2000, "mode": "trailing_eod_balance",
                                         "lock_at": 0},
                            "max_exposure": {"lots": 6, "action": "warn"}}},
}
TRAILING = {"trail-eq", "trail-bal", "trail-eod"}

step = st.one_of(
    st.tuples(st.just("quote"), st.integers(0, 2), st.floats(-0.015, 0.015)),
    st.tuples(st.just("open"), st.integers(0, 2), st.sampled_from(["buy", "sell"]),
              st.sampled_from([0.1, 0.5, 1.0, 2.0, 5.0, 10.0])),
    st.tuples(st.just("close"), st.integers(0, 50), st.floats(0.2, 1.0)),
    st.tuples(st.just("clock"), st.integers(1, 30)),
)
feeds = st.tuples(
    st.sampled_from(sorted(PROGRAMS)),
    st.sampled_from(sorted(PROGRAMS)),
    st.lists(st.tuples(st.sampled_from(["A", "B"]), step), min_size=1, max_size=60),
)


def build(program_a: str, program_b: str, steps: list) -> list[Event]:
    """Turn drawn steps into a valid feed for accounts A and B (closes only what is open)."""
    ts = START
    mids = list(MIDS)
    events: list[Event] = [*SYMBOLS]
    events += [Quote(ts=ts, symbol=s.symbol, bid=m, ask=m * 1.00002) for s, m in
               zip(SYMBOLS, mids, strict=True)]
    events.append(Account(ts=ts, account="A", program=program_a))
    events.append(Account(ts=ts, account="B", program=program_b))
    open_positions: dict[str, list[tuple[int, int, str, float]]] = {"A": [], "B": []}
    for counter, (account, (kind, *args)) in enumerate(steps, start=1):
        ts += timedelta(minutes=7)
        if kind == "quote":
            sid, move = args
            mids[sid] *= 1 + move
            events.append(Quote(ts=ts, symbol=SYMBOLS[sid].symbol, bid=mids[sid],
                                ask=mids[sid] * 1.00002))
        elif kind == "open":
            sid, side, volume = args
            open_positions[account].append((counter, sid, side, volume))
            events.append(Deal(ts=ts, account=account, deal=counter, position=counter,
                               symbol=SYMBOLS[sid].symbol, side=side, entry="in",
                               volume=volume, price=mids[sid]))
        elif kind == "close" and open_positions[account]:
            which, share = args
            positions = open_positions[account]
            position, sid, side, volume = positions[which % len(positions)]
            closed = volume if share > 0.9 else round(volume * share, 2) or volume
            if closed >= volume:
                positions.remove((position, sid, side, volume))
            else:
                positions[positions.index((position, sid, side, volume))] = (
                    position, sid, side, round(volume - closed, 2))
            events.append(Deal(ts=ts, account=account, deal=counter, position=position,
                               symbol=SYMBOLS[sid].symbol,
                               side="sell" if side == "buy" else "buy", entry="out",
                               volume=closed, price=mids[sid]))
        elif kind == "clock":
            ts += timedelta(hours=args[0])
            events.append(Clock(ts=ts))
    return events


def engine() -> Engine:
    return Engine(parse_program(doc) for doc in PROGRAMS.values())


def apply(e: Engine, event: Event) -> list:
    try:
        return e.apply(event)
    except FeedError:
        return []  # e.g. a close on an account already failed: ignored by construction


PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(feeds)
def test_floors_move_only_as_their_mode_allows(feed):
    program_a, program_b, steps = feed
    e = engine()
    before: dict[str, float | None] = {}
    for event in build(program_a, program_b, steps):
        apply(e, event)
        for account, program in (("A", program_a), ("B", program_b)):
            if account not in e.rows:
                continue
            floor = e.state(account).max_loss_floor
            if account in before:
                if program in TRAILING:
                    assert floor >= before[account], "a trailing floor fell"
                else:
                    assert floor == before[account], "a static floor moved"
            before[account] = floor


@PROPERTY
@given(feeds)
def test_breach_if_and_only_if_equity_at_or_below_a_floor(feed):
    program_a, program_b, steps = feed
    e = engine()
    for event in build(program_a, program_b, steps):
        statuses = {a: e.state(a).status for a in e.rows}
        outputs = apply(e, event)
        for account, status in statuses.items():
            if status != "active":
                continue
            state = e.state(account)
            floors = [b for b in outputs if isinstance(b, Breach) and b.account == account
                      and b.rule in ("daily_loss", "max_loss")]
            for breach in floors:
                assert breach.equity <= breach.floor
            if state.status == "active":
                # Still active after the event: no floor is touched.
                assert not floors
                for floor in (state.daily_floor, state.max_loss_floor):
                    assert floor is None or state.equity > floor
            elif floors:
                assert state.status in ("failed", "paused")


@PROPERTY
@given(feeds)
def test_replay_is_deterministic(feed):
    events = build(*feed[:2], feed[2])
    data = b"\n".join(msgspec.json.encode(e) for e in events) + b"\n"
    outputs = []
    for _ in range(2):
        out, err = io.StringIO(), io.StringIO()
        run(_program_files(), io.BytesIO(data), out, err)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]
    assert outputs[0].count('"type":"state"') == 2


@PROPERTY
@given(feeds)
def test_accounts_are_independent(feed):
    program_a, program_b, steps = feed
    events = build(program_a, program_b, steps)
    without_b = [e for e in events if getattr(e, "account", "A") != "B"]
    together, alone = engine(), engine()
    mixed = [encode_line(o) for ev in events for o in apply(together, ev)
             if o.account == "A"]
    solo = [encode_line(o) for ev in without_b for o in apply(alone, ev)]
    assert mixed == solo
    assert together.state("A") == alone.state("A")


#: Found by this property: an account that fails after a restore drops its positions in
#: the order the engine holds them, which a snapshot now carries (it used to restore them
#: in block order: EURUSD's position 23 came after USDJPY's 24).
_FAILS_AFTER_RESTORE = ("static", "static", [("A", ("quote", 0, 0.0))] * 20 + [
    ("A", ("open", 1, "buy", 10.0)), ("A", ("clock", 1)), ("A", ("open", 0, "buy", 0.1)),
    ("A", ("open", 1, "buy", 0.1)), ("A", ("quote", 1, -0.0078125))])


@PROPERTY
@given(feeds, st.integers(0, 200))
@example(_FAILS_AFTER_RESTORE, 32)
def test_snapshot_restore_continue_equals_uninterrupted(feed, cut):
    events = build(*feed[:2], feed[2])
    cut = min(cut, len(events))
    straight = engine()
    expected = [encode_line(o) for ev in events for o in apply(straight, ev)]
    first = engine()
    got = [encode_line(o) for ev in events[:cut] for o in apply(first, ev)]
    resumed = restore(snapshot(first))
    got += [encode_line(o) for ev in events[cut:] for o in apply(resumed, ev)]
    assert got == expected
    assert resumed.states() == straight.states()
    assert snapshot(resumed) == snapshot(straight)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(-1, 4), st.integers(-1, 3),
    st.lists(st.integers(5_000_000, 20_000_000), min_size=5, max_size=5),
    st.sampled_from([0.0, 0.03, 0.05, 0.0625]), st.integers(0, 500_000),
    st.sampled_from([acc.INF, 10_000_000.0, 10_100_000.0]),
)
def test_vector_and_scalar_floors_agree(ref, mode, values, frac, fixed, cap):
    """The vector floor formulas (rollovers, quotes) equal the scalar ones (deals)."""
    t = acc.AccountTable(4)
    row = t.append()
    dsb, dse, peak, initial, hwm = (float(v) for v in values)
    for name, value in (("dl_ref", ref), ("day_start_balance", dsb), ("day_start_equity", dse),
                        ("day_peak", peak), ("initial", initial), ("dl_fixed", float(fixed)),
                        ("dl_frac", frac), ("ml_mode", mode), ("hwm", hwm),
                        ("ml_fixed", float(fixed)), ("ml_frac", frac), ("ml_cap", cap),
                        ("ml_floor", -acc.INF)):
        t.columns[name][row] = value
    acc.floors_of(t, np.array([row]))
    assert t.daily_floor[row] == acc.daily_floor_one(ref, dsb, dse, peak, initial,
                                                      float(fixed), frac)
    assert t.ml_floor[row] == acc.max_loss_floor_one(mode, hwm, float(fixed), frac, cap,
                                                      -acc.INF)


_FILES: list[str] = []


def _program_files() -> list[str]:
    if not _FILES:
        import tempfile
        from pathlib import Path

        folder = Path(tempfile.mkdtemp(prefix="proptrade-programs-"))
        for name, doc in PROGRAMS.items():
            path = folder / f"{name}.json"
            path.write_bytes(msgspec.json.encode(doc))
            _FILES.append(str(path))
    return _FILES


def _oracle_equity(e: Engine, account: str, prices: dict[str, tuple[float, float]]) -> int:
    """Equity in cents by the contract's own formula, from the engine's positions."""
    row = e.rows[account]
    total = int(e.table.balance[row])
    for position in e.positions[row].values():
        spec = e.symbols[position.sid]
        total += position.swap
        if spec.symbol not in prices:
            continue
        bid, ask = prices[spec.symbol]
        if position.is_buy:
            profit = (bid - position.open_price) * position.volume * spec.contract_size
        else:
            profit = (position.open_price - ask) * position.volume * spec.contract_size
        if spec.profit_currency == "JPY":  # USD accounts: JPY → USD through USDJPY, inverted
            usdjpy = prices["USDJPY"]
            profit /= (usdjpy[0] + usdjpy[1]) / 2
        total += int(np.floor(profit * 100 + 0.5 + 1e-6))
    return total


@PROPERTY
@given(feeds)
def test_equity_is_balance_plus_rounded_floating_profit(feed):
    """After every event, each live account's equity is what the contract's formula gives:
    the vector marking (quotes) and the scalar marking (deals) agree with it to the cent."""
    e = engine()
    prices: dict[str, tuple[float, float]] = {}
    for event in build(*feed[:2], feed[2]):
        apply(e, event)
        if isinstance(event, Quote):
            prices[event.symbol] = (event.bid, event.ask)
        for account in e.rows:
            row = e.rows[account]
            if e.table.status[row] <= acc.PAUSED:
                assert int(e.table.equity[row]) == _oracle_equity(e, account, prices)


def _hedge(program: str, first: str) -> tuple[Engine, list]:
    e = engine()
    ts = START
    events: list[Event] = [SYMBOLS[0], Quote(ts=ts, symbol="EURUSD", bid=1.1, ask=1.1),
                           Account(ts=ts, account="H", program=program)]
    sides = ("buy", "sell") if first == "buy" else ("sell", "buy")
    for position, side in enumerate(sides, start=1):
        events.append(Deal(ts=ts, account="H", deal=position, position=position,
                           symbol="EURUSD", side=side, entry="in", volume=100.0, price=1.1))
    events.append(Quote(ts=ts + timedelta(minutes=1), symbol="EURUSD", bid=1.04, ask=1.04))
    return e, [o for event in events for o in e.apply(event)]


def test_a_hedge_never_peaks_between_its_legs():
    """Short leg marked first: +600,000 before the long leg's −600,000. The account's equity
    never was 700,000, so its trailing high-water mark must not move."""
    e, outputs = _hedge("trail-eq", "sell")
    assert outputs == []
    state = e.state("H")
    assert (state.status, state.equity, state.max_loss_floor) == ("active", 100000.0, 94000.0)


def test_a_hedge_judged_on_its_equity_after_the_quote_not_between_its_legs():
    """Long and short 100 lots of one symbol: a 600-pip move takes one leg to −600,000
    before the other brings it back; the account ends the event flat, so no breach."""
    e, outputs = _hedge("static", "buy")
    assert outputs == []
    state = e.state("H")
    assert (state.status, state.equity, state.open_positions) == ("active", 100000.0, 2)
    # Unhedged (the short closed at +600,000), the long leg alone at 1.03 loses 700,000.
    ts = START
    e.apply(Deal(ts=ts + timedelta(minutes=2), account="H", deal=3, position=2,
                 symbol="EURUSD", side="buy", entry="out", volume=100.0, price=1.04))
    breaches = e.apply(Quote(ts=ts + timedelta(minutes=3), symbol="EURUSD", bid=1.03,
                             ask=1.03))
    assert [(b.rule, b.equity) for b in breaches] == [("daily_loss", 0.0), ("max_loss", 0.0)]


def test_many_positions_grow_and_move_blocks_without_losing_a_mark():
    """Blocks outgrow their segments (16 rows first) and move; equity stays exact."""
    e = engine()
    ts = START
    for event in [*SYMBOLS, *(Quote(ts=ts, symbol=s.symbol, bid=m, ask=m) for s, m in
                               zip(SYMBOLS, MIDS, strict=True))]:
        e.apply(event)
    for i in range(40):
        e.apply(Account(ts=ts, account=f"A{i:02d}", program="static"))
    prices = {s.symbol: (m, m) for s, m in zip(SYMBOLS, MIDS, strict=True)}
    for k in range(600):
        sid = k % 3
        e.apply(Deal(ts=ts, account=f"A{k % 40:02d}", deal=k, position=k,
                     symbol=SYMBOLS[sid].symbol, side="buy" if k % 2 else "sell",
                     entry="in", volume=0.01, price=MIDS[sid]))
        if k % 7 == 0 and k:
            closed = k - 7
            e.apply(Deal(ts=ts, account=f"A{closed % 40:02d}", deal=10_000 + k,
                         position=closed, symbol=SYMBOLS[closed % 3].symbol,
                         side="buy" if closed % 2 == 0 else "sell", entry="out",
                         volume=0.01, price=MIDS[closed % 3], profit=0.0))
    for sid, move in ((0, 1.001), (1, 0.999), (2, 1.002)):
        price = MIDS[sid] * move
        prices[SYMBOLS[sid].symbol] = (price, price)
        e.apply(Quote(ts=ts, symbol=SYMBOLS[sid].symbol, bid=price, ask=price))
    assert sum(block.n for block in e.blocks.values()) == 600 - 85
    for account in e.rows:
        assert int(e.table.equity[e.rows[account]]) == _oracle_equity(e, account, prices)


@PROPERTY
@given(feeds)
def test_apply_many_answers_as_apply_one_by_one(feed):
    """Runs of quotes in one compiled call give, event by event, what apply gives."""
    events = build(*feed[:2], feed[2])
    one, many = engine(), engine()
    expected = []
    for index, event in enumerate(events):
        try:
            outputs = one.apply(event)
        except FeedError as error:
            expected.append((index, str(error)))
            continue
        if outputs:
            expected.append((index, [encode_line(o) for o in outputs]))
    got = [(index, str(result) if isinstance(result, FeedError)
            else [encode_line(o) for o in result]) for index, result in many.apply_many(events)]
    assert got == expected
    assert many.states() == one.states()
    assert snapshot(many) == snapshot(one)


def test_apply_many_on_a_long_feed_with_rollovers_and_breaches():
    from tests.streams.streamkit import make_feed, programs

    events = make_feed(seed=4, accounts=40, steps=6000)
    one, many = Engine(programs()), Engine(programs())
    expected = []
    for index, event in enumerate(events):
        try:
            outputs = one.apply(event)
        except FeedError:
            continue
        if outputs:
            expected.append((index, outputs))
    got = [(i, r) for i, r in many.apply_many(events) if not isinstance(r, FeedError)]
    assert len(expected) > 20
    assert got == expected
    assert many.states() == one.states()


disorder = st.lists(st.tuples(st.sampled_from(["redeliver", "stale", "huge"]),
                              st.integers(0, 10**6), st.integers(0, 10**6)),
                    min_size=1, max_size=8)


def _disordered(events: list[Event], draws: list[tuple[str, int, int]]) -> list[Event]:
    """``events`` with redelivered deals, quotes from the past and quotes at prices that
    would value a position beyond the exact range, inserted at drawn places."""
    events = list(events)
    for kind, where, which in draws:
        at = 1 + where % len(events)
        before = [e for e in events[:at] if isinstance(e, Deal if kind == "redeliver"
                                                     else Quote)]
        if not before:
            continue
        copied = before[which % len(before)]
        if kind == "huge":  # now, at a price 1e8 times higher
            assert isinstance(copied, Quote)
            latest = max(e.ts for e in events[:at] if isinstance(e, Quote | Deal))
            copied = msgspec.structs.replace(copied, ts=latest, bid=copied.bid * 1e8,
                                             ask=copied.ask * 1e8)
        events.insert(at, copied)
    return events


@PROPERTY
@given(feeds, disorder, st.integers(0, 200))
def test_refusals_are_the_same_in_runs_alone_and_after_a_restore(feed, draws, cut):
    """Redeliveries, stale quotes and quotes beyond the exact range: refused alike by
    ``apply`` one by one and by the compiled runs of ``apply_many``, and by an engine
    restored from a snapshot taken anywhere; everything else answered alike."""
    events = _disordered(build(*feed[:2], feed[2]), draws)
    one, many = engine(), engine()
    expected = []
    for index, event in enumerate(events):
        try:
            outputs = one.apply(event)
        except FeedError as error:
            expected.append((index, str(error)))
            continue
        if outputs:
            expected.append((index, [encode_line(o) for o in outputs]))
    got = [(index, str(result) if isinstance(result, FeedError)
            else [encode_line(o) for o in result]) for index, result in many.apply_many(events)]
    assert got == expected
    assert snapshot(many) == snapshot(one)
    cut = min(cut, len(events))
    first = engine()
    first.apply_many(events[:cut])
    resumed = restore(snapshot(first))
    rest = [(index + cut, str(result) if isinstance(result, FeedError)
             else [encode_line(o) for o in result])
            for index, result in resumed.apply_many(events[cut:])]
    assert rest == [(index, answer) for index, answer in expected if index >= cut]
    assert snapshot(resumed) == snapshot(one)
