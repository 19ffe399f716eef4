"""Request and response bodies of the REST API (msgspec Structs).

The handlers decode into these types and the OpenAPI document is generated from them
(:mod:`gateway.openapi`): one definition of each shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254,
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
