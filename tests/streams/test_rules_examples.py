"""Every worked example of RULES.md (and the contract behind it) as a replay test.

Arithmetic used throughout (CONTRACTS.md §1): XAUUSD has contract size 100, so one
lot long at 2000 quoted at bid 1950 floats (1950 - 2000) × 1 × 100 = −5,000, and a bid
0.0001 higher is one cent better. Equity = balance + floating (+ swaps).
"""

from __future__ import annotations

import pytest

BREACH = ("account", "rule", "ts", "equity", "floor", "action")
STATE = (
    "status",
    "balance",
    "equity",
    "daily_floor",
    "max_loss_floor",
    "trading_days",
    "open_positions",
)

FTMO_DAILY = {
    "limit": 0.05,
    "of": "initial_balance",
    "reference": "day_start_balance",
    "action": "fail",
}
FTMO_MAX = {"limit": 0.10, "of": "initial_balance", "mode": "static"}


def prague(program_id: str, rules: dict, initial_balance: float = 100000) -> dict:
    return {
        "id": program_id,
        "currency": "USD",
        "initial_balance": initial_balance,
        "day": {"timezone": "Europe/Prague", "starts_at": "00:00"},
        "rules": rules,
    }


def with_day(
    program_id: str, rules: dict, timezone: str, starts_at: str, initial_balance: float = 100000
) -> dict:
    document = prague(program_id, rules, initial_balance)
    document["day"] = {"timezone": timezone, "starts_at": starts_at}
    return document


def state_of(result, account: str = "A1") -> dict:
    state = result.state(account)
    return {key: state.get(key) for key in STATE}


def assert_clean(result) -> None:
    assert result.code == 0, result.stderr
    assert result.stderr == []


# --------------------------------------------------------------------------- ledger


class TestLedgerArithmetic:
    """The contract arithmetic every example below relies on."""

    def test_profit_computed_when_absent_and_costs_hit_balance(self, feed, replay):
        program = prague("plain", {})
        feed.symbol().account("2026-03-02T08:00:00Z", "plain")
        # long 1 XAUUSD 2000 → 2012.34: (2012.34 - 2000) × 1 × 100 = 1,234.00; commission
        # −3.5 on each deal and a −1.25 swap on the close: 101,234 − 7 − 1.25.
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0, commission=-3.5)
        feed.close_long("2026-03-02T10:00:00Z", 1, 1, 2012.34, commission=-3.5, swap=-1.25)
        result = replay(program, feed)
        assert_clean(result)
        assert state_of(result)["balance"] == 101225.75
        assert state_of(result)["equity"] == 101225.75
        assert state_of(result)["open_positions"] == 0

    def test_sell_floats_on_ask_and_adds_are_volume_weighted(self, feed, replay):
        program = prague("plain", {})
        feed.symbol().account("2026-03-02T08:00:00Z", "plain")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.buy("2026-03-02T09:01:00Z", 1, 1, 2010.0)  # 2 lots at 2005
        feed.sell("2026-03-02T09:02:00Z", 2, 1, 2010.0)
        # long: (2015 - 2005) × 2 × 100 = +2,000; short: (2010 - 2015.5) × 1 × 100 = −550
        feed.quote("2026-03-02T09:03:00Z", 2015.0, 2015.5)
        result = replay(program, feed)
        assert_clean(result)
        assert state_of(result) == {
            "status": "active",
            "balance": 100000.0,
            "equity": 101450.0,
            "daily_floor": None,
            "max_loss_floor": None,
            "trading_days": 1,
            "open_positions": 2,
        }

    def test_position_without_quote_is_marked_at_open_price(self, feed, replay):
        program = prague("plain", {})
        feed.symbol().symbol(
            {
                "type": "symbol",
                "symbol": "EURUSD",
                "contract_size": 100000,
                "profit_currency": "USD",
            }
        )
        feed.account("2026-03-02T08:00:00Z", "plain")
        feed.quote("2026-03-02T08:30:00Z", 2100.0)  # gold is quoted, EURUSD never is
        feed.buy("2026-03-02T09:00:00Z", 1, 2, 1.0850, symbol="EURUSD")
        result = replay(program, feed)
        assert_clean(result)
        assert state_of(result)["equity"] == 100000.0
        assert state_of(result)["open_positions"] == 1

    def test_swap_counts_in_equity_and_is_realised_on_close(self, feed, replay):
        program = prague("plain", {})
        feed.symbol().account("2026-03-02T08:00:00Z", "plain")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.buy("2026-03-02T09:00:01Z", 2, 1, 2000.0)
        feed.add(
            {
                "type": "swap",
                "ts": "2026-03-02T22:00:00Z",
                "account": "A1",
                "position": 1,
                "amount": -12.5,
            }
        )
        feed.add(
            {
                "type": "swap",
                "ts": "2026-03-02T22:00:00Z",
                "account": "A1",
                "position": 2,
                "amount": -7.25,
            }
        )
        accrued = feed.mark()
        # position 1 closes without a swap field: its accrued −12.50 is realised;
        # position 2's deal carries the broker's realised swap −7.25 (not counted twice).
        feed.close_long("2026-03-03T09:00:00Z", 1, 1, 2001.0, profit=100.0)
        feed.close_long("2026-03-03T09:01:00Z", 2, 1, 2001.0, profit=100.0, swap=-7.25)

        before = state_of(replay(program, feed.upto(accrued)))
        assert (before["balance"], before["equity"]) == (100000.0, 99980.25)
        result = replay(program, feed)
        assert_clean(result)
        after = state_of(result)
        assert (after["balance"], after["equity"], after["open_positions"]) == (
            100180.25,
            100180.25,
            0,
        )

    def test_deposit_moves_balance_and_equity(self, feed, replay):
        program = prague("plain", {})
        feed.symbol().account("2026-03-02T08:00:00Z", "plain")
        feed.add(
            {
                "type": "balance",
                "ts": "2026-03-02T09:00:00Z",
                "account": "A1",
                "amount": 5000.0,
                "kind": "deposit",
            }
        )
        result = replay(program, feed)
        assert_clean(result)
        assert (state_of(result)["balance"], state_of(result)["equity"]) == (105000.0, 105000.0)

    def test_broker_reported_equity_is_the_truth(self, feed, replay):
        program = prague("ftmo-100k", {"daily_loss": FTMO_DAILY, "max_loss": FTMO_MAX})
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.add(
            {"type": "equity", "ts": "2026-03-02T09:00:00Z", "account": "A1", "equity": 95000.01}
        )
        above = feed.mark()
        feed.add(
            {"type": "equity", "ts": "2026-03-02T09:01:00Z", "account": "A1", "equity": 94999.99}
        )
        before = replay(program, feed.upto(above))
        assert before.breaches() == []
        assert state_of(before)["equity"] == 95000.01
        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-02T09:01:00Z",
                "equity": 94999.99,
                "floor": 95000.0,
                "action": "fail",
            }
        ]

    def test_profit_converted_through_the_inverted_pair(self, feed, replay):
        program = prague("eur-plain", {})
        program["currency"] = "EUR"
        feed.symbol().symbol(
            {
                "type": "symbol",
                "symbol": "EURUSD",
                "contract_size": 100000,
                "profit_currency": "USD",
            }
        )
        feed.account("2026-03-02T08:00:00Z", "eur-plain")
        feed.quote("2026-03-02T08:30:00Z", 1.2499, 1.2501, symbol="EURUSD")  # mid 1.25
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T09:30:00Z", 1950.0)  # −5,000 USD = −4,000 EUR
        at_125 = feed.mark()
        feed.quote("2026-03-02T10:00:00Z", 0.9999, 1.0001, symbol="EURUSD")  # mid 1.0
        assert state_of(replay(program, feed.upto(at_125)))["equity"] == 96000.0
        result = replay(program, feed)
        assert_clean(result)
        assert state_of(result)["equity"] == 95000.0

    def test_profit_converted_through_the_direct_pair(self, feed, replay):
        program = prague("plain", {})
        feed.symbol(
            {"type": "symbol", "symbol": "GER40", "contract_size": 1, "profit_currency": "EUR"}
        ).symbol(
            {
                "type": "symbol",
                "symbol": "EURUSD",
                "contract_size": 100000,
                "profit_currency": "USD",
            }
        )
        feed.account("2026-03-02T08:00:00Z", "plain")
        feed.quote("2026-03-02T08:30:00Z", 1.2499, 1.2501, symbol="EURUSD")  # mid 1.25
        feed.buy("2026-03-02T09:00:00Z", 1, 10, 20000.0, symbol="GER40")
        feed.quote("2026-03-02T09:30:00Z", 20010.0, 20011.0, symbol="GER40")  # +100 EUR
        result = replay(program, feed)
        assert_clean(result)
        assert state_of(result)["equity"] == 100125.0


