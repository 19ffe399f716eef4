"""The web app: the gateway serves the built app (``web/dist``) at ``/``.

- ``/assets/…``: Vite's content-hashed files, cached for a year as immutable (a new build
  has new names); compressed by the application's gzip transform.
- ``/theme.css``: the firm's colours as CSS variables, per host. ``index.html`` links it
  as a stylesheet, so the firm's look is there before the first paint with no script.
- Every other path that is not the API, ``/ws``, ``/metrics`` or the health checks: an
  app route (:data:`APP_ROUTES`: ``/accounts/T1``, ``/settings/security``) gets
  ``index.html`` (the app routes in the browser), never cached, with the firm's name in
  its title and a fresh style nonce; any other path gets the same page with status 404
  (the app shows its "page not found"; a crawler or a probe sees a 404); a path with a
  file extension that is not in the build is a plain 404.

The pages' Content-Security-Policy is the API's strict one loosened only where the app
needs it: scripts and styles from the site itself; ``style-src`` also takes this
response's nonce (Radix's dialogs add one ``<style>`` element to lock scrolling, and
carry the nonce; no inline script anywhere); images also from ``https:`` (a firm's logo
lives on its own site) and ``data:`` (the 2FA QR code); the websocket on the same origin.
"""

from __future__ import annotations

import html
import mimetypes
import re
import secrets
from pathlib import Path
from typing import Any

import tornado.web

from gateway.errors import NotFound
from gateway.tenants import Tenant

DEFAULT_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
YEAR = 365 * 24 * 3600
_TITLE = re.compile(r"<title>.*?</title>", re.S)
_HEAD_END = "</head>"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

# The first segment of every route of the app (web/src/app/routes.tsx; a test keeps the
# two lists equal).
APP_ROUTES = re.compile(
    r"^(|programs|login|register|verify-email|forgot-password|reset-password|dashboard"
    r"|accounts|challenges|settings|desk|analyst|index\.html)(/.*)?$")

APP_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; "
           "img-src 'self' data: https:; font-src 'self'; connect-src 'self'; "
           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _security_headers(handler: tornado.web.RequestHandler) -> None:
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("X-Frame-Options", "DENY")
    handler.set_header("Referrer-Policy", "same-origin")
    if handler.request.protocol == "https":
        handler.set_header("Strict-Transport-Security", "max-age=63072000; includeSubDomains")


async def _tenant(handler: tornado.web.RequestHandler) -> Tenant:
    services = handler.application.settings["services"]
    try:
        tenant: Tenant = await services.tenants.resolve(handler.request.host)
    except NotFound as error:
        raise tornado.web.HTTPError(404, reason="Not Found") from error
    return tenant


class AssetHandler(tornado.web.StaticFileHandler):
    """Hashed build files: a year, immutable."""

    def set_extra_headers(self, path: str) -> None:
        _security_headers(self)
        self.set_header("Cache-Control", f"public, max-age={YEAR}, immutable")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code}\n")


def theme_css(tenant: Tenant) -> str:
    """The firm's colours as CSS custom properties (validated: only ``#rrggbb`` passes)."""
    brand = tenant.branding.primary_color
    accent = tenant.branding.accent_color
    brand = brand if _COLOR.match(brand) else "#0f766e"
    accent = accent if _COLOR.match(accent) else "#f59e0b"
    return f":root {{ --brand: {brand}; --brand-accent: {accent}; }}\n"


class ThemeHandler(tornado.web.RequestHandler):
    """``/theme.css`` for the firm at this host; revalidated by ETag, varies by host."""

    async def get(self) -> None:
        tenant = await _tenant(self)
        _security_headers(self)
        self.set_header("Content-Type", "text/css; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("Vary", "Host")
        self.finish(theme_css(tenant))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code}\n")


class AppHandler(tornado.web.RequestHandler):
    """``index.html`` for every app route, per firm, never cached."""

    def initialize(self, dist: Path) -> None:
        self.dist = dist

    async def get(self, path: str = "") -> None:
        tenant = await _tenant(self)
        name = path.rsplit("/", 1)[-1]
        # a file, not an app route: only what the build holds is served
        if "." in name and path != "index.html":
            file = (self.dist / path).resolve()
            if (path and not path.startswith(".") and file.is_file()
                    and file.is_relative_to(self.dist.resolve())):
                _security_headers(self)
                self.set_header("Cache-Control", "public, max-age=3600")
                content_type, _ = mimetypes.guess_type(file.name)
                self.set_header("Content-Type", content_type or "application/octet-stream")
                self.finish(file.read_bytes())
                return
            raise tornado.web.HTTPError(404)
        template = _index(self.dist / "index.html")
        if template is None:
            self.set_status(503)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish("The web app is not built: run `make install` (it runs `npm ci` and "
                        "`vite build` in web/), then reload.\n")
            return
        if not APP_ROUTES.match(path):
            self.set_status(404)
        nonce = secrets.token_urlsafe(16)
        page = render_index(template, tenant, nonce)
        _security_headers(self)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Security-Policy", APP_CSP.format(nonce=nonce))
        self.finish(page)

    def compute_etag(self) -> None:
        return None  # never cached: no validator either

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish("Not found\n" if status_code == 404 else f"{status_code}\n")


_built: dict[Path, tuple[int, str]] = {}


def _index(index: Path) -> str | None:
    """The build's index.html, read again only when a new build replaced it."""
    try:
        stamp = index.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    cached = _built.get(index)
    if cached is None or cached[0] != stamp:
        cached = _built[index] = (stamp, index.read_text(encoding="utf-8"))
    return cached[1]


def render_index(page: str, tenant: Tenant, nonce: str) -> str:
    """The built index.html with the firm's name as its title and the style nonce in a
    meta tag (the app hands it to the one library that adds a ``<style>``)."""
    title = f"<title>{html.escape(tenant.branding.name or tenant.name)}</title>"
    page = _TITLE.sub(lambda _: title, page, count=1)
    meta = f'<meta name="csp-nonce" content="{nonce}" />\n  '
    return page.replace(_HEAD_END, meta + _HEAD_END, 1)


def routes(dist: Path) -> list[tuple[str, type, dict[str, Any]] | tuple[str, type]]:
    """The web app's routes, after the API's: assets, the theme, then app routes."""
    return [
        (r"/assets/(.*)", AssetHandler, {"path": str(dist / "assets")}),
        (r"/theme\.css", ThemeHandler),
        (r"/(?!api/|api$|ws$|metrics$|healthz$|readyz$)(.*)", AppHandler, {"dist": dist}),
    ]
