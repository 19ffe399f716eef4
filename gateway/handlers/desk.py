"""The risk desk (breaches, overrides, emergency stops) and user administration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from gateway.api import ApiHandler, operation, whole_number
from gateway.errors import FieldError, Unprocessable
from gateway.handlers.trading import ADMINS, STAFF, path_id
from gateway.riskdesk import AuditFilters
from gateway.schemas import (
    AdminUserOut,
    AuditAction,
    AuditOut,
    AuditTarget,
    ChallengeStatus,
    DeskChallengeOut,
    ReasonIn,
    RiskEventOut,
    RiskKind,
    RiskState,
    UserAdminIn,
)

LIMIT = Annotated[int, msgspec.Meta(ge=1, le=1000)]
CURSOR = Annotated[int, msgspec.Meta(ge=1)]
SEARCH = Annotated[str, msgspec.Meta(max_length=200)]
MOMENT = Annotated[datetime, msgspec.Meta(tz=True)]


class DeskQueries(ApiHandler):
    """The desk's list filters: text of bounded length, id cursors, moments with a zone;
    each wrong value a 422 naming its parameter."""

    def query_text(self, name: str, longest: int = 200) -> str | None:
        """A free-text filter (absent or blank: None); longer than ``longest``: 422."""
        text = (self.get_query_argument(name, None) or "").strip()
        if len(text) > longest:
            raise Unprocessable(f"{name}: at most {longest} characters",
                                fields=[FieldError(name, f"at most {longest} characters")])
        return text or None

    def query_cursor(self, name: str) -> int | None:
        """An id from the previous page (absent: the first page)."""
        text = self.get_query_argument(name, None)
        if text is None:
            return None
        number = whole_number(text, 1, 2**63 - 1)
        if number is None:
            raise Unprocessable(f"{name}: expected the id of an entry (a whole number)",
                                fields=[FieldError(name, "a whole number from 1")])
        return number

    def query_moment(self, name: str) -> datetime | None:
        """An ISO 8601 date and time with its zone (``2026-12-03T06:00:00Z``)."""
        text = self.get_query_argument(name, None)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            shown = text if len(text) <= 40 else text[:40] + "…"
            message = "an ISO 8601 date and time with its zone (2026-12-03T06:00:00Z)"
            raise Unprocessable(f"{name}: {shown!r} is not {message}",
                                fields=[FieldError(name, message)])
        return moment


class RiskEventsHandler(ApiHandler):
    @operation("Risk events of this firm (every account: bought on the platform or the "
               "broker's own), newest first", response=list[RiskEventOut],
               roles=STAFF, tag="risk",
               query=(("kind", "breach (the default), objective, passed, resumed, or all",
                       RiskKind),
                      ("state", "open: neither acknowledged nor overridden (needs the desk); "
                       "unacknowledged: not yet acknowledged (overridden or not); "
                       "acknowledged; overridden. Default: every state", RiskState),
                      ("account", "a trading account's login (404 when the firm has none)"),
                      ("limit", "at most this many, 1 to 1000 (100)", LIMIT)))
    async def get(self) -> None:
        kind = self.query_choice("kind", RiskKind, "breach")
        state = self.query_choice("state", RiskState)
        self.send(await self.services.desk.events(
            self.tenant, None if kind == "all" else kind, state,
            self.get_query_argument("account", None) or None,
            self.query_count("limit", 100, 1, 1000)))


class AcknowledgeHandler(ApiHandler):
    @operation("Acknowledge a breach", response=RiskEventOut, roles=STAFF, tag="risk")
    async def post(self, event_id: str) -> None:
        self.send(await self.services.desk.acknowledge(self.user, self.tenant, event_id))


class OverrideHandler(ApiHandler):
    @operation("Override a false failure: the challenge goes on on a new account (once per "
               "failure: every breach of it is overridden; again: 409 naming the new account)",
               body=ReasonIn, response=RiskEventOut, roles=STAFF, tag="risk")
    async def post(self, event_id: str) -> None:
        body = self.body(ReasonIn)
        self.send(await self.services.desk.override(self.user, self.tenant, event_id,
                                                    body.reason))


class StopHandler(ApiHandler):
    @operation("Emergency stop: disable the account at the broker, end its challenge",
               body=ReasonIn, status=204, roles=STAFF, tag="risk")
    async def post(self, login: str) -> None:
        body = self.body(ReasonIn)
        await self.services.desk.stop(self.user, self.tenant, login, body.reason)
        self.send(None, 204)


class ChallengesMonitorHandler(DeskQueries):
    @operation("The firm's challenges for the desk's monitor, newest first, with their "
               "trader and accounts (approving a phase under review: admins, "
               "POST /admin/challenges/{id}/approve)", response=list[DeskChallengeOut],
               roles=STAFF, tag="risk",
               query=(("status", "only challenges in this status (review: a phase passed "
                       "waits for an admin)", ChallengeStatus),
                      ("program", "only this program's (its slug; 422 when the firm has "
                       "none)"),
                      ("q", "part of the trader's e-mail or name, or of an account's login "
                       "(taken literally; at most 200 characters)", SEARCH),
                      ("limit", "at most this many, 1 to 500 (50)",
                       Annotated[int, msgspec.Meta(ge=1, le=500)]),
                      ("before", "the next page: challenges older than this id (the last "
                       "of the page before)", CURSOR)))
    async def get(self) -> None:
        status = self.query_choice("status", ChallengeStatus)
        program = self.query_text("program", 100)
        query = self.query_text("q")
        limit = self.query_count("limit", 50, 1, 500)
        self.send(await self.services.desk.challenge_list(
            self.tenant, status, program, query, limit, self.query_cursor("before")))


class UsersHandler(DeskQueries):
    @operation("Search users by e-mail or name, by id", response=list[AdminUserOut],
               roles=ADMINS, tag="admin",
               query=(("q", "part of an e-mail or name (taken literally; at most 200 "
                       "characters)", SEARCH),
                      ("limit", "at most this many, 1 to 1000 (100)", LIMIT),
                      ("after", "the next page: users after this id (the last of the page "
                       "before)", CURSOR)))
    async def get(self) -> None:
        query = self.query_text("q")
        limit = self.query_count("limit", 100, 1, 1000)
        self.send(await self.services.desk.users(self.tenant, query, limit,
                                                 self.query_cursor("after")))


class UserHandler(ApiHandler):
    @operation("Change a user's role or disable it (only on a user ranked below you, the "
               "owner excepted; never your own, never the firm's last owner)",
               body=UserAdminIn, response=AdminUserOut,
               roles=ADMINS, tag="admin")
    async def patch(self, user_id: str) -> None:
        body = self.body(UserAdminIn)
        updated = await self.services.desk.update_user(self.user, self.tenant,
                                                       path_id(user_id), body)
        self.services.users.forget_user(updated.id)  # a new role or a block applies now
        self.send(updated)


class AuditHandler(DeskQueries):
    @operation("The audit log of admin and risk actions, newest first, each with its "
               "before and after", response=list[AuditOut], roles=ADMINS, tag="admin",
               query=(("actor", "part of the acting user's e-mail (taken literally)",
                       SEARCH),
                      ("action", "only this action", AuditAction),
                      ("target_type", "only actions on this kind of thing", AuditTarget),
                      ("target", "only actions on this one (its id or login, exactly; at "
                       "most 100 characters)"),
                      ("from", "at or after this moment (ISO 8601 with its zone)", MOMENT),
                      ("to", "before this moment (ISO 8601 with its zone)", MOMENT),
                      ("limit", "at most this many, 1 to 1000 (100)", LIMIT),
                      ("before", "the next page: entries older than this id", CURSOR)))
    async def get(self) -> None:
        since, until = self.query_moment("from"), self.query_moment("to")
        if since is not None and until is not None and since >= until:
            raise Unprocessable("to: must be after from",
                                fields=[FieldError("to", "after from")])
        filters = AuditFilters(
            actor=self.query_text("actor"), action=self.query_choice("action", AuditAction),
            target_type=self.query_choice("target_type", AuditTarget),
            target_id=self.query_text("target", 100), since=since, until=until,
            before=self.query_cursor("before"))
        self.send(await self.services.desk.audit_log(
            self.tenant, self.query_count("limit", 100, 1, 1000), filters))


ROUTES = [
    (r"/api/v1/risk/events", RiskEventsHandler),
    (r"/api/v1/risk/events/(?P<event_id>[^/]+)/acknowledge", AcknowledgeHandler),
    (r"/api/v1/risk/events/(?P<event_id>[^/]+)/override", OverrideHandler),
    (r"/api/v1/risk/accounts/(?P<login>[A-Za-z0-9._-]+)/stop", StopHandler),
    (r"/api/v1/risk/challenges", ChallengesMonitorHandler),
    (r"/api/v1/admin/users", UsersHandler),
    (r"/api/v1/admin/users/(?P<user_id>[^/]+)", UserHandler),
    (r"/api/v1/admin/audit", AuditHandler),
]
