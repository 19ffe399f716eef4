"""``proptrade import FILE`` into the history store (without ``--jsonl``)."""

from __future__ import annotations

from typing import Any

from analytics.records import record_events
from storage.clickhouse import migrate

__all__ = ["import_events"]


def import_events(report: Any, tenant: int = 0) -> int:
    """Write a report's events to the history store the settings name; returns the rows.

    Events are keyed by their time and deals by their ticket (``records.record_events``),
    so importing a file twice, or two reports that overlap, stores each event once."""
    from analytics.command import open_history
    from streams.settings import load_settings

    store = open_history(load_settings())
    try:
        migrate(store)
        return record_events(store, report.events, tenant=tenant, source=f"import:{tenant}")
    finally:
        store.close()
