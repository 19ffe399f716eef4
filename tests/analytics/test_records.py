"""Rows from events: what a bad value costs, whose tenant an account is, and imports that
overlap."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from analytics.imports import read_report
from analytics.records import record_events
from analytics.sink import Sink, TenantDirectory
from storage.clickhouse import EmbeddedStore
from streams.events import Balance, Deal
from streams.topics import Topics
from streams.wire import make_batch
from tests.analytics import MT_REPORTS

TS = datetime(2026, 3, 2, 8, tzinfo=UTC)


def test_a_value_the_store_cannot_hold_costs_only_its_event(history: EmbeddedStore) -> None:
    topics = Topics("x.")
    sink = Sink(history, topics, TenantDirectory(None))
    events = [Balance(ts=TS, account="A1", amount=1e17, kind="deposit"),
              Deal(ts=TS, account="A1", deal=1, position=1, symbol="XAUUSD", side="buy",
                   entry="in", volume=1.0, price=2000.0, commission=float("inf")),
              Balance(ts=TS, account="A1", amount=100.0, kind="deposit"),
              Deal(ts=TS, account="A1", deal=2, position=2, symbol="XAUUSD", side="buy",
                   entry="in", volume=1.0, price=2000.0, commission=-3.5)]

    async def feed() -> None:
        await sink.add(topics.accounts, 0, 7, make_batch("feed", 4, [1, 2, 3, 4], events))
        await sink.flush()

    asyncio.run(feed())
    assert sink.skipped == 2
    assert history.query("SELECT toFloat64(amount) FROM balance_operations").rows == [[100.0]]
    assert history.query("SELECT deal, toFloat64(commission) FROM deals").rows == [
        ["2", -3.5]]
    assert history.query("SELECT position FROM positions").rows == [["2"]]


def test_a_platform_account_belongs_to_its_tenant_before_its_row_is_visible() -> None:
    directory = TenantDirectory(pool=object())  # a platform: PostgreSQL is there
    directory.rule._default = 1  # the default firm (read from PostgreSQL on a platform)
    assert directory.tenant("T7C12P1") == 7
    assert directory.tenant("T7C12P2R1") == 7
    assert directory.tenant("1512497509") == 1  # a broker's own account: the default firm
    assert TenantDirectory(None).tenant("T7C12P1") == 0  # no platform: a report store


def test_overlapping_reports_of_one_account_are_stored_once(history: EmbeddedStore) -> None:
    report = read_report(MT_REPORTS / "mt5-tester-didinska-GoldHedgeRecovery-v330.html")
    events = report.events
    head = [e for e in events if not hasattr(e, "ts")]
    timed = [e for e in events if hasattr(e, "ts")]
    first, second = timed[: len(timed) * 2 // 3], timed[len(timed) // 3:]
    record_events(history, head + first)
    record_events(history, head + second)
    once = EmbeddedStore(history.path, f"{history.database}_once")
    try:
        from storage.clickhouse import migrate

        migrate(once)
        record_events(once, events)
        for table, columns in (("deals", "deal, position, toFloat64(profit)"),
                               ("balance_operations", "ts, toFloat64(amount)"),
                               ("positions", "position, lots")):
            query = f"SELECT {columns} FROM {table} FINAL ORDER BY 1, 2"
            assert history.query(query).rows == once.query(query).rows, table
    finally:
        once.command(f"DROP DATABASE {once.database}")
        once.close()
