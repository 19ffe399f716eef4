"""``/api/v1/auth/*`` and ``/api/v1/me*``: registration, sessions, two-factor auth."""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway import ratelimit
from gateway.api import ROLES, ApiHandler, operation
from gateway.clients import limit_subject
from gateway.errors import ApiError, FieldError, Forbidden, Unauthorized, Unprocessable
from gateway.schemas import (
    Accepted,
    CodeIn,
    ForgotIn,
    LoginIn,
    LogoutIn,
    PasswordChangeIn,
    ProfileIn,
    RecoveryCodesOut,
    RefreshIn,
    RegisterIn,
    ResetIn,
    TokenIn,
    TokensOut,
    TotpSetupOut,
    UserOut,
)
from gateway.security import REFRESH_SECONDS
from gateway.signin import second_factor_attempt, second_factor_subjects, sign_in
from gateway.tenants import host_name

# A cookie session (README "Auth"): the refresh token in an HttpOnly cookie sent only to
# the auth routes and never across sites, out of reach of the page's scripts. Its value
# is the opaque refresh token itself (stored hashed, spent by its first use).
SESSION_COOKIE = "proptrade_refresh"
SESSION_PATH = "/api/v1/auth"
MAX_TOKEN = 512  # gateway.schemas.Token
# A request that sets or spends the session cookie must carry this header (any value,
# e.g. "web"): a page of another origin cannot add it without a CORS preflight, which the
# gateway never grants for it, and a form or a plain link cannot send it at all.
CLIENT_HEADER = "X-PropTrade-Client"
SESSION_HEADERS = ((CLIENT_HEADER, 'required for a cookie session (any value, e.g. "web")'),)
SESSION_COOKIES = ((SESSION_COOKIE, "the refresh token of a cookie session"),)
SESSION_SET = (
    'With "session": "cookie" the refresh token is set as the cookie proptrade_refresh '
    "(HttpOnly, SameSite=Strict, Path=/api/v1/auth, Secure over https, Max-Age 30 days) "
    "and refresh_token is null.")
COOKIE_SESSION = SESSION_SET + (
    " Such a request needs the X-PropTrade-Client header, a JSON body (Content-Type: "
    "application/json) and an Origin (when sent) at the firm's host; a Sec-Fetch-Site "
    "other than same-origin is refused (403).")


class AuthHandler(ApiHandler):
    @property
    def address(self) -> str:
        # The client as the limits count it: its address as the application settled it
        # (the peer, or what a trusted proxy says), an IPv6 one by its /64.
        return limit_subject(self.request.remote_ip or "unknown")

    def session_cookie(self) -> str | None:
        """The session cookie's refresh token as sent (None: no cookie)."""
        value = self.get_cookie(SESSION_COOKIE)
        return value if value else None

    def refuse_cross_site(self) -> None:
        """403 unless the request could only come from the firm's own pages (or a client
        that is no browser): the custom header, a JSON body, a same-origin ``Origin`` and
        ``Sec-Fetch-Site`` when the browser sends them. A cookie session's refresh and
        login go through here: no other site can spend or plant the cookie."""
        if not self.request.headers.get(CLIENT_HEADER, "").strip():
            raise Forbidden(f"a cookie session needs the {CLIENT_HEADER} header (any value, "
                            'e.g. "web")', code="client_header_required")
        kind = self.request.headers.get("Content-Type", "").partition(";")[0]
        if self.request.body and kind.strip().lower() != "application/json":
            raise ApiError(f"the body must be application/json, not {kind.strip()[:60]!r}",
                           code="unsupported_media_type", status=415)
        host = host_name(self.request.host)
        origin = self.request.headers.get("Origin")
        if origin is not None:
            try:
                parts = urlsplit(origin)
                seen = parts.hostname if parts.scheme in ("http", "https") else None
            except ValueError:
                seen = None
            if seen is None or seen.rstrip(".") != host:
                shown = origin if len(origin) <= 80 else origin[:80] + "…"
                raise Forbidden(f"Origin {shown!r} is not this firm's host ({host})",
                                code="origin_refused")
        site = self.request.headers.get("Sec-Fetch-Site")
        if site is not None and site.strip().lower() not in ("same-origin", "none"):
            raise Forbidden(f"a cookie session is used from the firm's own pages only "
                            f"(Sec-Fetch-Site: {site[:40]})", code="cross_site_refused")

    def set_session_cookie(self, token: str) -> None:
        self.set_cookie(SESSION_COOKIE, token, path=SESSION_PATH, max_age=REFRESH_SECONDS,
                        httponly=True, samesite="Strict",
                        secure=self.request.protocol == "https")

    def clear_session_cookie(self) -> None:
        self.clear_cookie(SESSION_COOKIE, path=SESSION_PATH, httponly=True,
                          samesite="Strict", secure=self.request.protocol == "https")

    def send_tokens(self, tokens: TokensOut, cookie: bool) -> None:
        """The tokens; in a cookie session the refresh token goes to the cookie, and the
        body says null."""
        if cookie:
            assert tokens.refresh_token is not None
            self.set_session_cookie(tokens.refresh_token)
            tokens = TokensOut(tokens.access_token, None, tokens.expires_in,
                               tokens.token_type)
        self.send(tokens)


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
               body=LoginIn, response=TokensOut, tag="auth", headers=SESSION_HEADERS,
               description=COOKIE_SESSION)
    async def post(self) -> None:
        body = self.body(LoginIn)
        cookie = body.session == "cookie"
        if cookie:
            self.refuse_cross_site()  # no other site plants its own session here
        known = self.get_signed_cookie(DEVICE_COOKIE, max_age_days=ratelimit.DEVICE_DAYS)
        tokens, device = await sign_in(self.services.users, self.services.limiter,
                                       self.tenant, body, self.address,
                                       known.decode("ascii", "replace") if known else None)
        self.set_signed_cookie(DEVICE_COOKIE, device, expires_days=ratelimit.DEVICE_DAYS,
                               path="/api/v1/auth", httponly=True, samesite="Strict",
                               secure=self.request.protocol == "https")
        self.send_tokens(tokens, cookie)


