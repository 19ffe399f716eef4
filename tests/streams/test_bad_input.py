"""Bad input never stops the run (CONTRACTS.md §3).

A bad feed line is reported on stderr as ``line N: reason``, skipped, and every other
line is still processed; the exit status is then 1. An invalid program document stops
the run before any event, naming the file and the field (exit 2, INTERFACE.md).
"""

from __future__ import annotations

import json
import re

import pytest

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

GOOD_DEAL = {
    "type": "deal",
    "ts": "2026-03-02T09:30:00Z",
    "account": "A1",
    "deal": 99,
    "position": 7,
    "symbol": "XAUUSD",
    "side": "buy",
    "entry": "in",
    "volume": 1,
    "price": 2000.0,
}


def without(event: dict, field: str) -> dict:
    return {key: value for key, value in event.items() if key != field}


def build(feed, bad_line) -> int:
    """Five good lines around one bad one; returns the bad line's number (1-based).

    Good lines only: B = 101,000 (position 1 closed at +1,000), position 2 open with
    2 lots, no quote (equity = balance).
    """
    feed.symbol()  # line 1
    feed.account("2026-03-02T08:00:00Z", "ftmo-100k")  # line 2
    feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)  # line 3
    feed.add(bad_line)  # line 4
    feed.close_long("2026-03-02T10:00:00Z", 1, 1, 2010.0, profit=1000.0)  # line 5
    feed.buy("2026-03-02T11:00:00Z", 2, 2, 2010.0)  # line 6
    return 4


BAD_LINES = [
    # (case id, the line, words one of which the reason must contain)
    (
        "malformed-json",
        '{"type": "deal", "ts": "2026-03-02T09:30:00Z", "account": ',
        ["json", "malformed", "parse", "truncated", "invalid"],
    ),
    ("not-an-object", "[1, 2, 3]", ["object", "type", "expected", "array"]),
    ("unknown-account", {**GOOD_DEAL, "account": "ZZ-404"}, ["ZZ-404"]),
    ("unknown-symbol", {**GOOD_DEAL, "symbol": "GBPJPY"}, ["GBPJPY"]),
    (
        "unknown-program",
        {
            "type": "account",
            "ts": "2026-03-02T09:30:00Z",
            "account": "A2",
            "program": "no-such-program",
        },
        ["no-such-program"],
    ),
    ("negative-volume", {**GOOD_DEAL, "volume": -1}, ["volume"]),
    ("zero-volume", {**GOOD_DEAL, "volume": 0}, ["volume"]),
    (
        "closes-more-than-open",
        {**GOOD_DEAL, "position": 1, "side": "sell", "entry": "out", "volume": 2},
        ["volume", "exceed", "more than", "open"],
    ),
    (
        "closes-unknown-position",
        {**GOOD_DEAL, "position": 4040, "side": "sell", "entry": "out"},
        ["4040"],
    ),
    ("deal-missing-price", without(GOOD_DEAL, "price"), ["price"]),
    ("deal-missing-account", without(GOOD_DEAL, "account"), ["account"]),
    (
        "quote-missing-ask",
        {"type": "quote", "ts": "2026-03-02T09:30:00Z", "symbol": "XAUUSD", "bid": 2000.0},
        ["ask"],
    ),
    (
        "account-missing-program",
        {"type": "account", "ts": "2026-03-02T09:30:00Z", "account": "A2"},
        ["program"],
    ),
    ("bad-side", {**GOOD_DEAL, "side": "long"}, ["side"]),
    (
        "bad-timestamp-date",
        {**GOOD_DEAL, "ts": "2026-02-30T09:30:00Z"},
        ["ts", "timestamp", "datetime"],
    ),
    ("bad-timestamp-text", {**GOOD_DEAL, "ts": "yesterday"}, ["ts", "timestamp", "datetime"]),
    (
        "timestamp-without-offset",
        {**GOOD_DEAL, "ts": "2026-03-02T09:30:00"},
        ["ts", "timestamp", "datetime"],
    ),
    (
        "quote-unknown-symbol",
        {"type": "quote", "ts": "2026-03-02T09:30:00Z", "symbol": "BTCUSD", "bid": 1.0, "ask": 1.1},
        ["BTCUSD"],
    ),
    (
        "swap-unknown-position",
        {
            "type": "swap",
            "ts": "2026-03-02T09:30:00Z",
            "account": "A1",
            "position": 5150,
            "amount": -3.0,
        },
        ["5150"],
    ),
    (
        "balance-bad-kind",
        {
            "type": "balance",
            "ts": "2026-03-02T09:30:00Z",
            "account": "A1",
            "amount": 10.0,
            "kind": "gift",
        },
        ["kind"],
    ),
    ("volume-not-a-number", {**GOOD_DEAL, "volume": "one"}, ["volume"]),
    (
        "currency-with-a-newline",  # Python's "$" matches before a final "\n"
        {"type": "account", "ts": "2026-03-02T09:30:00Z", "account": "A2",
         "program": "ftmo-100k", "currency": "USD\n"},
        ["currency"],
    ),
]


