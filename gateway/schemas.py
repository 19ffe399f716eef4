"""Request and response bodies of the REST API (msgspec Structs).

The handlers decode into these types and the OpenAPI document is generated from them
(:mod:`gateway.openapi`): one definition of each shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

_ADDRESS_PART = r"[^@\s\x00-\x1f\x7f]+"
Email = Annotated[str, msgspec.Meta(
    pattern=rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$", max_length=254,
    description="an e-mail address")]
Password = Annotated[str, msgspec.Meta(max_length=1024)]
# Printable text without control characters (names shown to other people).
Name = Annotated[str, msgspec.Meta(pattern=r"^[^\x00-\x1f\x7f]*$", max_length=100)]
Code = Annotated[str, msgspec.Meta(max_length=32)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
Role = Literal["trader", "risk", "admin", "owner"]


class BrandingOut(msgspec.Struct):
    slug: str
    name: str
    primary_color: str
    accent_color: str
    logo_url: str
    support_email: str


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


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    token: Token


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password
    totp_code: Code | None = None
    recovery_code: Code | None = None


class TokensOut(msgspec.Struct):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


class RefreshIn(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Token


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


class CodeIn(msgspec.Struct, forbid_unknown_fields=True):
    code: Code


class RecoveryCodesOut(msgspec.Struct):
    recovery_codes: list[str]


class Accepted(msgspec.Struct):
    status: str = "accepted"


class Health(msgspec.Struct):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = {}


# -- programs and challenges ----------------------------------------------------------

Money = Annotated[str, msgspec.Meta(pattern=r"^\d{1,12}(\.\d{1,2})?$",
                                    description="an amount as a decimal string, to the cent",
                                    examples=["155.00"])]
Slug = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
CurrencyCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
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
    status: str
    created_at: datetime


class ChallengeOut(msgspec.Struct):
    id: int
    program: str
    status: str
    phase: int
    phase_name: str
    price: str
    currency: str
    payment: PaymentOut | None
    accounts: list[TradingAccountOut]
    created_at: datetime


class ReasonIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class RiskEventOut(msgspec.Struct):
    id: str
    account: str
    kind: str
    rule: str | None
    ts: datetime
    payload: dict[str, Any]
    acknowledged_at: datetime | None
    overridden_at: datetime | None
    override_reason: str | None


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


class AccountMetrics(msgspec.Struct):
    login: str
    status: str
    balance: float | None = None
    equity: float | None = None
    daily_floor: float | None = None
    max_loss_floor: float | None = None
    open_positions: int | None = None
    ts: str | None = None


# -- tenants ------------------------------------------------------------------------

Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
Url = Annotated[str, msgspec.Meta(pattern=r"^(https://[^\s<>\"']{1,500})?$")]
Domain = Annotated[str, msgspec.Meta(
    pattern=r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")]
Origin = Annotated[str, msgspec.Meta(pattern=r"^https?://[a-z0-9.-]+(:\d{1,5})?$")]


class BrandingIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    primary_color: Color = "#0f766e"
    accent_color: Color = "#f59e0b"
    logo_url: Url = ""
    support_email: Annotated[str, msgspec.Meta(max_length=254)] = ""


class TenantIn(msgspec.Struct, forbid_unknown_fields=True):
    slug: Slug
    branding: BrandingIn
    domains: list[Domain] = []
    cors_origins: list[Origin] = []


class TenantSettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    branding: BrandingIn
    cors_origins: list[Origin] = []


class TenantOut(msgspec.Struct):
    id: int
    slug: str
    branding: BrandingIn
    domains: list[str]
    cors_origins: list[str]
