"""Bad input that used to be accepted silently and change answers (issue 10, 5-7): time
going backwards, a deal delivered twice, numbers beyond what the cents arithmetic holds.
Each is refused as ``line N: reason`` with the rest of the feed kept, in replay and (the
same code) in the shards of the live workers, and survives snapshots.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from streams.engine import DEAL_MEMORY, Engine, FeedError
from streams.events import Deal, Quote, json_decoder, msgpack_decoder
from streams.program import ProgramError, parse_program
from streams.shard import Results, Shard
from streams.snapshot import VERSION, restore, snapshot
from streams.topics import Topics, route
from streams.wire import make_batch

PROGRAM = {
    "id": "ftmo-100k",
    "currency": "USD",
    "initial_balance": 100000,
    "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
    "rules": {
        "daily_loss": {"limit": 0.05, "reference": "day_start_balance"},
        "max_loss": {"limit": 0.10, "mode": "static"},
    },
}
EURUSD = {"type": "symbol", "symbol": "EURUSD", "contract_size": 100000, "profit_currency": "USD"}
DATA = Path(__file__).parent / "data"


def refusals(result) -> dict[int, str]:
    """stderr as {line number: reason}."""
    found = {}
    for line in result.stderr:
        match = re.match(r"line (\d+): (.+)$", line)
        assert match, line
        found[int(match.group(1))] = match.group(2)
    return found


def numbered(feed) -> int:
    """The number (1-based) of the line just added."""
    return len(feed.events)


# ---------------------------------------------------------- 5. time going backwards


class TestTimeGoingBackwards:
    def test_a_quote_a_day_back_is_refused_and_fails_nobody(self, feed, replay):
        """The differential run's case: a quote one day back failed two accounts, with
        breach times before one of them opened."""
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.quote("2026-03-03T08:00:00Z", 2000.0)
        feed.account("2026-03-03T09:00:00Z", "ftmo-100k", account="B2")
        feed.buy("2026-03-03T09:10:00Z", 1, 1, 2000.3)
        feed.buy("2026-03-03T09:10:00Z", 1, 1, 2000.3, account="B2")
        feed.quote("2026-03-02T09:30:00Z", 1900.0)  # a day back: E would be 89,970
        back = numbered(feed)
        feed.quote("2026-03-03T10:00:00Z", 2001.0)
        result = replay(PROGRAM, feed)
        assert result.code == 1
        assert list(refusals(result)) == [back]
        reason = refusals(result)[back]
        assert "XAUUSD" in reason and "2026-03-03T08:00:00Z" in reason, reason
        assert "back in time" in reason
        assert result.breaches() == []
        for account in ("A1", "B2"):
            state = result.state(account)
            assert (state["status"], state["equity"]) == ("active", 100070.0)

    def test_quotes_are_ordered_per_symbol_and_equal_times_pass(self, feed, replay):
        feed.symbol().symbol(EURUSD).account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.buy("2026-03-02T08:30:00Z", 1, 1, 1.0850, symbol="EURUSD")
        feed.quote("2026-03-02T10:00:00Z", 2000.0)
        feed.quote("2026-03-02T09:59:00Z", 1.0900, 1.0901, symbol="EURUSD")  # other symbol
        feed.quote("2026-03-02T09:59:00Z", 1.0950, 1.0951, symbol="EURUSD")  # same instant
        result = replay(PROGRAM, feed)
        assert (result.code, result.stderr) == (0, [])
        assert result.state()["equity"] == 101000.0

    def test_a_run_of_quotes_refuses_the_one_going_back_and_applies_the_others(
            self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.buy("2026-03-02T08:30:00Z", 1, 1, 2000.0)
        for minute, bid in ((1, 2001.0), (2, 2002.0), (3, 2003.0)):
            feed.quote(f"2026-03-02T09:0{minute}:00Z", bid)
        feed.quote("2026-03-02T09:02:30Z", 1900.0)  # back 30 s within the run
        back = numbered(feed)
        feed.quote("2026-03-02T09:04:00Z", 2004.0)
        result = replay(PROGRAM, feed)
        assert list(refusals(result)) == [back]
        assert result.breaches() == []
        assert result.state()["equity"] == 100400.0

    @pytest.mark.parametrize("kind", ["deal", "balance", "swap", "equity"])
    def test_an_account_s_event_going_back_is_refused(self, feed, replay, kind):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.account("2026-03-02T08:00:00Z", "ftmo-100k", account="B2")
        feed.buy("2026-03-02T10:00:00Z", 1, 1, 2000.0)
        feed.buy("2026-03-02T09:00:00Z", 2, 1, 2000.0, account="B2")  # per account: fine
        ts = "2026-03-02T09:30:00Z"  # before A1's last event
        bad = {
            "deal": {"type": "deal", "ts": ts, "account": "A1", "deal": 77, "position": 3,
                     "symbol": "XAUUSD", "side": "buy", "entry": "in", "volume": 1,
                     "price": 2000.0},
            "balance": {"type": "balance", "ts": ts, "account": "A1", "amount": 5000.0,
                        "kind": "deposit"},
            "swap": {"type": "swap", "ts": ts, "account": "A1", "position": 1,
                     "amount": -4000.0},
            "equity": {"type": "equity", "ts": ts, "account": "A1", "equity": 80000.0},
        }[kind]
        feed.add(bad)
        back = numbered(feed)
        feed.quote("2026-03-02T10:30:00Z", 2001.0)
        result = replay(PROGRAM, feed)
        assert result.code == 1
        assert list(refusals(result)) == [back]
        reason = refusals(result)[back]
        assert "'A1'" in reason and "2026-03-02T10:00:00Z" in reason and "back in time" in reason
        assert result.breaches() == []
        state = result.state("A1")
        assert (state["balance"], state["equity"], state["open_positions"]) == (
            100000.0, 100100.0, 1)

    def test_an_event_before_the_account_s_opening_is_refused(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.add({"type": "balance", "ts": "2026-03-02T07:59:59Z", "account": "A1",
                  "amount": -9000.0, "kind": "withdrawal"})
        result = replay(PROGRAM, feed)
        assert list(refusals(result)) == [3]
        assert result.state()["balance"] == 100000.0

    def test_a_failed_account_s_event_going_back_is_reported_too(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T09:30:00Z", 1900.0)  # fails
        feed.buy("2026-03-02T08:30:00Z", 2, 1, 2000.0)
        result = replay(PROGRAM, feed)
        assert list(refusals(result)) == [5]
        assert result.state()["status"] == "failed"


# -------------------------------------------------------------- 6. a deal twice


class TestDealsCountOnce:
    def test_a_redelivered_deal_is_refused_and_the_position_not_doubled(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        line = {"type": "deal", "ts": "2026-03-02T09:00:00Z", "account": "A1", "deal": 5,
                "position": 1, "symbol": "XAUUSD", "side": "buy", "entry": "in",
                "volume": 1, "price": 2000.0}
        feed.add(line).add(dict(line))
        feed.quote("2026-03-02T09:30:00Z", 1960.0)  # −4,000 on one lot; −8,000 on two
        result = replay(PROGRAM, feed)
        assert result.code == 1
        assert list(refusals(result)) == [4]
        assert "deal 5 of account 'A1' was already applied" in refusals(result)[4]
        state = result.state()
        assert (state["status"], state["equity"], state["open_positions"]) == (
            "active", 96000.0, 1)

    def test_a_redelivery_after_later_events_is_named_a_duplicate(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)  # deal 1
        first = feed.events[-1]
        feed.buy("2026-03-02T09:10:00Z", 2, 1, 2000.0)
        feed.close_long("2026-03-02T09:20:00Z", 2, 1, 2010.0, profit=1000.0)
        feed.add(dict(first))
        result = replay(PROGRAM, feed)
        assert list(refusals(result)) == [6]
        assert "already applied" in refusals(result)[6]
        assert result.state()["open_positions"] == 1

    def test_ids_are_per_account_and_7_is_the_string_7(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.account("2026-03-02T08:00:00Z", "ftmo-100k", account="B2")
        feed.deal("2026-03-02T09:00:00Z", 1, "buy", "in", 1, 2000.0, deal=7)
        feed.deal("2026-03-02T09:00:00Z", 1, "buy", "in", 1, 2000.0, account="B2", deal=7)
        feed.deal("2026-03-02T09:01:00Z", 1, "buy", "in", 1, 2000.0, deal="7")
        result = replay(PROGRAM, feed)
        assert list(refusals(result)) == [6]
        assert result.state("B2")["open_positions"] == 1

    def test_a_refused_deal_does_not_take_its_id(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.deal("2026-03-02T09:00:00Z", 4, "sell", "out", 1, 2000.0, deal=9)  # not open
        feed.deal("2026-03-02T09:00:00Z", 4, "buy", "in", 1, 2000.0, deal=9)  # corrected
        result = replay(PROGRAM, feed)
        assert list(refusals(result)) == [3]
        assert result.state()["open_positions"] == 1

    def test_an_old_redelivery_is_never_applied_though_forgotten(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        for n in range(DEAL_MEMORY + 4):
            feed.round_trip(f"2026-03-02T09:{n:02d}:00Z", f"2026-03-02T09:{n:02d}:30Z",
                            n + 1, 10.0)
        first = feed.events[2]
        feed.add(dict(first))
        result = replay(PROGRAM, feed)
        line = len(feed.events)
        assert list(refusals(result)) == [line]
        assert "back in time" in refusals(result)[line]
        assert result.state()["open_positions"] == 0

    def test_every_deal_of_the_latest_instant_is_remembered(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        for n in range(DEAL_MEMORY * 2):
            feed.buy("2026-03-02T09:00:00Z", n + 1, 0.01, 2000.0)
        first = feed.events[2]
        feed.add(dict(first))
        result = replay(PROGRAM, feed)
        line = len(feed.events)
        assert list(refusals(result)) == [line]
        assert "already applied" in refusals(result)[line]
        assert result.state()["open_positions"] == DEAL_MEMORY * 2


def _engine_with_deals(count: int) -> Engine:
    engine = Engine([parse_program(PROGRAM)])
    for line in (json.dumps({**XAU, "type": "symbol"}),
                 '{"type": "account", "ts": "2026-03-02T08:00:00Z", "account": "A1", '
                 '"program": "ftmo-100k"}'):
        engine.apply(json_decoder.decode(line))
    for n in range(count):
        engine.apply(Deal(ts=_ts(n), account="A1", deal=n, position=n, symbol="XAUUSD",
                          side="buy", entry="in", volume=0.01, price=2000.0))
    return engine


XAU = {"symbol": "XAUUSD", "contract_size": 100, "profit_currency": "USD"}


def _ts(n: int):  # one deal a second from 09:00
    from datetime import UTC, datetime, timedelta
    return datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(seconds=n)


def test_the_memory_of_deal_ids_stays_bounded_and_a_closed_account_forgets():
    engine = _engine_with_deals(1000)
    assert len(engine.deal_ids[0] or []) == DEAL_MEMORY
    engine.apply(Quote(ts=_ts(2000), symbol="XAUUSD", bid=1000.0, ask=1000.3))  # fails
    assert engine.state("A1").status == "failed"
    assert engine.deal_ids[0] is None


def test_the_memory_survives_a_snapshot_byte_for_byte():
    engine = _engine_with_deals(40)
    data = snapshot(engine)
    assert data[4] == VERSION == 3
    restored = restore(data)
    assert snapshot(restored) == data
    again = Deal(ts=_ts(39), account="A1", deal=39, position=39, symbol="XAUUSD",
                 side="buy", entry="in", volume=0.01, price=2000.0)
    for target in (engine, restored):
        with pytest.raises(FeedError, match="already applied"):
            target.apply(again)
        with pytest.raises(FeedError, match="back in time"):
            target.apply(Deal(ts=_ts(5), account="A1", deal=1000, position=5,
                              symbol="XAUUSD", side="buy", entry="in", volume=0.01,
                              price=2000.0))
    later = Quote(ts=_ts(100), symbol="XAUUSD", bid=2001.0, ask=2001.3)
    assert engine.apply(later) == restored.apply(later)
    assert snapshot(engine) == snapshot(restored)


def test_a_version_2_snapshot_restores_and_continues_as_an_uninterrupted_run():
    """``snapshot_v2.bin`` was written by the engine before version 3 (commit e4f70f1) from
    ``snapshot_v2.before.jsonl``; restored, it answers the rest of the feed as a run that
    never stopped, and checks the feed's order from then on."""
    program = parse_program((DATA / "snapshot_v2.program.json").read_bytes())
    before = [json_decoder.decode(line)
              for line in (DATA / "snapshot_v2.before.jsonl").read_bytes().splitlines()]
    after = [
        Quote(ts=_ts(3600 * 2), symbol="XAUUSD", bid=1950.0, ask=1950.3),
        Deal(ts=_ts(3600 * 3), account="B2", deal=3, position=2, symbol="XAUUSD",
             side="buy", entry="out", volume=2.0, price=1950.3),
        Quote(ts=_ts(3600 * 4), symbol="XAUUSD", bid=1900.0, ask=1900.3),
    ]
    restored = restore((DATA / "snapshot_v2.bin").read_bytes())
    uninterrupted = Engine([program])
    for event in before:
        uninterrupted.apply(event)
    assert restored.states() == uninterrupted.states()
    answers = [(restored.apply(e), uninterrupted.apply(e)) for e in after]
    assert [mine for mine, _ in answers] == [theirs for _, theirs in answers]
    assert any(mine for mine, _ in answers)  # A1 breaches on the first quote
    assert restored.states() == uninterrupted.states()
    with pytest.raises(FeedError, match="back in time"):
        restored.apply(Quote(ts=_ts(3600), symbol="XAUUSD", bid=2000.0, ask=2000.3))
    assert snapshot(restored)[4] == 3