class TestSeveralBreaches:
    def test_each_rule_breached_by_one_event_gets_a_line(self, feed, replay):
        program = prague("ftmo-100k", {"daily_loss": FTMO_DAILY, "max_loss": FTMO_MAX})
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, -4000.0)  # B = 96,000
        feed.clock("2026-03-02T23:00:01Z")  # Tuesday: daily floor 91,000
        feed.buy("2026-03-03T09:00:00Z", 2, 1, 2000.0)
        feed.quote("2026-03-03T09:30:00Z", 1940.0)  # −6,000: E = 90,000
        result = replay(program, feed)
        assert_clean(result)
        assert sorted(result.brief("breach", *BREACH), key=lambda line: line["rule"]) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-03T09:30:00Z",
                "equity": 90000.0,
                "floor": 91000.0,
                "action": "fail",
            },
            {
                "account": "A1",
                "rule": "max_loss",
                "ts": "2026-03-03T09:30:00Z",
                "equity": 90000.0,
                "floor": 90000.0,
                "action": "fail",
            },
        ]
        assert state_of(result)["status"] == "failed"


class TestEventTime:
    def test_any_event_reveals_every_account_s_rollover(self, feed, replay):
        """Event time is global: a quote on another symbol reveals B2's New York rollover."""
        ftmo = prague("ftmo-100k", {"daily_loss": FTMO_DAILY})
        fxify_doc = with_day(
            "fxify-3phase",
            {"daily_loss": {"limit": 0.05, "reference": "day_start_balance"}},
            "America/New_York",
            "17:00",
        )
        feed.symbol().symbol(
            {
                "type": "symbol",
                "symbol": "EURUSD",
                "contract_size": 100000,
                "profit_currency": "USD",
            }
        )
        feed.account("2026-03-02T14:00:00Z", "fxify-3phase", account="B2")
        feed.account("2026-03-02T14:00:00Z", "ftmo-100k", account="A1")
        feed.round_trip("2026-03-02T15:00:00Z", "2026-03-02T16:00:00Z", 1, 2000.0, account="B2")
        feed.buy("2026-03-02T16:30:00Z", 2, 1, 2000.0, account="B2")
        feed.quote("2026-03-02T17:00:00Z", 1950.0)  # B2: E = 97,000 > 95,000
        feed.quote("2026-03-02T22:00:10Z", 1.0850, 1.0851, symbol="EURUSD")  # 17:00:10 New York
        result = replay([ftmo, fxify_doc], feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "B2",
                "rule": "daily_loss",
                "ts": "2026-03-02T22:00:10Z",
                "equity": 97000.0,
                "floor": 97000.0,
                "action": "fail",
            }
        ]
        assert [(line["account"], line["status"]) for line in result.of_type("state")] == [
            ("A1", "active"),
            ("B2", "failed"),
        ]


# ----------------------------------------------------------------------- daily loss


