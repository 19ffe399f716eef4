"""What-if: a program variant re-run over a cohort's recorded feed, with the engine core.

A firm designing a program asks "what if the daily limit were 4 % instead of 5 %?". The
answer replays what the cohort's accounts really did — their deals, balance operations,
swaps and broker equity, with the market they traded in — through the same engine code
as the live workers, once under the program as recorded and once under the variant, and
lists the accounts whose outcome changes. The events are applied in their recorded feed
order (``seq``), so the baseline gives the answers ``proptrade replay`` gives on the
original feed for those accounts (each account is evaluated on its own events and the
market only).
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from storage.clickhouse import Store
from streams.engine import Engine, FeedError
from streams.events import (
    Account,
    Balance,
    Clock,
    Deal,
    Event,
    ProgramDefinition,
    Quote,
    Symbol,
    from_micros,
    json_decoder,
)
from streams.outputs import Breach, Passed
from streams.program import ProgramError, parse_program

__all__ = ["MAX_EVENTS", "Outcome", "WhatIfError", "merge_variant", "what_if"]

#: A replay held in memory: beyond this many recorded events the question must be
#: narrowed (a shorter period, one program) — about 1 GB of Python objects.
MAX_EVENTS = 5_000_000


class WhatIfError(ValueError):
    """A what-if question that cannot be answered; the message says why."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # failed, passed, active, paused
    rule: str | None  # the rule that failed the account
    ts: str | None  # when it failed or passed

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "rule": self.rule, "ts": self.ts}


