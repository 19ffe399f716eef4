"""``/api/v1/auth/*`` and ``/api/v1/me*``: registration, sessions, two-factor auth."""

from __future__ import annotations

from gateway import ratelimit
from gateway.api import ROLES, ApiHandler, operation
from gateway.clients import limit_subject
from gateway.schemas import (
    Accepted,
    CodeIn,
    ForgotIn,
    LoginIn,
    LogoutIn,
    RecoveryCodesOut,
    RefreshIn,
    RegisterIn,
    ResetIn,
    TokenIn,
    TokensOut,
    TotpSetupOut,
    UserOut,
)
from gateway.signin import second_factor_attempt, second_factor_subjects, sign_in


class AuthHandler(ApiHandler):
    @property
    def address(self) -> str:
        # The client as the limits count it: its address as the application settled it
        # (the peer, or what a trusted proxy says), an IPv6 one by its /64.
        return limit_subject(self.request.remote_ip or "unknown")


class RegisterHandler(AuthHandler):
    @operation("Create a trader account; a verification e-mail follows",
               body=RegisterIn, response=UserOut, status=201, tag="auth")
    async def post(self) -> None:
        body = self.body(RegisterIn)
        await self.services.limiter.hit(ratelimit.REGISTER, f"ip:{self.address}")
        user = await self.services.users.register(self.tenant, body)
        self.services.mailer.wake.set()
        self.send(user, 201)


class VerifyHandler(AuthHandler):
    @operation("Confirm an e-mail address with the token from the message",
               body=TokenIn, response=UserOut, tag="auth")
    async def post(self) -> None:
        body = self.body(TokenIn)
        self.send(await self.services.users.verify_email(self.tenant, body.token))


# A signed (SECRET_KEY), HttpOnly cookie naming a random device id: a browser the account
# signed in on, which the login limits recognise (gateway.ratelimit.LoginGuard). Sent
# only to the auth routes, never across sites; its value is no credential.
DEVICE_COOKIE = "proptrade_device"


class LoginHandler(AuthHandler):
    @operation("Log in; with two-factor auth on, a TOTP or recovery code is required. "
               "Sets the device cookie the login limits recognise",
               body=LoginIn, response=TokensOut, tag="auth")
    async def post(self) -> None:
        body = self.body(LoginIn)
        known = self.get_signed_cookie(DEVICE_COOKIE, max_age_days=ratelimit.DEVICE_DAYS)
        tokens, device = await sign_in(self.services.users, self.services.limiter,
                                       self.tenant, body, self.address,
                                       known.decode("ascii", "replace") if known else None)
        self.set_signed_cookie(DEVICE_COOKIE, device, expires_days=ratelimit.DEVICE_DAYS,
                               path="/api/v1/auth", httponly=True, samesite="Strict",
                               secure=self.request.protocol == "https")
        self.send(tokens)


class RefreshHandler(AuthHandler):
    @operation("Exchange a refresh token for new tokens (the old one is spent)",
               body=RefreshIn, response=TokensOut, tag="auth")
    async def post(self) -> None:
        body = self.body(RefreshIn)
        self.send(await self.services.users.refresh(self.tenant, body.refresh_token))


class LogoutHandler(AuthHandler):
    @operation("Log out: the access token and its refresh family stop working",
               body=LogoutIn, status=204, roles=ROLES, tag="auth")
    async def post(self) -> None:
        body = self.body(LogoutIn) if self.request.body else LogoutIn()
        await self.services.users.logout(self.user, body.refresh_token)
        self.send(None, 204)


class ForgotHandler(AuthHandler):
    @operation("Mail a password-reset link (the answer is the same for unknown addresses, "
               "and past 5 mails an hour to one account)",
               body=ForgotIn, response=Accepted, status=202, tag="auth")
    async def post(self) -> None:
        body = self.body(ForgotIn)
        limiter = self.services.limiter
        await limiter.hit(ratelimit.RESET, f"ip:{self.address}")
        # Never a 429 for the account (it would block its owner's way out): its mail stops.
        account = ratelimit.account_key(self.tenant.id, body.email)
        if await limiter.allows(ratelimit.RESET_MAIL, account):
            await self.services.users.forgot_password(self.tenant, body.email)
            self.services.mailer.wake.set()
        self.send(Accepted(), 202)


class ResetHandler(AuthHandler):
    @operation("Choose a new password with the token from the message; every session "
               "of the account ends", body=ResetIn, status=204, tag="auth")
    async def post(self) -> None:
        body = self.body(ResetIn)
        await self.services.limiter.hit(ratelimit.RESET, f"ip:{self.address}")
        user_id, email = await self.services.users.reset_password(self.tenant, body.token,
                                                                  body.password)
        # Whoever was locked out of the account is its owner now: the counts start again,
        # the second factor's included.
        await self.services.limiter.logins.forget_account(self.tenant.id, email)
        user, _ = second_factor_subjects(self.tenant.id, user_id, self.address)
        await self.services.limiter.forget(ratelimit.TWO_FACTOR, user)
        self.send(None, 204)


class MeHandler(AuthHandler):
    @operation("The caller's own user", response=UserOut, roles=ROLES, tag="me")
    async def get(self) -> None:
        self.send(await self.services.users.get(self.user))


class TotpSetupHandler(AuthHandler):
    @operation("Start two-factor setup: a new secret and its otpauth:// URI",
               response=TotpSetupOut, roles=ROLES, tag="me")
    async def post(self) -> None:
        secret, uri = await self.services.users.totp_setup(self.user,
                                                           self.tenant.branding.name)
        self.send(TotpSetupOut(secret, uri))


class TotpConfirmHandler(AuthHandler):
    @operation("Turn two-factor auth on with a first code; returns ten recovery codes",
               body=CodeIn, response=RecoveryCodesOut, roles=ROLES, tag="me")
    async def post(self) -> None:
        body = self.body(CodeIn)
        async with second_factor_attempt(self.services.limiter, self.tenant.id,
                                         self.user.user_id, self.address):
            codes = await self.services.users.totp_confirm(self.user, body.code)
        self.send(RecoveryCodesOut(codes))


class TotpDisableHandler(AuthHandler):
    @operation("Turn two-factor auth off with a current code or a recovery code",
               body=CodeIn, status=204, roles=ROLES, tag="me")
    async def post(self) -> None:
        body = self.body(CodeIn)
        async with second_factor_attempt(self.services.limiter, self.tenant.id,
                                         self.user.user_id, self.address):
            await self.services.users.totp_disable(self.user, body.code)
        self.send(None, 204)


ROUTES = [
    (r"/api/v1/auth/register", RegisterHandler),
    (r"/api/v1/auth/verify", VerifyHandler),
    (r"/api/v1/auth/login", LoginHandler),
    (r"/api/v1/auth/refresh", RefreshHandler),
    (r"/api/v1/auth/logout", LogoutHandler),
    (r"/api/v1/auth/password/forgot", ForgotHandler),
    (r"/api/v1/auth/password/reset", ResetHandler),
    (r"/api/v1/me", MeHandler),
    (r"/api/v1/me/2fa/setup", TotpSetupHandler),
    (r"/api/v1/me/2fa/confirm", TotpConfirmHandler),
    (r"/api/v1/me/2fa/disable", TotpDisableHandler),
]
