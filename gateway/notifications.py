"""E-mail notices of a challenge's life, in the firm's branding, and who wants which.

Each notice is rendered from ``templates/mail/<kind>.{subject,txt,html}`` and queued in
``mail_outbox`` by the transaction that makes the change it announces (the caller's
connection), so it is sent exactly when that change is committed, and the mailer's
retries deliver it through an SMTP outage.

| kind | when | essential |
|---|---|---|
| ``purchase`` | a challenge's payment is received (the receipt) | yes |
| ``account_opened`` | the first phase's trading account is opened | no |
| ``failed`` | a breach fails the challenge (rule, equity, floor, time) | yes |
| ``passed`` | a phase is passed (what comes next) | no |
| ``phase_opened`` | the next phase's account is opened | no |
| ``stopped`` | the risk desk stops the account (emergency stop) | yes |
| ``reinstated`` | the risk desk overrides a failing breach: a new account | yes |

Essential notices are a record of money taken or of a change to what the trader may do;
they cannot be turned off (the table of opt-outs refuses them too). The others are news
the trader also sees in the app, and each user may turn them off under
``/api/v1/me/notifications``.
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

from gateway import mail
from gateway.errors import FieldError, Unprocessable
from gateway.programs import money
from gateway.schemas import NotificationsIn, NotificationsOut
from gateway.tenants import TENANT_SELECT, Tenant, tenant_of
from streams.outputs import Breach
from streams.settings import Settings

log = logging.getLogger("proptrade.notifications")
KINDS = ("purchase", "account_opened", "failed", "passed", "phase_opened", "stopped",
         "reinstated")
OPTIONAL = ("account_opened", "passed", "phase_opened")
ESSENTIAL = tuple(kind for kind in KINDS if kind not in OPTIONAL)

RULE_NAMES = {
    "daily_loss": "Daily loss limit", "max_loss": "Maximum loss limit",
    "max_exposure": "Maximum exposure", "inactivity": "Inactivity",
    "consistency": "Consistency (best-day share)",
}
_REFERENCES = {
    "day_start_balance": "the balance at the start of the trading day",
    "day_start_equity": "the equity at the start of the trading day",
    "day_start_max": "the larger of balance and equity at the start of the trading day",
    "initial_balance": "the initial balance",
    "intraday_peak_equity": "the highest equity of the trading day",
}
_MODES = {
    "static": "fixed below the initial balance",
    "trailing_equity": "trails your highest equity",
    "trailing_balance": "trails your highest balance",
    "trailing_eod_balance": "trails your highest end-of-day balance",
}


async def firm_of(connection: Any, tenant_id: int, settings: Settings) -> Tenant:
    """A firm with its public URL, from configuration (:func:`gateway.tenants.public_url`:
    its primary domain over https, ``PUBLIC_URL`` for the default firm, else its subdomain
    of ``PUBLIC_BASE_DOMAIN``), never from a request: the one place mail links start."""
    row = await connection.fetchrow(TENANT_SELECT + " WHERE t.id = $1", tenant_id)
    return tenant_of(row, settings.public_base_domain, settings.default_firm_url)


async def link_base(connection: Any, tenant_id: int, settings: Settings) -> str:
    """The base of a firm's links (empty when no host serves the firm: mail then has none)."""
    return (await firm_of(connection, tenant_id, settings)).public_url


def _amount(value: float | Decimal, currency: str) -> str:
    return f"{Decimal(str(value)).quantize(Decimal('0.01')):,} {currency}"


def _percent(fraction: float) -> str:
    return f"{Decimal(str(fraction)) * 100:f}".rstrip("0").rstrip(".") + "%"


def _loss(rule: dict[str, Any], initial: Decimal, currency: str, reference: str) -> str:
    if "amount" in rule:
        return _amount(rule["amount"], currency)
    base = initial if rule.get("of", "initial_balance") == "initial_balance" else None
    limit = _percent(rule["limit"])
    if base is None:
        return f"{limit} of {reference}"
    loss = _amount(base * Decimal(str(rule["limit"])), currency)
    return f"{limit} of the initial balance ({loss})"