# ------------------------------------------------------------ 7. numbers out of range


OUT_OF_RANGE = [
    # (case, the line, the field and the range its reason must name)
    ("price-1e308", {"type": "quote", "ts": "2026-03-02T09:30:00Z", "symbol": "XAUUSD",
                     "bid": 1e308, "ask": 1e308}, ["bid", "1,000,000,000"]),
    ("volume-1e300", {"type": "deal", "ts": "2026-03-02T09:30:00Z", "account": "A1",
                      "deal": 99, "position": 9, "symbol": "XAUUSD", "side": "buy",
                      "entry": "in", "volume": 1e300, "price": 2000.0},
     ["volume", "1,000,000,000"]),
    ("deposit-1e20", {"type": "balance", "ts": "2026-03-02T09:30:00Z", "account": "A1",
                      "amount": 1e20, "kind": "deposit"}, ["amount", "1,000,000,000,000"]),
    ("commission-minus-1e15", {"type": "deal", "ts": "2026-03-02T09:30:00Z", "account": "A1",
                               "deal": 99, "position": 9, "symbol": "XAUUSD", "side": "buy",
                               "entry": "in", "volume": 1, "price": 2000.0,
                               "commission": -1e15}, ["commission", "1,000,000,000,000"]),
    ("equity-1e13", {"type": "equity", "ts": "2026-03-02T09:30:00Z", "account": "A1",
                     "equity": 1e13}, ["equity", "1,000,000,000,000"]),
    ("contract-size-1e300", {"type": "symbol", "symbol": "HUGE", "contract_size": 1e300,
                             "profit_currency": "USD"}, ["contract_size", "1,000,000,000"]),
    ("deal-id-beyond-64-bits", '{"type": "deal", "ts": "2026-03-02T09:30:00Z", "account": '
     '"A1", "deal": 100000000000000000000000, "position": 9, "symbol": "XAUUSD", "side": '
     '"buy", "entry": "in", "volume": 1, "price": 2000.0}', ["deal", "64 bits"]),
    # Each number in range, not their product: 100,000 lots of XAUUSD at 1e6 are worth
    # 1e13 (with the open price's term, 2e13); a quote at 1e9 would value the 100 lots
    # open at 1e13 too.
    ("position-worth-too-much", {"type": "deal", "ts": "2026-03-02T09:30:00Z", "account": "A1",
                                 "deal": 99, "position": 9, "symbol": "XAUUSD", "side": "buy",
                                 "entry": "in", "volume": 100000, "price": 1e6},
     ["worth", "10,000,000,000,000"]),
    ("quote-values-a-position-too-much", {"type": "quote", "ts": "2026-03-02T09:30:00Z",
                                          "symbol": "XAUUSD", "bid": 1e9, "ask": 1e9},
     ["XAUUSD", "10,000,000,000,000"]),
]