class TestDailyLossFtmo:
    """FTMO 2-Step: floor = B at the day's start − 5 % of I; day = Prague midnight."""

    def test_day_one_floor_is_95000(self, feed, replay):
        program = prague("ftmo-100k", {"daily_loss": FTMO_DAILY, "max_loss": FTMO_MAX})
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        result = replay(program, feed)
        assert_clean(result)
        assert result.event_lines() == []
        assert state_of(result) == {
            "status": "active",
            "balance": 100000.0,
            "equity": 100000.0,
            "daily_floor": 95000.0,
            "max_loss_floor": 90000.0,
            "trading_days": 0,
            "open_positions": 0,
        }

    def test_day_one_equity_touching_95000_breaches_one_cent_above_does_not(self, feed, replay):
        program = prague("ftmo-100k", {"daily_loss": FTMO_DAILY, "max_loss": FTMO_MAX})
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T10:00:00Z", 1950.0001)  # floating −4,999.99
        above = feed.mark()
        feed.quote("2026-03-02T10:30:00Z", 1950.0)  # floating −5,000.00

        before = replay(program, feed.upto(above))
        assert before.breaches() == []
        assert state_of(before)["equity"] == 95000.01
        assert state_of(before)["status"] == "active"

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-02T10:30:00Z",
                "equity": 95000.0,
                "floor": 95000.0,
                "action": "fail",
            }
        ]
        assert state_of(result)["status"] == "failed"

    def test_200k_closed_loss_of_8000_leaves_2000(self, feed, replay):
        program = prague("ftmo-200k", {"daily_loss": FTMO_DAILY, "max_loss": FTMO_MAX}, 200000)
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-200k")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.close_long("2026-03-02T10:00:00Z", 1, 1, 1920.0, profit=-8000.0)
        closed = feed.mark()
        feed.buy("2026-03-02T11:00:00Z", 2, 1, 1920.0)
        feed.quote("2026-03-02T11:30:00Z", 1900.0001)  # −1,999.99: E = 190,000.01
        feed.quote("2026-03-02T12:00:00Z", 1900.0)  # −2,000.00: E = 190,000.00

        after_close = replay(program, feed.upto(closed))
        assert_clean(after_close)
        assert after_close.breaches() == []
        assert state_of(after_close) == {
            "status": "active",
            "balance": 192000.0,
            "equity": 192000.0,
            "daily_floor": 190000.0,
            "max_loss_floor": 180000.0,
            "trading_days": 1,
            "open_positions": 0,
        }

        result = replay(program, feed)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-02T12:00:00Z",
                "equity": 190000.0,
                "floor": 190000.0,
                "action": "fail",
            }
        ]

    def test_monday_profit_then_floating_loss_breaches_at_tuesday_rollover(self, feed, replay):
        program = prague("ftmo-200k", {"daily_loss": FTMO_DAILY, "max_loss": FTMO_MAX}, 200000)
        feed.symbol().account("2026-03-02T07:00:00Z", "ftmo-200k")  # Monday
        feed.round_trip("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z", 1, 4000.0)  # B = 204,000
        feed.buy("2026-03-02T10:00:00Z", 2, 1, 2040.0)
        feed.quote("2026-03-02T15:00:00Z", 1910.0)  # floating −13,000: E = 191,000
        feed.clock("2026-03-02T22:59:59Z")  # Monday 23:59:59 in Prague (UTC+1)
        monday = feed.mark()
        feed.clock("2026-03-03T00:00:05+01:00")  # first event of Tuesday in Prague
        feed.clock("2026-03-03T09:00:00Z")

        on_monday = replay(program, feed.upto(monday))
        assert_clean(on_monday)
        assert on_monday.breaches() == []  # allowance 14,000 > 13,000
        assert state_of(on_monday) == {
            "status": "active",
            "balance": 204000.0,
            "equity": 191000.0,
            "daily_floor": 190000.0,
            "max_loss_floor": 180000.0,
            "trading_days": 1,
            "open_positions": 1,
        }

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-02T23:00:05Z",
                "equity": 191000.0,
                "floor": 194000.0,
                "action": "fail",
            }
        ]
        assert state_of(result)["status"] == "failed"
        assert state_of(result)["daily_floor"] == 194000.0

    def test_day_start_balance_is_taken_before_the_event_revealing_the_new_day(self, feed, replay):
        program = prague("ftmo-200k", {"daily_loss": FTMO_DAILY, "max_loss": FTMO_MAX}, 200000)
        feed.symbol().account("2026-03-02T07:00:00Z", "ftmo-200k")
        feed.round_trip("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z", 1, 4000.0)  # B = 204,000
        feed.buy("2026-03-02T10:00:00Z", 2, 1, 2040.0)
        # Tuesday's first event is a losing close: the day began before it, at B = 204,000.
        feed.close_long("2026-03-03T08:00:00Z", 2, 1, 2030.0, profit=-1000.0)
        result = replay(program, feed)
        assert_clean(result)
        assert result.breaches() == []
        assert state_of(result) == {
            "status": "active",
            "balance": 203000.0,
            "equity": 203000.0,
            "daily_floor": 194000.0,
            "max_loss_floor": 180000.0,
            "trading_days": 1,
            "open_positions": 0,
        }


FXIFY_PHASES = [
    ("fxify-3phase", 0.05, 1950.0001, 1950.0, 95000.0),
    ("fxify-2phase", 0.04, 1960.0001, 1960.0, 96000.0),
    ("fxify-1phase", 0.03, 1970.0001, 1970.0, 97000.0),
]


def fxify(program_id: str, limit: float) -> dict:
    rules = {"daily_loss": {"limit": limit, "reference": "day_start_balance"}}
    return with_day(program_id, rules, "America/New_York", "17:00")


class TestDailyLossFxify:
    @pytest.mark.parametrize(("program_id", "limit", "bid_above", "bid_on", "level"), FXIFY_PHASES)
    def test_touching_the_level_breaches_one_cent_above_does_not(
        self, feed, replay, program_id, limit, bid_above, bid_on, level
    ):
        program = fxify(program_id, limit)
        feed.symbol().account("2026-03-02T15:00:00Z", program_id)
        feed.buy("2026-03-02T15:05:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T15:10:00Z", bid_above)
        above = feed.mark()
        feed.quote("2026-03-02T15:20:00Z", bid_on)

        before = replay(program, feed.upto(above))
        assert_clean(before)
        assert before.breaches() == []
        assert state_of(before)["equity"] == round(level + 0.01, 2)
        assert state_of(before)["daily_floor"] == level
        assert state_of(before)["status"] == "active"

        result = replay(program, feed)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-02T15:20:00Z",
                "equity": level,
                "floor": level,
                "action": "fail",
            }
        ]
        assert state_of(result)["status"] == "failed"

    def test_day_start_balance_is_taken_at_17_00_new_york(self, feed, replay):
        program = fxify("fxify-3phase", 0.05)
        feed.symbol().account("2026-03-02T14:00:00Z", "fxify-3phase")  # 09:00 New York (EST)
        feed.round_trip("2026-03-02T15:00:00Z", "2026-03-02T20:00:00Z", 1, 2000.0)  # B = 102,000
        feed.buy("2026-03-02T20:30:00Z", 2, 1, 2000.0)
        feed.quote("2026-03-02T21:59:00Z", 1950.0)  # E = 97,000 at 16:59 New York
        feed.clock("2026-03-02T21:59:59Z")
        before_five = feed.mark()
        feed.clock("2026-03-02T22:00:30Z")  # 17:00:30 New York: the new day's floor is 97,000
        feed.clock("2026-03-02T23:00:00Z")

        before = replay(program, feed.upto(before_five))
        assert before.breaches() == []
        assert state_of(before)["daily_floor"] == 95000.0
        assert state_of(before)["equity"] == 97000.0

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-02T22:00:30Z",
                "equity": 97000.0,
                "floor": 97000.0,
                "action": "fail",
            }
        ]


TOPSTEP_PAUSE = with_day(
    "topstep-50k",
    {
        "daily_loss": {"amount": 1000, "reference": "day_start_balance", "action": "pause"},
        "max_loss": {"amount": 2000, "mode": "trailing_eod_balance", "lock_at": 0},
    },
    "America/Chicago",
    "17:00",
    initial_balance=50000,
)


