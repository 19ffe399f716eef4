"""Users and sessions: register, verify, log in (with 2FA), refresh, log out, reset.

Every query names the tenant: the same e-mail may hold accounts at two firms, and a
token of one firm is refused at another.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway import mail
from gateway.errors import (
    ApiError,
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from gateway.schemas import LoginIn, RegisterIn, TokensOut, UserOut
from gateway.security import (
    ACCESS_SECONDS,
    DUMMY_HASH,
    REFRESH_SECONDS,
    TokenSigner,
    check_password,
    digest,
    hash_password,
    new_token,
    new_totp_secret,
    recovery_code,
    totp_step,
    totp_uri,
    verify_password,
)
from gateway.tenants import Tenant
from storage.cache import Cache

# A verified token's principal is reused this long: a read-heavy client costs one JWT
# check, one deny-list lookup and one user query per token per 2 s, not per request.
# Logout here takes effect at once; on another gateway process, within this time.
PRINCIPAL_SECONDS = 2.0
VERIFY_HOURS = 48
RESET_HOURS = 1
RECOVERY_CODES = 10


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    user_id: int
    tenant_id: int
    role: str
    email: str
    jti: str
    expires_at: int


def user_out(row: Any) -> UserOut:
    return UserOut(row["id"], row["email"], row["display_name"], row["role"],
                   row["email_verified_at"] is not None, row["totp_enabled_at"] is not None,
                   row["created_at"])


class Users:
    def __init__(self, pool: Any, cache: Cache, signer: TokenSigner) -> None:
        self.pool = pool
        self.cache = cache
        self.signer = signer
        self._principals: dict[tuple[int, str], tuple[float, Principal]] = {}

    # ------------------------------------------------------------------ registration

    async def register(self, tenant: Tenant, body: RegisterIn) -> UserOut:
        email = body.email.strip().lower()
        check_password(body.password, email)
        password_hash = await hash_password(body.password)
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "INSERT INTO users (tenant_id, email, password_hash, display_name) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, email) DO NOTHING "
                "RETURNING *", tenant.id, email, password_hash, body.display_name.strip())
            if row is None:
                raise Conflict("an account with this e-mail address exists",
                               code="email_taken")
            await self._send_token(connection, tenant, row, "verify", VERIFY_HOURS)
        return user_out(row)

    async def _send_token(self, connection: Any, tenant: Tenant, user: Any, purpose: str,
                          hours: int) -> None:
        # The link goes to the firm's configured address, never to the request's Host:
        # a forged Host would otherwise mail the victim a link to the attacker's server.
        if not tenant.public_url:
            raise Unavailable("this firm has no public address to link to (a domain, or "
                              "PUBLIC_BASE_DOMAIN)")
        token = new_token()
        await connection.execute(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, expires_at) "
            "VALUES ($1, $2, $3, now() + make_interval(hours => $4))",
            digest(token), user["id"], purpose, hours)
        page = "verify-email" if purpose == "verify" else "reset-password"
        await mail.enqueue(connection, tenant, user["email"], purpose, token=token,
                           link=f"{tenant.public_url}/{page}?token={token}", hours=hours,
                           name=user["display_name"])

    async def _spend_token(self, connection: Any, tenant: Tenant, token: str,
                           purpose: str) -> Any:
        row = await connection.fetchrow(
            "UPDATE email_tokens e SET used_at = now() FROM users u "
            "WHERE e.token_hash = $1 AND e.purpose = $2 AND e.used_at IS NULL "
            "AND e.expires_at > now() AND u.id = e.user_id AND u.tenant_id = $3 "
            "RETURNING u.*", digest(token), purpose, tenant.id)
        if row is None:
            raise ApiError("the link is invalid, used or expired", code="token_invalid")
        return row

    async def verify_email(self, tenant: Tenant, token: str) -> UserOut:
        async with self.pool.acquire() as connection, connection.transaction():
            user = await self._spend_token(connection, tenant, token, "verify")
            row = await connection.fetchrow(
                "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) "
                "WHERE id = $1 RETURNING *", user["id"])
        return user_out(row)

    async def forgot_password(self, tenant: Tenant, email: str) -> None:
        """Mail a reset link when the address has an account; the answer is the same
        either way, so the endpoint does not reveal who is registered."""
        async with self.pool.acquire() as connection, connection.transaction():
            user = await connection.fetchrow(
                "SELECT * FROM users WHERE tenant_id = $1 AND email = $2 "
                "AND disabled_at IS NULL", tenant.id, email.strip().lower())
            if user is not None:
                await self._send_token(connection, tenant, user, "reset", RESET_HOURS)

    async def reset_password(self, tenant: Tenant, token: str, password: str
                             ) -> tuple[int, str]:
        """Set a new password with a reset token; returns the account's id and e-mail
        address."""
        async with self.pool.acquire() as connection, connection.transaction():
            user = await self._spend_token(connection, tenant, token, "reset")
            check_password(password, user["email"])
            # A new session epoch: every access token issued before stops working.
            await connection.execute(
                "UPDATE users SET password_hash = $2, session_epoch = session_epoch + 1, "
                "email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1",
                user["id"], await hash_password(password))
            # Every session of the account ends: whoever knew the old password is out.
            await connection.execute(
                "UPDATE refresh_tokens SET revoked_at = now() "
                "WHERE user_id = $1 AND revoked_at IS NULL", user["id"])
        self.forget_user(user["id"])
        return int(user["id"]), str(user["email"])

    def forget_user(self, user_id: int) -> None:
        """Drop the user's cached principals (its role, access or sessions changed)."""
        self._principals = {key: value for key, value in self._principals.items()
                            if value[1].user_id != user_id}

    # ------------------------------------------------------------------ sessions

    async def check_password(self, tenant: Tenant, body: LoginIn) -> Any:
        """The user whose e-mail address and password ``body`` gives (its row); the same
        401 for an unknown address, in the same time."""
        email = body.email.strip().lower()
        user = await self.pool.fetchrow(
            "SELECT * FROM users WHERE tenant_id = $1 AND email = $2", tenant.id, email)
        stored = user["password_hash"] if user is not None else DUMMY_HASH
        if not await verify_password(stored, body.password) or user is None:
            raise Unauthorized("wrong e-mail address or password", code="bad_credentials")
        return user

    async def complete_login(self, user: Any, body: LoginIn) -> TokensOut:
        """Tokens for a user whose password was right: if its account is enabled and
        verified, and with the second factor when it has two-factor auth on."""
        if user["disabled_at"] is not None:
            raise Unauthorized("this account is disabled", code="account_disabled")
        if user["email_verified_at"] is None:
            raise Unauthorized("confirm your e-mail address first (see the message we sent)",
                               code="email_not_verified")
        if user["totp_enabled_at"] is not None:
            await self._second_factor(user, body.totp_code, body.recovery_code)
        return await self._issue(user, uuid.uuid4())

    async def _second_factor(self, user: Any, code: str | None,
                             recovery: str | None) -> None:
        if code:
            step = totp_step(user["totp_secret"], code)
            if step is not None:
                # Accepted once: the step must be newer than the last one used.
                taken = await self.pool.fetchval(
                    "UPDATE users SET totp_last_step = $2 WHERE id = $1 "
                    "AND totp_last_step < $2 RETURNING id", user["id"], step)
                if taken is not None:
                    return
            raise Unauthorized("the two-factor code is wrong or was already used",
                               code="totp_invalid")
        if recovery:
            used = await self.pool.fetchval(
                "UPDATE recovery_codes SET used_at = now() WHERE user_id = $1 "
                "AND code_hash = $2 AND used_at IS NULL RETURNING user_id",
                user["id"], digest(recovery.strip().lower()))
            if used is not None:
                return
            raise Unauthorized("the recovery code is wrong or was already used",
                               code="recovery_code_invalid")
        raise Unauthorized("a two-factor code is required", code="totp_required")

    async def _issue(self, user: Any, family: uuid.UUID) -> TokensOut:
        access, _ = self.signer.issue(user["id"], user["tenant_id"], user["role"],
                                      user["session_epoch"])
        refresh = new_token()
        await self.pool.execute(
            "INSERT INTO refresh_tokens (token_hash, user_id, family, expires_at) "
            "VALUES ($1, $2, $3, $4)", digest(refresh), user["id"], family,
            datetime.now(UTC) + timedelta(seconds=REFRESH_SECONDS))
        return TokensOut(access, refresh, ACCESS_SECONDS)

    async def refresh(self, tenant: Tenant, token: str) -> TokensOut:
        async with self.pool.acquire() as connection, connection.transaction():
            row = await connection.fetchrow(
                "SELECT r.*, u.tenant_id, u.disabled_at FROM refresh_tokens r "
                "JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1 FOR UPDATE OF r",
                digest(token))
            if row is None or row["tenant_id"] != tenant.id:
                raise Unauthorized("the refresh token is not valid", code="token_invalid")
            reused = row["spent_at"] is not None or row["revoked_at"] is not None
            if reused:
                # A spent token comes back: it was stolen or the client is confused;
                # either way, every token of its family stops working (committed here,
                # before the refusal).
                await connection.execute(
                    "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
                    "WHERE family = $1", row["family"])
            elif row["expires_at"] > datetime.now(UTC) and row["disabled_at"] is None:
                await connection.execute(
                    "UPDATE refresh_tokens SET spent_at = now() WHERE token_hash = $1",
                    digest(token))
                user = await connection.fetchrow("SELECT * FROM users WHERE id = $1",
                                                 row["user_id"])
                return await self._issue(user, row["family"])
        if reused:
            raise Unauthorized("the refresh token was already used; the session is closed",
                               code="token_reused")
        raise Unauthorized("the refresh token has expired", code="token_expired")

    async def logout(self, principal: Principal, *refresh_tokens: str | None) -> None:
        """End the caller's access token and the families of ``refresh_tokens`` (the
        body's and the session cookie's; one of another user changes nothing)."""
        self._principals = {key: value for key, value in self._principals.items()
                            if value[1].jti != principal.jti}
        ttl = max(1, principal.expires_at - int(time.time()))
        await self.cache.client.set(self.cache.key("revoked", principal.jti), 1, ex=ttl)
        for refresh_token in refresh_tokens:
            if refresh_token:
                await self.pool.execute(
                    "UPDATE refresh_tokens SET revoked_at = coalesce(revoked_at, now()) "
                    "WHERE family = (SELECT family FROM refresh_tokens "
                    "WHERE token_hash = $1 AND user_id = $2)",
                    digest(refresh_token), principal.user_id)

    async def _end_sessions(self, connection: Any, user_id: int, password_hash: str | None
                            = None) -> Any:
        """A new session epoch (every access token issued before stops working), the
        password changed when ``password_hash`` is given, and every refresh family
        revoked; returns the user's row."""
        row = await connection.fetchrow(
            "UPDATE users SET session_epoch = session_epoch + 1, "
            "password_hash = coalesce($2, password_hash) WHERE id = $1 RETURNING *",
            user_id, password_hash)
        await connection.execute(
            "UPDATE refresh_tokens SET revoked_at = now() "
            "WHERE user_id = $1 AND revoked_at IS NULL", user_id)
        return row

    async def revoke_sessions(self, principal: Principal) -> None:
        """Sign out everywhere: every refresh family and every access token of the user,
        the caller's own included."""
        async with self.pool.acquire() as connection, connection.transaction():
            await self._end_sessions(connection, principal.user_id)
        self.forget_user(principal.user_id)

    async def change_password(self, principal: Principal, current: str, new: str
                              ) -> TokensOut:
        """Replace the caller's password, knowing the current one: every other session
        ends (as :meth:`revoke_sessions`) and the caller's goes on with the tokens
        returned (a new family).

        :raises Unprocessable: the new password breaks the policy (``$.new_password``), or
            is the current one.
        :raises Forbidden: ``current_password_wrong``.
        :raises Conflict: the password changed (a reset) while this one was checked.
        """
        check_password(new, principal.email, "$.new_password")
        user = await self.pool.fetchrow("SELECT * FROM users WHERE id = $1 AND tenant_id = $2",
                                        principal.user_id, principal.tenant_id)
        if user is None:
            raise NotFound("no such user")
        if not await verify_password(user["password_hash"], current):
            raise Forbidden("$.current_password: this is not your current password",
                            code="current_password_wrong",
                            fields=[FieldError("$.current_password",
                                               "not your current password")])
        if current == new:
            raise Unprocessable(
                "$.new_password: the new password must differ from the current one",
                fields=[FieldError("$.new_password", "the same as the current password")])
        new_hash = await hash_password(new)
        async with self.pool.acquire() as connection, connection.transaction():
            # The hash checked must still be the stored one (not replaced by a reset).
            same = await connection.fetchval(
                "SELECT password_hash = $2 FROM users WHERE id = $1 FOR UPDATE",
                principal.user_id, user["password_hash"])
            if not same:
                raise Conflict("the password was changed meanwhile; sign in again",
                               code="password_changed")
            row = await self._end_sessions(connection, principal.user_id, new_hash)
        self.forget_user(principal.user_id)
        return await self._issue(row, uuid.uuid4())

    async def update_profile(self, principal: Principal, display_name: str) -> UserOut:
        row = await self.pool.fetchrow(
            "UPDATE users SET display_name = $3 WHERE id = $1 AND tenant_id = $2 "
            "RETURNING *", principal.user_id, principal.tenant_id, display_name.strip())
        if row is None:
            raise NotFound("no such user")
        return user_out(row)

    async def authenticate(self, tenant: Tenant, token: str) -> Principal:
        now = time.monotonic()
        known = self._principals.get((tenant.id, token))
        if known is not None and known[0] > now:
            return known[1]
        principal = await self._authenticate(tenant, token)
        if len(self._principals) > 50_000:
            self._principals.clear()
        self._principals[(tenant.id, token)] = (now + PRINCIPAL_SECONDS, principal)
        return principal

    async def _authenticate(self, tenant: Tenant, token: str) -> Principal:
        claims = self.signer.check(token)
        if claims.tenant_id != tenant.id:
            raise Unauthorized("the access token is not valid here", code="token_invalid")
        if await self.cache.client.exists(self.cache.key("revoked", claims.jti)):
            raise Unauthorized("the access token was revoked", code="token_revoked")
        user = await self.pool.fetchrow(
            "SELECT id, tenant_id, role, email, disabled_at, session_epoch FROM users "
            "WHERE id = $1 AND tenant_id = $2", claims.user_id, tenant.id)
        if user is None or user["disabled_at"] is not None:
            raise Unauthorized("this account is disabled", code="account_disabled")
        if user["session_epoch"] != claims.epoch:
            raise Unauthorized("the access token was revoked", code="token_revoked")
        # The role of the row, not of the token: a changed role applies at once.
        return Principal(user["id"], tenant.id, user["role"], user["email"], claims.jti,
                         claims.expires_at)

    async def get(self, principal: Principal) -> UserOut:
        row = await self.pool.fetchrow("SELECT * FROM users WHERE id = $1 AND tenant_id = $2",
                                       principal.user_id, principal.tenant_id)
        if row is None:
            raise NotFound("no such user")
        return user_out(row)

    # ------------------------------------------------------------------ two factors

    async def totp_setup(self, principal: Principal, issuer: str) -> tuple[str, str]:
        secret = new_totp_secret()
        updated = await self.pool.fetchval(
            "UPDATE users SET totp_secret = $2 WHERE id = $1 AND totp_enabled_at IS NULL "
            "RETURNING id", principal.user_id, secret)
        if updated is None:
            raise Conflict("two-factor authentication is already on; disable it first",
                           code="totp_enabled")
        return secret, totp_uri(secret, principal.email, issuer)

    async def totp_confirm(self, principal: Principal, code: str) -> list[str]:
        async with self.pool.acquire() as connection, connection.transaction():
            user = await connection.fetchrow("SELECT * FROM users WHERE id = $1 FOR UPDATE",
                                             principal.user_id)
            if user["totp_enabled_at"] is not None:
                raise Conflict("two-factor authentication is already on",
                               code="totp_enabled")
            if user["totp_secret"] is None:
                raise Conflict("start with /me/2fa/setup", code="totp_not_set_up")
            step = totp_step(user["totp_secret"], code)
            if step is None or step <= user["totp_last_step"]:
                raise Unprocessable("$.code: the code is wrong or was already used",
                                    code="totp_invalid")
            codes = [recovery_code() for _ in range(RECOVERY_CODES)]
            await connection.execute(
                "UPDATE users SET totp_enabled_at = now(), totp_last_step = $2 "
                "WHERE id = $1", principal.user_id, step)
            await connection.execute("DELETE FROM recovery_codes WHERE user_id = $1",
                                     principal.user_id)
            await connection.executemany(
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)",
                [(principal.user_id, digest(c)) for c in codes])
        return codes

    async def totp_disable(self, principal: Principal, code: str) -> None:
        user = await self.pool.fetchrow("SELECT * FROM users WHERE id = $1",
                                        principal.user_id)
        if user["totp_enabled_at"] is None:
            raise Conflict("two-factor authentication is off", code="totp_disabled")
        try:
            if "-" in code:
                await self._second_factor(user, None, code)
            else:
                await self._second_factor(user, code, None)
        except Unauthorized as error:
            raise Unprocessable(f"$.code: {error.message}", code=error.code) from None
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "UPDATE users SET totp_enabled_at = NULL, totp_secret = NULL WHERE id = $1",
                principal.user_id)
            await connection.execute("DELETE FROM recovery_codes WHERE user_id = $1",
                                     principal.user_id)
