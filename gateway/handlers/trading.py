"""Programs (the catalogue and its admin), challenges, payments, trading accounts."""

from __future__ import annotations

from typing import Annotated

import msgspec

from gateway.api import ROLES, ApiHandler, operation, whole_number
from gateway.errors import NotFound
from gateway.schemas import (
    AccountEventOut,
    AccountMetrics,
    ChallengeIn,
    ChallengeOut,
    ChallengeStatus,
    Flag,
    ProgramIn,
    ProgramOut,
    RiskKind,
)

ADMINS = ("admin", "owner")
STAFF = ("risk", "admin", "owner")


def path_id(text: str) -> int:
    number = whole_number(text, 1, 2**63 - 1)  # a bigint id
    if number is None:
        raise NotFound("no such resource")
    return number


class CatalogueHandler(ApiHandler):
    @operation("The programs on sale at this firm", response=list[ProgramOut],
               tag="programs")
    async def get(self) -> None:
        self.send(await self.services.programs.list(self.tenant, include_inactive=False))


class CatalogueItemHandler(ApiHandler):
    @operation("One program on sale", response=ProgramOut, tag="programs")
    async def get(self, slug: str) -> None:
        self.send(await self.services.programs.get(self.tenant, slug))


class AdminProgramsHandler(ApiHandler):
    @operation("Every program, on sale or not", response=list[ProgramOut], roles=ADMINS,
               tag="admin")
    async def get(self) -> None:
        self.send(await self.services.programs.list(self.tenant, include_inactive=True))

    @operation("Create a program (each phase's document is checked by the engine's parser)",
               body=ProgramIn, response=ProgramOut, status=201, roles=ADMINS, tag="admin")
    async def post(self) -> None:
        body = self.body(ProgramIn)
        self.send(await self.services.programs.create(self.user, self.tenant, body), 201)


class AdminProgramHandler(ApiHandler):
    @operation("Replace a program (accounts already open keep the rules they opened on)",
               body=ProgramIn, response=ProgramOut, roles=ADMINS, tag="admin")
    async def put(self, program_id: str) -> None:
        body = self.body(ProgramIn)
        self.send(await self.services.programs.update(self.user, self.tenant,
                                                      path_id(program_id), body))


class ChallengesHandler(ApiHandler):
    @operation("Challenges: a trader's own; staff: every challenge of the firm",
               response=list[ChallengeOut], roles=ROLES, tag="challenges",
               query=(("status", "only challenges in this status", ChallengeStatus),
                      ("all", "staff: 1 (the default) every trader's challenges, 0 only "
                       "their own; a trader always sees only their own", Flag)))
    async def get(self) -> None:
        status = self.query_choice("status", ChallengeStatus)
        everyone = self.query_choice("all", Flag, "1") == "1"
        self.send(await self.services.challenges.list(self.user, self.tenant, status,
                                                      everyone))

    @operation("Buy a challenge: it waits for its payment", body=ChallengeIn,
               response=ChallengeOut, status=201, roles=ROLES, tag="challenges")
    async def post(self) -> None:
        body = self.body(ChallengeIn)
        self.send(await self.services.challenges.buy(self.user, self.tenant, body), 201)


class ChallengeHandler(ApiHandler):
    @operation("One challenge with its payment and accounts", response=ChallengeOut,
               roles=ROLES, tag="challenges")
    async def get(self, challenge_id: str) -> None:
        self.send(await self.services.challenges.get(self.user, self.tenant,
                                                     path_id(challenge_id)))


class ConfirmPaymentHandler(ApiHandler):
    @operation("Confirm your own manual payment (demo deployments only; elsewhere 403 "
               "payment_settled_by_firm): the challenge starts and its account opens",
               response=ChallengeOut, roles=ROLES, tag="challenges")
    async def post(self, challenge_id: str) -> None:
        self.send(await self.services.challenges.confirm_payment(
            self.user, self.tenant, path_id(challenge_id)))