class RefreshHandler(AuthHandler):
    @operation("Exchange a refresh token for new tokens (the old one is spent; a spent "
               "one presented again ends its whole family). Without refresh_token in the "
               "body (or with no body), the proptrade_refresh cookie's token is used and "
               "the new one set in it",
               body=RefreshIn, response=TokensOut, tag="auth", headers=SESSION_HEADERS,
               cookies=SESSION_COOKIES, description=COOKIE_SESSION)
    async def post(self) -> None:
        body = self.body(RefreshIn) if self.request.body else RefreshIn()
        token = body.refresh_token
        from_cookie = token is None
        if from_cookie and body.session == "body":
            message = ("a cookie's refresh token is answered only in the cookie; send "
                       "refresh_token to use the body")
            raise Unprocessable(f"$.session: {message}",
                                fields=[FieldError("$.session", message)])
        cookie = from_cookie or body.session == "cookie"
        if cookie:
            self.refuse_cross_site()
        if from_cookie:
            token = self.session_cookie()
            if token is None:
                raise Unauthorized(f"no refresh token: neither refresh_token in the body "
                                   f"nor the {SESSION_COOKIE} cookie (sign in again)",
                                   code="token_missing")
            if len(token) > MAX_TOKEN:
                self.clear_session_cookie()
                raise Unauthorized("the refresh token is not valid", code="token_invalid")
        assert token is not None
        try:
            tokens = await self.services.users.refresh(self.tenant, token)
        except Unauthorized:
            if from_cookie:
                self.clear_session_cookie()  # it will never work again
            raise
        self.send_tokens(tokens, cookie)


class LogoutHandler(AuthHandler):
    @operation("Log out: the access token and its refresh family stop working (the "
               "body's token's and the proptrade_refresh cookie's, which is cleared)",
               body=LogoutIn, status=204, roles=ROLES, tag="auth",
               cookies=SESSION_COOKIES)
    async def post(self) -> None:
        body = self.body(LogoutIn) if self.request.body else LogoutIn()
        cookie = self.session_cookie()
        await self.services.users.logout(
            self.user, body.refresh_token, cookie if cookie and len(cookie) <= MAX_TOKEN
            else None)
        if cookie is not None:
            self.clear_session_cookie()
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
        await self.services.limiter.forget(ratelimit.PASSWORD_CHANGE, user)
        self.send(None, 204)


class MeHandler(AuthHandler):
    @operation("The caller's own user", response=UserOut, roles=ROLES, tag="me")
    async def get(self) -> None:
        self.send(await self.services.users.get(self.user))

    @operation("Change the caller's own profile (display_name, as at registration)",
               body=ProfileIn, response=UserOut, roles=ROLES, tag="me")
    async def patch(self) -> None:
        body = self.body(ProfileIn)
        self.send(await self.services.users.update_profile(self.user, body.display_name))


class PasswordHandler(AuthHandler):
    @operation("Change the caller's password, giving the current one: every other "
               "session ends (refresh tokens and access tokens alike); the caller's goes "
               "on with the tokens answered. 5 wrong current passwords per 15 minutes, "
               "then 429",
               body=PasswordChangeIn, response=TokensOut, roles=ROLES, tag="me",
               description=SESSION_SET)
    async def post(self) -> None:
        body = self.body(PasswordChangeIn)
        user, _ = second_factor_subjects(self.tenant.id, self.user.user_id, self.address)
        reservation = await self.services.limiter.reserve(ratelimit.PASSWORD_CHANGE, user)
        try:
            tokens = await self.services.users.change_password(
                self.user, body.current_password, body.new_password)
        except ApiError as error:
            if error.code != "current_password_wrong":
                await reservation.give_back()
            raise
        await reservation.give_back()
        self.send_tokens(tokens, body.session == "cookie")


class RevokeSessionsHandler(AuthHandler):
    @operation("Sign out everywhere: every refresh token and every access token of the "
               "caller stop working, this request's included (the proptrade_refresh "
               "cookie is cleared)", status=204, roles=ROLES, tag="me")
    async def post(self) -> None:
        await self.services.users.revoke_sessions(self.user)
        self.clear_session_cookie()
        self.send(None, 204)


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
    (r"/api/v1/me/password", PasswordHandler),
    (r"/api/v1/me/sessions/revoke", RevokeSessionsHandler),
    (r"/api/v1/me/2fa/setup", TotpSetupHandler),
    (r"/api/v1/me/2fa/confirm", TotpConfirmHandler),
    (r"/api/v1/me/2fa/disable", TotpDisableHandler),
]
