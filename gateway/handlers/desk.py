"""The risk desk (breaches, overrides, emergency stops) and user administration."""

from __future__ import annotations

from gateway.api import ApiHandler, operation, whole_number
from gateway.handlers.trading import ADMINS, STAFF, path_id
from gateway.schemas import AuditOut, ReasonIn, RiskEventOut, UserAdminIn, UserOut


def _limit(handler: ApiHandler) -> int:
    number = whole_number(handler.get_query_argument("limit", "100"), 0, 2**63 - 1)
    return 100 if number is None else max(1, min(1000, number))


class RiskEventsHandler(ApiHandler):
    @operation("Risk events of this firm, newest first", response=list[RiskEventOut],
               roles=STAFF, tag="risk",
               query=(("kind", "breach, objective, passed, resumed (default breach)"),
                      ("state", "open, acknowledged, overridden"),
                      ("account", "a trading account's login"), ("limit", "at most 1000")))
    async def get(self) -> None:
        kind = self.get_query_argument("kind", "breach") or None
        self.send(await self.services.desk.events(
            self.tenant, None if kind == "all" else kind,
            self.get_query_argument("state", None), self.get_query_argument("account", None),
            _limit(self)))


class AcknowledgeHandler(ApiHandler):
    @operation("Acknowledge a breach", response=RiskEventOut, roles=STAFF, tag="risk")
    async def post(self, event_id: str) -> None:
        self.send(await self.services.desk.acknowledge(self.user, self.tenant, event_id))


class OverrideHandler(ApiHandler):
    @operation("Override a false breach: the challenge goes on on a new account",
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
               tag="admin", query=(("q", "part of an e-mail or name"), ("limit", "≤ 1000")))
    async def get(self) -> None:
        self.send(await self.services.desk.users(
            self.tenant, self.get_query_argument("q", None), _limit(self)))


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
               roles=ADMINS, tag="admin", query=(("limit", "≤ 1000"),))
    async def get(self) -> None:
        self.send(await self.services.desk.audit_log(self.tenant, _limit(self)))


ROUTES = [
    (r"/api/v1/risk/events", RiskEventsHandler),
    (r"/api/v1/risk/events/(?P<event_id>[^/]+)/acknowledge", AcknowledgeHandler),
    (r"/api/v1/risk/events/(?P<event_id>[^/]+)/override", OverrideHandler),
    (r"/api/v1/risk/accounts/(?P<login>[A-Za-z0-9._-]+)/stop", StopHandler),
    (r"/api/v1/admin/users", UsersHandler),
    (r"/api/v1/admin/users/(?P<user_id>[^/]+)", UserHandler),
    (r"/api/v1/admin/audit", AuditHandler),
]