@pytest.mark.parametrize(("case", "line", "words"), OUT_OF_RANGE,
                         ids=[case[0] for case in OUT_OF_RANGE])
def test_a_number_out_of_range_is_refused_with_the_range(feed, replay, case, line, words):
    feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
    feed.buy("2026-03-02T09:00:00Z", 1, 100, 2000.0)  # 100 lots: 1e7 cents a dollar
    feed.add(line)
    bad = numbered(feed)
    feed.quote("2026-03-02T10:00:00Z", 2000.5)  # +5,000
    feed.clock("2026-03-03T10:00:00Z")  # a rollover: a deposit of 1e20 failed it once
    result = replay(PROGRAM, feed)
    assert result.code == 1
    assert list(refusals(result)) == [bad], result.stderr
    reason = refusals(result)[bad]
    assert all(word in reason for word in words), reason
    assert result.breaches() == []
    state = result.state()
    assert (state["status"], state["balance"], state["equity"]) == (
        "active", 100000.0, 105000.0)


def test_a_balance_may_not_grow_beyond_the_exact_range(feed, replay):
    feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
    for n in range(10):
        feed.add({"type": "balance", "ts": f"2026-03-02T09:0{n}:00Z", "account": "A1",
                  "amount": 1e12, "kind": "deposit"})
    result = replay(PROGRAM, feed)
    assert list(refusals(result)) == [12]
    assert "10,000,000,000,000" in refusals(result)[12]
    assert result.state()["balance"] == 9_000_000_100_000.0