def merge_variant(document: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` with ``changes`` merged in, key by key (a nested mapping merges into
    the one it replaces; ``null`` removes a key — e.g. a rule). The id is kept."""
    merged = copy.deepcopy(dict(document))

    def merge(into: dict[str, Any], update: Mapping[str, Any]) -> None:
        for key, value in update.items():
            if value is None:
                into.pop(key, None)
            elif isinstance(value, Mapping) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = copy.deepcopy(value)

    merge(merged, changes)
    merged["id"] = document["id"]
    return merged


def what_if(store: Store, tenant: int, program: str, changes: Mapping[str, Any],
            since: int, until: int) -> dict[str, Any]:
    """Re-run the accounts of ``tenant`` opened under ``program`` in [since, until) under
    the recorded program and under it with ``changes``; which outcomes change."""
    versions = _recorded_versions(store, program)
    variants = [(seq, merge_variant(document, changes)) for seq, document in versions]
    try:
        for _, document in variants:
            parse_program(document)
    except ProgramError as error:
        raise WhatIfError(f"variant: {error}") from None
    feed = _recorded_feed(store, tenant, program, since, until)
    events = len(feed)
    before = _outcomes(versions, feed)
    after = _outcomes(variants, feed)
    changed = [{"account": account, "before": before[account].as_dict(),
                "after": after[account].as_dict()}
               for account in sorted(before) if before[account] != after[account]]
    return {
        "program": program,
        "variant": variants[-1][1],
        "accounts": len(before),
        "events": events,
        "baseline": _summary(before),
        "with_variant": _summary(after),
        "changed": changed,
    }


def _recorded_versions(store: Store, program: str) -> list[tuple[int, dict[str, Any]]]:
    """Every recorded version of the program, in feed order (an account keeps the version
    in force when it opened, so the replay applies each at its place)."""
    rows = store.query("SELECT seq, document FROM programs FINAL WHERE program = {p:String}"
                       " ORDER BY seq", {"p": program}).rows
    if not rows:
        raise WhatIfError(f"program {program!r}: no such program in the history")
    return [(int(seq), msgspec.json.decode(document)) for seq, document in rows]


def _summary(outcomes: Mapping[str, Outcome]) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    by_rule: dict[str, int] = {}
    for outcome in outcomes.values():
        by_status[outcome.status] = by_status.get(outcome.status, 0) + 1
        if outcome.rule:
            by_rule[outcome.rule] = by_rule.get(outcome.rule, 0) + 1
    return {"by_status": dict(sorted(by_status.items())),
            "failures_by_rule": dict(sorted(by_rule.items()))}


def _outcomes(versions: list[tuple[int, dict[str, Any]]],
              feed: list[tuple[int, int, Event]]) -> dict[str, Outcome]:
    """Each account's outcome over ``feed`` under the program's ``versions`` (the first
    known from the start, the later ones defined at their place in the feed)."""
    (_, initial), later = versions[0], versions[1:]
    engine = Engine([parse_program(initial)])
    definitions = [(seq, -1, ProgramDefinition(document=document)) for seq, document in later]
    events = [event for _, _, event in heapq.merge(feed, definitions,
                                                   key=lambda item: (item[0], item[1]))]
    first: dict[str, Outcome] = {}
    for start in range(0, len(events), 4096):
        for _, answers in engine.apply_many(events[start:start + 4096]):
            if isinstance(answers, FeedError):
                continue  # refused live too (unknown symbol…): the worker dead-lettered it
            for output in answers:
                if output.account in first:
                    continue
                if isinstance(output, Breach) and output.action == "fail":
                    first[output.account] = Outcome("failed", output.rule, output.ts)
                elif isinstance(output, Passed):
                    first[output.account] = Outcome("passed", None, output.ts)
    return {state.account: first.get(state.account, Outcome(state.status, None, None))
            for state in engine.states()}


_ACCOUNTS = """
SELECT account, toUnixTimestamp64Micro(opened_at) AS opened, toFloat64(initial_balance) AS
    balance, currency, seq
FROM accounts FINAL
WHERE tenant = {tenant:UInt64} AND program = {program:String}
  AND opened_at >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
  AND opened_at < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
"""
_DEALS = """
SELECT account, toUnixTimestamp64Micro(ts), deal, position, symbol, toString(side),
    toString(entry), volume, price, toFloat64(profit), has_profit, toFloat64(commission),
    toFloat64(swap), toFloat64(fee), seq
FROM deals FINAL WHERE tenant = {tenant:UInt64} AND account IN {accounts:Array(String)}
"""
_BALANCES = """
SELECT account, toUnixTimestamp64Micro(ts), toFloat64(amount), kind, seq
FROM balance_operations FINAL
WHERE tenant = {tenant:UInt64} AND account IN {accounts:Array(String)}
"""
_OTHERS = """
SELECT body, seq FROM account_events FINAL
WHERE tenant = {tenant:UInt64} AND account IN {accounts:Array(String)}
"""
_MARKET = """
SELECT toUnixTimestamp64Micro(ts), symbol, bid, ask, seq FROM quotes
WHERE ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
  AND ts <= fromUnixTimestamp64Micro({until:Int64}, 'UTC')
LIMIT 1 BY symbol, ts, seq
UNION ALL
SELECT toUnixTimestamp64Micro(max(ts)), symbol, argMax(bid, ts), argMax(ask, ts),
    argMax(seq, ts)
FROM quotes
WHERE ts < fromUnixTimestamp64Micro({since:Int64}, 'UTC') AND symbol != ''
GROUP BY symbol
"""


def _recorded_feed(store: Store, tenant: int, program: str, since: int,
                   until: int) -> list[tuple[int, int, Event]]:
    """The cohort's recorded events and the market over their lifetime, in feed order, as
    (seq, rank among events of one seq, event)."""
    scope = {"tenant": tenant, "program": program, "since": since, "until": until}
    accounts = store.query(_ACCOUNTS, scope).rows
    if not accounts:
        return []
    names = [row[0] for row in accounts]
    by_account = {"tenant": tenant, "accounts": names}
    ordered: list[tuple[int, int, Event]] = []
    for name, opened, balance, currency, seq in accounts:
        ordered.append((seq, 1, Account(ts=from_micros(opened), account=name, program=program,
                                        balance=balance or None, currency=currency or None)))
    for (name, ts, deal, position, symbol, side, entry, volume, price, profit, has_profit,
         commission, swap, fee, seq) in store.query(_DEALS, by_account).rows:
        ordered.append((seq, 1, Deal(
            ts=from_micros(ts), account=name, deal=deal, position=position, symbol=symbol,
            side=side, entry=entry, volume=volume, price=price,
            profit=profit if has_profit else None, commission=commission or None,
            swap=swap or None, fee=fee or None)))
    for name, ts, amount, kind, seq in store.query(_BALANCES, by_account).rows:
        ordered.append((seq, 1, Balance(ts=from_micros(ts), account=name, amount=amount,
                                        kind=kind)))
    for body, seq in store.query(_OTHERS, by_account).rows:
        ordered.append((seq, 1, json_decoder.decode(body)))
    # The market from the first opening to the end of the recording (a position left open
    # can fail its account on any later quote), plus each symbol's last quote before it
    # (the marks and conversion rates the accounts opened into).
    first, last = min(row[1] for row in accounts), 2**62
    for symbol, size, profit_currency, base, seq in store.query(
            "SELECT symbol, contract_size, profit_currency, base_currency, seq"
            " FROM symbols FINAL").rows:
        ordered.append((-1, seq, Symbol(symbol=symbol, contract_size=size,
                                        profit_currency=profit_currency,
                                        base_currency=base or None)))
    count = store.query("SELECT count() FROM quotes WHERE ts >= fromUnixTimestamp64Micro("
                        "{since:Int64}, 'UTC') AND ts <= fromUnixTimestamp64Micro({until:Int64},"
                        " 'UTC')", {"since": first, "until": last}).rows[0][0]
    if count + len(ordered) > MAX_EVENTS:
        raise WhatIfError(f"{count + len(ordered):,} recorded events: more than"
                          f" {MAX_EVENTS:,}; narrow the period or the program")
    for ts, symbol, bid, ask, seq in store.query(_MARKET, {"since": first,
                                                           "until": last}).rows:
        moment = from_micros(ts)
        ordered.append((seq, 0, Quote(ts=moment, symbol=symbol, bid=bid, ask=ask)
                        if symbol else Clock(ts=moment)))
    ordered.sort(key=lambda item: (item[0], item[1]))
    return ordered
