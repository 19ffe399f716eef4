"""Readings of CONTRACTS.md where an independent, literal reading found the engine short
(issue 10, "Engine readings" 1-4), as replay examples.

XAUUSD: contract size 100, so one lot moves $100 per $1 of price; EURUSD: 100,000, so
one lot moves $1 per 0.00001.
"""

from __future__ import annotations

import pytest

BREACH = ("account", "rule", "ts", "equity", "floor", "action")
DAILY = {"limit": 0.05, "reference": "day_start_balance", "action": "fail"}
EURUSD = {"type": "symbol", "symbol": "EURUSD", "contract_size": 100000, "profit_currency": "USD"}


def prague(program_id: str, rules: dict, initial_balance: float = 100000) -> dict:
    return {
        "id": program_id,
        "currency": "USD",
        "initial_balance": initial_balance,
        "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
        "rules": rules,
    }


def assert_clean(result) -> None:
    assert result.code == 0, result.stderr
    assert result.stderr == []


# ----------------------------------------------------------- 1. several rules, one deal


class TestSeveralRulesOnOneDeal:
    """"When several rules breach on one event, each gets a line" (CONTRACTS.md §3):
    a deal that takes equity through a floor and over the exposure limit answers both."""

    def _feed(self, feed):
        feed.symbol().account("2026-03-02T08:00:00Z", "both")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T09:30:00Z", 1960.0)  # −4,000: E = 96,000
        # 40 more lots (41 open > 40) with a commission of −1,500: E = 94,500 < 95,000.
        feed.buy("2026-03-02T10:00:00Z", 2, 40, 1960.0, commission=-1500.0)

    @pytest.mark.parametrize("action", ["fail", "warn"])
    def test_floor_and_exposure_on_one_deal_each_get_a_line(self, feed, replay, action):
        program = prague("both", {"daily_loss": DAILY,
                                  "max_exposure": {"lots": 40, "action": action}})
        self._feed(feed)
        result = replay(program, feed)
        assert_clean(result)
        lines = result.brief("breach", *BREACH, "lots", "max_lots")
        assert [line["rule"] for line in lines] == ["daily_loss", "max_exposure"]
        assert lines[0] == {"account": "A1", "rule": "daily_loss",
                            "ts": "2026-03-02T10:00:00Z", "equity": 94500.0,
                            "floor": 95000.0, "action": "fail", "lots": None,
                            "max_lots": None}
        exposure = lines[1]
        assert (exposure["ts"], exposure["equity"], exposure["action"]) == (
            "2026-03-02T10:00:00Z", 94500.0, action)
        assert exposure["lots"] == pytest.approx(41.0)
        assert exposure["max_lots"] == 40
        assert result.state("A1")["status"] == "failed"

    def test_max_loss_and_exposure_on_one_deal(self, feed, replay):
        program = prague("both", {"max_loss": {"limit": 0.05},
                                  "max_exposure": {"lots": 40}})
        self._feed(feed)
        result = replay(program, feed)
        assert [(b["rule"], b["ts"], b["action"]) for b in result.breaches()] == [
            ("max_loss", "2026-03-02T10:00:00Z", "fail"),
            ("max_exposure", "2026-03-02T10:00:00Z", "fail"),
        ]

    def test_a_rollover_breach_and_an_inactivity_deadline_revealed_by_one_event(
            self, feed, replay):
        program = prague("both", {"daily_loss": DAILY, "inactivity": {"days": 1}})
        feed.symbol().account("2026-03-02T08:00:00Z", "both")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 4000.0)
        feed.buy("2026-03-02T12:00:00Z", 2, 1, 2000.0)  # inactivity deadline 03-03 12:00
        feed.quote("2026-03-02T20:00:00Z", 1950.0)  # E = 99,000 > Monday's floor 95,000
        # Tuesday (00:00 Prague = 23:00 UTC): floor 104,000 − 5,000 = 99,000 = E; the
        # first event after both the day boundary and the deadline reveals both.
        feed.clock("2026-03-03T13:00:00Z")
        result = replay(program, feed)
        assert_clean(result)
        assert [(b["rule"], b["ts"]) for b in result.breaches()] == [
            ("daily_loss", "2026-03-03T13:00:00Z"),
            ("inactivity", "2026-03-03T13:00:00Z"),
        ]
        assert result.state("A1")["status"] == "failed"


