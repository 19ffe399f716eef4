"""Request and response bodies of the REST API (msgspec Structs).

The handlers decode into these types and the OpenAPI document is generated from them
(:mod:`gateway.openapi`): one definition of each shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from gateway.errors import FieldError
from gateway.health import PartState

# The end of a pattern. Python's "$" (msgspec validates with Python's re) also matches
# before a final "\n", so "100\n" would pass "^[0-9]+$"; "\Z" is no ECMA-262 regex (the
# dialect of the OpenAPI document's patterns), so the newline is refused by a lookahead
# both read alike.
END = r"(?!\n)$"
_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f]+"
Email = Annotated[str, msgspec.Meta(
    pattern=rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}{END}", max_length=254,
    description="an e-mail address")]
Password = Annotated[str, msgspec.Meta(max_length=1024)]
# Printable text without control characters (names shown to other people).
Name = Annotated[str, msgspec.Meta(pattern=rf"^[^\x00-\x1f\x7f]*{END}", max_length=100)]
Code = Annotated[str, msgspec.Meta(max_length=32)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
Role = Literal["trader", "risk", "admin", "owner"]
# An account's one status, the same in every endpoint (README: "Risk desk and admin").
AccountStatus = Literal["active", "paused", "passed", "failed", "stopped", "disabled"]
ChallengeStatus = Literal["pending_payment", "active", "review", "passed", "failed",
                          "cancelled"]
# Query filters: the values each takes (anything else is a 422 naming them).
RiskKind = Literal["breach", "objective", "passed", "resumed", "all"]
RiskState = Literal["open", "unacknowledged", "acknowledged", "overridden"]
Flag = Literal["0", "1"]
# The audit log's actions and the kinds of thing they act on (a new action is added here,
# so that the filter keeps naming every action there is).
AuditAction = Literal["account.stop", "breach.acknowledge", "breach.override",
                      "challenge.approve", "payment.settle", "program.create",
                      "program.update", "tenant.create", "tenant.update", "user.update"]
AuditTarget = Literal["account", "challenge", "payment", "program", "risk_event", "tenant",
                      "user"]
Period = Literal["day", "week", "month"]


class BrandingOut(msgspec.Struct):
    slug: str
    name: str
    primary_color: str
    accent_color: str
    logo_url: str  # the uploaded logo's (``/brand/logo.png?v=…``), else the URL it set
    support_email: str
    favicon_url: str = ""  # the uploaded favicon's (``/favicon.ico?v=…``), else empty


class CustomCssIn(msgspec.Struct, forbid_unknown_fields=True):
    #: The firm's own CSS, at most 32 KiB in UTF-8 (a 422 naming the rule ``size`` above:
    #: gateway.brandcss); empty: none.
    css: str


class CustomCssOut(msgspec.Struct):
    css: str
    url: str  # where it is served (``/brand.css?v=…``); empty while there is none


class UploadOut(msgspec.Struct):
    url: str  # where the stored file is served, per host (its digest in ``v``)
    digest: str


class RegisterIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    display_name: Name = ""


class UserOut(msgspec.Struct):
    id: int
    email: str
    display_name: str
    role: Role
    email_verified: bool
    two_factor: bool
    created_at: datetime


class AdminUserOut(UserOut):
    """A user as the firm's admins see it: whether its access is disabled too."""

    disabled: bool


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Token


# Where the refresh token travels (README "Auth"): "body" (the default, as always) in the
# JSON answer; "cookie" in the HttpOnly proptrade_refresh cookie instead, out of reach of
# page scripts (a browser app served by the gateway; the request then needs the
# X-PropTrade-Client header and, when it has one, an Origin at the firm's host).
Session = Annotated[Literal["body", "cookie"], msgspec.Meta(
    description='where the refresh token goes: "body" (refresh_token in the answer) or '
                '"cookie" (the HttpOnly proptrade_refresh cookie, Path=/api/v1/auth, '
                'SameSite=Strict; refresh_token is then null; the request needs the '
                'X-PropTrade-Client header)')]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    totp_code: Code | None = None
    recovery_code: Code | None = None
    session: Session = "body"


