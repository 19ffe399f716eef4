"""The risk desk and the firm's admins: breaches (acknowledge, override), emergency stops,
users — every action in the audit log with its before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from gateway import audit, roles
from gateway.accounts import LIVE, AccountRegistry, storable
from gateway.brokers import BrokerAdapter
from gateway.challenges import Challenges
from gateway.errors import Conflict, FieldError, NotFound, Unprocessable
from gateway.live import MetricsCache
from gateway.schemas import (
    AccountEventOut,
    AdminUserOut,
    AuditOut,
    DeskChallengeOut,
    RiskEventOut,
    TradingAccountOut,
    UserAdminIn,
)
from gateway.tenants import Tenant
from gateway.users import Principal, user_out

_EVENT = ("SELECT e.*, a.login, a.status AS account_status, r.login AS replacement "
          "FROM risk_events e JOIN trading_accounts a ON a.id = e.account_id "
          "LEFT JOIN trading_accounts r ON r.id = e.replacement_id ")
# What each ``state`` filter selects (the desk's view of an event).
STATE_FILTERS = {
    "open": "e.acknowledged_at IS NULL AND e.overridden_at IS NULL",
    "unacknowledged": "e.acknowledged_at IS NULL",
    "acknowledged": "e.acknowledged_at IS NOT NULL",
    "overridden": "e.overridden_at IS NOT NULL",
}


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log is searched by (each checked by the handler); None: any."""

    actor: str | None = None  # part of the actor's e-mail address, taken literally
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before
    before: int | None = None  # entries older than this one (the next page)


