"""``proptrade import FILE`` into the history store (without ``--jsonl``), into a firm.

The history store keeps every row under a tenant, the firm's id in PostgreSQL
(``tenants``), and the dashboards answer a firm's staff from its own tenant only. So an
import goes to a firm named by its slug (``--firm acme``), by default the platform's
default firm (the demo firm ``make run`` serves on localhost), looked up in the platform
database; a slug (or id) that names no firm is refused, naming it and the firms there
are, before anything is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from analytics.records import record_events
from storage.clickhouse import Store, migrate

__all__ = ["Firm", "Imported", "NoSuchFirm", "find_firm", "import_events", "import_report"]


class NoSuchFirm(ValueError):
    """The slug or id names no firm of the platform database (the message says which and
    lists the slugs there are), or the database cannot say."""


@dataclass(frozen=True)
class Firm:
    id: int  # the tenant id: the history store's rows carry it
    slug: str
    name: str


@dataclass(frozen=True)
class Imported:
    """Where a report went and what it brought."""

    firm: Firm
    accounts: tuple[str, ...]  # the logins the report's events are about
    deals: int
    balance_operations: int
    events: int
    rows: int  # rows written (the same file imported again writes the same rows)


async def find_firm(dsn: str, schema: str = "public", *, slug: str | None = None,
                    tenant: int | None = None) -> Firm:
    """The firm with ``slug`` (or the id ``tenant``), else the default firm.

    The platform database is migrated first (as ``proptrade gateway`` does), so a fresh
    one has its default firm.

    :raises NoSuchFirm: no firm has that slug or id.
    """
    from storage.database import create_pool
    from storage.migrations import migrate as migrate_platform

    await migrate_platform(dsn, schema)
    pool = await create_pool(dsn, schema, min_size=1, max_size=1)
    try:
        async with pool.acquire() as connection:
            if slug is not None:
                row = await connection.fetchrow(
                    "SELECT id, slug, name FROM tenants WHERE slug = $1", slug)
            elif tenant is not None:
                row = await connection.fetchrow(
                    "SELECT id, slug, name FROM tenants WHERE id = $1", tenant)
            else:
                row = await connection.fetchrow(
                    "SELECT id, slug, name FROM tenants WHERE is_default")
            if row is None:
                slugs = [r["slug"] for r in await connection.fetch(
                    "SELECT slug FROM tenants ORDER BY slug")]
                named = (f"the slug {slug!r}" if slug is not None
                         else f"the id {tenant}" if tenant is not None else "the default flag")
                raise NoSuchFirm(f"no firm has {named} (firms: {', '.join(slugs) or 'none'})")
    finally:
        await pool.close()
    return Firm(int(row["id"]), row["slug"], row["name"])


def import_report(report: Any, firm: Firm, store: Store) -> Imported:
    """Write ``report``'s events (an :class:`analytics.imports.Report`) to ``store`` under
    ``firm``'s tenant (the store migrated first).

    Events are keyed by their time and deals by their ticket (``records.record_events``),
    so importing a file twice, or two reports that overlap, stores each event once."""
    from streams.events import Balance, Deal

    migrate(store)
    rows = record_events(store, report.events, tenant=firm.id, source=f"import:{firm.id}")
    accounts = tuple(dict.fromkeys(
        account for event in report.events
        if isinstance(account := getattr(event, "account", None), str)))
    return Imported(
        firm=firm, accounts=accounts,
        deals=sum(isinstance(event, Deal) for event in report.events),
        balance_operations=sum(isinstance(event, Balance) for event in report.events),
        events=len(report.events), rows=rows)


def import_events(report: Any, *, firm: str | None = None, tenant: int | None = None,
                  schema: str = "public") -> Imported:
    """``report`` into the history store the settings name, under the firm ``firm``
    (a slug) or ``tenant`` (an id), else the default firm.

    :raises NoSuchFirm: no such firm; nothing is written.
    :raises storage.clickhouse.StoreError: the history store failed.
    """
    from analytics.command import open_history
    from streams.settings import load_settings

    settings = load_settings()
    found = asyncio.run(find_firm(settings.database_url, schema, slug=firm, tenant=tenant))
    store = open_history(settings)
    try:
        return import_report(report, found, store)
    finally:
        store.close()
