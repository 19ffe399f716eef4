"""History and analytics: account statistics, equity curves, cohorts, exposure, what-if.

Times in query strings are ISO 8601 (``2026-03-01T00:00:00Z``); ranges are [since, until).
A trader reads only their own accounts; the risk desk and admins read every account of
their firm, including those the platform did not open (a broker's own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from analytics.queries import ALL_TIME, PERIODS
from gateway.api import ROLES, ApiHandler, operation, whole_number
from gateway.errors import FieldError, NotFound, Unprocessable
from gateway.handlers.trading import STAFF
from gateway.schemas import (
    AccountStatistics,
    CohortOut,
    DailyPnl,
    EquityPoint,
    ExposureOut,
    SymbolStatistics,
    WhatIfIn,
    WhatIfOut,
)
from streams.events import from_micros, to_micros

RANGE = (("since", "ISO 8601 time, inclusive"), ("until", "ISO 8601 time, exclusive"))


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


def _count(handler: ApiHandler, name: str, default: int, low: int, high: int) -> int:
    number = whole_number(handler.get_query_argument(name, str(default)), low, high)
    if number is None:
        raise Unprocessable(f"{name}: expected a whole number from {low} to {high}",
                            fields=[FieldError(name, "out of range")])
    return number


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
               query=(*RANGE, ("points", "at most this many points, 4 to 10000 (1000)")))
    async def get(self, login: str) -> None:
        points = _count(self, "points", 1000, 4, 10_000)
        since, until = _range(self)
        curve = await self.services.history.equity(
            self.tenant.id, await self.account(login), points, since, until)
        self.send([EquityPoint(from_micros(p["ts"]), p["equity"], p["balance"])
                   for p in curve])


class CohortsHandler(ApiHandler):
    @operation("Program cohorts: pass and fail rates, failures by rule, time to outcome",
               response=list[CohortOut], roles=STAFF, tag="analytics",
               query=(*RANGE, ("period", "day, week or month (month)"),
                      ("program", "one engine program id (default: all)")))
    async def get(self) -> None:
        period = self.get_query_argument("period", "month")
        if period not in PERIODS:
            raise Unprocessable(f"period: one of {', '.join(PERIODS)}",
                                fields=[FieldError("period", "unknown period")])
        since, until = _range(self)
        rows = await self.services.history.cohorts(
            self.tenant.id, period, self.get_query_argument("program", ""), since, until)
        self.send(msgspec.convert(rows, list[CohortOut]))


class ExposureHandler(ApiHandler):
    @operation("The firm's open exposure: per symbol, most concentrated accounts, accounts"
               " nearest a floor", response=ExposureOut, roles=STAFF, tag="analytics",
               query=(("top", "accounts listed, 1 to 500 (20)"),))
    async def get(self) -> None:
        top = _count(self, "top", 20, 1, 500)
        result: dict[str, Any] = await self.services.history.exposure(self.tenant.id, top)
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
        result = await self.services.history.what_if(
            self.tenant.id, body.program, body.changes, since, until)
        self.send(msgspec.convert(result, WhatIfOut))


ROUTES = [
    (r"/api/v1/accounts/(?P<login>[^/]+)/statistics", StatisticsHandler),
    (r"/api/v1/accounts/(?P<login>[^/]+)/symbols", SymbolsHandler),
    (r"/api/v1/accounts/(?P<login>[^/]+)/calendar", CalendarHandler),
    (r"/api/v1/accounts/(?P<login>[^/]+)/equity", EquityHandler),
    (r"/api/v1/analytics/cohorts", CohortsHandler),
    (r"/api/v1/analytics/exposure", ExposureHandler),
    (r"/api/v1/analytics/what-if", WhatIfHandler),
]
