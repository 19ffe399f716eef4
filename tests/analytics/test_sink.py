"""The sink on the real broker: the stream recorded once, a redelivery deduplicated, and
what-if over the recording equal to ``proptrade replay``."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from analytics.records import record_events
from analytics.sink import Sink, TenantDirectory, run_sink
from analytics.whatif import merge_variant, what_if
from storage.clickhouse import EmbeddedStore, Store, migrate
from storage.database import drop_schema
from streams import replay
from streams.broker import EmbeddedBroker
from streams.checkpoints import CheckpointStore
from streams.events import Account, Deal, ProgramDefinition
from streams.feed import publish
from streams.program import parse_program
from streams.topics import Topics
from streams.worker import Worker
from tests.analytics import MT_REPORTS
from tests.streams.streamkit import PROGRAMS, make_feed, programs

DSN = "postgresql://localhost:5432/postgres"
REPORTS = MT_REPORTS
BOOK = "SELECT account, position, lots, open_price FROM positions FINAL ORDER BY 1, 2"
TABLES = ("deals", "accounts", "quotes", "symbols", "risk_events", "equity", "positions")


@pytest.fixture
def recorded(broker: EmbeddedBroker, history: EmbeddedStore,
             chdb_path: Path) -> Iterator[tuple[str, Topics, Store, list]]:
    """A feed published, run through a worker, and recorded by a sink into chDB."""
    tag = uuid.uuid4().hex[:10]
    topics = Topics(f"t{tag}.", partitions=2, quote_partitions=2)
    schema = f"test_{tag}"
    events = make_feed(seed=11, accounts=16, steps=2500)
    # The firm edits a program after its accounts opened: they keep the rules they opened
    # under (replay, the worker, and what-if's baseline alike).
    opened = max(i for i, e in enumerate(events) if isinstance(e, Account))
    edited = {**PROGRAMS[0], "rules": {**PROGRAMS[0]["rules"], "daily_loss": {"limit": 0.001}}}
    events.insert(opened + 1, ProgramDefinition(document=edited))
    store = history

    async def scenario() -> None:
        await publish(events, broker.bootstrap, topics, speed=0)
        worker = Worker(broker.bootstrap, topics, programs(), f"w-{tag}",
                        CheckpointStore(DSN, schema), session_timeout_ms=6000)
        sink = Sink(store, topics, TenantDirectory(None), max_delay=0.2)
        sink.know_programs(PROGRAMS)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(worker.run(stop)),
                 asyncio.create_task(run_sink(broker.bootstrap, sink, stop, f"s-{tag}"))]
        deals = sum(isinstance(e, Deal) for e in events)
        deadline = time.monotonic() + 90
        while _count(store, "deals") < deals or _count(store, "risk_events") == 0:
            assert time.monotonic() < deadline, "the sink did not record the feed"
            assert not any(t.done() for t in tasks), [t.result() for t in tasks if t.done()]
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)  # the last answers and metrics
        stop.set()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    yield broker.bootstrap, topics, store, events
    asyncio.run(drop_schema(DSN, schema))


def _count(store: Store, table: str) -> int:
    return int(store.query(f"SELECT count() FROM {table} FINAL").rows[0][0])


def _raw_count(store: Store, table: str) -> int:
    return int(store.query(f"SELECT count() FROM {table}").rows[0][0])


def test_the_stream_is_recorded_once_even_when_delivered_twice(recorded) -> None:
    bootstrap, topics, store, events = recorded
    deals = sum(isinstance(e, Deal) for e in events)
    before = {table: _count(store, table) for table in TABLES}
    assert before["deals"] == deals
    assert before["accounts"] == 16
    assert before["symbols"] == 3
    assert _count(store, "programs") == 3  # two programs, one of them edited once
    assert before["risk_events"] > 0 and before["equity"] > 0
    # The position book holds the positions the feed left open, with their volumes.
    left: dict[tuple[str, str], float] = {}
    for event in events:
        if isinstance(event, Deal):
            key = (event.account, str(event.position))
            left[key] = left.get(key, 0.0) + (event.volume if event.entry == "in"
                                              else -event.volume)
    assert store.query("SELECT account, position, round(lots, 6) FROM positions FINAL"
                       " WHERE lots > 1e-9 ORDER BY 1, 2").rows == [
        [account, position, round(lots, 6)] for (account, position), lots in sorted(
            left.items()) if lots > 1e-9]

    book = store.query(BOOK).rows

    async def again() -> None:
        # A sink that lost its offsets (a new group) reads every message a second time.
        sink = Sink(store, topics, TenantDirectory(None), max_delay=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(run_sink(bootstrap, sink, stop, f"again-{uuid.uuid4()}"))
        deadline = time.monotonic() + 60
        while _raw_count(store, "deals") < 2 * deals:
            assert time.monotonic() < deadline, "the second sink did not read the topics"
            assert not task.done(), task.result()
            await asyncio.sleep(0.3)
        stop.set()
        await task

    asyncio.run(again())
    assert _raw_count(store, "deals") == 2 * deals  # the messages really came twice
    assert {table: _count(store, table) for table in TABLES} == before
    assert store.query(BOOK).rows == book  # redelivered deals did not apply twice
    # The same events imported directly give the same rows.
    direct = EmbeddedStore(store.path, f"{store.database}_direct")
    try:
        migrate(direct)
        record_events(direct, events)
        query = ("SELECT account, deal, position, symbol, toString(side), toString(entry),"
                 " volume, price, toFloat64(profit), toFloat64(commission) FROM deals FINAL"
                 " ORDER BY account, deal")
        assert direct.query(query).rows == store.query(query).rows
    finally:
        direct.command(f"DROP DATABASE {direct.database}")
        direct.close()


def _replay_outcomes(tmp_path: Path, document: dict, events: list) -> dict[str, dict]:
    """What `proptrade replay` gives each account of ``document`` under it: its status,
    and the rule and time of the breach that failed it (or the time it passed)."""
    paths = []
    for doc in (document, *[p for p in PROGRAMS if p["id"] != document["id"]]):
        path = tmp_path / f"{doc['id']}-{uuid.uuid4().hex[:6]}.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    feed = b"".join(msgspec.json.encode(event) + b"\n" for event in events)
    out, err = io.StringIO(), io.StringIO()
    assert replay.run(paths, io.BytesIO(feed), out, err) == 0, err.getvalue()
    first: dict[str, dict] = {}
    states: dict[str, str] = {}
    for line in out.getvalue().splitlines():
        answer = json.loads(line)
        if answer["type"] == "breach" and answer["action"] == "fail":
            first.setdefault(answer["account"], {"rule": answer["rule"], "ts": answer["ts"]})
        elif answer["type"] == "passed":
            first.setdefault(answer["account"], {"rule": None, "ts": answer["ts"]})
        elif answer["type"] == "state":
            states[answer["account"]] = answer["status"]
    program_of = {e.account: e.program for e in events if type(e).__name__ == "Account"}
    return {account: {"status": status, **first.get(account, {"rule": None, "ts": None})}
            for account, status in states.items() if program_of[account] == document["id"]}


def test_what_if_with_the_own_rules_changes_nothing_and_tighter_fails_as_replay(
        recorded, tmp_path: Path) -> None:
    _, _, store, events = recorded
    static = next(p for p in PROGRAMS if p["id"] == "static")
    baseline = _replay_outcomes(tmp_path, static, events)
    same = what_if(store, 0, "static", {}, 0, 2**62)
    assert same["accounts"] == len(baseline) == 8
    assert same["changed"] == []
    assert same["baseline"]["by_status"] == _statuses(baseline)

    changes = {"rules": {"daily_loss": {"limit": 0.01}}}
    tighter = what_if(store, 0, "static", changes, 0, 2**62)
    expected = _replay_outcomes(tmp_path, merge_variant(static, changes), events)
    assert expected != baseline, "the tighter limit should change some outcome"
    assert tighter["with_variant"]["by_status"] == _statuses(expected)
    # Every change what-if reports is what replay under the variant gives, and every
    # account replay sees change is reported.
    changed = {c["account"]: c for c in tighter["changed"]}
    assert set(changed) == {a for a in baseline if baseline[a] != expected[a]}
    for account, change in changed.items():
        assert change["before"] == baseline[account]
        assert change["after"] == expected[account]


def _statuses(outcomes: dict[str, dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
    return dict(sorted(counts.items()))


def test_what_if_refuses_an_invalid_variant_and_an_unknown_program(recorded) -> None:
    from analytics.whatif import WhatIfError

    _, _, store, _ = recorded
    with pytest.raises(WhatIfError, match=r"rules.daily_loss"):
        what_if(store, 0, "static", {"rules": {"daily_loss": {"limit": "lots"}}}, 0, 2**62)
    with pytest.raises(WhatIfError, match="no such program"):
        what_if(store, 0, "nope", {}, 0, 2**62)


@pytest.mark.parametrize("report_name", [
    "mt5-tester-didinska-GoldHedgeRecovery-v330.html",
    "mt5-history-propfirm-ftmo-1512497509.xlsx"])
def test_a_report_through_the_stream_gives_the_statistics_of_its_direct_import(
        broker: EmbeddedBroker, history: EmbeddedStore, report_name: str) -> None:
    """broker → worker → sink → query equals the same feed imported directly (and both
    equal what MetaTrader printed, which test_statistics checks for the import)."""
    from analytics.imports import read_report
    from analytics.statistics import account_statistics, daily_pnl, symbol_breakdown

    report = read_report(REPORTS / report_name)
    program = {"id": "imported", "initial_balance": report.initial_balance,
               "currency": report.currency, "rules": {}}
    tag = uuid.uuid4().hex[:10]
    topics = Topics(f"r{tag}.", partitions=2, quote_partitions=1)
    schema = f"test_{tag}"

    async def scenario() -> None:
        await publish(report.events, broker.bootstrap, topics, speed=0)
        worker = Worker(broker.bootstrap, topics, [parse_program(program)], f"w-{tag}",
                        CheckpointStore(DSN, schema), session_timeout_ms=6000)
        sink = Sink(history, topics, TenantDirectory(None), max_delay=0.2)
        stop = asyncio.Event()
        tasks = [asyncio.create_task(worker.run(stop)),
                 asyncio.create_task(run_sink(broker.bootstrap, sink, stop, f"s-{tag}"))]
        deals = sum(isinstance(e, Deal) for e in report.events)
        deadline = time.monotonic() + 60
        while _count(history, "deals") < deals:
            assert time.monotonic() < deadline, "the sink did not record the report"
            await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(scenario())
    finally:
        asyncio.run(drop_schema(DSN, schema))
    direct = EmbeddedStore(history.path, f"{history.database}_direct")
    try:
        migrate(direct)
        record_events(direct, report.events)
        for query in (account_statistics, symbol_breakdown, daily_pnl):
            streamed = query(history, 0, report.account)
            assert streamed == query(direct, 0, report.account), query.__name__
        stats = account_statistics(history, 0, report.account)
        assert stats["total_trades"] == int(report.printed["total_trades"])
        assert f"{stats['total_net_profit']:.2f}" == report.printed["total_net_profit"]
    finally:
        direct.command(f"DROP DATABASE {direct.database}")
        direct.close()


def test_accounts_are_placed_in_their_firm_by_the_gateways_rule() -> None:
    """An account on record belongs to its row's firm; another one to the firm its program
    names (``acme.gold.p1``); another to the default firm — as the gateway records it."""
    from storage.database import create_pool
    from storage.migrations import migrate as migrate_database

    schema = f"test_{uuid.uuid4().hex[:10]}"

    async def scenario() -> dict[str, int]:
        await migrate_database(DSN, schema)
        pool = await create_pool(DSN, schema, min_size=1, max_size=2)
        try:
            acme = await pool.fetchval(
                "INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            await pool.execute(
                "INSERT INTO trading_accounts (tenant_id, phase, login, engine_program, "
                "broker, origin) VALUES ($1, 0, 'KNOWN', 'broker-10k', 'feed', 'broker')",
                acme)
            tenants = TenantDirectory(pool)
            for account, program in (("B-1", "broker-10k"), ("B-2", "acme.gold-10k.p1"),
                                     ("B-3", "nosuchfirm.gold.p1"), ("KNOWN", "broker-10k")):
                tenants.learn(account, program)
            await tenants.resolve(["B-1", "B-2", "B-3", "KNOWN", "T7C1P1", "UNSEEN"])
            return {account: tenants.tenant(account) for account in
                    ("B-1", "B-2", "B-3", "KNOWN", "T7C1P1", "UNSEEN")} | {"acme": acme}
        finally:
            await pool.close()
            await drop_schema(DSN, schema)

    placed = asyncio.run(scenario())
    default = 1  # the migration's default firm
    assert placed == {"B-1": default, "B-2": placed["acme"], "B-3": default,
                      "KNOWN": placed["acme"], "T7C1P1": 7, "UNSEEN": default,
                      "acme": placed["acme"]}