class TokensOut(msgspec.Struct):
    access_token: str
    refresh_token: Annotated[str | None, msgspec.Meta(
        description='the new refresh token (30 days, spent by its first use); null when '
                    'the session is "cookie": the token is in the proptrade_refresh '
                    'cookie instead')]
    expires_in: int
    token_type: str = "Bearer"


class RefreshIn(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[Token | None, msgspec.Meta(
        description="the refresh token; left out (or the body empty), the "
                    "proptrade_refresh cookie's is used and the answer is a cookie "
                    "session")] = None
    session: Annotated[Literal["body", "cookie"] | None, msgspec.Meta(
        description='"cookie": answer with the new token in the proptrade_refresh cookie '
                    '(a body token moves the session into the cookie); left out: where '
                    'the token came from. A cookie\'s token is never answered in the '
                    'body')] = None


class LogoutIn(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Token | None = None


class ForgotIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class ResetIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Token
    password: Password


class TotpSetupOut(msgspec.Struct):
    secret: str
    otpauth_uri: str


class PasswordChangeIn(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password
    session: Session = "body"


class ProfileIn(msgspec.Struct, forbid_unknown_fields=True):
    display_name: Name


class CodeIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Code


class RecoveryCodesOut(msgspec.Struct):
    recovery_codes: list[str]


# E-mail notices a user receives (gateway.notifications): true = sent. The essential ones
# (listed in ``essential``) are always true and refuse false.
_ESSENTIAL_NOTICE = msgspec.Meta(description="essential: always sent")


class NotificationsOut(msgspec.Struct):
    purchase: Annotated[bool, msgspec.Meta(
        description="the receipt when a challenge's payment is received (essential)")]
    account_opened: Annotated[bool, msgspec.Meta(
        description="the first phase's account is open: login, program, rules")]
    failed: Annotated[bool, msgspec.Meta(
        description="a breach failed the challenge: rule, equity, floor, time (essential)")]
    passed: Annotated[bool, msgspec.Meta(description="a phase was passed")]
    phase_opened: Annotated[bool, msgspec.Meta(
        description="the next phase's account is open: login, rules")]
    stopped: Annotated[bool, msgspec.Meta(
        description="the risk desk stopped the account (essential)")]
    reinstated: Annotated[bool, msgspec.Meta(
        description="the risk desk overrode a failing breach: the challenge goes on on a "
                    "new account (essential)")]
    essential: list[str]


class NotificationsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Kinds to turn on (true) or off (false); a kind left out keeps its setting."""

    purchase: Annotated[bool, _ESSENTIAL_NOTICE] | None = None
    account_opened: bool | None = None
    failed: Annotated[bool, _ESSENTIAL_NOTICE] | None = None
    passed: bool | None = None
    phase_opened: bool | None = None
    stopped: Annotated[bool, _ESSENTIAL_NOTICE] | None = None
    reinstated: Annotated[bool, _ESSENTIAL_NOTICE] | None = None


class Accepted(msgspec.Struct):
    status: str = "accepted"


class Health(msgspec.Struct):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


class Readiness(msgspec.Struct):
    """``GET /readyz``: each part's state. ``checks`` is the earlier shape (postgresql,
    redis, kafka: "ok" or why not), kept for the clients that read it."""

    status: Literal["ok", "degraded", "unavailable"]
    parts: dict[str, PartState]
    checks: dict[str, str] = {}


# -- programs and challenges ----------------------------------------------------------

# Digits are ASCII everywhere: "\d" would take "١٠٠" (Python's re, which msgspec uses,
# matches any Unicode digit), and Decimal would read it as 100.
Money = Annotated[str, msgspec.Meta(pattern=rf"^[0-9]{{1,12}}(\.[0-9]{{1,2}})?{END}",
                                    description="an amount as a decimal string, to the cent",
                                    examples=["155.00"])]
Slug = Annotated[str, msgspec.Meta(pattern=rf"^[a-z0-9][a-z0-9-]{{0,62}}{END}")]
CurrencyCode = Annotated[str, msgspec.Meta(pattern=rf"^[A-Z]{{3}}{END}")]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500,
                                     pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]


class PhaseIn(msgspec.Struct, forbid_unknown_fields=True):
    # A program document (CONTRACTS.md §2) without ``id``; its ``currency`` and
    # ``initial_balance`` default to the program's and must agree with them.
    name: Name
    document: dict[str, Any] = msgspec.field(default_factory=dict)


class AddonIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    price: Money


class ProgramIn(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    name: Name
    price: Money
    currency: CurrencyCode
    account_size: Money
    phases: Annotated[list[PhaseIn], msgspec.Meta(min_length=1, max_length=5)]
    advance: Literal["auto", "review"] = "auto"
    addons: list[AddonIn] = []
    active: bool = True


class PhaseOut(msgspec.Struct):
    name: str
    engine_program: str
    document: dict[str, Any]


class ProgramOut(msgspec.Struct):
    id: int
    slug: str
    name: str
    price: str
    currency: str
    account_size: str
    phases: list[PhaseOut]
    advance: str
    addons: list[AddonIn]
    active: bool
    updated_at: datetime


class ChallengeIn(msgspec.Struct, forbid_unknown_fields=True):
    program: Slug
    addons: list[Name] = []


class PaymentOut(msgspec.Struct):
    id: int
    provider: str
    reference: str
    amount: str
    currency: str
    status: str


class TradingAccountOut(msgspec.Struct):
    login: str
    phase: int
    engine_program: str
    status: AccountStatus
    created_at: datetime


class ChallengeOut(msgspec.Struct):
    id: int
    program: str
    status: ChallengeStatus
    phase: int
    phase_name: str
    price: str
    currency: str
    payment: PaymentOut | None
    accounts: list[TradingAccountOut]
    created_at: datetime


class DeskChallengeOut(msgspec.Struct):
    """A challenge as the desk's monitor lists it: its trader and its accounts."""

    id: int
    program: str
    status: ChallengeStatus
    #: The phase open (or, in review, the phase the approval opens), from 0.
    phase: int
    phase_name: str
    #: In review: the name of the phase passed that waits for an admin; else null.
    passed_phase_name: str | None
    trader_id: int
    trader_email: str
    trader_name: str
    accounts: list[TradingAccountOut]
    created_at: datetime
    updated_at: datetime


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class RiskEventOut(msgspec.Struct):
    """An engine answer as the desk sees it. ``account`` is the login the engine answered
    about, always; an overridden breach names the account its challenge went on on in
    ``replacement_account``. ``account_status`` is that account's status now."""

    id: str
    account: str
    kind: str
    rule: str | None
    ts: datetime
    payload: dict[str, Any]
    acknowledged_at: datetime | None
    overridden_at: datetime | None
    override_reason: str | None
    replacement_account: str | None
    account_status: AccountStatus


class AccountEventOut(msgspec.Struct):
    """An engine answer about one account, as its trader sees it: what the engine said,
    not what the desk did with it (who acknowledged, the override's reason stay on the
    desk's ``/risk/events``)."""

    #: The answer's stable id (``<partition>:<seq>:<n>``), as ``risk_event`` messages on
    #: the websocket carry it.
    id: str
    account: str
    kind: Literal["breach", "objective", "passed", "resumed"]
    #: The breached rule or the objective met; null for passed and resumed.
    rule: str | None
    ts: datetime
    #: The engine's line (CONTRACTS.md §3): equity and floor of a breach, its action.
    event: dict[str, Any]
    #: Set once the desk overrode this failure: the account the challenge went on on.
    replacement_account: str | None


class AuditOut(msgspec.Struct):
    id: int
    actor: str | None
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    at: datetime


class UserAdminIn(msgspec.Struct, forbid_unknown_fields=True):
    role: Role | None = None
    disabled: bool | None = None
    reason: Reason | None = None


class BreachPriceOut(msgspec.Struct):
    """For one symbol the account holds: the price at which its equity would touch its
    nearest floor, every other price held where it is (the engine's own arithmetic:
    contract size, conversion at the pair's mid, cents per position)."""

    symbol: str
    #: The bid (``quote: bid``, held net long) or the ask (net short) at which equity
    #: touches the floor; null when none does (hedged to net zero, no quote yet, or the
    #: price would have to fall to zero).
    price: float | None
    quote: Literal["bid", "ask"] | None
    #: Lots, positive long, negative short (0 when hedged flat).
    net_volume: float
    floor: Literal["daily", "max_loss"]


class AccountMetrics(msgspec.Struct):
    login: str
    status: AccountStatus
    balance: float | None = None
    equity: float | None = None
    daily_floor: float | None = None
    max_loss_floor: float | None = None
    open_positions: int | None = None
    ts: str | None = None
    #: Trading days as the program's min_trading_days counts them (the engine's count).
    trading_days: int | None = None
    #: Balance and equity at the start of the trading day (the program's day), what the
    #: daily floor is measured from: equity − day_start_equity is today's P/L.
    day_start_balance: float | None = None
    day_start_equity: float | None = None
    #: Per held symbol, in symbol order; empty when the account has no floor or no
    #: position (absent from numbers cached before the field existed).
    breach_prices: list[BreachPriceOut] | None = None
    #: When this gateway received these numbers (ISO 8601 UTC).
    as_of: str | None = None
    #: True while the broker is down: no newer numbers can arrive, these may be behind
    #: (``GET /readyz`` says since when).
    stale: bool = False


# -- tenants ------------------------------------------------------------------------

Color = Annotated[str, msgspec.Meta(pattern=rf"^#[0-9a-fA-F]{{6}}{END}")]
Url = Annotated[str, msgspec.Meta(pattern=rf"^(https://[^\s<>\"']{{1,500}})?{END}")]
Domain = Annotated[str, msgspec.Meta(
    pattern=rf"^(?=.{{1,253}}{END})([a-z0-9]([a-z0-9-]{{0,61}}[a-z0-9])?\.)+[a-z]{{2,63}}{END}")]
Origin = Annotated[str, msgspec.Meta(pattern=rf"^https?://[a-z0-9.-]+(:[0-9]{{1,5}})?{END}")]


#: The fonts a firm may pick: system font stacks only (nothing is fetched, so the pages'
#: CSP stays ``font-src 'self'``); gateway.web.FONTS holds each stack.
Font = Literal["system", "humanist", "geometric", "serif", "rounded", "mono"]
SupportEmail = Annotated[str, msgspec.Meta(
    max_length=254, pattern=rf"^([^@\s<>\"',;]+@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*)?{END}")]


class BrandingIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    primary_color: Color = "#0f766e"
    accent_color: Color = "#f59e0b"
    logo_url: Url = ""
    support_email: SupportEmail = ""
    font: Font = "system"


class TenantIn(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    branding: BrandingIn
    domains: list[Domain] = []
    cors_origins: list[Origin] = []


class TenantSettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    branding: BrandingIn
    cors_origins: Annotated[list[Origin], msgspec.Meta(max_length=20)] = []
    #: The firm's own domains, primary first (absent: unchanged); each unclaimed by any
    #: other firm.
    domains: Annotated[list[Domain], msgspec.Meta(max_length=20)] | None = None


class TenantOut(msgspec.Struct):
    id: int
    slug: str
    branding: BrandingIn
    domains: list[str]
    cors_origins: list[str]
    #: What was saved but deserves a look (a colour too pale for white text on it).
    warnings: list[FieldError] = []


class RevenueOut(msgspec.Struct):
    currency: str
    amount: str  # paid, a decimal string to the cent


class FirmHealthOut(msgspec.Struct):
    """One firm as the platform's owner sees it, now."""

    id: int
    slug: str
    name: str
    domains: list[str]
    users: int
    accounts: int  # every trading account on record, the broker's included
    live_accounts: int  # active or paused
    breaches_today: int  # risk events of kind breach since 00:00 UTC
    revenue: list[RevenueOut]  # paid payments, per currency, ever
    revenue_today: list[RevenueOut]  # paid since 00:00 UTC


# -- analytics (history store) ------------------------------------------------------------

Number = float | int | None


class AccountStatistics(msgspec.Struct, kw_only=True):
    """The statistics MetaTrader prints for an account (its English labels in snake case)
    and a few more. Money in the account currency, at the cent; ratios, averages and
    percentages at six decimals (MetaTrader's XLSX precision)."""

    total_net_profit: Number = None
    gross_profit: Number = None
    gross_loss: Number = None
    profit_factor: Number = None
    expected_payoff: Number = None
    recovery_factor: Number = None
    sharpe_ratio: Number = None
    balance_drawdown_absolute: Number = None
    balance_drawdown_maximal: Number = None
    balance_drawdown_maximal_pct: Number = None
    balance_drawdown_relative: Number = None
    balance_drawdown_relative_money: Number = None
    total_trades: Number = None
    total_deals: Number = None
    short_trades: Number = None
    short_trades_won_pct: Number = None
    long_trades: Number = None
    long_trades_won_pct: Number = None
    profit_trades: Number = None
    profit_trades_pct: Number = None
    loss_trades: Number = None
    loss_trades_pct: Number = None
    largest_profit_trade: Number = None
    largest_loss_trade: Number = None
    average_profit_trade: Number = None
    average_loss_trade: Number = None
    max_consecutive_wins: Number = None
    max_consecutive_wins_money: Number = None
    max_consecutive_losses: Number = None
    max_consecutive_losses_money: Number = None
    maximal_consecutive_profit: Number = None
    maximal_consecutive_profit_count: Number = None
    maximal_consecutive_loss: Number = None
    maximal_consecutive_loss_count: Number = None
    average_consecutive_wins: Number = None
    average_consecutive_losses: Number = None
    z_score: Number = None
    z_score_pct: Number = None
    ahpr: Number = None
    ahpr_pct: Number = None
    ghpr: Number = None
    ghpr_pct: Number = None
    lr_correlation: Number = None
    lr_standard_error: Number = None
    minimal_holding_seconds: Number = None
    maximal_holding_seconds: Number = None
    win_rate: Number = None
    average_holding_seconds: Number = None
    best_day_share: Number = None
    trading_days: Number = None


class SymbolStatistics(msgspec.Struct, kw_only=True):
    symbol: str
    trades: int
    net_profit: float
    won_pct: Number = None
    volume: float = 0.0


class DailyPnl(msgspec.Struct, kw_only=True):
    date: str
    net_profit: float
    trades: int


class EquityPoint(msgspec.Struct):
    ts: datetime
    equity: float
    balance: float


class AccountFound(msgspec.Struct):
    """An account of the firm's history (the platform's, a broker's or an imported one)."""

    account: str
    program: str  # the engine program it opened under (``imported`` for a stored report)
    currency: str
    opened_at: datetime


class ReportOut(msgspec.Struct, kw_only=True):
    """An uploaded MetaTrader report read as an account: its statistics, balance curve
    (a report has no price path: equity is the balance) and daily P&L (UTC days)."""

    account: str  # the login the report names (a tester run: ``<expert>-<symbol>``)
    kind: Literal["mt5-history", "mt5-tester", "mt4-statement"]
    currency: str
    statistics: AccountStatistics
    equity: list[EquityPoint]
    calendar: list[DailyPnl]
    #: The account name the history was stored under; null: nothing was kept.
    stored_as: str | None = None


class TradeOut(msgspec.Struct):
    """A closed trade (a whole or partial close: an ``out`` deal, as the statistics count
    trades). Money is the closing deal's, in the account currency; ``net`` = profit +
    commission + swap + fee."""

    #: When the position opened (its first ``in`` deal); null when its opening is not
    #: in the history.
    opened_at: datetime | None
    closed_at: datetime
    symbol: str
    #: The position's side (a buy closed by a sell is ``buy``).
    side: Literal["buy", "sell"]
    volume: float
    #: Volume-weighted price of the position's ``in`` deals up to the close.
    open_price: float | None
    close_price: float
    profit: float
    commission: float
    swap: float
    fee: float
    net: float
    position: str
    deal: str


class OpenPositionOut(msgspec.Struct):
    opened_at: datetime
    symbol: str
    side: Literal["buy", "sell"]
    volume: float
    open_price: float
    position: str


class TradeJournalOut(msgspec.Struct):
    trades: list[TradeOut]
    #: With ``open=1``: the positions still open, newest first (else null).
    open_positions: list[OpenPositionOut] | None
    #: The ``offset`` of the next page; null when this page is the last.
    next_offset: int | None


class FailureCount(msgspec.Struct):
    rule: str
    accounts: int


class CohortOut(msgspec.Struct, kw_only=True):
    program: str
    period: str
    accounts: int
    passed: int
    failed: int
    stopped: int  # stopped by the risk desk
    running: int  # still active or paused
    pass_rate_pct: float
    fail_rate_pct: float
    failures_by_rule: list[FailureCount]
    avg_days_to_pass: float | None
    median_days_to_pass: float | None
    avg_days_to_fail: float | None
    median_days_to_fail: float | None
    trades: int | None
    lots: float | None
    net_profit: float | None


class SymbolExposure(msgspec.Struct):
    symbol: str
    currency: str
    net_lots: float
    gross_lots: float
    net_notional: float
    gross_notional: float
    positions: int
    accounts: int


class ConcentratedAccount(msgspec.Struct):
    account: str
    gross_lots: float
    symbols: int
    largest_symbol: str
    largest_lots: float
    concentration_pct: float


class NearestFloor(msgspec.Struct):
    account: str
    ts: datetime  # the engine's latest numbers, event time
    status: AccountStatus
    equity: float
    balance: float
    daily_floor: float | None
    max_loss_floor: float | None
    headroom: float
    headroom_pct: float | None


class ExposureOut(msgspec.Struct):
    symbols: list[SymbolExposure]
    open_positions: int
    most_concentrated: list[ConcentratedAccount]
    nearest_floors: list[NearestFloor]


class WhatIfIn(msgspec.Struct, forbid_unknown_fields=True):
    """A program variant: ``changes`` merge into the recorded program document (a nested
    object merges, ``null`` removes a key), e.g. ``{"rules": {"daily_loss": {"limit":
    0.04}}}``; the cohort is the accounts opened under ``program`` in [since, until).
    ``program`` is the program's slug (as ``/programs`` shows it; with ``phase`` when it
    has several phases) or an engine program id (``default.gold-10k.p1``)."""

    program: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    changes: dict[str, Any]
    since: datetime | None = None
    until: datetime | None = None
    phase: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None


class OutcomeOut(msgspec.Struct):
    status: str
    rule: str | None
    ts: str | None


class ChangedOutcome(msgspec.Struct):
    account: str
    before: OutcomeOut
    after: OutcomeOut


class WhatIfSummary(msgspec.Struct):
    by_status: dict[str, int]
    failures_by_rule: dict[str, int]


class WhatIfOut(msgspec.Struct):
    program: str
    variant: dict[str, Any]
    accounts: int
    events: int
    baseline: WhatIfSummary
    with_variant: WhatIfSummary
    changed: list[ChangedOutcome]