def rules_summary(document: dict[str, Any]) -> list[str]:
    """The phase's rules in words, one line each, for the opening mails."""
    currency = str(document.get("currency", "USD"))
    initial = Decimal(str(document["initial_balance"]))
    rules = document.get("rules", {})
    day = document.get("day", {})
    lines = [f"Starting balance: {_amount(initial, currency)}"]
    if "daily_loss" in rules:
        rule = rules["daily_loss"]
        reference = _REFERENCES[rule.get("reference", "day_start_balance")]
        line = (f"Daily loss limit: {_loss(rule, initial, currency, reference)} below "
                f"{reference}")
        if rule.get("action") == "pause":
            line += " (reaching it pauses trading until the next trading day)"
        lines.append(line)
    if "max_loss" in rules:
        rule = rules["max_loss"]
        line = (f"Maximum loss limit: {_loss(rule, initial, currency, 'the high-water mark')}"
                f"; the floor {_MODES[rule.get('mode', 'static')]}")
        if "lock_at" in rule:
            line += f", locked once it reaches {_amount(rule['lock_at'], currency)}"
        lines.append(line)
    if "profit_target" in rules:
        target = Decimal(str(rules["profit_target"]["target"]))
        lines.append(f"Profit target: {_percent(float(target))} "
                     f"({_amount(initial * target, currency)}), all positions closed")
    if "min_trading_days" in rules:
        lines.append(f"Minimum trading days: {rules['min_trading_days']['days']}")
    if "consistency" in rules:
        lines.append("Best day at most "
                     f"{_percent(rules['consistency']['max_best_day_share'])} of the profit")
    if "max_exposure" in rules:
        lines.append(f"Maximum exposure: {rules['max_exposure']['lots']:g} lots open at once")
    if "inactivity" in rules:
        lines.append(f"Inactivity: trade at least every {rules['inactivity']['days']:g} days")
    lines.append(f"Trading day: starts at {day.get('starts_at', '00:00')} "
                 f"{day.get('timezone', 'UTC')}")
    return lines


def _when(ts: str | datetime) -> str:
    moment = ts if isinstance(ts, datetime) else datetime.fromisoformat(ts)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _bought(account: Any) -> bool:
    """Whether an account row belongs to a challenge bought on the platform: a broker's
    own account (the simulator's) has no trader here to write to."""
    return account.get("challenge_id") is not None