class TestTopstepPause:
    def _feed(self, feed):
        feed.symbol().account("2026-04-06T14:00:00Z", "topstep-50k")  # 09:00 Chicago (CDT)
        feed.buy("2026-04-06T14:30:00Z", 1, 1, 2000.0)
        feed.quote("2026-04-06T15:00:00Z", 1990.01)  # −999: E = 49,001
        feed.quote("2026-04-06T15:30:00Z", 1990.0)  # −1,000: E = 49,000 = floor
        feed.clock("2026-04-06T16:00:00Z")
        paused = feed.mark()
        feed.quote("2026-04-06T18:00:00Z", 1995.0)  # E = 49,500
        feed.clock("2026-04-06T21:59:59Z")
        before_next_day = feed.mark()
        feed.clock("2026-04-06T22:00:00Z")  # 17:00 Chicago: next trading day
        resumed = feed.mark()
        feed.close_long("2026-04-07T14:00:00Z", 1, 1, 1995.0, profit=-500.0)
        return paused, before_next_day, resumed

    def test_soft_breach_pauses(self, feed, replay):
        paused, _, _ = self._feed(feed)
        result = replay(TOPSTEP_PAUSE, feed.upto(paused))
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-04-06T15:30:00Z",
                "equity": 49000.0,
                "floor": 49000.0,
                "action": "pause",
            }
        ]
        assert state_of(result)["status"] == "paused"

    def test_stays_paused_for_the_rest_of_the_day(self, feed, replay):
        _, before_next_day, _ = self._feed(feed)
        result = replay(TOPSTEP_PAUSE, feed.upto(before_next_day))
        assert len(result.breaches()) == 1
        assert result.of_type("resumed") == []
        assert state_of(result)["status"] == "paused"

    def test_resumes_at_the_next_trading_day_and_is_not_failed(self, feed, replay):
        self._feed(feed)
        result = replay(TOPSTEP_PAUSE, feed)
        assert_clean(result)
        assert [line["type"] for line in result.event_lines()] == ["breach", "resumed"]
        assert result.brief("resumed", "account", "ts") == [
            {"account": "A1", "ts": "2026-04-06T22:00:00Z"}
        ]
        assert all(line.get("action") != "fail" for line in result.breaches())
        assert state_of(result) == {
            "status": "active",
            "balance": 49500.0,
            "equity": 49500.0,
            "daily_floor": 49000.0,
            "max_loss_floor": 48000.0,
            "trading_days": 1,
            "open_positions": 0,
        }

    def test_pauses_again_on_a_later_day(self, feed, replay):
        self._feed(feed)  # resumed; B = 49,500 on the new day (day-start balance 50,000)
        feed.quote("2026-04-07T14:59:00Z", 2000.0)
        feed.buy("2026-04-07T15:00:00Z", 2, 1, 2000.0)
        feed.quote("2026-04-07T15:30:00Z", 1995.01)  # −499: E = 49,001
        feed.quote("2026-04-07T15:45:00Z", 1995.0)  # −500: E = 49,000 = 50,000 − 1,000
        result = replay(TOPSTEP_PAUSE, feed)
        assert_clean(result)
        assert [line["type"] for line in result.event_lines()] == ["breach", "resumed", "breach"]
        assert result.brief("breach", *BREACH)[1] == {
            "account": "A1",
            "rule": "daily_loss",
            "ts": "2026-04-07T15:45:00Z",
            "equity": 49000.0,
            "floor": 49000.0,
            "action": "pause",
        }
        assert state_of(result)["status"] == "paused"


def one_day_with_profit_and_open_position(feed, floating: float) -> int:
    """Monday: +2,000 closed (B = 102,000), one lot long floating ``floating`` at the
    Prague rollover. Returns the mark before the rollover."""
    feed.symbol().account("2026-03-02T08:00:00Z", "variant")
    feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 2000.0)
    feed.buy("2026-03-02T11:00:00Z", 2, 1, 2000.0)
    feed.quote("2026-03-02T20:00:00Z", 2000.0 + floating / 100)
    before = feed.mark()
    feed.clock("2026-03-02T23:00:01Z")  # Tuesday 00:00:01 Prague
    return before


class TestDailyLossVariants:
    """ "All are configuration, not code": the other firms' daily-loss bases."""

    @pytest.mark.parametrize(
        ("reference", "floating", "expected_floor"),
        [
            ("day_start_balance", 3000.0, 97000.0),
            ("day_start_balance", -3000.0, 97000.0),
            ("day_start_equity", 3000.0, 100000.0),
            ("day_start_equity", -3000.0, 94000.0),
            ("day_start_max", 3000.0, 100000.0),
            ("day_start_max", -3000.0, 97000.0),
            ("initial_balance", 3000.0, 95000.0),
            ("initial_balance", -3000.0, 95000.0),
        ],
    )
    def test_reference_at_the_day_start(self, feed, replay, reference, floating, expected_floor):
        program = prague("variant", {"daily_loss": {"limit": 0.05, "reference": reference}})
        before = one_day_with_profit_and_open_position(feed, floating)

        first_day = replay(program, feed.upto(before))
        # On the account's first day the day-start values are the opening values.
        assert state_of(first_day)["daily_floor"] == 95000.0

        result = replay(program, feed)
        assert_clean(result)
        assert result.breaches() == []
        assert state_of(result) == {
            "status": "active",
            "balance": 102000.0,
            "equity": 102000.0 + floating,
            "daily_floor": expected_floor,
            "max_loss_floor": None,
            "trading_days": 1,
            "open_positions": 1,
        }

    def test_day_start_max_floor_is_enforced(self, feed, replay):
        program = prague("variant", {"daily_loss": {"limit": 0.05, "reference": "day_start_max"}})
        feed.symbol().account("2026-03-02T08:00:00Z", "variant")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T20:00:00Z", 2030.0)  # E = 103,000 > B at the rollover
        feed.clock("2026-03-02T23:00:01Z")  # floor 103,000 − 5,000 = 98,000
        feed.quote("2026-03-03T09:00:00Z", 1980.0001)  # E = 98,000.01
        feed.quote("2026-03-03T09:30:00Z", 1980.0)  # E = 98,000.00
        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-03T09:30:00Z",
                "equity": 98000.0,
                "floor": 98000.0,
                "action": "fail",
            }
        ]

    def test_intraday_peak_to_trough_amount(self, feed, replay):
        program = prague(
            "variant", {"daily_loss": {"amount": 3000, "reference": "intraday_peak_equity"}}
        )
        feed.symbol().account("2026-03-02T08:00:00Z", "variant")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        opened = feed.mark()
        feed.quote("2026-03-02T10:00:00Z", 2020.0)  # peak 102,000 → floor 99,000
        feed.quote("2026-03-02T11:00:00Z", 2005.0)  # E = 100,500; the peak stays
        retraced = feed.mark()
        feed.quote("2026-03-02T12:00:00Z", 1990.0001)  # E = 99,000.01
        feed.quote("2026-03-02T12:30:00Z", 1990.0)  # E = 99,000.00

        assert state_of(replay(program, feed.upto(opened)))["daily_floor"] == 97000.0
        mid = replay(program, feed.upto(retraced))
        assert mid.breaches() == []
        assert state_of(mid)["daily_floor"] == 99000.0
        assert state_of(mid)["equity"] == 100500.0

        result = replay(program, feed)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-02T12:30:00Z",
                "equity": 99000.0,
                "floor": 99000.0,
                "action": "fail",
            }
        ]

    def test_intraday_peak_restarts_from_the_day_start_equity(self, feed, replay):
        program = prague(
            "variant", {"daily_loss": {"amount": 3000, "reference": "intraday_peak_equity"}}
        )
        feed.symbol().account("2026-03-02T08:00:00Z", "variant")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T10:00:00Z", 2020.0)  # Monday's peak 102,000
        feed.quote("2026-03-02T20:00:00Z", 2005.0)  # E = 100,500 at the rollover
        monday = feed.mark()
        feed.clock("2026-03-02T23:00:01Z")
        assert state_of(replay(program, feed.upto(monday)))["daily_floor"] == 99000.0
        result = replay(program, feed)
        assert_clean(result)
        assert result.breaches() == []
        assert state_of(result)["daily_floor"] == 97500.0

    @pytest.mark.parametrize(
        ("of", "expected_floor"),
        [("reference", 104500.0), ("initial_balance", 105000.0), (None, 105000.0)],
    )
    def test_percentage_of_the_day_start_value_itself(self, feed, replay, of, expected_floor):
        rule = {"limit": 0.05, "reference": "day_start_balance"}
        if of is not None:
            rule["of"] = of
        program = prague("variant", {"daily_loss": rule})
        feed.symbol().account("2026-03-02T08:00:00Z", "variant")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 10000.0)
        monday = feed.mark()
        feed.clock("2026-03-02T23:00:01Z")
        assert state_of(replay(program, feed.upto(monday)))["daily_floor"] == 95000.0
        result = replay(program, feed)
        assert_clean(result)
        assert state_of(result)["daily_floor"] == expected_floor

    def test_fixed_amount(self, feed, replay):
        program = prague(
            "variant", {"daily_loss": {"amount": 3000, "reference": "day_start_balance"}}
        )
        feed.symbol().account("2026-03-02T08:00:00Z", "variant")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 10000.0)
        monday = feed.mark()
        feed.clock("2026-03-02T23:00:01Z")
        assert state_of(replay(program, feed.upto(monday)))["daily_floor"] == 97000.0
        assert state_of(replay(program, feed))["daily_floor"] == 107000.0

    def test_rollover_at_00_30_utc(self, feed, replay):
        program = with_day(
            "variant",
            {"daily_loss": {"limit": 0.05, "reference": "day_start_balance"}},
            "UTC",
            "00:30",
        )
        feed.symbol().account("2026-03-02T01:00:00Z", "variant")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 4000.0)  # B = 104,000
        feed.buy("2026-03-02T11:00:00Z", 2, 1, 2000.0)
        feed.quote("2026-03-02T12:00:00Z", 1945.0)  # −5,500: E = 98,500 > 95,000
        feed.clock("2026-03-03T00:00:30Z")  # past midnight, still Monday's trading day
        feed.clock("2026-03-03T00:29:59Z")
        before = feed.mark()
        feed.clock("2026-03-03T00:30:00Z")  # the day starts at 00:30: floor 99,000
        feed.clock("2026-03-03T01:00:00Z")

        still_monday = replay(program, feed.upto(before))
        assert still_monday.breaches() == []
        assert state_of(still_monday)["daily_floor"] == 95000.0

        result = replay(program, feed)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "daily_loss",
                "ts": "2026-03-03T00:30:00Z",
                "equity": 98500.0,
                "floor": 99000.0,
                "action": "fail",
            }
        ]


