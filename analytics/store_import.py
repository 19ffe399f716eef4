"""``proptrade import FILE`` into the history store (without ``--jsonl``)."""

from __future__ import annotations

import hashlib
from typing import Any

from analytics.records import record_events
from storage.clickhouse import migrate

__all__ = ["import_events"]


def import_events(report: Any, tenant: int = 0) -> int:
    """Write a report's events to the history store the settings name; returns the rows.

    The event ids come from the file's content (``import:<sha256 prefix>:<n>``), so
    importing the same file twice leaves one copy; deals are keyed by their ticket."""
    from analytics.command import open_history
    from streams.settings import load_settings

    digest = hashlib.sha256(report.path.read_bytes()).hexdigest()[:12]
    store = open_history(load_settings())
    try:
        migrate(store)
        return record_events(store, report.events, tenant=tenant, source=f"import:{digest}")
    finally:
        store.close()
