"""The Tornado application: routes, the OpenAPI document, and serving it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import tornado.httpserver
import tornado.httputil
import tornado.web

from gateway import asyncapi, web
from gateway.accesslog import log_request
from gateway.api import NotFoundHandler
from gateway.clients import ProxyTrust
from gateway.handlers import analytics, auth, desk, notices, system, trading
from gateway.health import Parts, describe, part_of
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


def make_app(services: Services, hub: Hub, dist: Path = web.DEFAULT_DIST
             ) -> tornado.web.Application:
    routes = api_routes()
    spec = document(routes, "PropTrade", VERSION)
    handlers: list[Any] = [*routes, *system.DOC_ROUTES, (r"/ws", LiveSocket),
                           (r"/api/.*", NotFoundHandler), *web.routes(dist)]
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
    hub = Hub(services.cache, services.parts)
    await hub.start()
    app = make_app(services, hub)
    server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_REQUEST)
    server.listen(port, host)
    parts = services.parts
    tasks = [asyncio.create_task(services.mailer.run(stop)),
             asyncio.create_task(parts.run(stop)),
             asyncio.create_task(announce_staleness(services, hub, stop))]
    link = services.kafka
    if link is not None:
        tasks.append(asyncio.create_task(resilient(
            "risk.events consumer", lambda: services.outcomes.run(link, stop), stop, parts,
            link.up)))
        tasks.append(asyncio.create_task(resilient(
            "risk.events alerts", lambda: services.outcomes.tell(link, stop), stop, parts,
            link.up)))
        tasks.append(asyncio.create_task(resilient(
            "risk.metrics consumer", lambda: services.metrics.run(link, stop), stop, parts,
            link.up)))
        tasks.append(asyncio.create_task(resilient(
            "feed.accounts consumer", lambda: services.accounts.run(
                link.bootstrap, link.topics.accounts, f"{link.group}.accounts", stop),
            stop, parts, link.up)))
    log.info("gateway listening on http://%s:%d", host, port)
    if ready is not None:
        ready.set()
    # Each task runs until stop; connecting to a broker that was down at start ends
    # when it answers (not a reason to stop).
    connecting = [] if link is None else [asyncio.create_task(link.keep_connecting(stop))]
    try:
        done, _ = await asyncio.wait([asyncio.create_task(stop.wait()), *tasks],
                                     return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # a consumer that died of a fault takes the gateway down, loudly
    finally:
        stop.set()
        server.stop()  # no new connections, then the websockets say goodbye
        await hub.close_all()
        await server.close_all_connections()
        # A task waiting on a part that does not answer is not waited for long.
        tasks += connecting
        _, pending = await asyncio.wait(tasks, timeout=STOP_GRACE)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await hub.stop()
        services.history.close()


STOP_GRACE = 5.0  # s the gateway's tasks have to end once it stops


async def resilient(name: str, run: Callable[[], Awaitable[None]], stop: asyncio.Event,
                    parts: Parts, connected: asyncio.Event | None = None) -> None:
    """Run ``run()`` until ``stop`` (once ``connected`` is set); when it fails because a
    part does not answer (the broker, PostgreSQL, Redis), run it again after a pause (1 s,
    doubling to 30 s): a consumer starts again from its group's committed offsets, so
    nothing is skipped. Any other failure is a fault and is raised."""
    if connected is not None:
        waiting = [asyncio.create_task(connected.wait()), asyncio.create_task(stop.wait())]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task in waiting:
            task.cancel()
    delay = 1.0
    while not stop.is_set():
        started = time.monotonic()
        try:
            await run()
            return
        except Exception as error:
            part = part_of(error, parts)
            if part is None:
                raise
            parts.failed(part, error)
            if time.monotonic() - started > 60:
                delay = 1.0  # it ran a while: the part came back in between
            log.warning("%s stopped: %s does not answer (%s); starting again in %.0f s",
                        name, part, describe(error), delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            pass
        delay = min(delay * 2, 30.0)


async def announce_staleness(services: Services, hub: Hub, stop: asyncio.Event) -> None:
    """When the broker goes down or comes back, each subscribed account's latest numbers
    go again to this process's websocket clients, marked ``stale`` or not."""
    parts = services.parts
    was = parts.is_down("broker")
    while not stop.is_set():
        changed = asyncio.create_task(parts.changed.wait())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([changed, stopping], return_when=asyncio.FIRST_COMPLETED)
        changed.cancel()
        stopping.cancel()
        now = parts.is_down("broker")
        if now != was and not stop.is_set():
            was = now
            try:
                await hub.restamp(services.metrics)
            except Exception as error:  # Redis down too: the next change tries again
                log.warning("could not resend the latest numbers: %s", describe(error))