@pytest.mark.parametrize(
    ("case", "bad_line", "words"), BAD_LINES, ids=[case[0] for case in BAD_LINES]
)
def test_bad_line_is_reported_skipped_and_the_rest_processed(feed, replay, case, bad_line, words):
    number = build(feed, bad_line)
    result = replay(PROGRAM, feed)

    assert result.code == 1
    assert len(result.stderr) == 1, result.stderr
    message = result.stderr[0]
    assert message.startswith(f"line {number}: "), message
    reason = message[len(f"line {number}: ") :]
    assert any(word.lower() in reason.lower() for word in words), (
        f"{case}: {message!r} names none of {words}"
    )

    # Every good line was processed, the bad one changed nothing.
    assert [line["account"] for line in result.of_type("state")] == ["A1"]
    state = result.state("A1")
    assert {
        key: state[key] for key in ("status", "balance", "equity", "open_positions", "trading_days")
    } == {
        "status": "active",
        "balance": 101000.0,
        "equity": 101000.0,
        "open_positions": 1,
        "trading_days": 1,
    }
    assert result.breaches() == []


def test_every_bad_line_is_numbered_and_processing_goes_on(feed, replay):
    feed.symbol()  # 1
    feed.raw("not json at all")  # 2
    feed.account("2026-03-02T08:00:00Z", "ftmo-100k")  # 3
    feed.account("2026-03-02T08:00:00Z", "ghost-program", account="A2")  # 4
    feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0, account="A2")  # 5: A2 was never opened
    feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)  # 6
    feed.buy("2026-03-02T09:01:00Z", 2, 1, 2000.0, symbol="NOPE")  # 7
    feed.quote("2026-03-02T09:30:00Z", 1950.0)  # 8: E = 95,000 → breach
    result = replay(PROGRAM, feed)

    assert result.code == 1
    numbers = [int(re.match(r"line (\d+): \S", line).group(1)) for line in result.stderr]
    assert numbers == [2, 4, 5, 7]
    assert "ghost-program" in result.stderr[1]
    assert "A2" in result.stderr[2]
    assert "NOPE" in result.stderr[3]
    assert [(b["rule"], b["ts"], b["equity"]) for b in result.breaches()] == [
        ("daily_loss", "2026-03-02T09:30:00Z", 95000.0)
    ]
    assert [line["account"] for line in result.of_type("state")] == ["A1"]


def test_clean_feed_exits_zero_with_empty_stderr(feed, replay):
    feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
    feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
    result = replay(PROGRAM, feed)
    assert (result.code, result.stderr) == (0, [])
    assert result.state("A1")["open_positions"] == 1


def test_a_failed_account_does_not_make_the_run_fail(feed, replay):
    feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
    feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)
    feed.quote("2026-03-02T09:30:00Z", 1900.0)
    result = replay(PROGRAM, feed)
    assert (result.code, result.stderr) == (0, [])
    assert result.state("A1")["status"] == "failed"


