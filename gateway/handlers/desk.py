"""The risk desk (breaches, overrides, emergency stops) and user administration."""

from __future__ import annotations

from typing import Annotated

import msgspec

from gateway.api import ApiHandler, operation
from gateway.handlers.trading import ADMINS, STAFF, path_id
from gateway.schemas import (
    AuditOut,
    ReasonIn,
    RiskEventOut,
    RiskKind,
    RiskState,
    UserAdminIn,
    UserOut,
)

LIMIT = Annotated[int, msgspec.Meta(ge=1, le=1000)]


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


class UsersHandler(ApiHandler):
    @operation("Search users by e-mail or name", response=list[UserOut], roles=ADMINS,
               tag="admin", query=(("q", "part of an e-mail or name (taken literally)"),
                                   ("limit", "at most this many, 1 to 1000 (100)", LIMIT)))
    async def get(self) -> None:
        self.send(await self.services.desk.users(
            self.tenant, self.get_query_argument("q", None),
            self.query_count("limit", 100, 1, 1000)))


class UserHandler(ApiHandler):
    @operation("Change a user's role or disable it", body=UserAdminIn, response=UserOut,
               roles=ADMINS, tag="admin")
    async def patch(self, user_id: str) -> None:
        body = self.body(UserAdminIn)
        updated = await self.services.desk.update_user(self.user, self.tenant,
                                                       path_id(user_id), body)
        self.services.users.forget_user(updated.id)  # a new role or a block applies now
        self.send(updated)


class AuditHandler(ApiHandler):
    @operation("The audit log of admin and risk actions", response=list[AuditOut],
               roles=ADMINS, tag="admin",
               query=(("limit", "at most this many, 1 to 1000 (100)", LIMIT),))
    async def get(self) -> None:
        self.send(await self.services.desk.audit_log(self.tenant,
                                                     self.query_count("limit", 100, 1, 1000)))


ROUTES = [
    (r"/api/v1/risk/events", RiskEventsHandler),
    (r"/api/v1/risk/events/(?P<event_id>[^/]+)/acknowledge", AcknowledgeHandler),
    (r"/api/v1/risk/events/(?P<event_id>[^/]+)/override", OverrideHandler),
    (r"/api/v1/risk/accounts/(?P<login>[A-Za-z0-9._-]+)/stop", StopHandler),
    (r"/api/v1/admin/users", UsersHandler),
    (r"/api/v1/admin/users/(?P<user_id>[^/]+)", UserHandler),
    (r"/api/v1/admin/audit", AuditHandler),
]
