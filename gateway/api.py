"""The base of every REST handler: tenant, authentication, JSON in and out, errors.

Handlers stay thin: they declare their operation (:func:`operation`: summary, body type,
response type, who may call it), decode the body into that msgspec type, call a service
and send what it returns. The OpenAPI document is generated from the same declarations
(:mod:`gateway.openapi`), so the document and the handlers cannot drift apart.
"""

from __future__ import annotations

import logging
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import tornado.web

from gateway.accesslog import request_summary
from gateway.errors import (
    ApiError,
    FieldError,
    NotFound,
    TooLarge,
    Unauthorized,
    Unavailable,
    Unprocessable,
)
from gateway.health import NAMES, describe, part_of

if TYPE_CHECKING:
    from gateway.services import Services
    from gateway.tenants import Tenant
    from gateway.users import Principal

log = logging.getLogger("proptrade.gateway")

MAX_BODY = 64 * 1024  # bytes of a JSON request body; larger is 413
T = TypeVar("T")
ROLES = ("trader", "risk", "admin", "owner")
_AT = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)


@dataclass(frozen=True)
class Operation:
    """What an HTTP method of a handler does, for the router and the OpenAPI document."""

    summary: str
    body: type | None = None
    response: type | None = None
    status: int = 200
    roles: tuple[str, ...] | None = None  # None: no token needed
    tag: str = "misc"
    # (name, description) or (name, description, type): the type (a Literal of the values
    # allowed, an Annotated int with bounds) is the parameter's schema in the document.
    query: tuple[tuple[str, str] | tuple[str, str, Any], ...] = ()
    # Optional request headers and cookies the operation reads: (name, description).
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[tuple[str, str], ...] = ()
    description: str = ""  # more than the summary says (cookies it sets, …)
    # The media types of a raw (non-JSON) body, such as an image upload, and its limit.
    upload: tuple[str, ...] = ()
    max_upload: int = 0


def operation(summary: str, *, body: type | None = None, response: type | None = None,
              status: int = 200, roles: tuple[str, ...] | None = None, tag: str = "misc",
              query: tuple[tuple[str, str] | tuple[str, str, Any], ...] = (),
              headers: tuple[tuple[str, str], ...] = (),
              cookies: tuple[tuple[str, str], ...] = (), description: str = "",
              upload: tuple[str, ...] = (), max_upload: int = 0) -> Callable[[T], T]:
    def mark(method: T) -> T:
        method.__operation__ = Operation(  # type: ignore[attr-defined]
            summary, body, response, status, roles, tag, query, headers, cookies,
            description, upload, max_upload)
        return method

    return mark


def operation_of(handler: type, method: str) -> Operation | None:
    function = getattr(handler, method.lower(), None)
    return getattr(function, "__operation__", None)


def whole_number(text: str, low: int, high: int) -> int | None:
    """``text`` as a whole number in [low, high], or None. One rule for every number read
    from a path or query: ASCII digits only ("١٠٠" and "¹" are not numbers, although
    Python's ``isdigit`` and ``int`` take them) and at most 19 of them (``int`` refuses
    more than 4,300 digits with a ValueError; no column holds more than 19)."""
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def validation_error(error: msgspec.MsgspecError) -> Unprocessable:
    """A msgspec error as a 422 naming the bad field's path (``$.rules.max_loss``)."""
    match = _AT.match(str(error))
    message = match.group("message") if match else str(error)
    path = (match.group("path") if match else None) or "$"
    return Unprocessable(f"{path}: {message}", fields=[FieldError(path, message)])


