"""Passwords, tokens and one-time codes: the primitives the user service builds on.

- Passwords: argon2id (argon2-cffi defaults: 64 MiB, 3 passes), hashed in a thread so
  the loop keeps serving; a policy that refuses short, long, repetitive, common or
  e-mail-derived passwords.
- Access tokens: JWT HS256 signed with ``SECRET_KEY``, 15 minutes, with a ``jti`` that
  logout puts on a Redis deny-list until the token expires. Only HS256 is accepted, so
  ``alg: none`` and algorithm confusion fail; ``iat`` and ``exp`` are required and a token
  living longer than 15 minutes is refused (the gateway never issues one); every number
  in it must fit its column (``sub`` and ``tid`` bigint, ``ep`` integer).
- Opaque tokens (refresh tokens, e-mail links, recovery codes): random, stored as
  SHA-256 digests, so a database leak does not hand out sessions.
- TOTP (RFC 6238 via pyotp): 30 s steps, one step of drift either way, and each step
  accepted once per user (the caller records the last step used).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.errors import FieldError, Unauthorized, Unprocessable

ACCESS_SECONDS = 15 * 60
REFRESH_SECONDS = 30 * 24 * 3600
ISSUER = "proptrade"
MIN_PASSWORD, MAX_PASSWORD = 10, 128
# The most used passwords of public breach lists that pass the length rule.
COMMON_PASSWORDS = frozenset({
    "1234567890", "12345678910", "qwertyuiop", "password123", "password12",
    "1q2w3e4r5t", "qwerty1234", "iloveyou123", "password1234", "abcdefghij",
    "0987654321", "1qaz2wsx3edc", "qwertyuiop123", "letmein123", "welcome123",
    "administrator", "passw0rd123", "trustno1234", "football123", "monkey12345",
})

_hasher = PasswordHasher()


def password_problem(password: str, email: str) -> str | None:
    """Why a password is refused, or None."""
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} characters"
    if len(set(password)) < 4:
        return "must use at least 4 different characters"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS:
        return "is one of the most common passwords"
    local = email.partition("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        return "must not contain your e-mail address"
    return None


def check_password(password: str, email: str, path: str = "$.password") -> None:
    problem = password_problem(password, email)
    if problem is not None:
        raise Unprocessable(f"{path}: the password {problem}",
                            fields=[FieldError(path, f"the password {problem}")])


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


# A hash to verify against when the e-mail is unknown, so both cases take as long.
DUMMY_HASH = _hasher.hash("proptrade-no-such-user")


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def recovery_code() -> str:
    raw = secrets.token_hex(5)  # 10 hex digits, shown as xxxxx-xxxxx
    return f"{raw[:5]}-{raw[5:]}"


INT64, INT32 = 2**63 - 1, 2**31 - 1  # the columns' ranges: bigint ids, integer epoch


def _whole(value: Any, high: int, low: int = 1, text: bool = False) -> int | None:
    """A claim as a whole number in [low, high]: a JSON integer, or (``text``) a string of
    ASCII digits (JWT's ``sub`` is a string); anything else is None."""
    if text:
        if not (isinstance(value, str) and 0 < len(value) <= 19 and value.isascii()
                and value.isdigit()):
            return None
        value = int(value)
    elif not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if low <= value <= high else None


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    tenant_id: int
    role: str
    jti: str
    expires_at: int
    epoch: int = 0  # the user's session epoch when issued


class TokenSigner:
    """Issues and checks access tokens."""

    def __init__(self, secret: str) -> None:
        # HS256 wants a 32-byte key; SECRET_KEY may be any length: a derived key.
        self.secret = hashlib.sha256(b"proptrade.access-token\0" + secret.encode()).digest()

    def issue(self, user_id: int, tenant_id: int, role: str, epoch: int = 0,
              now: float | None = None) -> tuple[str, AccessClaims]:
        issued = int(now if now is not None else time.time())
        claims = AccessClaims(user_id, tenant_id, role, uuid.uuid4().hex,
                              issued + ACCESS_SECONDS, epoch)
        token = jwt.encode({"sub": str(user_id), "tid": tenant_id, "role": role,
                            "jti": claims.jti, "iat": issued, "exp": claims.expires_at,
                            "ep": epoch, "iss": ISSUER, "typ": "access"}, self.secret,
                           algorithm="HS256")
        return token, claims

    def check(self, token: str) -> AccessClaims:
        try:
            payload: dict[str, Any] = jwt.decode(
                token, self.secret, algorithms=["HS256"], issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "jti", "iss"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise Unauthorized("the access token is not valid", code="token_invalid") from None
        if payload.get("typ") != "access":
            raise Unauthorized("not an access token", code="token_invalid")
        user_id = _whole(payload.get("sub"), INT64, text=True)
        tenant_id = _whole(payload.get("tid"), INT64)
        epoch = _whole(payload.get("ep", 0), INT32, low=0)
        issued, expires = _whole(payload.get("iat"), INT64), _whole(payload.get("exp"), INT64)
        if None in (user_id, tenant_id, epoch, issued, expires) or not isinstance(
                payload.get("role"), str) or not isinstance(payload.get("jti"), str):
            raise Unauthorized("the access token is not valid", code="token_invalid")
        assert user_id is not None and tenant_id is not None and epoch is not None
        assert issued is not None and expires is not None
        if expires - issued > ACCESS_SECONDS:
            # The gateway never issues such a token: whoever made it holds the key, or
            # wants a session nobody can end by waiting.
            raise Unauthorized("the access token lives longer than the gateway issues",
                               code="token_invalid")
        return AccessClaims(user_id, tenant_id, payload["role"], payload["jti"], expires,
                            epoch)


def cookie_secret(secret: str) -> str:
    """The key of the application's signed cookies, derived from ``SECRET_KEY`` (never the
    access tokens' key itself)."""
    return hashlib.sha256(b"proptrade.cookies\0" + secret.encode()).hexdigest()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def totp_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step a code belongs to (current, or one either side), or None."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    at = now if now is not None else time.time()
    step = int(at // totp.interval)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None