@pytest.mark.parametrize(("field", "value", "bound"), [
    ("initial_balance", 10**23, "1,000,000,000,000"),
    ("initial_balance", 1e13, "1,000,000,000,000"),
    ("rules.max_loss.amount", 10**23, "1,000,000,000,000"),
    ("rules.daily_loss.amount", 1e15, "1,000,000,000,000"),
    ("rules.max_exposure.lots", 10**23, "1,000,000,000"),
    ("rules.profit_target.target", 10**23, "10"),
    ("rules.max_loss.lock_at", 10**23, "10"),
    ("rules.min_trading_days.days", 10**23, "36,500"),
    ("rules.inactivity.days", 10**23, "36,500"),
    ("name", 10**23, "string"),
    ("description", 10**23, "string"),
])
def test_a_program_number_out_of_range_names_the_field_and_the_range(field, value, bound):
    document = json.loads(json.dumps({**PROGRAM, "rules": {
        "daily_loss": {"amount": 5000}, "max_loss": {"amount": 10000},
        "max_exposure": {"lots": 10}, "profit_target": {"target": 0.1},
        "min_trading_days": {"days": 4}, "inactivity": {"days": 30}}}))
    *parents, leaf = field.split(".")
    node = document
    for key in parents:
        node = node[key]
    node[leaf] = value
    with pytest.raises(ProgramError) as caught:
        parse_program(document)
    assert caught.value.field == field
    assert bound in caught.value.reason, caught.value.reason