# ------------------------------------------------- 2. objectives, whatever made them hold


class TestObjectivesWhateverTheEvent:
    def test_an_account_opened_above_its_target_passes_at_its_opening(self, feed, replay):
        program = prague("target", {"profit_target": {"target": 0.01}})
        feed.symbol().account("2026-03-02T08:00:00Z", "target", balance=101500)
        feed.quote("2026-03-02T09:00:00Z", 2000.0)
        feed.clock("2026-03-04T09:00:00Z")
        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("objective", "account", "objective", "ts") == [
            {"account": "A1", "objective": "profit_target", "ts": "2026-03-02T08:00:00Z"}]
        assert result.brief("passed", "account", "ts") == [
            {"account": "A1", "ts": "2026-03-02T08:00:00Z"}]
        assert result.state("A1")["status"] == "passed"

    def test_exactly_on_the_target_at_opening_counts(self, feed, replay):
        program = prague("target", {"profit_target": {"target": 0.01}})
        feed.symbol().account("2026-03-02T08:00:00Z", "target", balance=101000)
        result = replay(program, feed)
        assert [line["type"] for line in result.event_lines()] == ["objective", "passed"]

    def test_opened_above_the_target_still_needs_its_trading_days(self, feed, replay):
        program = prague("target", {"profit_target": {"target": 0.01},
                                    "min_trading_days": {"days": 1}})
        feed.symbol().account("2026-03-02T08:00:00Z", "target", balance=101500)
        feed.clock("2026-03-03T09:00:00Z")
        opened = feed.mark()
        feed.round_trip("2026-03-03T10:00:00Z", "2026-03-03T11:00:00Z", 1, 10.0)
        before = replay(program, feed.upto(opened))
        assert before.brief("objective", "objective", "ts") == [
            {"objective": "profit_target", "ts": "2026-03-02T08:00:00Z"}]
        assert before.of_type("passed") == []
        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("passed", "ts") == [{"ts": "2026-03-03T11:00:00Z"}]

    def test_opened_below_the_target_does_not_pass(self, feed, replay):
        program = prague("target", {"profit_target": {"target": 0.01}})
        feed.symbol().account("2026-03-02T08:00:00Z", "target", balance=100999.99)
        feed.clock("2026-03-04T09:00:00Z")
        result = replay(program, feed)
        assert_clean(result)
        assert result.event_lines() == []
        assert result.state("A1")["status"] == "active"


# ------------------------------------- 3. events of a closed account still move event time