# ------------------------------------------------------------------------- max loss


class TestMaxLoss:
    def test_ftmo_static_10_percent(self, feed, replay):
        program = prague("ftmo-static", {"max_loss": FTMO_MAX})
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-static")
        feed.sell("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.close_short("2026-03-02T10:00:00Z", 1, 1, 2080.0, profit=-8000.0)  # B = 92,000
        feed.sell("2026-03-02T11:00:00Z", 2, 1, 2000.0)
        # a short floats on the ask: (2000 - 2019.9999) × 100 = −1,999.99
        feed.quote("2026-03-02T11:30:00Z", 2019.7, 2019.9999)
        above = feed.mark()
        feed.quote("2026-03-02T12:00:00Z", 2019.7, 2020.01)  # −2,001: E = 89,999
        failed = feed.mark()
        feed.close_short("2026-03-02T13:00:00Z", 2, 1, 2020.01, profit=-2001.0)
        feed.quote("2026-03-02T14:00:00Z", 1900.0, 1900.3)

        before = replay(program, feed.upto(above))
        assert_clean(before)
        assert before.breaches() == []
        assert state_of(before) == {
            "status": "active",
            "balance": 92000.0,
            "equity": 90000.01,
            "daily_floor": None,
            "max_loss_floor": 90000.0,
            "trading_days": 1,
            "open_positions": 1,
        }

        at_breach = replay(program, feed.upto(failed))
        expected = [
            {
                "account": "A1",
                "rule": "max_loss",
                "ts": "2026-03-02T12:00:00Z",
                "equity": 89999.0,
                "floor": 90000.0,
                "action": "fail",
            }
        ]
        assert at_breach.brief("breach", *BREACH) == expected

        # A failed account stays failed; later events for it change nothing.
        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == expected
        state = state_of(result)
        assert state["status"] == "failed"
        assert state["balance"] == 92000.0
        assert state["open_positions"] == 1

    def test_ftmo_1step_end_of_day_trailing(self, feed, replay):
        program = prague(
            "ftmo-1step", {"max_loss": {"limit": 0.10, "mode": "trailing_eod_balance"}}
        )
        feed.symbol().account("2026-03-02T07:00:00Z", "ftmo-1step")
        # Monday: +4,000 closed, and a position floating +10,000.
        feed.round_trip("2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z", 1, 4000.0)
        feed.buy("2026-03-02T10:00:00Z", 2, 1, 2040.0)
        feed.quote("2026-03-02T11:00:00Z", 2140.0)  # E = 114,000
        monday = feed.mark()
        feed.clock("2026-03-02T23:00:01Z")  # rollover at B = 104,000 → 94,000
        tuesday_start = feed.mark()
        # Tuesday: balance up to 108,000 intraday, then down to 103,000.
        feed.quote("2026-03-03T08:00:00Z", 2040.0)
        feed.close_long("2026-03-03T09:00:00Z", 2, 1, 2080.0, profit=4000.0)
        feed.quote("2026-03-03T09:30:00Z", 2080.0)
        feed.buy("2026-03-03T10:00:00Z", 3, 1, 2080.0)
        feed.close_long("2026-03-03T11:00:00Z", 3, 1, 2030.0, profit=-5000.0)
        tuesday = feed.mark()
        feed.clock("2026-03-03T23:00:01Z")  # rollover at B = 103,000: stays 94,000
        wednesday_start = feed.mark()
        feed.quote("2026-03-04T08:00:00Z", 2000.0)
        feed.buy("2026-03-04T08:01:00Z", 4, 1, 2000.0)
        feed.quote("2026-03-04T09:00:00Z", 1910.0001)  # E = 94,000.01
        feed.quote("2026-03-04T10:00:00Z", 1910.0)  # E = 94,000.00

        floors = {
            "monday": (monday, 90000.0, 104000.0),
            "tuesday start": (tuesday_start, 94000.0, 104000.0),
            "tuesday": (tuesday, 94000.0, 103000.0),
            "wednesday start": (wednesday_start, 94000.0, 103000.0),
        }
        for name, (mark, floor, balance) in floors.items():
            partial = replay(program, feed.upto(mark))
            assert partial.breaches() == [], name
            assert (state_of(partial)["max_loss_floor"], state_of(partial)["balance"]) == (
                floor,
                balance,
            ), name

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "max_loss",
                "ts": "2026-03-04T10:00:00Z",
                "equity": 94000.0,
                "floor": 94000.0,
                "action": "fail",
            }
        ]

    def test_fxify_trailing_equity_6_percent_locks_at_initial(self, feed, replay):
        program = {
            "id": "fxify-1phase-trailing",
            "currency": "USD",
            "initial_balance": 100000,
            "rules": {"max_loss": {"limit": 0.06, "mode": "trailing_equity", "lock_at": 0}},
        }
        feed.symbol().account("2026-03-02T08:00:00Z", "fxify-1phase-trailing")
        feed.buy("2026-03-02T08:05:00Z", 1, 1, 2000.0)
        steps = []
        for ts, bid, floor in [
            ("2026-03-02T08:06:00Z", 2000.0, 94000.0),  # no high-water mark yet
            ("2026-03-02T09:00:00Z", 2050.0, 99000.0),  # mark 105,000
            ("2026-03-02T10:00:00Z", 2020.0, 99000.0),  # floors never fall
            ("2026-03-02T11:00:00Z", 2060.0, 100000.0),  # mark 106,000: locked
            ("2026-03-02T12:00:00Z", 2100.0, 100000.0),  # mark 110,000: still locked
            ("2026-03-02T13:00:00Z", 2000.0001, 100000.0),  # E = 100,000.01
        ]:
            feed.quote(ts, bid)
            steps.append((feed.mark(), floor))
        feed.quote("2026-03-02T14:00:00Z", 2000.0)  # E = 100,000.00

        for mark, floor in steps:
            partial = replay(program, feed.upto(mark))
            assert partial.breaches() == [], mark
            assert state_of(partial)["max_loss_floor"] == floor, mark

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "max_loss",
                "ts": "2026-03-02T14:00:00Z",
                "equity": 100000.0,
                "floor": 100000.0,
                "action": "fail",
            }
        ]

    def test_topstep_2000_end_of_day_trailing_locks_at_start_balance(self, feed, replay):
        program = with_day(
            "topstep-50k-eod",
            {"max_loss": {"amount": 2000, "mode": "trailing_eod_balance", "lock_at": 0}},
            "America/Chicago",
            "17:00",
            initial_balance=50000,
        )
        feed.symbol().account("2026-04-06T13:00:00Z", "topstep-50k-eod")
        expected = []
        # (day, closed profit, floor after the day's close at 17:00 Chicago = 22:00Z)
        for position, (day, profit, floor_after) in enumerate(
            [
                ("2026-04-06", 500.0, 48500.0),  # EOD 50,500
                ("2026-04-07", -500.0, 48500.0),  # EOD 50,000: does not fall
                ("2026-04-08", 2500.0, 50000.0),  # EOD 52,500: locked at 50,000
                ("2026-04-09", 2500.0, 50000.0),  # EOD 55,000: frozen
            ],
            start=1,
        ):
            feed.round_trip(f"{day}T14:00:00Z", f"{day}T15:00:00Z", position, profit)
            intraday = feed.mark()
            feed.clock(f"{day}T22:00:01Z")
            expected.append((intraday, feed.mark(), floor_after))
        feed.buy("2026-04-10T14:00:00Z", 9, 1, 2000.0)
        feed.quote("2026-04-10T14:30:00Z", 1950.0001)  # E = 50,000.01
        feed.quote("2026-04-10T15:00:00Z", 1950.0)  # E = 50,000.00

        floor_before = 48000.0
        for intraday, after_close, floor_after in expected:
            assert state_of(replay(program, feed.upto(intraday)))["max_loss_floor"] == floor_before
            assert (
                state_of(replay(program, feed.upto(after_close)))["max_loss_floor"] == floor_after
            )
            floor_before = floor_after

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "max_loss",
                "ts": "2026-04-10T15:00:00Z",
                "equity": 50000.0,
                "floor": 50000.0,
                "action": "fail",
            }
        ]

    def test_trailing_balance_follows_closed_balance_only(self, feed, replay):
        program = prague("trail-bal", {"max_loss": {"limit": 0.05, "mode": "trailing_balance"}})
        feed.symbol().account("2026-03-02T08:00:00Z", "trail-bal")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T09:30:00Z", 2100.0)  # floating +10,000: no move
        floating = feed.mark()
        feed.close_long("2026-03-02T10:00:00Z", 1, 1, 2040.0, profit=4000.0)  # B = 104,000
        feed.round_trip("2026-03-02T11:00:00Z", "2026-03-02T12:00:00Z", 2, -3000.0)  # B = 101,000
        assert state_of(replay(program, feed.upto(floating)))["max_loss_floor"] == 95000.0
        result = replay(program, feed)
        assert_clean(result)
        assert (state_of(result)["max_loss_floor"], state_of(result)["balance"]) == (
            99000.0,
            101000.0,
        )

    def test_loss_as_a_fraction_of_the_high_water_mark(self, feed, replay):
        rule = {"limit": 0.05, "mode": "trailing_equity", "of": "high_water_mark"}
        program = prague("trail-hwm", {"max_loss": rule})
        feed.symbol().account("2026-03-02T08:00:00Z", "trail-hwm")
        opened = feed.mark()
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.quote("2026-03-02T09:30:00Z", 2100.0)  # mark 110,000: 110,000 − 5,500
        feed.quote("2026-03-02T10:00:00Z", 2050.0)
        assert state_of(replay(program, feed.upto(opened)))["max_loss_floor"] == 95000.0
        result = replay(program, feed)
        assert_clean(result)
        assert state_of(result)["max_loss_floor"] == 104500.0
        assert result.breaches() == []

    def test_fxify_static_10_percent_on_1000(self, feed, replay):
        program = prague("fxify-2phase-1k", {"max_loss": {"limit": 0.10, "mode": "static"}}, 1000)
        feed.symbol().account("2026-03-02T08:00:00Z", "fxify-2phase-1k")
        opened = feed.mark()
        feed.buy("2026-03-02T09:00:00Z", 1, 0.01, 2000.0)
        feed.close_long("2026-03-02T09:30:00Z", 1, 0.01, 1900.01, profit=-99.99)  # B = 900.01
        above = feed.mark()
        feed.buy("2026-03-02T10:00:00Z", 2, 0.01, 2000.0)
        feed.close_long("2026-03-02T10:30:00Z", 2, 0.01, 1999.99, profit=-0.01)  # B = 900.00

        start = replay(program, feed.upto(opened))
        assert state_of(start)["balance"] == 1000.0
        assert state_of(start)["max_loss_floor"] == 900.0
        one_cent_above = replay(program, feed.upto(above))
        assert one_cent_above.breaches() == []
        assert state_of(one_cent_above)["equity"] == 900.01

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", *BREACH) == [
            {
                "account": "A1",
                "rule": "max_loss",
                "ts": "2026-03-02T10:30:00Z",
                "equity": 900.0,
                "floor": 900.0,
                "action": "fail",
            }
        ]


