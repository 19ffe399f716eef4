"""The access log: one line per request, without the secrets a URL may carry.

A browser cannot set headers on a websocket, so ``/ws?token=<access token>`` is how it
authenticates: logged as written, every access log (and whoever reads it) would hold
working sessions for 15 minutes. The values of the query parameters in
:data:`SECRET_PARAMETERS` are written ``[redacted]``; the rest of the URL stays, and the
client is the address the application settled (:mod:`gateway.clients`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from tornado.log import access_log

SECRET_PARAMETERS = frozenset({"token", "access_token", "refresh_token"})
REDACTED = "[redacted]"


def redacted_uri(uri: str) -> str:
    """``uri`` with the values of secret query parameters replaced by ``[redacted]``.

    Names are compared as Tornado reads them (percent- and ``+``-decoded), so
    ``tok%65n=`` is redacted like ``token=``."""
    path, question, query = uri.partition("?")
    if not question:
        return uri
    parts = []
    for part in query.split("&"):
        name, equals, _ = part.partition("=")
        if equals and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            part = f"{name}={REDACTED}"
        parts.append(part)
    return f"{path}?{'&'.join(parts)}"


def request_summary(request: Any) -> str:
    """``METHOD uri (client)`` as Tornado writes it, the URI redacted."""
    return f"{request.method} {redacted_uri(request.uri or '')} ({request.remote_ip})"


def log_request(handler: Any) -> None:
    """The application's ``log_function``: Tornado's line, the URI redacted."""
    status = handler.get_status()
    if status < 400:
        write = access_log.info
    elif status < 500:
        write = access_log.warning
    else:
        write = access_log.error
    write("%d %s %.2fms", status, request_summary(handler.request),
          1000.0 * handler.request.request_time())
