"""Trading-day rollovers across the 2026 DST switches (CONTRACTS.md §2: DST-correct).

Each case is a real local day start and its UTC instant. A day that contains a DST
switch is 23 or 25 hours long, so an engine using a fixed offset rolls one hour early
or late; the feeds put events on both sides of the real instant and of the wrong ones.

Scenario: the account opens 10 h before the boundary (first day: day-start balance =
opening balance 100,000, floor 95,000) and closes +4,000 (B = 104,000), so the next
day's floor is 104,000 − 5,000 = 99,000.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

CASES = [
    # (case id, timezone, starts_at, local day start, its UTC instant)
    (
        "prague-into-spring-forward-day",
        "Europe/Prague",
        "00:00",
        "2026-03-29T00:00",
        "2026-03-28T23:00:00Z",
    ),
    (
        "prague-after-spring-forward-day",
        "Europe/Prague",
        "00:00",
        "2026-03-30T00:00",
        "2026-03-29T22:00:00Z",
    ),
    (
        "prague-into-fall-back-day",
        "Europe/Prague",
        "00:00",
        "2026-10-25T00:00",
        "2026-10-24T22:00:00Z",
    ),
    (
        "prague-after-fall-back-day",
        "Europe/Prague",
        "00:00",
        "2026-10-26T00:00",
        "2026-10-25T23:00:00Z",
    ),
    (
        "new-york-into-spring-forward-day",
        "America/New_York",
        "17:00",
        "2026-03-07T17:00",
        "2026-03-07T22:00:00Z",
    ),
    (
        "new-york-after-spring-forward-day",
        "America/New_York",
        "17:00",
        "2026-03-08T17:00",
        "2026-03-08T21:00:00Z",
    ),
    (
        "new-york-into-fall-back-day",
        "America/New_York",
        "17:00",
        "2026-10-31T17:00",
        "2026-10-31T21:00:00Z",
    ),
    (
        "new-york-after-fall-back-day",
        "America/New_York",
        "17:00",
        "2026-11-01T17:00",
        "2026-11-01T22:00:00Z",
    ),
]
IDS = [case[0] for case in CASES]


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def program(timezone: str, starts_at: str) -> dict:
    return {
        "id": "dst",
        "currency": "USD",
        "initial_balance": 100000,
        "day": {"timezone": timezone, "starts_at": starts_at},
        "rules": {"daily_loss": {"limit": 0.05, "reference": "day_start_balance"}},
    }


def check_case(timezone: str, local: str, boundary: str) -> datetime:
    """The case's UTC instant really is that local wall-clock time (test data check)."""
    instant = parse(boundary)
    assert datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(timezone)) == instant
    return instant


def open_and_profit(feed, boundary: datetime) -> None:
    feed.symbol().account(iso(boundary - timedelta(hours=10)), "dst")
    feed.round_trip(
        iso(boundary - timedelta(hours=9)), iso(boundary - timedelta(hours=8)), 1, 4000.0
    )


@pytest.mark.parametrize(("case", "timezone", "starts_at", "local", "boundary"), CASES, ids=IDS)
def test_day_start_balance_changes_at_the_real_local_boundary(
    feed, replay, case, timezone, starts_at, local, boundary
):
    instant = check_case(timezone, local, boundary)
    open_and_profit(feed, instant)
    marks = {}
    for minutes in (-70, -50, -1, 1, 50, 70):
        feed.clock(iso(instant + timedelta(minutes=minutes)))
        marks[minutes] = feed.mark()

    for minutes, mark in marks.items():
        result = replay(program(timezone, starts_at), feed.upto(mark))
        assert result.code == 0, result.stderr
        state = result.state("A1")
        expected_floor = 95000.0 if minutes < 0 else 99000.0
        assert (state["balance"], state["daily_floor"]) == (104000.0, expected_floor), (
            f"{case}: {minutes:+d} min from {boundary}"
        )


@pytest.mark.parametrize(("case", "timezone", "starts_at", "local", "boundary"), CASES, ids=IDS)
def test_rollover_breach_is_revealed_by_the_first_event_past_the_real_boundary(
    feed, replay, case, timezone, starts_at, local, boundary
):
    instant = check_case(timezone, local, boundary)
    open_and_profit(feed, instant)
    feed.buy(iso(instant - timedelta(hours=7)), 2, 1, 2000.0)
    feed.quote(iso(instant - timedelta(hours=6)), 1945.0)  # −5,500: E = 98,500 > 95,000
    for minutes in (-70, -50, -30, -1, 1, 30, 50, 70):
        feed.clock(iso(instant + timedelta(minutes=minutes)))

    result = replay(program(timezone, starts_at), feed)
    assert result.code == 0, result.stderr
    assert [
        {key: line.get(key) for key in ("rule", "ts", "equity", "floor", "action")}
        for line in result.breaches()
    ] == [
        {
            "rule": "daily_loss",
            "ts": iso(instant + timedelta(minutes=1)),
            "equity": 98500.0,
            "floor": 99000.0,
            "action": "fail",
        }
    ]


def test_a_25_hour_prague_day_has_one_floor_throughout(feed, replay):
    """25 October 2026 in Prague runs from 22:00Z on the 24th to 23:00Z on the 25th."""
    feed.symbol().account("2026-10-24T12:00:00Z", "dst")
    feed.round_trip("2026-10-24T13:00:00Z", "2026-10-24T14:00:00Z", 1, 4000.0)  # B = 104,000
    feed.clock("2026-10-24T22:00:00Z")  # 25 Oct 00:00 CEST: floor 99,000
    feed.round_trip("2026-10-25T09:00:00Z", "2026-10-25T10:00:00Z", 2, 2000.0)  # B = 106,000
    feed.clock("2026-10-25T22:30:00Z")  # 23:30 CET: still the 25th
    still_25th = feed.mark()
    feed.clock("2026-10-25T23:00:00Z")  # 26 Oct 00:00 CET: floor 101,000

    doc = program("Europe/Prague", "00:00")
    assert replay(doc, feed.upto(still_25th)).state("A1")["daily_floor"] == 99000.0
    assert replay(doc, feed).state("A1")["daily_floor"] == 101000.0