class TestEventsOfClosedAccountsRevealTime:
    """A failed or passed account's events change nothing of it, but they carry event time:
    the first event past a day boundary reveals every other account's rollover (and the
    first past a deadline, its inactivity), whoever it is for."""

    def _feed(self, feed, *, fail_a1: bool = True):
        program_b = prague("b", {"daily_loss": DAILY})
        program_a = prague("a", {"daily_loss": DAILY} if fail_a1 else
                           {"profit_target": {"target": 0.01}})
        feed.symbol().symbol(EURUSD)
        feed.account("2026-03-02T08:00:00Z", "a", account="A1")
        feed.account("2026-03-02T08:00:00Z", "b", account="B2")
        if fail_a1:
            feed.buy("2026-03-02T09:00:00Z", 1, 1, 1.0850, symbol="EURUSD", account="A1")
            feed.quote("2026-03-02T09:30:00Z", 1.0350, 1.0351, symbol="EURUSD")  # A1 fails
        else:
            feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T09:30:00Z", 1, 1500.0,
                            account="A1")  # A1 passes
        # B2: +4,000 closed, then −5,000 floating: E = 99,000, Monday's floor 95,000;
        # Tuesday's floor (00:00 Prague = 23:00 UTC) is 104,000 − 5,000 = 99,000.
        feed.round_trip("2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z", 2, 4000.0,
                        account="B2")
        feed.buy("2026-03-02T12:00:00Z", 3, 1, 2000.0, account="B2")
        feed.quote("2026-03-02T20:00:00Z", 1950.0)
        return [program_a, program_b]

    @pytest.mark.parametrize("event", ["deal", "balance", "equity"])
    def test_an_event_of_a_failed_account_reveals_another_s_rollover(
            self, feed, replay, event):
        programs = self._feed(feed)
        before = replay(programs, list(feed.events))
        a1_before = before.state("A1")
        ts = "2026-03-02T23:05:00Z"  # 00:05 in Prague: Tuesday
        if event == "deal":
            feed.buy(ts, 9, 1, 1.0350, symbol="EURUSD", account="A1")
        elif event == "balance":
            feed.add({"type": "balance", "ts": ts, "account": "A1", "amount": 500.0,
                      "kind": "deposit"})
        else:
            feed.add({"type": "equity", "ts": ts, "account": "A1", "equity": 90000.0})
        feed.clock("2026-03-03T00:00:00Z")
        result = replay(programs, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH)[-1] == {
            "account": "B2", "rule": "daily_loss", "ts": ts, "equity": 99000.0,
            "floor": 99000.0, "action": "fail"}
        assert result.state("A1") == a1_before  # the failed account changed in nothing

    def test_a_deal_of_a_passed_account_reveals_another_s_rollover(self, feed, replay):
        programs = self._feed(feed, fail_a1=False)
        feed.buy("2026-03-02T23:05:00Z", 9, 1, 1.0350, symbol="EURUSD", account="A1")
        feed.clock("2026-03-03T00:00:00Z")
        result = replay(programs, feed)
        assert_clean(result)
        assert [(b["account"], b["ts"]) for b in result.breaches()] == [
            ("B2", "2026-03-02T23:05:00Z")]
        assert result.state("A1")["status"] == "passed"
        assert result.state("A1")["open_positions"] == 0

    def test_an_event_of_a_failed_account_reveals_an_inactivity_deadline(self, feed, replay):
        program_a = prague("a", {"daily_loss": DAILY})
        program_b = prague("idle", {"inactivity": {"days": 1}})
        feed.symbol().account("2026-03-02T08:00:00Z", "a", account="A1")
        feed.account("2026-03-02T08:00:00Z", "idle", account="B2")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0, account="A1")
        feed.quote("2026-03-02T09:30:00Z", 1940.0)  # A1 fails
        feed.add({"type": "balance", "ts": "2026-03-03T08:30:00Z", "account": "A1",
                  "amount": 100.0, "kind": "deposit"})
        feed.clock("2026-03-03T10:00:00Z")
        result = replay([program_a, program_b], feed)
        assert_clean(result)
        assert [(b["account"], b["rule"], b["ts"]) for b in result.breaches()] == [
            ("A1", "daily_loss", "2026-03-02T09:30:00Z"),
            ("B2", "inactivity", "2026-03-03T08:30:00Z"),
        ]
        assert result.state("A1")["balance"] == 100000.0


# ------------------------------------------------------- 4. intraday peak while paused


class TestIntradayPeakWhilePaused:
    """"The highest equity since the day's start" keeps moving while the account is
    paused: the daily floor it reports follows it (the quote pass lifts the peak)."""

    PROGRAM = prague("peak-pause", {"daily_loss": {"amount": 5000,
                                                   "reference": "intraday_peak_equity",
                                                   "action": "pause"}})

    def test_the_peak_rises_with_equity_after_the_pause(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "peak-pause")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T09:30:00Z", 1950.0)  # E = 95,000: paused
        paused = feed.mark()
        feed.quote("2026-03-02T10:00:00Z", 2100.0)  # E = 110,000: the day's peak
        feed.quote("2026-03-02T10:30:00Z", 2060.0)  # E = 106,000
        at_pause = replay(self.PROGRAM, feed.upto(paused))
        assert [(b["rule"], b["action"]) for b in at_pause.breaches()] == [
            ("daily_loss", "pause")]
        result = replay(self.PROGRAM, feed)
        assert_clean(result)
        state = result.state("A1")
        assert (state["status"], state["equity"], state["daily_floor"]) == (
            "paused", 106000.0, 105000.0)

    def test_the_peak_of_a_paused_account_also_rises_on_a_deal(self, feed, replay):
        feed.symbol().account("2026-03-02T08:00:00Z", "peak-pause")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T09:30:00Z", 1950.0)  # paused
        feed.quote("2026-03-02T10:00:00Z", 2100.0)  # E = 110,000
        feed.close_long("2026-03-02T10:30:00Z", 1, 1, 2100.0, profit=10000.0)
        result = replay(self.PROGRAM, feed)
        assert_clean(result)
        assert result.state("A1")["daily_floor"] == 105000.0