def like_literal(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (ESCAPE '\\'): ``_`` and ``%``
    are wildcards, ``\\`` the escape character."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def event_out(row: Any) -> RiskEventOut:
    return RiskEventOut(row["id"], row["login"], row["kind"], row["rule"], row["ts"],
                        orjson.loads(row["payload"]), row["acknowledged_at"],
                        row["overridden_at"], row["override_reason"],
                        row["replacement"], row["account_status"])


class RiskDesk:
    def __init__(self, pool: Any, challenges: Challenges, broker: BrokerAdapter | None,
                 metrics: MetricsCache, registry: AccountRegistry) -> None:
        self.pool = pool
        self.challenges = challenges
        self.broker = broker
        self.metrics = metrics
        self.registry = registry

    async def events(self, tenant: Tenant, kind: str | None, state: str | None,
                     login: str | None, limit: int) -> list[RiskEventOut]:
        """The firm's events, newest first; ``kind`` None is every kind, ``state`` one of
        :data:`STATE_FILTERS` (checked by the caller), ``login`` an account of the firm."""
        if login is not None and not (storable(login) and await self.pool.fetchval(
                "SELECT 1 FROM trading_accounts WHERE login = $1 AND tenant_id = $2", login,
                tenant.id)):
            raise NotFound(f"account: no account {login[:80]!r} in this firm")
        where = f" AND {STATE_FILTERS[state]}" if state else ""
        rows = await self.pool.fetch(
            _EVENT + "WHERE e.tenant_id = $1 AND ($2::text IS NULL OR e.kind = $2) "
            "AND ($3::text IS NULL OR a.login = $3)" + where +
            " ORDER BY e.ts DESC, e.id DESC LIMIT $4", tenant.id, kind, login, limit)
        return [event_out(row) for row in rows]

    async def account_events(self, tenant: Tenant, login: str, kind: str | None,
                             limit: int) -> list[AccountEventOut]:
        """The answers about one account of the firm (the caller checked who may read
        it), newest first; ``kind`` None is every kind. No desk-only field."""
        rows = await self.pool.fetch(
            "SELECT e.id, a.login, e.kind, e.rule, e.ts, e.payload, r.login AS replacement "
            "FROM risk_events e JOIN trading_accounts a ON a.id = e.account_id "
            "LEFT JOIN trading_accounts r ON r.id = e.replacement_id "
            "WHERE e.tenant_id = $1 AND a.login = $2 AND ($3::text IS NULL OR e.kind = $3) "
            "ORDER BY e.ts DESC, e.id DESC LIMIT $4", tenant.id, login, kind, limit)
        return [AccountEventOut(row["id"], row["login"], row["kind"], row["rule"], row["ts"],
                                orjson.loads(row["payload"]), row["replacement"])
                for row in rows]

    async def _event(self, connection: Any, tenant: Tenant, event_id: str,
                     lock: bool = True) -> Any:
        row = await connection.fetchrow(
            _EVENT + "WHERE e.id = $1 AND e.tenant_id = $2" + (" FOR UPDATE OF e" if lock
                                                                 else ""),
            event_id, tenant.id)
        if row is None:
            raise NotFound("no such risk event")
        return row

    async def acknowledge(self, actor: Principal, tenant: Tenant, event_id: str
                          ) -> RiskEventOut:
        async with self.pool.acquire() as connection, connection.transaction():
            before = await self._event(connection, tenant, event_id)
            if before["acknowledged_at"] is not None:
                raise Conflict("already acknowledged", code="already_acknowledged")
            await connection.execute(
                "UPDATE risk_events SET acknowledged_at = now(), acknowledged_by = $2 "
                "WHERE id = $1", event_id, actor.user_id)
            after = await self._event(connection, tenant, event_id)
            await audit.record(connection, actor, "breach.acknowledge", "risk_event",
                               event_id, before={"acknowledged": False},
                               after={"acknowledged": True})
            return event_out(after)

    async def override(self, actor: Principal, tenant: Tenant, event_id: str, reason: str
                       ) -> RiskEventOut:
        """A false breach: the challenge is active again on a new account of the same
        phase (the broker account that failed stays closed), at its last balance.

        An override is once per failure: every ``fail`` breach of the account (several
        rules may breach on the event that failed it) is overridden with it and names the
        same replacement; overriding one of them again is a 409 naming the replacement.
        The event keeps its ``account`` (the login that failed)."""
        async with self.pool.acquire() as connection, connection.transaction():
            found = await self._event(connection, tenant, event_id, lock=False)
            # The account first, then its events: two overrides of one failure queue on
            # the account's row instead of locking each other's events.
            account = await connection.fetchrow(
                "SELECT * FROM trading_accounts WHERE id = $1 FOR UPDATE", found["account_id"])
            event = await self._event(connection, tenant, event_id)
            if event["overridden_at"] is not None:
                raise Conflict(f"this failure of {event['login']} is already overridden: the "
                               f"challenge went on on {event['replacement'] or 'a new account'}",
                               code="already_overridden")
            action = orjson.loads(event["payload"]).get("action")
            if event["kind"] != "breach" or action != "fail":
                shown = event["kind"] + (f" with action {action}" if action else "")
                raise Conflict("only a breach that failed its account can be overridden; "
                               f"this event is a {shown}", code="not_overridable")
            replacement = await connection.fetchval(
                "SELECT login FROM trading_accounts WHERE replaces = $1", account["id"])
            if replacement is not None:  # a line of the failure stored after the override
                raise Conflict(f"this failure of {account['login']} is already overridden: "
                               f"the challenge went on on {replacement}",
                               code="already_overridden")
            if account["origin"] != "platform":
                raise Conflict(f"{account['login']} was not opened by the platform: there is"
                               " no challenge to go on with", code="not_overridable")
            challenge = await connection.fetchrow(
                "SELECT * FROM challenges WHERE id = $1 FOR UPDATE", account["challenge_id"])
            if account["status"] != "failed" or challenge["status"] != "failed" \
                    or challenge["phase"] != account["phase"]:
                raise Conflict(f"{account['login']} is {account['status']} and its challenge"
                               f" {challenge['status']}: nothing to override",
                               code="not_overridable")
            before = {"account": account["login"], "account_status": account["status"],
                      "challenge_status": challenge["status"]}
            latest = await self.metrics.latest(account["login"])
            balance = latest["balance"] if latest and latest.get("balance") else None
            attempt = await connection.fetchval(
                "SELECT max(attempt) + 1 FROM trading_accounts WHERE challenge_id = $1 AND "
                "phase = $2", challenge["id"], account["phase"])
            login = await self.challenges.provision(
                connection, tenant.id, challenge, account["phase"], balance, attempt,
                replaces=account["id"])
            overridden = await connection.fetch(
                "UPDATE risk_events SET overridden_at = now(), overridden_by = $2, "
                "override_reason = $3, replacement_id = (SELECT id FROM trading_accounts "
                "WHERE login = $4) WHERE account_id = $1 AND kind = 'breach' AND "
                "payload->>'action' = 'fail' AND overridden_at IS NULL RETURNING id",
                account["id"], actor.user_id, reason, login)
            await audit.record(connection, actor, "breach.override", "challenge",
                               challenge["id"], before=before,
                               after={"account": login, "account_status": "active",
                                      "challenge_status": "active", "event": event_id,
                                      "events": sorted(row["id"] for row in overridden)},
                               reason=reason)
            out = event_out(await self._event(connection, tenant, event_id))
        await self.registry.published({login: "active"})
        return out

    async def stop(self, actor: Principal, tenant: Tenant, login: str, reason: str) -> None:
        """Emergency stop: the account is disabled at the broker and its challenge (if the
        platform opened it) ends."""
        async with self.pool.acquire() as connection, connection.transaction():
            account = await connection.fetchrow(
                "SELECT * FROM trading_accounts WHERE login = $1 AND tenant_id = $2 "
                "FOR UPDATE", login, tenant.id)
            if account is None:
                raise NotFound("no such account")
            if account["status"] not in LIVE:
                raise Conflict(f"the account is {account['status']}", code="not_active")
            await connection.execute(
                "UPDATE trading_accounts SET status = 'stopped', closed_at = now() "
                "WHERE id = $1", account["id"])
            await connection.execute(
                "UPDATE challenges SET status = 'failed', updated_at = now() WHERE id = $1",
                account["challenge_id"])
            await audit.record(connection, actor, "account.stop", "account", login,
                               before={"status": account["status"]},
                               after={"status": "stopped"}, reason=reason)
            await self.challenges.notifier.stopped(connection, account)
            if self.broker is not None:
                await self.broker.disable_account(login, f"stopped by the risk desk: {reason}")
        await self.registry.published({login: "stopped"})

    async def users(self, tenant: Tenant, query: str | None, limit: int,
                    after: int | None = None) -> list[AdminUserOut]:
        """The firm's users whose e-mail or name holds ``query``, by id; ``after``: the
        next page (users with a greater id)."""
        pattern = None if not query else f"%{like_literal(query.lower())}%"
        rows = await self.pool.fetch(
            "SELECT * FROM users WHERE tenant_id = $1 AND ($2::text IS NULL OR email LIKE $2 "
            "ESCAPE '\\' OR lower(display_name) LIKE $2 ESCAPE '\\') "
            "AND ($4::bigint IS NULL OR id > $4) ORDER BY id LIMIT $3",
            tenant.id, pattern, limit, after)
        return [admin_user_out(row) for row in rows]

    async def challenge_list(self, tenant: Tenant, status: str | None, program: str | None,
                         query: str | None, limit: int, before: int | None
                         ) -> list[DeskChallengeOut]:
        """The firm's challenges, newest first, for the desk's monitor: in ``status``, on
        the program ``program`` (a slug of the firm: 422 else), whose trader's e-mail or
        name or one of whose accounts' login holds ``query``; ``before``: the next page
        (challenges with a smaller id)."""
        if program is not None and not await self.pool.fetchval(
                "SELECT 1 FROM programs WHERE tenant_id = $1 AND slug = $2", tenant.id,
                program):
            shown = program if len(program) <= 40 else program[:40] + "…"
            raise Unprocessable(f"program: no program {shown!r} at this firm",
                                fields=[FieldError("program", "a program's slug")])
        pattern = None if not query else f"%{like_literal(query.lower())}%"
        rows = await self.pool.fetch(
            "SELECT c.*, p.slug, p.phases, u.email, u.display_name FROM challenges c "
            "JOIN programs p ON p.id = c.program_id JOIN users u ON u.id = c.user_id "
            "WHERE c.tenant_id = $1 AND ($2::text IS NULL OR c.status = $2) "
            "AND ($3::text IS NULL OR p.slug = $3) AND ($4::text IS NULL "
            "OR u.email LIKE $4 ESCAPE '\\' OR lower(u.display_name) LIKE $4 ESCAPE '\\' "
            "OR EXISTS (SELECT 1 FROM trading_accounts a WHERE a.challenge_id = c.id "
            "AND lower(a.login) LIKE $4 ESCAPE '\\')) "
            "AND ($5::bigint IS NULL OR c.id < $5) ORDER BY c.id DESC LIMIT $6",
            tenant.id, status, program, pattern, before, limit)
        accounts: dict[int, list[TradingAccountOut]] = {row["id"]: [] for row in rows}
        for a in await self.pool.fetch(
                "SELECT * FROM trading_accounts WHERE challenge_id = ANY($1::bigint[]) "
                "ORDER BY phase, attempt", list(accounts)):
            accounts[a["challenge_id"]].append(TradingAccountOut(
                a["login"], a["phase"], a["engine_program"], a["status"], a["created_at"]))
        return [desk_challenge_out(row, accounts[row["id"]]) for row in rows]

    async def update_user(self, actor: Principal, tenant: Tenant, user_id: int,
                          body: UserAdminIn) -> AdminUserOut:
        async with self.pool.acquire() as connection, connection.transaction():
            before = await roles.check_user_change(connection, actor, tenant.id, user_id,
                                                   body.role, body.disabled)
            row = await connection.fetchrow(
                "UPDATE users SET role = coalesce($2, role), disabled_at = CASE "
                "WHEN $3::boolean IS NULL THEN disabled_at WHEN $3 THEN "
                "coalesce(disabled_at, now()) ELSE NULL END WHERE id = $1 RETURNING *",
                user_id, body.role, body.disabled)
            await audit.record(
                connection, actor, "user.update", "user", user_id,
                before={"role": before["role"], "disabled": before["disabled_at"] is not None},
                after={"role": row["role"], "disabled": row["disabled_at"] is not None},
                reason=body.reason)
            if body.disabled:
                await connection.execute(
                    "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
                    "WHERE user_id = $1", user_id)
            return admin_user_out(row)

    async def audit_log(self, tenant: Tenant, limit: int,
                        filters: AuditFilters = AuditFilters()) -> list[AuditOut]:
        """The firm's audit entries that match ``filters``, newest first."""
        actor = None if not filters.actor else f"%{like_literal(filters.actor.lower())}%"
        rows = await self.pool.fetch(
            "SELECT l.*, u.email FROM audit_log l LEFT JOIN users u ON u.id = l.actor_id "
            "WHERE l.tenant_id = $1 AND ($3::text IS NULL OR u.email LIKE $3 ESCAPE '\\') "
            "AND ($4::text IS NULL OR l.action = $4) "
            "AND ($5::text IS NULL OR l.target_type = $5) "
            "AND ($6::text IS NULL OR l.target_id = $6) "
            "AND ($7::timestamptz IS NULL OR l.at >= $7) "
            "AND ($8::timestamptz IS NULL OR l.at < $8) "
            "AND ($9::bigint IS NULL OR l.id < $9) ORDER BY l.id DESC LIMIT $2",
            tenant.id, limit, actor, filters.action, filters.target_type, filters.target_id,
            filters.since, filters.until, filters.before)
        return [AuditOut(r["id"], r["email"], r["action"], r["target_type"], r["target_id"],
                         orjson.loads(r["before"]) if r["before"] else None,
                         orjson.loads(r["after"]) if r["after"] else None, r["reason"],
                         r["at"]) for r in rows]


def admin_user_out(row: Any) -> AdminUserOut:
    user = user_out(row)
    return AdminUserOut(user.id, user.email, user.display_name, user.role,
                        user.email_verified, user.two_factor, user.created_at,
                        row["disabled_at"] is not None)


def desk_challenge_out(row: Any, accounts: list[TradingAccountOut]) -> DeskChallengeOut:
    phases = orjson.loads(row["phases"])
    phase = row["phase"]
    passed = (phases[phase - 1]["name"] if row["status"] == "review" and 0 < phase <= len(phases)
              else None)
    return DeskChallengeOut(
        id=row["id"], program=row["slug"], status=row["status"], phase=phase,
        phase_name=phases[min(phase, len(phases) - 1)]["name"], passed_phase_name=passed,
        trader_id=row["user_id"], trader_email=row["email"],
        trader_name=row["display_name"], accounts=accounts, created_at=row["created_at"],
        updated_at=row["updated_at"])
