"""The Tornado application: routes, the OpenAPI document, and serving it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import tornado.httpserver
import tornado.httputil
import tornado.web

from gateway import asyncapi
from gateway.accesslog import log_request
from gateway.api import NotFoundHandler
from gateway.clients import ProxyTrust
from gateway.handlers import analytics, auth, desk, notices, system, trading
from gateway.hub import Hub, LiveSocket
from gateway.openapi import document
from gateway.security import cookie_secret
from gateway.services import Services
from streams.settings import SettingsError, insecure_exposure

log = logging.getLogger("proptrade.gateway")

VERSION = "0.1.0"
MAX_REQUEST = 1024 * 1024  # bytes the server reads at all; JSON bodies stop at 64 KiB


def api_routes() -> list[tuple[str, type]]:
    """Every documented route (the OpenAPI document covers exactly these)."""
    return [*system.ROUTES, *auth.ROUTES, *trading.ROUTES, *desk.ROUTES, *analytics.ROUTES,
            *notices.ROUTES]


class GatewayApplication(tornado.web.Application):
    """The application; each request's client address and scheme are settled here, once,
    before any handler sees it (proxy headers only from ``TRUSTED_PROXIES``)."""

    def find_handler(self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any
                     ) -> Any:  # Tornado's private _HandlerDelegate
        self.settings["proxies"].apply(request)
        return super().find_handler(request, **kwargs)


def make_app(services: Services, hub: Hub) -> tornado.web.Application:
    routes = api_routes()
    spec = document(routes, "PropTrade", VERSION)
    handlers: list[Any] = [*routes, *system.DOC_ROUTES, (r"/ws", LiveSocket),
                           (r"/api/.*", NotFoundHandler)]
    # No xheaders: Tornado would believe X-Forwarded-For and X-Real-IP from anyone.
    return GatewayApplication(
        handlers, services=services, hub=hub, openapi=orjson.dumps(spec),
        asyncapi=orjson.dumps(asyncapi.document(VERSION)),
        proxies=ProxyTrust(services.settings.trusted_proxies),
        cookie_secret=cookie_secret(services.settings.secret_key),
        default_handler_class=NotFoundHandler, compress_response=True,
        log_function=log_request,  # no access token from /ws?token= in the logs
        websocket_ping_interval=20, websocket_ping_timeout=60,
        websocket_max_message_size=64 * 1024)


async def serve(services: Services, host: str, port: int, stop: asyncio.Event,
                ready: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set; the mailer runs alongside.

    :raises SettingsError: the development ``SECRET_KEY`` where other machines reach the
        gateway, or a key too short.
    """
    refusal = insecure_exposure(services.settings, host)
    if refusal is not None:
        shown = ("(development key)" if services.settings.uses_insecure_secret_key
                 else "(not shown)")
        raise SettingsError("SECRET_KEY", shown, refusal)
    hub = Hub(services.cache)
    await hub.start()
    app = make_app(services, hub)
    server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_REQUEST)
    server.listen(port, host)
    tasks = [asyncio.create_task(services.mailer.run(stop))]
    if services.kafka is not None:
        tasks.append(asyncio.create_task(services.outcomes.run(services.kafka, stop)))
        tasks.append(asyncio.create_task(services.metrics.run(services.kafka, stop)))
        tasks.append(asyncio.create_task(services.accounts.run(
            services.kafka.bootstrap, services.kafka.topics.accounts,
            f"{services.kafka.group}.accounts", stop)))
    log.info("gateway listening on http://%s:%d", host, port)
    if ready is not None:
        ready.set()
    try:
        done, _ = await asyncio.wait([asyncio.create_task(stop.wait()), *tasks],
                                     return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a consumer that died takes the gateway down, loudly
    finally:
        stop.set()
        server.stop()  # no new connections, then the websockets say goodbye
        await hub.close_all()
        await server.close_all_connections()
        await asyncio.gather(*tasks, return_exceptions=True)
        await hub.stop()