class SettlePaymentHandler(ApiHandler):
    @operation("Settle a payment by hand (the firm received it)", response=ChallengeOut,
               roles=ADMINS, tag="admin")
    async def post(self, payment_id: str) -> None:
        self.send(await self.services.challenges.settle(self.user, self.tenant,
                                                        path_id(payment_id)))


class ApproveHandler(ApiHandler):
    @operation("Approve a phase passed under review: the next phase's account opens",
               response=ChallengeOut, roles=ADMINS, tag="admin")
    async def post(self, challenge_id: str) -> None:
        self.send(await self.services.challenges.approve(self.user, self.tenant,
                                                         path_id(challenge_id)))


class AccountHandler(ApiHandler):
    @operation("A trading account's latest live numbers and its status (a trader: only "
               "their own; staff: every account of the firm, the broker's own too)",
               response=AccountMetrics, roles=ROLES, tag="accounts")
    async def get(self, login: str) -> None:
        owner = await self.services.challenges.owner(self.tenant.id, login)
        if self.user.role in STAFF:
            if owner is None and not await self.services.accounts.on_record(self.tenant.id,
                                                                            login):
                raise NotFound("no such account")
        elif owner != self.user.user_id:
            raise NotFound("no such account")
        metrics = self.services.metrics
        latest, status = await metrics.latest_with_status(login)
        status = status or "active"
        if latest is None:
            self.send(AccountMetrics(login=login, status=status,  # type: ignore[arg-type]
                                     stale=metrics.stale()))
            return
        # The engine's numbers (marked stale while the broker is down); the status is the
        # account's one status (on record).
        self.send(msgspec.convert({**metrics.marked(latest), "status": status},
                                  AccountMetrics))


class AccountEventsHandler(ApiHandler):
    @operation("The engine's answers about a trading account (breaches, objectives, "
               "passes, resumes), newest first; a trader: only their own account's",
               response=list[AccountEventOut], roles=ROLES, tag="accounts",
               query=(("kind", "breach, objective, passed, resumed, or all (the default)",
                       RiskKind),
                      ("limit", "at most this many, 1 to 1000 (100)",
                       Annotated[int, msgspec.Meta(ge=1, le=1000)])))
    async def get(self, login: str) -> None:
        kind = self.query_choice("kind", RiskKind, "all")
        limit = self.query_count("limit", 100, 1, 1000)
        if self.user.role in STAFF:
            if not await self.services.accounts.on_record(self.tenant.id, login):
                raise NotFound("no such account")
        elif await self.services.challenges.owner(self.tenant.id, login) != self.user.user_id:
            raise NotFound("no such account")
        self.send(await self.services.desk.account_events(
            self.tenant, login, None if kind == "all" else kind, limit))


ROUTES = [
    (r"/api/v1/programs", CatalogueHandler),
    (r"/api/v1/programs/(?P<slug>[a-z0-9-]+)", CatalogueItemHandler),
    (r"/api/v1/admin/programs", AdminProgramsHandler),
    (r"/api/v1/admin/programs/(?P<program_id>[^/]+)", AdminProgramHandler),
    (r"/api/v1/challenges", ChallengesHandler),
    (r"/api/v1/challenges/(?P<challenge_id>[^/]+)", ChallengeHandler),
    (r"/api/v1/challenges/(?P<challenge_id>[^/]+)/confirm-payment", ConfirmPaymentHandler),
    (r"/api/v1/admin/payments/(?P<payment_id>[^/]+)/settle", SettlePaymentHandler),
    (r"/api/v1/admin/challenges/(?P<challenge_id>[^/]+)/approve", ApproveHandler),
    (r"/api/v1/accounts/(?P<login>[A-Za-z0-9._-]+)", AccountHandler),
    (r"/api/v1/accounts/(?P<login>[A-Za-z0-9._-]+)/events", AccountEventsHandler),
]
