"""History and analytics: account statistics, equity curves, cohorts, exposure, what-if.

Times in query strings are ISO 8601 (``2026-03-01T00:00:00Z``); ranges are [since, until).
A trader reads only their own accounts; the risk desk and admins read every account of
their firm, including those the platform did not open (a broker's own).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import tornado.web
from tornado.http1connection import HTTP1Connection

from analytics.imports import MAX_REPORT_BYTES, ReportError, parse_report
from analytics.imports.report import too_large
from analytics.queries import ALL_TIME
from analytics.report_view import report_view
from gateway.accounts import LIVE, storable
from gateway.api import ROLES, ApiHandler, operation
from gateway.errors import Conflict, FieldError, NotFound, TooLarge, Unprocessable
from gateway.handlers.trading import STAFF
from gateway.schemas import (
    AccountFound,
    AccountStatistics,
    CohortOut,
    DailyPnl,
    EquityPoint,
    ExposureOut,
    Period,
    ReportOut,
    SymbolStatistics,
    TradeJournalOut,
    WhatIfIn,
    WhatIfOut,
)
from streams.events import from_micros, to_micros

RANGE = (("since", "ISO 8601 time, inclusive"), ("until", "ISO 8601 time, exclusive"))
MAX_OFFSET = 1_000_000  # trades skipped at most: past it, page with ``before``


def _time(handler: ApiHandler, name: str) -> int | None:
    text = handler.get_query_argument(name, None)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Unprocessable(f"{name}: expected an ISO 8601 time with an offset or Z",
                            fields=[FieldError(name, "not an ISO 8601 time")])
    return to_micros(moment)


def _range(handler: ApiHandler) -> tuple[int, int]:
    """[since, until) from the query string (all time by default); 422 when empty."""
    since, until = _time(handler, "since"), _time(handler, "until")
    low = ALL_TIME[0] if since is None else since
    high = ALL_TIME[1] if until is None else until
    if low >= high:
        raise Unprocessable("since: must be before until",
                            fields=[FieldError("since", "not before until")])
    return low, high


class AccountHistoryHandler(ApiHandler):
    """Base: the account in the path, checked against the caller."""

    async def account(self, login: str) -> str:
        if self.user.role not in STAFF:
            owner = await self.services.challenges.owner(self.tenant.id, login)
            if owner != self.user.user_id:
                raise NotFound("no such account")
        elif not await self.services.history.has_account(self.tenant.id, login):
            raise NotFound("no such account in this firm's history")
        return login


class StatisticsHandler(AccountHistoryHandler):
    @operation("An account's trading statistics (MetaTrader's set and more)",
               response=AccountStatistics, roles=ROLES, tag="analytics", query=RANGE)
    async def get(self, login: str) -> None:
        since, until = _range(self)
        stats = await self.services.history.statistics(
            self.tenant.id, await self.account(login), since, until)
        self.send(msgspec.convert(stats, AccountStatistics))


class SymbolsHandler(AccountHistoryHandler):
    @operation("An account's results per symbol", response=list[SymbolStatistics],
               roles=ROLES, tag="analytics", query=RANGE)
    async def get(self, login: str) -> None:
        since, until = _range(self)
        rows = await self.services.history.symbols(
            self.tenant.id, await self.account(login), since, until)
        self.send(msgspec.convert(rows, list[SymbolStatistics]))


class CalendarHandler(AccountHistoryHandler):
    @operation("An account's daily P&L calendar (UTC days)", response=list[DailyPnl],
               roles=ROLES, tag="analytics", query=RANGE)
    async def get(self, login: str) -> None:
        since, until = _range(self)
        rows = await self.services.history.calendar(
            self.tenant.id, await self.account(login), since, until)
        self.send(msgspec.convert(rows, list[DailyPnl]))


class EquityHandler(AccountHistoryHandler):
    @operation("An account's equity curve, downsampled keeping every peak and trough",
               response=list[EquityPoint], roles=ROLES, tag="analytics",
               query=(*RANGE, ("points", "at most this many points, 4 to 10000 (1000)",
                               Annotated[int, msgspec.Meta(ge=4, le=10_000)])))
    async def get(self, login: str) -> None:
        points = self.query_count("points", 1000, 4, 10_000)
        since, until = _range(self)
        curve = await self.services.history.equity(
            self.tenant.id, await self.account(login), points, since, until)
        self.send([EquityPoint(from_micros(p["ts"]), p["equity"], p["balance"])
                   for p in curve])


class TradesHandler(AccountHistoryHandler):
    @operation("An account's trade journal: closed trades newest first (and its open "
               "positions with open=1)", response=TradeJournalOut, roles=ROLES,
               tag="analytics",
               query=(("limit", "trades a page, 1 to 1000 (100)",
                       Annotated[int, msgspec.Meta(ge=1, le=1000)]),
                      ("offset", "trades to skip, 0 to 1000000 (0)",
                       Annotated[int, msgspec.Meta(ge=0, le=MAX_OFFSET)]),
                      ("before", "ISO 8601 time: only trades closed before it (exclusive)"),
                      ("open", "1: the open positions too; 0 (default): not",
                       Literal["0", "1"])))
    async def get(self, login: str) -> None:
        limit = self.query_count("limit", 100, 1, 1000)
        offset = self.query_count("offset", 0, 0, MAX_OFFSET)
        before = _time(self, "before")
        with_open = self.query_choice("open", Literal["0", "1"], "0") == "1"
        journal = await self.services.history.trades(
            self.tenant.id, await self.account(login), limit + 1, offset,
            ALL_TIME[1] if before is None else before, with_open)
        rows = journal["trades"]
        trades = [{**row, "opened_at": from_micros(row["opened_at"]) if row["opened_at"]
                   else None, "closed_at": from_micros(row["closed_at"])}
                  for row in rows[:limit]]
        book = journal["open_positions"]
        self.send(msgspec.convert({
            "trades": trades,
            "open_positions": None if book is None else [
                {**row, "opened_at": from_micros(row["opened_at"])} for row in book],
            "next_offset": offset + limit if len(rows) > limit else None,
        }, TradeJournalOut))


PROGRAM_HELP = ("a program's slug (as /programs shows it: every phase) or an engine "
                "program id (default.gold-10k.p1, or a broker's program)")
#: Nearest floors are read with this many spare rows: an account the platform closed a
#: moment ago (its answer not yet in the history) is dropped, and the list stays full.
NEAREST_SPARE = 16
MAX_NEAREST = 5000  # a desk's whole firm, nearest first


async def _programs(handler: ApiHandler, name: str, where: str) -> list[str]:
    """The engine programs a program name stands for in this firm; 422 naming ``where``
    when it names none (a filter never silently matches nothing)."""
    ids = await handler.services.programs.engine_ids(handler.tenant, name) \
        if storable(name) else None
    if ids is None and storable(name) and await handler.services.history.has_program(
            handler.tenant.id, name):
        ids = (name,)  # recorded (an imported history) though not on record
    if ids is None:
        raise Unprocessable(f"{where}: no program {name[:80]!r} in this firm; expected "
                            + PROGRAM_HELP, fields=[FieldError(where, "unknown program")])
    return list(ids)


class CohortsHandler(ApiHandler):
    @operation("Program cohorts: pass, fail and stop rates, failures by rule, time to "
               "outcome", response=list[CohortOut], roles=STAFF, tag="analytics",
               query=(*RANGE, ("period", "day, week or month (month)", Period),
                      ("program", PROGRAM_HELP + "; default: every program")))
    async def get(self) -> None:
        period = self.query_choice("period", Period) or "month"
        since, until = _range(self)
        name = self.get_query_argument("program", "")
        programs = await _programs(self, name, "program") if name else []
        stopped = await self.services.accounts.closed_by_platform(self.tenant.id)
        rows = await self.services.history.cohorts(self.tenant.id, period, programs, since,
                                                   until, stopped)
        self.send(msgspec.convert(rows, list[CohortOut]))


class ExposureHandler(ApiHandler):
    @operation("The firm's open exposure: per symbol, most concentrated accounts, live "
               "accounts nearest a floor", response=ExposureOut, roles=STAFF,
               tag="analytics", query=(
                   ("top", "most concentrated accounts listed, 1 to 500 (20)",
                    Annotated[int, msgspec.Meta(ge=1, le=500)]),
                   ("nearest", "live accounts nearest a floor listed, 1 to 5000 (as top)",
                    Annotated[int, msgspec.Meta(ge=1, le=MAX_NEAREST)])))
    async def get(self) -> None:
        top = self.query_count("top", 20, 1, 500)
        wanted = self.query_count("nearest", top, 1, MAX_NEAREST)
        accounts = self.services.accounts
        stopped = await accounts.closed_by_platform(self.tenant.id)
        result: dict[str, Any] = await self.services.history.exposure(
            self.tenant.id, top, stopped, wanted + NEAREST_SPARE)
        rows = result["nearest_floors"]
        # Each account's one status (on record); the history's reading only for an account
        # not on record yet.
        statuses = await accounts.statuses(row["account"] for row in rows)
        nearest = [{**row, "status": statuses.get(row["account"], row["status"]),
                    "ts": from_micros(row["ts"])} for row in rows]
        result["nearest_floors"] = [row for row in nearest if row["status"] in LIVE][:wanted]
        self.send(msgspec.convert(result, ExposureOut))


class WhatIfHandler(ApiHandler):
    @operation("Re-run a program variant over a cohort's recorded feed; which outcomes change",
               body=WhatIfIn, response=WhatIfOut, roles=STAFF, tag="analytics")
    async def post(self) -> None:
        body = self.body(WhatIfIn)
        for name in ("since", "until"):
            moment = getattr(body, name)
            if moment is not None and moment.tzinfo is None:
                raise Unprocessable(f"{name}: a time with an offset or Z is required",
                                    fields=[FieldError(f"$.{name}", "naive time")])
        since = ALL_TIME[0] if body.since is None else to_micros(body.since)
        until = ALL_TIME[1] if body.until is None else to_micros(body.until)
        if since >= until:
            raise Unprocessable("since: must be before until",
                                fields=[FieldError("$.since", "not before until")])
        program = _phase(await _programs(self, body.program, "$.program"), body)
        result = await self.services.history.what_if(
            self.tenant.id, program, body.changes, since, until)
        self.send(msgspec.convert(result, WhatIfOut))


def _phase(programs: list[str], body: WhatIfIn) -> str:
    """The one engine program a what-if re-runs: a slug's phase (``phase``, needed when the
    program has several), or the engine program id given."""
    slug = programs != [body.program]
    if body.phase is not None and not slug:
        raise Unprocessable("$.phase: only with a program's slug (an engine program id is "
                            "one phase)", fields=[FieldError("$.phase", "not with an id")])
    if body.phase is None and len(programs) > 1:
        message = (f"{body.program!r} has {len(programs)} phases: give phase (1 to "
                   f"{len(programs)}) or an engine program id ({', '.join(programs)})")
        raise Unprocessable(f"$.phase: {message}", fields=[FieldError("$.phase", message)])
    index = (body.phase or 1) - 1
    if index >= len(programs):
        message = f"{body.program!r} has {len(programs)} phase(s)"
        raise Unprocessable(f"$.phase: {message}", fields=[FieldError("$.phase", message)])
    return programs[index]


MAX_SEARCH = 256  # characters of a search text (an account id is at most 256)


class AccountSearchHandler(ApiHandler):
    @operation("Find accounts of the firm's history by login or program (any case)",
               response=list[AccountFound], roles=STAFF, tag="analytics",
               query=(("q", "text the login or the program contains; empty: every account"),
                      ("limit", "accounts listed, 1 to 100 (20)",
                       Annotated[int, msgspec.Meta(ge=1, le=100)])))
    async def get(self) -> None:
        text = self.get_query_argument("q", "").strip()
        if len(text) > MAX_SEARCH or "\x00" in text:
            raise Unprocessable(f"q: at most {MAX_SEARCH} characters, no NUL",
                                fields=[FieldError("q", "too long or NUL")])
        limit = self.query_count("limit", 20, 1, 100)
        rows = await self.services.history.find_accounts(self.tenant.id, text, limit)
        self.send(msgspec.convert(rows, list[AccountFound]))


#: Reports read at once by one gateway process (a 2,134-trade XLSX takes ~1 s of a core);
#: more uploads wait their turn.
PARSING = asyncio.Semaphore(2)
DISCARD_UP_TO = 2  # times the limit: a bigger declared body is refused without reading it
IMPORTED_PROGRAM = "imported"  # the program a stored report's account opens under, as the CLI


@tornado.web.stream_request_body
class ReportsHandler(ApiHandler):
    """The body is the report file itself, read up to the CLI's limit (not the API's
    64 KiB for JSON), counted as it comes; past the limit it is dropped, not kept."""

    _chunks: list[bytes]
    _received = 0

    async def prepare(self) -> None:
        self._chunks = []
        await super().prepare()
        declared = self.request.headers.get("Content-Length", "")
        size = int(declared) if declared.isdigit() and len(declared) < 19 else 0
        if size > DISCARD_UP_TO * MAX_REPORT_BYTES:
            # Refused unread: the client sees the connection close, perhaps before the 413.
            raise TooLarge(too_large(size))
        if isinstance(self.request.connection, HTTP1Connection):
            # A body over the limit is read and dropped (post() answers 413, which a
            # client still sending would miss if the connection closed under it).
            self.request.connection.set_max_body_size(
                max(size, MAX_REPORT_BYTES + 1))

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received <= MAX_REPORT_BYTES:
            self._chunks.append(chunk)

    @operation("Read a MetaTrader report (MT5 history HTML/XLSX, MT5 tester HTML, MT4 "
               "statement): its statistics, balance curve and daily P&L",
               upload=("application/octet-stream",), max_upload=MAX_REPORT_BYTES,
               response=ReportOut, roles=STAFF, tag="analytics",
               query=(("file", "the file's name, for messages (report)"),
                      ("store_as", "keep the account's history in the firm's history "
                                   "under this new account name; absent: nothing is kept")),
               description=f"The body is the file as it is (any content type), at most "
                           f"{MAX_REPORT_BYTES:,} bytes (413 over it). A file that is not "
                           "a report is a 422 saying what is missing or wrong.")
    async def post(self) -> None:
        if self._received > MAX_REPORT_BYTES:
            raise TooLarge(too_large(self._received))
        name = (self.get_query_argument("file", "") or "report")[:200]
        store_as = self.get_query_argument("store_as", None)
        if store_as is not None:
            store_as = store_as.strip()
            if not storable(store_as) or not store_as.isprintable():
                raise Unprocessable("store_as: an account name of 1 to 256 printable "
                                    "characters", fields=[FieldError("store_as", "bad name")])
            if await self.services.accounts.statuses([store_as]):
                raise Conflict(f"store_as: {store_as!r} is an account on record; choose "
                               "another name")
        data = b"".join(self._chunks)
        self._chunks = []
        async with PARSING:
            try:
                report = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: parse_report(data, name, program=IMPORTED_PROGRAM))
            except ReportError as error:
                raise Unprocessable(str(error), fields=[FieldError("$", error.reason)]
                                    ) from None
            view = await asyncio.get_running_loop().run_in_executor(
                None, report_view, report)
        if store_as is not None:
            events = [msgspec.structs.replace(event, account=store_as)
                      if getattr(event, "account", None) == report.account else event
                      for event in report.events]
            await self.services.history.store_report(self.tenant.id, store_as, events)
            view["stored_as"] = store_as
        self.send(msgspec.convert(view, ReportOut))


ROUTES = [
    (r"/api/v1/accounts/(?P<login>[^/]+)/statistics", StatisticsHandler),
    (r"/api/v1/accounts/(?P<login>[^/]+)/symbols", SymbolsHandler),
    (r"/api/v1/accounts/(?P<login>[^/]+)/calendar", CalendarHandler),
    (r"/api/v1/accounts/(?P<login>[^/]+)/equity", EquityHandler),
    (r"/api/v1/accounts/(?P<login>[^/]+)/trades", TradesHandler),
    (r"/api/v1/analytics/cohorts", CohortsHandler),
    (r"/api/v1/analytics/exposure", ExposureHandler),
    (r"/api/v1/analytics/what-if", WhatIfHandler),
    (r"/api/v1/analytics/reports", ReportsHandler),
    (r"/api/v1/analytics/accounts", AccountSearchHandler),
]