class ApiHandler(tornado.web.RequestHandler):
    """JSON API handler: resolves the tenant, authenticates when the operation asks,
    and answers every error in the one error shape."""

    services: Services
    tenant: Tenant
    principal: Principal | None = None

    def initialize(self) -> None:
        self.services = self.application.settings["services"]

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy",
                        "default-src 'none'; frame-ancestors 'none'")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")
        if self.request.protocol == "https":
            self.set_header("Strict-Transport-Security", "max-age=63072000; includeSubDomains")

    async def prepare(self) -> None:
        self.tenant = await self.services.tenants.resolve(self.request.host)
        self._cors()
        op = operation_of(type(self), self.request.method or "GET")
        limit = op.max_upload if op is not None and op.upload else MAX_BODY
        if len(self.request.body) > limit:
            raise TooLarge(f"the body is {len(self.request.body)} bytes; at most {limit}")
        if op is not None and op.roles is not None:
            self.principal = await self._authenticate(op.roles)

    def _cors(self) -> None:
        origin = self.request.headers.get("Origin")
        if origin and origin in self.tenant.cors_origins:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Vary", "Origin")
            self.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
            self.set_header("Access-Control-Allow-Methods",
                            "GET, POST, PUT, PATCH, DELETE, OPTIONS")
            self.set_header("Access-Control-Max-Age", "600")

    async def options(self, *args: str) -> None:
        self.set_status(204)
        self.finish()

    async def _authenticate(self, roles: tuple[str, ...]) -> Principal:
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("an access token is required (Authorization: Bearer …)",
                               headers={"WWW-Authenticate": "Bearer"})
        principal = await self.services.users.authenticate(self.tenant, token.strip())
        if principal.role not in roles:
            # The route exists for other roles; to this caller it does not.
            raise NotFound("no such resource")
        return principal

    @property
    def user(self) -> Principal:
        assert self.principal is not None, "operation declared no roles"
        return self.principal

    def body(self, kind: type[T]) -> T:
        """The request body decoded into ``kind``; 422 with the bad field's path."""
        problem = utf8_problem(self.request.body)
        if problem is not None:  # JSON is UTF-8 (RFC 8259 §8.1); say where it stops
            raise Unprocessable(f"the body is not valid UTF-8: {problem}",
                                fields=[FieldError("$", "not UTF-8")])
        try:
            value = msgspec.json.decode(self.request.body or b"null", type=kind)
        except msgspec.ValidationError as error:
            raise validation_error(error) from None
        except msgspec.DecodeError as error:
            raise Unprocessable(f"the body is not JSON: {error}",
                                fields=[FieldError("$", "not JSON")]) from None
        bad = _unstorable_text(msgspec.to_builtins(value), "$")
        if bad is not None:
            raise Unprocessable(f"{bad}: text must not contain NUL or unpaired surrogate "
                                "characters", fields=[FieldError(bad, "unstorable text")])
        return value

    def query_choice(self, name: str, kind: Any, default: str | None = None) -> str | None:
        """A query parameter that takes one of the values of the Literal ``kind`` (absent or
        empty: ``default``); any other value is a 422 naming the parameter and the values
        it takes — a filter never silently matches nothing (an empty value included)."""
        text = self.get_query_argument(name, None)
        if text is None:
            return default
        allowed = typing.get_args(kind)
        if text not in allowed:
            shown = text if len(text) <= 40 else text[:40] + "…"
            message = f"one of {', '.join(allowed)}"
            raise Unprocessable(f"{name}: {shown!r} is not {message}",
                                fields=[FieldError(name, message)])
        return text

    def query_count(self, name: str, default: int, low: int, high: int) -> int:
        """A whole-number query parameter in [low, high] (absent: ``default``); 422 else,
        an empty value included."""
        text = self.get_query_argument(name, None)
        if text is None:
            return default
        if whole_number(text, low, high) is None:
            message = f"a whole number from {low} to {high}"
            raise Unprocessable(f"{name}: expected {message}",
                                fields=[FieldError(name, message)])
        return int(text)

    def send(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        if status == 204:
            self.finish()
            return
        self.finish(msgspec.json.encode(value))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if error is not None and not isinstance(error, ApiError):
            error = self.services_unavailable(error) or error
        if not isinstance(error, ApiError):
            if isinstance(error, tornado.web.HTTPError):
                reason = error.log_message or self._reason
                error = ApiError(reason, status=status_code, code=_code_of(status_code))
            else:
                error = ApiError("internal error", status=500, code="internal")
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_status(error.status)
        self.finish(msgspec.json.encode(error.body()))

    def on_finish(self) -> None:
        route = type(self).__name__
        self.services.telemetry.requests.labels(
            route, self.request.method, str(self.get_status())).observe(
            self.request.request_time())

    def services_unavailable(self, error: BaseException) -> Unavailable | None:
        """A part that did not answer, as the 503 naming it (None: another fault)."""
        parts = self.services.parts
        part = part_of(error, parts)
        if part is None:
            return None
        parts.failed(part, error)
        return Unavailable(f"{NAMES[part]} does not answer; try again shortly",
                           part=part)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, ApiError):
            return  # an answer, not a fault
        part = part_of(value, self.services.parts) if value is not None else None
        if part is not None:  # a part down: one line (rate-limited), no traceback
            log.warning("%s %s: 503, %s does not answer: %s", self.request.method,
                        self.request.path, part, describe(value))
            return
        super().log_exception(typ, value, tb)

    def _request_summary(self) -> str:
        return request_summary(self.request)  # Tornado's own warnings: no tokens either


def utf8_problem(body: bytes) -> str | None:
    """Where ``body`` stops being UTF-8, or None."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"byte 0x{body[error.start]:02x} at offset {error.start} ({error.reason})"
    return None


def _unstorable_text(value: Any, path: str) -> str | None:
    """The path of the first string PostgreSQL cannot store (NUL, a lone surrogate)."""
    if isinstance(value, str):
        if "\x00" in value:
            return path
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unstorable_text(key, path) or _unstorable_text(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _unstorable_text(item, f"{path}[{index}]")
            if found:
                return found
    return None


def _code_of(status: int) -> str:
    return {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}.get(
        status, "http_error")


class NotFoundHandler(ApiHandler):
    """Any path under the API that no route matches."""

    async def prepare(self) -> None:
        await super().prepare()
        raise NotFound(f"no route for {self.request.path}")
