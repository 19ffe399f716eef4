"""Challenges: bought, paid, provisioned as trading accounts, advanced phase by phase.

A challenge is bought on a program (``pending_payment``); once paid it is ``active`` and
its first phase's account is provisioned through the broker adapter. The engine's verdicts
(:mod:`gateway.outcomes`) fail it, or pass a phase: the next phase's account is opened at
once (``advance: auto``) or after an admin's review (``review``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson

from gateway import audit
from gateway.brokers import BrokerAdapter
from gateway.errors import ApiError, Conflict, NotFound, Unavailable
from gateway.notifications import Notifier
from gateway.payments import PaymentProvider
from gateway.programs import cents_of, money
from gateway.schemas import ChallengeIn, ChallengeOut, PaymentOut, TradingAccountOut
from gateway.tenants import Tenant
from gateway.users import Principal

log = logging.getLogger("proptrade.challenges")
STAFF = ("risk", "admin", "owner")
ACCOUNT_SECONDS = 2.0


def login_for(tenant_id: int, challenge_id: int, phase: int, attempt: int = 0) -> str:
    """The account id in the feed: unique across tenants, readable by a support desk."""
    suffix = f"R{attempt}" if attempt else ""
    return f"T{tenant_id}C{challenge_id}P{phase + 1}{suffix}"


class Challenges:
    def __init__(self, pool: Any, payments: PaymentProvider,
                 broker: BrokerAdapter | None, notifier: Notifier) -> None:
        self.pool = pool
        self.payments = payments
        self.broker = broker
        self.notifier = notifier  # the e-mail notices of the lifecycle (gateway.notifications)
        self._owners: dict[tuple[int, str], tuple[float, int | None]] = {}

    async def owner(self, tenant_id: int, login: str) -> int | None:
        """The user owning a trading account of this firm, or None. An account never
        changes hands, so a found owner is kept (live reads poll this); an unknown login
        is asked again after 2 s (it may be about to be provisioned)."""
        now = time.monotonic()
        known = self._owners.get((tenant_id, login))
        if known is not None and (known[1] is not None or known[0] > now):
            return known[1]
        user_id: int | None = await self.pool.fetchval(
            "SELECT user_id FROM trading_accounts WHERE login = $1 AND tenant_id = $2",
            login, tenant_id)
        if len(self._owners) > 500_000:
            self._owners.clear()
        self._owners[(tenant_id, login)] = (now + ACCOUNT_SECONDS, user_id)
        return user_id

    async def buy(self, principal: Principal, tenant: Tenant, body: ChallengeIn
                  ) -> ChallengeOut:
        async with self.pool.acquire() as connection, connection.transaction():
            program = await connection.fetchrow(
                "SELECT * FROM programs WHERE tenant_id = $1 AND slug = $2 AND active",
                tenant.id, body.program)
            if program is None:
                raise NotFound(f"no program {body.program!r} is on sale")
            offered = {a["name"]: a for a in orjson.loads(program["addons"])}
            unknown = [name for name in body.addons if name not in offered]
            if unknown:
                raise ApiError(f"$.addons: no add-on {unknown[0]!r} on this program",
                               status=422, code="validation_failed")
            amount = program["price_cents"] + sum(cents_of(offered[n]["price"])
                                                  for n in body.addons)
            challenge = await connection.fetchrow(
                "INSERT INTO challenges (tenant_id, user_id, program_id, addons) "
                "VALUES ($1, $2, $3, $4) RETURNING *", tenant.id, principal.user_id,
                program["id"], orjson.dumps(body.addons).decode())
            await connection.execute(
                "INSERT INTO payments (tenant_id, challenge_id, provider, amount_cents, "
                "currency, reference) VALUES ($1, $2, $3, $4, $5, $6)", tenant.id,
                challenge["id"], self.payments.name, amount, program["currency"],
                self.payments.reference())
            return await self._out(connection, challenge["id"])

    async def get(self, principal: Principal, tenant: Tenant, challenge_id: int
                  ) -> ChallengeOut:
        async with self.pool.acquire() as connection:
            row = await self._visible(connection, principal, tenant, challenge_id)
            return await self._out(connection, row["id"])

    async def list(self, principal: Principal, tenant: Tenant, status: str | None,
                   everyone: bool) -> list[ChallengeOut]:
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(
                "SELECT id FROM challenges WHERE tenant_id = $1 AND ($2 OR user_id = $3) "
                "AND ($4::text IS NULL OR status = $4) ORDER BY id DESC LIMIT 500",
                tenant.id, everyone and principal.role in STAFF, principal.user_id, status)
            return [await self._out(connection, row["id"]) for row in rows]

    async def _visible(self, connection: Any, principal: Principal, tenant: Tenant,
                       challenge_id: int) -> Any:
        row = await connection.fetchrow(
            "SELECT * FROM challenges WHERE id = $1 AND tenant_id = $2", challenge_id,
            tenant.id)
        if row is None or (principal.role not in STAFF and row["user_id"] != principal.user_id):
            raise NotFound("no such challenge")  # another's challenge does not exist to you
        return row

    async def confirm_payment(self, principal: Principal, tenant: Tenant,
                              challenge_id: int) -> ChallengeOut:
        """The trader confirms a manual payment (when the provider allows it)."""
        if not self.payments.trader_may_confirm:
            raise ApiError("the firm settles this payment once it has received it; a "
                           "trader cannot confirm it", status=403,
                           code="payment_settled_by_firm")
        async with self.pool.acquire() as connection, connection.transaction():
            challenge = await self._visible(connection, principal, tenant, challenge_id)
            payment = await connection.fetchrow(
                "SELECT * FROM payments WHERE challenge_id = $1 FOR UPDATE", challenge["id"])
            await self._settle(connection, tenant, payment)
            return await self._out(connection, challenge_id)

    async def settle(self, actor: Principal, tenant: Tenant, payment_id: int) -> ChallengeOut:
        async with self.pool.acquire() as connection, connection.transaction():
            payment = await connection.fetchrow(
                "SELECT * FROM payments WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
                payment_id, tenant.id)
            if payment is None:
                raise NotFound("no such payment")
            await self._settle(connection, tenant, payment)
            await audit.record(connection, actor, "payment.settle", "payment", payment_id,
                               before={"status": payment["status"]}, after={"status": "paid"})
            return await self._out(connection, payment["challenge_id"])

    async def approve(self, actor: Principal, tenant: Tenant, challenge_id: int
                      ) -> ChallengeOut:
        """An admin approves a phase passed under review: the next phase's account opens."""
        async with self.pool.acquire() as connection, connection.transaction():
            challenge = await connection.fetchrow(
                "SELECT * FROM challenges WHERE id = $1 AND tenant_id = $2 FOR UPDATE",
                challenge_id, tenant.id)
            if challenge is None:
                raise NotFound("no such challenge")
            if challenge["status"] != "review":
                raise Conflict(f"the challenge is {challenge['status']}, not in review",
                               code="not_in_review")
            login = await self.provision(connection, tenant.id, challenge, challenge["phase"])
            await audit.record(connection, actor, "challenge.approve", "challenge",
                               challenge_id, before={"status": "review"},
                               after={"status": "active", "account": login})
            return await self._out(connection, challenge_id)

    async def _settle(self, connection: Any, tenant: Tenant, payment: Any) -> None:
        if payment["status"] == "paid":
            raise Conflict("the payment is already settled", code="already_paid")
        await connection.execute(
            "UPDATE payments SET status = 'paid', paid_at = now() WHERE id = $1",
            payment["id"])
        await self.notifier.purchase(connection, payment)
        challenge = await connection.fetchrow(
            "UPDATE challenges SET status = 'active', updated_at = now() WHERE id = $1 "
            "AND status = 'pending_payment' RETURNING *", payment["challenge_id"])
        if challenge is not None:
            await self.provision(connection, tenant.id, challenge, 0)

    async def provision(self, connection: Any, tenant_id: int, challenge: Any, phase: int,
                        balance: float | None = None, attempt: int = 0,
                        replaces: int | None = None) -> str:
        """Open the account of a phase (inside the caller's transaction: if the broker
        cannot be reached, nothing is recorded and the caller gets a 503). An override's
        replacement (``attempt`` 1, 2 ...) is a row of its own: the account it
        ``replaces`` keeps its row, login and status."""
        program = await connection.fetchrow("SELECT * FROM programs WHERE id = $1",
                                            challenge["program_id"])
        document = orjson.loads(program["phases"])[phase]["document"]
        login = login_for(tenant_id, challenge["id"], phase, attempt)
        await connection.execute(
            "INSERT INTO trading_accounts (tenant_id, challenge_id, user_id, phase, login, "
            "engine_program, broker, attempt, replaces) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "$8, $9)", tenant_id, challenge["id"], challenge["user_id"], phase, login,
            document["id"], self.broker.name if self.broker else "none", attempt, replaces)
        await connection.execute(
            "UPDATE challenges SET phase = $2, status = 'active', updated_at = now() "
            "WHERE id = $1", challenge["id"], phase)
        if self.broker is None:
            raise Unavailable("no broker is connected (KAFKA_BOOTSTRAP is empty)",
                              part="broker")
        try:
            await self.broker.open_account(
                login, document, balance if balance is not None
                else float(document["initial_balance"]))
        except Exception as error:  # the broker link: nothing is committed
            log.warning("opening %s at the broker failed: %s", login, error)
            raise Unavailable("the broker could not be reached; try again",
                              part="broker") from None
        await self.notifier.opened(connection, challenge["id"], phase, login,
                                   balance if balance is not None
                                   else float(document["initial_balance"]), attempt > 0)
        return login

    async def _out(self, connection: Any, challenge_id: int) -> ChallengeOut:
        row = await connection.fetchrow(
            "SELECT c.*, p.slug, p.phases, p.price_cents, p.currency FROM challenges c "
            "JOIN programs p ON p.id = c.program_id WHERE c.id = $1", challenge_id)
        payment = await connection.fetchrow(
            "SELECT * FROM payments WHERE challenge_id = $1", challenge_id)
        accounts = await connection.fetch(
            "SELECT * FROM trading_accounts WHERE challenge_id = $1 ORDER BY phase, attempt",
            challenge_id)
        phases = orjson.loads(row["phases"])
        return ChallengeOut(
            id=row["id"], program=row["slug"], status=row["status"], phase=row["phase"],
            phase_name=phases[min(row["phase"], len(phases) - 1)]["name"],
            price=money(row["price_cents"]), currency=row["currency"],
            payment=None if payment is None else PaymentOut(
                payment["id"], payment["provider"], payment["reference"],
                money(payment["amount_cents"]), payment["currency"], payment["status"]),
            accounts=[TradingAccountOut(a["login"], a["phase"], a["engine_program"],
                                        a["status"], a["created_at"]) for a in accounts],
            created_at=row["created_at"])