class Notifier:
    """Queues the notices; every method takes the connection of the caller's
    transaction."""

    def __init__(self, pool: Any, settings: Settings) -> None:
        self.pool = pool
        self.settings = settings

    # ------------------------------------------------------------------ the notices

    async def purchase(self, connection: Any, payment: Any) -> None:
        """The receipt of a challenge's payment."""
        await self._guarded(connection, "purchase", self._purchase(connection, payment))

    async def opened(self, connection: Any, challenge_id: int, phase: int, login: str,
                     balance: float, replacement: bool) -> None:
        """An account opened: the first phase's, the next phase's, or the replacement
        of an account whose failing breach the desk overrode."""
        await self._guarded(connection, "opening", self._opened(
            connection, challenge_id, phase, login, balance, replacement))

    async def failed(self, connection: Any, account: Any, breach: Breach) -> None:
        if _bought(account):
            await self._guarded(connection, "failure",
                                self._failed(connection, account, breach))

    async def passed(self, connection: Any, account: Any) -> None:
        if _bought(account):
            await self._guarded(connection, "pass", self._passed(connection, account))

    async def stopped(self, connection: Any, account: Any) -> None:
        if _bought(account):
            await self._guarded(connection, "stop", self._stopped(connection, account))

    @staticmethod
    async def _guarded(connection: Any, what: str, queue: Coroutine[Any, Any, None]
                       ) -> None:
        """Queue a notice in a savepoint of the caller's transaction: a notice that
        cannot be written (a template or data fault) is logged and costs only itself,
        never the change it announces (a verdict must not wait on an e-mail)."""
        try:
            async with connection.transaction():
                await queue
        except Exception:  # any fault of the notice; the caller's change goes on
            log.exception("the %s notice could not be queued", what)

    async def _purchase(self, connection: Any, payment: Any) -> None:
        challenge = await self._challenge(connection, payment["challenge_id"])
        await self._send(connection, challenge, "purchase",
                         amount=_amount(Decimal(money(payment["amount_cents"])),
                                        payment["currency"]),
                         reference=payment["reference"], provider=payment["provider"],
                         addons=orjson.loads(challenge["addons"]),
                         paid_at=_when(datetime.now(UTC)))

    async def _opened(self, connection: Any, challenge_id: int, phase: int, login: str,
                      balance: float, replacement: bool) -> None:
        challenge = await self._challenge(connection, challenge_id)
        document = orjson.loads(challenge["phases"])[phase]["document"]
        kind = ("reinstated" if replacement else
                "account_opened" if phase == 0 else "phase_opened")
        await self._send(connection, challenge, kind, login=login,
                         phase_name=self._phase_name(challenge, phase),
                         balance=_amount(balance, document["currency"]),
                         rules=rules_summary(document))

    async def _failed(self, connection: Any, account: Any, breach: Breach) -> None:
        challenge = await self._challenge(connection, account["challenge_id"])
        currency = orjson.loads(challenge["phases"])[account["phase"]]["document"][
            "currency"]
        await self._send(
            connection, challenge, "failed", login=account["login"],
            phase_name=self._phase_name(challenge, account["phase"]),
            rule=RULE_NAMES.get(breach.rule, breach.rule),
            equity=_amount(breach.equity, currency),
            floor=None if breach.floor is None else _amount(breach.floor, currency),
            lots=breach.lots, max_lots=breach.max_lots, at=_when(breach.ts))

    async def _passed(self, connection: Any, account: Any) -> None:
        challenge = await self._challenge(connection, account["challenge_id"])
        phases = orjson.loads(challenge["phases"])
        following = account["phase"] + 1
        after = ("complete" if following >= len(phases) else
                 "review" if challenge["advance"] == "review" else "next")
        await self._send(connection, challenge, "passed", login=account["login"],
                         phase_name=phases[account["phase"]]["name"], after=after,
                         next_phase=phases[following]["name"] if after != "complete"
                         else None)

    async def _stopped(self, connection: Any, account: Any) -> None:
        challenge = await self._challenge(connection, account["challenge_id"])
        await self._send(connection, challenge, "stopped", login=account["login"],
                         phase_name=self._phase_name(challenge, account["phase"]),
                         at=_when(datetime.now(UTC)))

    # ------------------------------------------------------------------ preferences

    async def preferences(self, user_id: int) -> NotificationsOut:
        off = {row["kind"] for row in await self.pool.fetch(
            "SELECT kind FROM notification_optouts WHERE user_id = $1", user_id)}
        return NotificationsOut(**{kind: kind not in off for kind in KINDS},
                                essential=list(ESSENTIAL))

    async def set_preferences(self, user_id: int, body: NotificationsIn) -> NotificationsOut:
        """Turn optional notices on or off; a kind left out keeps its setting."""
        wanted = {kind: getattr(body, kind) for kind in KINDS
                  if getattr(body, kind) is not None}
        refused = [kind for kind in ESSENTIAL if wanted.get(kind) is False]
        if refused:
            path = f"$.{refused[0]}"
            reason = "is an essential notice and cannot be turned off"
            raise Unprocessable(f"{path}: {reason}", fields=[FieldError(path, reason)])
        async with self.pool.acquire() as connection, connection.transaction():
            for kind in OPTIONAL:
                if wanted.get(kind) is False:
                    await connection.execute(
                        "INSERT INTO notification_optouts (user_id, kind) VALUES ($1, $2) "
                        "ON CONFLICT DO NOTHING", user_id, kind)
                elif wanted.get(kind) is True:
                    await connection.execute(
                        "DELETE FROM notification_optouts WHERE user_id = $1 AND kind = $2",
                        user_id, kind)
        return await self.preferences(user_id)

    # ------------------------------------------------------------------ sending

    @staticmethod
    async def _challenge(connection: Any, challenge_id: int) -> Any:
        return await connection.fetchrow(
            "SELECT c.*, p.name AS program_name, p.phases, p.advance FROM challenges c "
            "JOIN programs p ON p.id = c.program_id WHERE c.id = $1", challenge_id)

    @staticmethod
    def _phase_name(challenge: Any, phase: int) -> str:
        return str(orjson.loads(challenge["phases"])[phase]["name"])

    async def _send(self, connection: Any, challenge: Any, kind: str,
                    **context: Any) -> None:
        user = await connection.fetchrow(
            "SELECT u.email, u.display_name, EXISTS (SELECT 1 FROM notification_optouts o "
            "WHERE o.user_id = u.id AND o.kind = $2) AS opted_out FROM users u "
            "WHERE u.id = $1", challenge["user_id"], kind)
        if user is None or (kind in OPTIONAL and user["opted_out"]):
            return
        tenant = await firm_of(connection, challenge["tenant_id"], self.settings)
        base = tenant.public_url
        await mail.enqueue(connection, tenant, user["email"], kind,
                           name=user["display_name"], program=challenge["program_name"],
                           challenge_id=challenge["id"],
                           link=f"{base}/challenges/{challenge['id']}" if base else "",
                           preferences_link=f"{base}/settings/notifications" if base else "",
                           optional=kind in OPTIONAL, **context)
