"""The gateway's door to the history store: the analytical queries, off the event loop.

Store calls block (chDB runs the query in this process; clickhouse-connect waits on
HTTP), so each runs in a worker thread; chDB releases the GIL while it computes. The
store is opened on first use: a gateway starts, and serves everything else, while the
analytics process that owns an embedded store is still starting.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from analytics import queries, records, statistics, whatif
from gateway.errors import Conflict, NotFound, Unavailable, Unprocessable
from gateway.health import Parts
from storage.clickhouse import ServerStore, Store, StoreError

T = TypeVar("T")
log = logging.getLogger("proptrade.history")

#: Seconds one history query may take before its request gets a 503 (the store's HTTP
#: client gives up on its own later; its thread is one of :data:`THREADS`).
QUERY_TIMEOUT = 30.0
PING_TIMEOUT = 1.5
THREADS = 4  # queries at once; a store that hangs holds at most these, not the loop's


class History:
    """Analytical queries for one gateway process.

    Each query runs on one of this door's own threads and is bounded by ``timeout``: a
    store that does not answer is a 503 naming ``analytics``, and while a probe finds it
    down, queries are refused at once (no thread waits on a dead store)."""

    def __init__(self, store: Store | None = None, url: str = "",
                 parts: Parts | None = None, timeout: float = QUERY_TIMEOUT) -> None:
        self._store = store
        self._url = url
        self._lock = threading.Lock()
        self.parts = parts
        self.timeout = timeout
        self._threads = ThreadPoolExecutor(THREADS, thread_name_prefix="history")

    def _open(self) -> Store:
        with self._lock:
            if self._store is None:
                self._store = ServerStore(self._url, connect_timeout=3,
                                          read_timeout=max(1, round(self.timeout)))
            return self._store

    def _unavailable(self, reason: str) -> Unavailable:
        return Unavailable(f"the analytics store does not answer ({reason}); history "
                           "is unavailable for now, try again", part="analytics")

    async def _run(self, call: Callable[[Store], T], *, timeout: float | None = None,
                   probing: bool = False) -> T:
        if not probing and self.parts is not None and self.parts.is_down("analytics"):
            raise self._unavailable("down since " + str(self.parts.since("analytics")))

        def run() -> T:
            try:
                return call(self._open())
            except StoreError as error:
                # ClickHouse's text names tables and SQL: for the operator's log only.
                log.error("history store: %s", error)
                if self.parts is not None and _unreachable(error):
                    self.parts.failed("analytics", str(error)[:300])
                raise Unavailable("the history store did not answer; try again",
                                  part="analytics") from None

        loop = asyncio.get_running_loop()
        limit = self.timeout if timeout is None else timeout
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._threads, run), limit)
        except TimeoutError:
            if self.parts is not None:
                self.parts.failed("analytics", f"no answer within {limit:g} s")
            raise self._unavailable(f"no answer within {limit:g} s") from None

    async def ping(self) -> None:
        """Whether the store answers (a probe: runs while the store is marked down)."""
        await self._run(lambda store: store.query("SELECT 1"), timeout=PING_TIMEOUT,
                        probing=True)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def has_account(self, tenant: int, account: str) -> bool:
        """Whether the tenant's history holds the account (opened, or traded)."""
        return await self._run(lambda store: bool(store.query(
            "SELECT count() FROM accounts WHERE tenant = {tenant:UInt64} AND account ="
            " {account:String}", {"tenant": tenant, "account": account}).rows[0][0]
            or store.query(
            "SELECT count() FROM deals WHERE tenant = {tenant:UInt64} AND account ="
            " {account:String}", {"tenant": tenant, "account": account}).rows[0][0]))

    async def statistics(self, tenant: int, account: str, since: int | None,
                         until: int | None) -> dict[str, Any]:
        return await self._run(lambda store: statistics.account_statistics(
            store, tenant, account, since, until))

    async def symbols(self, tenant: int, account: str, since: int | None,
                      until: int | None) -> list[dict[str, Any]]:
        return await self._run(lambda store: statistics.symbol_breakdown(
            store, tenant, account, since, until))

    async def calendar(self, tenant: int, account: str, since: int | None,
                       until: int | None) -> list[dict[str, Any]]:
        return await self._run(lambda store: statistics.daily_pnl(
            store, tenant, account, since, until))

    async def equity(self, tenant: int, account: str, points: int, since: int,
                     until: int) -> list[dict[str, Any]]:
        return await self._run(lambda store: queries.equity_curve(
            store, tenant, account, points, since, until))

    async def trades(self, tenant: int, account: str, limit: int, offset: int, before: int,
                     open_positions: bool) -> dict[str, Any]:
        return await self._run(lambda store: queries.trade_journal(
            store, tenant, account, limit, offset, before, open_positions))

    async def cohorts(self, tenant: int, period: str, programs: list[str], since: int,
                      until: int, stopped: list[str]) -> list[dict[str, Any]]:
        return await self._run(lambda store: queries.cohorts(
            store, tenant, period, programs, since, until, stopped))

    async def exposure(self, tenant: int, top: int, stopped: list[str], nearest: int
                       ) -> dict[str, Any]:
        return await self._run(lambda store: queries.exposure(store, tenant, top, stopped,
                                                              nearest))

    async def has_program(self, tenant: int, program: str) -> bool:
        """Whether an account of the tenant's history ran under ``program``."""
        return await self._run(lambda store: bool(store.query(
            "SELECT count() FROM accounts WHERE tenant = {t:UInt64} AND program = {p:String}",
            {"t": tenant, "p": program}).rows[0][0]))

    async def what_if(self, tenant: int, program: str, changes: dict[str, Any], since: int,
                      until: int) -> dict[str, Any]:
        """``program`` is an engine program of the tenant's (the caller resolved it)."""
        def run(store: Store) -> dict[str, Any]:
            # Programs are not tenant-scoped in the store: only a program the tenant's
            # own accounts ran under may be re-run (and its document shown).
            if not store.query("SELECT count() FROM accounts WHERE tenant = {t:UInt64} AND"
                               " program = {p:String}", {"t": tenant, "p": program}).rows[0][0]:
                raise NotFound(f"program {program!r}: none of this firm's accounts under it"
                               " is in the history")
            try:
                return whatif.what_if(store, tenant, program, changes, since, until)
            except whatif.WhatIfError as error:
                if "no such program" in str(error):
                    raise NotFound(str(error)) from None
                raise Unprocessable(str(error)) from None

        return await self._run(run)


    async def find_accounts(self, tenant: int, text: str, limit: int) -> list[dict[str, Any]]:
        """The tenant's accounts whose login or program contains ``text`` (any case), an
        exact login first, then those starting with it, then by login; at most ``limit``."""
        return await self._run(lambda store: store.query(
            "SELECT account, any(program) AS program, any(currency) AS currency,"
            " min(opened_at) AS opened_at FROM (SELECT account, program, currency, opened_at"
            " FROM accounts WHERE tenant = {t:UInt64}"
            " AND (positionCaseInsensitiveUTF8(account, {q:String}) > 0"
            " OR positionCaseInsensitiveUTF8(program, {q:String}) > 0))"
            " GROUP BY account ORDER BY lower(account) = lower({q:String}) DESC,"
            " startsWith(lower(account), lower({q:String})) DESC, account"
            " LIMIT {n:UInt32}", {"t": tenant, "q": text, "n": limit}).dicts())

    async def store_report(self, tenant: int, account: str, events: list[Any]) -> int:
        """Record a report's ``events`` (already renamed to ``account``) in the tenant's
        history; returns the rows written. An account the history already holds is a
        409: an upload never mixes into another account's history."""
        def run(store: Store) -> int:
            if any(store.query(f"SELECT count() FROM {table} WHERE tenant = {{t:UInt64}} "
                               "AND account = {a:String}", {"t": tenant, "a": account}
                               ).rows[0][0] for table in ("accounts", "deals")):
                raise Conflict(f"store_as: the firm's history already has an account "
                               f"{account!r}; choose another name")
            return records.record_events(store, events, tenant=tenant,
                                         source=f"upload:{tenant}")

        return await self._run(run)


def _unreachable(error: StoreError) -> bool:
    """Whether a store error says the store is unreachable (not that a query failed)."""
    text = str(error)
    return any(word in text for word in (
        "Connection refused", "Max retries exceeded", "timed out", "Failed to establish",
        "Connection reset", "Connection aborted", "RemoteDisconnected", "ClickHouse at "))