def bad(path: str, value):
    """PROGRAM with ``value`` set at the dotted ``path`` (``None`` deletes it)."""
    document = json.loads(json.dumps(PROGRAM))
    *parents, leaf = path.split(".")
    node = document
    for key in parents:
        node = node[key]
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value
    return document


INVALID_PROGRAMS = [
    # (case id, document, the field path named, other text the message must contain)
    (
        "max-loss-mode-enum",
        bad("rules.max_loss.mode", "trailing"),
        "rules.max_loss.mode",
        "trailing",
    ),
    (
        "negative-daily-limit",
        bad("rules.daily_loss.limit", -0.05),
        "rules.daily_loss.limit",
        "-0.05",
    ),
    (
        "negative-max-loss-amount",
        bad("rules.max_loss", {"amount": -2000, "mode": "static"}),
        "rules.max_loss.amount",
        "-2000",
    ),
    (
        "daily-action-enum",
        bad("rules.daily_loss.action", "stop"),
        "rules.daily_loss.action",
        "stop",
    ),
    (
        "daily-reference-enum",
        bad("rules.daily_loss.reference", "day_start"),
        "rules.daily_loss.reference",
        "day_start",
    ),
    ("unknown-rule", bad("rules.max_daily_trades", {"trades": 5}), "rules.max_daily_trades", ""),
    (
        "unknown-timezone",
        bad("day.timezone", "Mars/Olympus_Mons"),
        "day.timezone",
        "Mars/Olympus_Mons",
    ),
    ("missing-initial-balance", bad("initial_balance", None), "initial_balance", ""),
]


@pytest.mark.parametrize(
    ("case", "document", "field", "detail"), INVALID_PROGRAMS, ids=[c[0] for c in INVALID_PROGRAMS]
)
def test_invalid_program_stops_before_any_event(feed, replay, case, document, field, detail):
    good = {**PROGRAM, "id": "good-one"}
    feed.symbol().account("2026-03-02T08:00:00Z", "good-one")
    feed.account("2026-03-02T08:00:00Z", "ftmo-100k", account="A2")
    result = replay([("good-one.json", good), ("broken-program.json", document)], feed)

    assert result.code == 2
    assert result.lines == []
    assert len(result.stderr) == 1, result.stderr
    message = result.stderr[0]
    # INTERFACE.md: `prog.json: rules.max_loss.mode: 'trailing' is not one of ...`
    assert re.match(rf"^(?:\S*/)?broken-program\.json: {re.escape(field)}: ", message), message
    assert detail in message, f"{case}: {message!r} lacks {detail!r}"
    assert "good-one.json" not in message


def test_program_file_that_is_not_json(feed, replay):
    feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")
    result = replay([("garbled.json", "{ this is not json")], feed)
    assert result.code == 2
    assert result.lines == []
    assert len(result.stderr) == 1, result.stderr
    assert re.match(r"^(?:\S*/)?garbled\.json: ", result.stderr[0]), result.stderr[0]


def test_bad_line_for_a_failed_account_is_still_reported(feed, replay):
    """A failed account ignores later events, but a line naming an unknown symbol is bad
    input whoever it is for: reported, skipped, exit status 1."""
    feed.symbol().account("2026-03-02T08:00:00Z", "ftmo-100k")  # 1, 2
    feed.buy("2026-03-02T09:00:00Z", 1, 1, 2000.0)  # 3
    feed.quote("2026-03-02T09:30:00Z", 1900.0)  # 4: E = 90,000 → failed
    feed.buy("2026-03-02T10:00:00Z", 2, 1, 2000.0, symbol="NOSUCH")  # 5
    result = replay(PROGRAM, feed)
    assert result.state("A1")["status"] == "failed"
    assert result.code == 1
    assert len(result.stderr) == 1, result.stderr
    assert result.stderr[0].startswith("line 5: ") and "NOSUCH" in result.stderr[0]
