"""Signing in: the password, the limits around it, the second factor, known devices.

The order is what keeps the limits from becoming a lockout (:mod:`gateway.ratelimit`):
the login limits are passed first (nothing counted when one refuses), then the password
is checked, and only a right password reaches the second factor's limit — which counts
wrong codes per user and per address, so guessing codes needs the password, and a wrong
password costs the owner's second factor nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from gateway import ratelimit
from gateway.errors import ApiError
from gateway.ratelimit import RateLimiter
from gateway.schemas import LoginIn, TokensOut
from gateway.tenants import Tenant
from gateway.users import Users

WRONG_CODES = frozenset({"totp_invalid", "recovery_code_invalid"})


def second_factor_subjects(tenant_id: int, user_id: int, address: str) -> tuple[str, str]:
    """What the second factor's limit counts against: the user (of its firm) and the
    address."""
    return f"user:{tenant_id}:{user_id}", f"ip:{address}"


@contextlib.asynccontextmanager
async def second_factor_attempt(limiter: RateLimiter, tenant_id: int, user_id: int,
                                address: str) -> AsyncIterator[None]:
    """Around a check of a user's TOTP or recovery code: 429 when the user or the address
    is held; counted as a failure only when the code was wrong."""
    reservation = await limiter.reserve(
        ratelimit.TWO_FACTOR, *second_factor_subjects(tenant_id, user_id, address))
    try:
        yield
    except ApiError as error:
        if error.code not in WRONG_CODES:
            await reservation.give_back()
        raise
    await reservation.give_back()


async def sign_in(users: Users, limiter: RateLimiter, tenant: Tenant, body: LoginIn,
                  address: str, device: str | None) -> tuple[TokensOut, str]:
    """Log in from ``address`` on ``device`` (the id of its device cookie, if any).

    Returns the tokens and the device's id to keep in its cookie.

    :raises TooManyRequests: a login limit, or the second factor's, holds the attempt.
    :raises Unauthorized: a wrong password, a disabled or unverified account, a missing
        or wrong second factor.
    """
    second = bool(body.totp_code or body.recovery_code)
    attempt = await limiter.logins.attempt(tenant.id, body.email, address, device, second)
    try:
        user = await users.check_password(tenant, body)
        await attempt.password_right()
        two_factor = user["totp_enabled_at"] is not None
        if attempt.held is not None and not two_factor:
            raise attempt.held  # held for new devices: a password alone is not enough
        if second and two_factor:
            async with second_factor_attempt(limiter, tenant.id, user["id"], address):
                tokens = await users.complete_login(user, body)
        else:
            tokens = await users.complete_login(user, body)
    except ApiError:
        if attempt.held is not None:
            raise attempt.held from None  # the same answer whatever was wrong: no oracle
        raise
    return tokens, await attempt.signed_in()