# ----------------------------------------------------------------------- objectives


class TestProfitTarget:
    def test_met_on_closed_balance_with_no_open_position(self, feed, replay):
        program = prague("ftmo-p1", {"profit_target": {"target": 0.10}})
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-p1")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
        feed.buy("2026-03-02T09:01:00Z", 2, 1, 2000.0)
        feed.quote("2026-03-02T10:00:00Z", 2100.0)  # E = 120,000, B = 100,000
        floating_only = feed.mark()
        feed.close_long("2026-03-02T11:00:00Z", 1, 1, 2105.0, profit=10500.0)  # B = 110,500
        one_still_open = feed.mark()
        feed.close_long("2026-03-02T12:00:00Z", 2, 1, 1995.0, profit=-500.0)  # B = 110,000

        for mark in (floating_only, one_still_open):
            partial = replay(program, feed.upto(mark))
            assert partial.of_type("objective", "passed") == [], mark
            assert state_of(partial)["status"] == "active"
        assert state_of(replay(program, feed.upto(one_still_open)))["balance"] == 110500.0

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("objective", "account", "objective", "ts") == [
            {"account": "A1", "objective": "profit_target", "ts": "2026-03-02T12:00:00Z"}
        ]
        assert result.brief("passed", "account", "ts") == [
            {"account": "A1", "ts": "2026-03-02T12:00:00Z"}
        ]
        types = [line["type"] for line in result.event_lines()]
        assert types.index("objective") < types.index("passed")
        state = state_of(result)
        assert (state["status"], state["balance"], state["open_positions"]) == (
            "passed",
            110000.0,
            0,
        )