def test_a_program_file_with_a_huge_balance_stops_replay_naming_the_field(feed, replay):
    result = replay([("huge.json", json.dumps({**PROGRAM, "initial_balance": 10**23}))], feed)
    assert result.code == 2
    assert re.match(r"^(?:\S*/)?huge\.json: initial_balance: ", result.stderr[0])
    assert "1,000,000,000,000" in result.stderr[0]


# ------------------------------------------------- the live workers refuse the same


def test_a_shard_sends_the_same_refusals_to_dead_letters_with_their_origin():
    """The workers' shards run the same checks (decoder and engine) as replay: each
    refusal becomes a dead letter with its reason and ``topic[partition]@offset``."""
    topics = Topics("x.", partitions=1, quote_partitions=1)
    lines = [
        '{"type": "symbol", "symbol": "XAUUSD", "contract_size": 100, "profit_currency": "USD"}',
        '{"type": "account", "ts": "2026-03-02T08:00:00Z", "account": "A1", "program": '
        '"ftmo-100k"}',
        '{"type": "quote", "ts": "2026-03-02T09:00:00Z", "symbol": "XAUUSD", "bid": 2000.0, '
        '"ask": 2000.3}',
    ]
    events = [json_decoder.decode(line) for line in lines]
    deal = Deal(ts=_ts(600), account="A1", deal=5, position=1, symbol="XAUUSD", side="buy",
                entry="in", volume=1.0, price=2000.3)
    events += [
        deal, deal,  # the second: already applied
        Deal(ts=_ts(60), account="A1", deal=6, position=2, symbol="XAUUSD", side="buy",
             entry="in", volume=1.0, price=2000.3),  # back in time
        Quote(ts=_ts(-60), symbol="XAUUSD", bid=1900.0, ask=1900.3),  # back in time
        Quote(ts=_ts(900), symbol="XAUUSD", bid=1e300, ask=1e300),  # not decodable
        Quote(ts=_ts(1200), symbol="XAUUSD", bid=1960.0, ask=1960.3),
    ]
    logs: dict[str, list[bytes]] = {name: [] for name in topics.inputs(0)}
    for seq, event in enumerate(events):
        topic, partition = route(event, topics)
        for name in logs:
            own = name == f"{topic}[{partition}]"
            logs[name].append(make_batch("test", seq, [seq] if own else [],
                                         [event] if own else []))
    shard = Shard(0, topics.inputs(0), [parse_program(PROGRAM)])
    results = Results()
    for offset in range(len(events)):
        for name, log in logs.items():
            shard.offer(name, offset, log[offset], results)
    shard.drain(results)
    letters = {letter.origin: letter.reason for letter in results.dead_letters}
    assert letters.keys() == {"x.feed.accounts[0]@4", "x.feed.accounts[0]@5",
                              "x.feed.quotes[0]@6", "x.feed.quotes[0]@7"}
    assert "already applied" in letters["x.feed.accounts[0]@4"]
    assert "back in time" in letters["x.feed.accounts[0]@5"]
    assert "back in time" in letters["x.feed.quotes[0]@6"]
    assert "bid" in letters["x.feed.quotes[0]@7"]
    assert "1,000,000,000" in letters["x.feed.quotes[0]@7"]
    assert shard.engine.state("A1").equity == 100000.0 - 4030.0
    with pytest.raises(msgspec.ValidationError):
        msgpack_decoder.decode(msgspec.msgpack.encode(events[-2]))
