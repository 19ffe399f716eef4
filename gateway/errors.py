"""The gateway's one exception root, mapped to HTTP in exactly one place
(:meth:`gateway.api.ApiHandler.write_error`).

Every error body has one shape::

    {"error": {"code": "validation_failed", "message": "…",
               "fields": [{"path": "$.email", "message": "…"}]}}

A part the answer needs being unreachable is a 503 naming it (never a 500, never a
wait without end)::

    {"error": {"code": "unavailable", "message": "PostgreSQL does not answer; …",
               "part": "postgres"}}

``message`` is for the client; operators get log lines, never a client's secrets.
"""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct):
    path: str
    message: str


class ErrorDetail(msgspec.Struct, omit_defaults=True):
    code: str
    message: str
    fields: list[FieldError] = []
    #: For ``unavailable`` (503): the part that did not answer — postgres, redis, broker
    #: or analytics (``GET /readyz`` says since when).
    part: str | None = None


class ErrorBody(msgspec.Struct):
    error: ErrorDetail


class ApiError(Exception):
    """An answer other than success, with what the client needs to act on it."""

    status = 400
    code = "bad_request"
    part: str | None = None

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 fields: list[FieldError] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = fields or []
        self.headers = headers or {}

    def body(self) -> ErrorBody:
        return ErrorBody(ErrorDetail(self.code, self.message, self.fields, self.part))


class Unprocessable(ApiError):
    status, code = 422, "validation_failed"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    """Also the answer for another tenant's or another user's object: never a 403."""

    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class TooLarge(ApiError):
    status, code = 413, "body_too_large"


class TooManyRequests(ApiError):
    status, code = 429, "rate_limited"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message or f"too many attempts; retry in {retry_after} s",
                         headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class Unavailable(ApiError):
    """A part the answer needs does not answer (``part`` names it); retry later."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, *, part: str | None = None, retry_after: int = 5
                 ) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.part = part