class TestMinTradingDays:
    def test_prague_days_with_a_position_opened_held_positions_count_once(self, feed, replay):
        program = prague("ftmo-days", {"min_trading_days": {"days": 4, "count": "position_opened"}})
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-days")
        feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)  # Monday; held to the end
        feed.buy("2026-03-02T10:00:00Z", 2, 1, 2000.0)  # Monday again
        feed.close_long("2026-03-02T11:00:00Z", 2, 1, 2000.0, profit=0.0)
        monday = feed.mark()
        feed.buy("2026-03-02T23:30:00Z", 3, 1, 2000.0)  # Tuesday 00:30 in Prague
        tuesday = feed.mark()
        feed.quote("2026-03-04T10:00:00Z", 2001.0)
        feed.close_long("2026-03-04T11:00:00Z", 3, 1, 2001.0, profit=100.0)  # a close is no new day
        wednesday = feed.mark()
        feed.buy("2026-03-05T09:00:00Z", 4, 1, 2001.0)
        thursday = feed.mark()
        feed.buy("2026-03-06T09:00:00Z", 5, 1, 2001.0)

        for mark, days in [(monday, 1), (tuesday, 2), (wednesday, 2), (thursday, 3)]:
            partial = replay(program, feed.upto(mark))
            assert state_of(partial)["trading_days"] == days, mark
            assert partial.of_type("objective") == [], mark

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("objective", "account", "objective", "ts") == [
            {"account": "A1", "objective": "min_trading_days", "ts": "2026-03-06T09:00:00Z"}
        ]
        # A program with no profit_target never passes.
        assert result.of_type("passed") == []
        state = state_of(result)
        assert (state["status"], state["trading_days"], state["open_positions"]) == ("active", 4, 3)

    def test_profitable_days(self, feed, replay):
        program = prague(
            "profitable-days",
            {"min_trading_days": {"days": 2, "count": "profitable_day", "min_day_profit": 0.005}},
        )
        feed.symbol().account("2026-03-02T08:00:00Z", "profitable-days")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 600.0)  # counts
        feed.round_trip("2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z", 2, 400.0)  # < 500
        feed.round_trip("2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z", 3, 250.0)
        first_half = feed.mark()
        feed.round_trip("2026-03-04T11:00:00Z", "2026-03-04T12:00:00Z", 4, 250.0)  # day: 500

        partial = replay(program, feed.upto(first_half))
        assert state_of(partial)["trading_days"] == 1
        result = replay(program, feed)
        assert_clean(result)
        assert state_of(result)["trading_days"] == 2
        assert result.brief("objective", "objective", "ts") == [
            {"objective": "min_trading_days", "ts": "2026-03-04T12:00:00Z"}
        ]


def best_day_feed(feed, program_id: str) -> int:
    """+5,000 on Monday, +2,500 on Tuesday, +2,500 on Wednesday. Returns the mark
    after Tuesday (best day 5,000 of 7,500)."""
    feed.symbol().account("2026-03-02T08:00:00Z", program_id)
    feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 5000.0)
    feed.round_trip("2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z", 2, 2500.0)
    tuesday = feed.mark()
    feed.round_trip("2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z", 3, 2500.0)
    return tuesday


class TestConsistency:
    def test_ftmo_1step_best_day_rule_boundary_passes(self, feed, replay):
        program = prague(
            "ftmo-1step",
            {"profit_target": {"target": 0.10}, "consistency": {"max_best_day_share": 0.5}},
        )
        tuesday = best_day_feed(feed, "ftmo-1step")

        monday_only = replay(program, feed.upto(tuesday - 2))  # +5,000 of +5,000
        assert monday_only.breaches() == []
        assert monday_only.of_type("objective", "passed") == []
        assert state_of(monday_only)["status"] == "active"
        assert state_of(monday_only)["balance"] == 105000.0

        two_days = replay(program, feed.upto(tuesday))  # 5,000 of 7,500
        assert two_days.breaches() == []
        assert two_days.of_type("objective", "passed") == []

        result = replay(program, feed)  # 5,000 of 10,000 = 50 %: met
        assert_clean(result)
        assert result.breaches() == []
        objectives = result.brief("objective", "objective", "ts")
        assert sorted(objectives, key=lambda line: line["objective"]) == [
            {"objective": "consistency", "ts": "2026-03-04T10:00:00Z"},
            {"objective": "profit_target", "ts": "2026-03-04T10:00:00Z"},
        ]
        assert result.brief("passed", "account", "ts") == [
            {"account": "A1", "ts": "2026-03-04T10:00:00Z"}
        ]
        assert state_of(result)["status"] == "passed"

    @pytest.mark.parametrize("on_violation", ["extend", None])
    def test_extend_is_not_a_fail(self, feed, replay, on_violation):
        rule = {"max_best_day_share": 0.5}
        if on_violation is not None:
            rule["on_violation"] = on_violation
        program = prague("consistency", {"profit_target": {"target": 0.05}, "consistency": rule})
        feed.symbol().account("2026-03-02T08:00:00Z", "consistency")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 5000.0)
        result = replay(program, feed)
        assert_clean(result)
        assert result.breaches() == []
        assert result.of_type("passed") == []
        assert state_of(result)["status"] == "active"

    def test_fail_variant_fails_when_everything_else_holds(self, feed, replay):
        program = prague(
            "consistency-fail",
            {
                "profit_target": {"target": 0.05},
                "consistency": {"max_best_day_share": 0.5, "on_violation": "fail"},
            },
        )
        feed.symbol().account("2026-03-02T08:00:00Z", "consistency-fail")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 5000.0)  # target met
        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", "account", "rule", "ts", "action") == [
            {"account": "A1", "rule": "consistency", "ts": "2026-03-02T10:00:00Z", "action": "fail"}
        ]
        assert result.of_type("passed") == []
        assert state_of(result)["status"] == "failed"

    def test_fail_variant_waits_while_another_objective_is_unmet(self, feed, replay):
        program = prague(
            "consistency-fail",
            {
                "profit_target": {"target": 0.10},
                "consistency": {"max_best_day_share": 0.5, "on_violation": "fail"},
            },
        )
        feed.symbol().account("2026-03-02T08:00:00Z", "consistency-fail")
        feed.round_trip(
            "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 5000.0
        )  # 105,000 < 110,000
        result = replay(program, feed)
        assert_clean(result)
        assert result.breaches() == []
        assert state_of(result)["status"] == "active"


class TestPassing:
    def test_passes_once_when_every_objective_holds_at_once(self, feed, replay):
        program = prague(
            "ftmo-p1",
            {
                "profit_target": {"target": 0.10},
                "min_trading_days": {"days": 4, "count": "position_opened"},
            },
        )
        feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-p1")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 3000.0)
        feed.round_trip("2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z", 2, 3000.0)
        feed.round_trip("2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z", 3, 4000.0)  # B = 110,000
        target_on_day_three = feed.mark()
        feed.buy("2026-03-05T09:00:00Z", 4, 1, 2000.0)  # 4th day, but a position is open
        fourth_day_open = feed.mark()
        feed.close_long("2026-03-05T10:00:00Z", 4, 1, 2000.0, profit=0.0)  # all objectives hold
        feed.clock("2026-03-06T10:00:00Z")

        day_three = replay(program, feed.upto(target_on_day_three))
        assert day_three.brief("objective", "objective", "ts") == [
            {"objective": "profit_target", "ts": "2026-03-04T10:00:00Z"}
        ]
        assert day_three.of_type("passed") == []
        assert state_of(day_three)["status"] == "active"

        open_position = replay(program, feed.upto(fourth_day_open))
        assert open_position.of_type("passed") == []
        assert state_of(open_position)["status"] == "active"
        assert state_of(open_position)["trading_days"] == 4

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("passed", "account", "ts") == [
            {"account": "A1", "ts": "2026-03-05T10:00:00Z"}
        ]
        objectives = result.brief("objective", "objective", "ts")
        assert objectives[0] == {"objective": "profit_target", "ts": "2026-03-04T10:00:00Z"}
        assert [line for line in objectives if line["objective"] == "min_trading_days"] == [
            {"objective": "min_trading_days", "ts": "2026-03-05T09:00:00Z"}
        ]
        assert result.event_lines()[-1]["type"] == "passed"
        state = state_of(result)
        assert (state["status"], state["balance"], state["trading_days"]) == ("passed", 110000.0, 4)

    def test_program_without_profit_target_never_passes(self, feed, replay):
        program = prague("no-target", {"min_trading_days": {"days": 1}})
        feed.symbol().account("2026-03-02T08:00:00Z", "no-target")
        feed.round_trip("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", 1, 20000.0)
        feed.clock("2026-03-03T10:00:00Z")
        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("objective", "objective", "ts") == [
            {"objective": "min_trading_days", "ts": "2026-03-02T09:00:00Z"}
        ]
        assert result.of_type("passed") == []
        assert state_of(result)["status"] == "active"
        assert state_of(result)["balance"] == 120000.0


class TestMaxExposure:
    def _feed(self, feed, program_id: str):
        feed.symbol().account("2026-03-02T08:00:00Z", program_id)
        feed.buy("2026-03-02T09:00:00Z", 1, 30, 2000.0)
        feed.sell("2026-03-02T09:01:00Z", 2, 10, 2000.0)  # 40 lots: at the limit
        at_limit = feed.mark()
        feed.buy("2026-03-02T09:02:00Z", 1, 0.01, 2000.0)  # 40.01 lots
        feed.close_long("2026-03-02T09:03:00Z", 1, 30.01, 2000.0, profit=0.0)
        return at_limit

    def test_fail(self, feed, replay):
        program = prague("exposure", {"max_exposure": {"lots": 40, "action": "fail"}})
        at_limit = self._feed(feed, "exposure")
        assert replay(program, feed.upto(at_limit)).breaches() == []

        result = replay(program, feed)
        assert_clean(result)
        breaches = result.breaches()
        assert [(b["rule"], b["ts"], b["action"]) for b in breaches] == [
            ("max_exposure", "2026-03-02T09:02:00Z", "fail")
        ]
        assert breaches[0]["lots"] == pytest.approx(40.01, abs=1e-9)
        assert breaches[0]["max_lots"] == 40
        state = state_of(result)
        assert (state["status"], state["open_positions"]) == ("failed", 2)

    def test_warn(self, feed, replay):
        program = prague("exposure", {"max_exposure": {"lots": 40, "action": "warn"}})
        self._feed(feed, "exposure")
        result = replay(program, feed)
        assert_clean(result)
        breaches = result.breaches()
        assert [(b["rule"], b["ts"], b["action"]) for b in breaches] == [
            ("max_exposure", "2026-03-02T09:02:00Z", "warn")
        ]
        assert breaches[0]["lots"] == pytest.approx(40.01, abs=1e-9)
        state = state_of(result)
        assert (state["status"], state["open_positions"]) == ("active", 1)


class TestInactivity:
    def test_counted_from_the_last_opened_position(self, feed, replay):
        program = {
            "id": "inactive",
            "currency": "USD",
            "initial_balance": 100000,
            "rules": {"inactivity": {"days": 30}},
        }
        feed.symbol().account("2026-03-01T00:00:00Z", "inactive")
        feed.buy("2026-03-05T12:00:00Z", 1, 1, 2000.0)
        feed.close_long(
            "2026-03-10T12:00:00Z", 1, 1, 2010.0, profit=1000.0
        )  # a close is no activity
        feed.clock("2026-04-04T11:59:00Z")  # 29 days 23 h 59 min after the open
        alive = feed.mark()
        feed.clock("2026-04-04T12:01:00Z")
        feed.clock("2026-04-05T12:00:00Z")

        before = replay(program, feed.upto(alive))
        assert before.breaches() == []
        assert state_of(before)["status"] == "active"

        result = replay(program, feed)
        assert_clean(result)
        assert result.brief("breach", "account", "rule", "ts", "action") == [
            {"account": "A1", "rule": "inactivity", "ts": "2026-04-04T12:01:00Z", "action": "fail"}
        ]
        assert state_of(result)["status"] == "failed"
        assert state_of(result)["balance"] == 101000.0

    def test_counted_from_the_opening_without_trades(self, feed, replay):
        program = {
            "id": "inactive",
            "currency": "USD",
            "initial_balance": 100000,
            "rules": {"inactivity": {"days": 30}},
        }
        feed.symbol().account("2026-03-01T00:00:00Z", "inactive")
        feed.clock("2026-03-30T23:59:00Z")
        alive = feed.mark()
        feed.clock("2026-03-31T00:01:00Z")
        assert replay(program, feed.upto(alive)).breaches() == []
        result = replay(program, feed)
        assert result.brief("breach", "rule", "ts", "action") == [
            {"rule": "inactivity", "ts": "2026-03-31T00:01:00Z", "action": "fail"}
        ]
