"""The web app: the gateway serves the built app (``web/dist``) at ``/``.

- ``/assets/…``: Vite's content-hashed files, cached for a year as immutable (a new build
  has new names); compressed by the application's gzip transform.
- ``/theme.css``: the firm's colours as CSS variables, per host. ``index.html`` links it
  as a stylesheet, so the firm's look is there before the first paint with no script.
- ``/brand.css``: the firm's own CSS (checked when stored: :mod:`gateway.brandcss`),
  linked by ``index.html`` after the app's stylesheet when the firm has some.
- ``/brand/logo.png``, ``/favicon.ico``, ``/brand/apple-touch-icon.png``: the firm's
  uploaded images, per host (404 while it uploaded none). Their URLs carry the upload's
  digest (``?v=…``): with the current one they are cached for a year as immutable, else
  for five minutes. ``index.html`` links the firm's favicon when it has one.
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

import hashlib
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
_ICON = re.compile(r'<link rel="icon"[^>]*>')
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

# The first segment of every route of the app (web/src/app/routes.tsx; a test keeps the
# two lists equal).
APP_ROUTES = re.compile(
    r"^(|programs|login|register|verify-email|forgot-password|reset-password|dashboard"
    r"|accounts|challenges|settings|desk|analyst|admin|index\.html)(/.*)?$")

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


#: The fonts a firm may pick (gateway.schemas.Font): system stacks only, nothing fetched.
FONTS = {
    "system": 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
              "sans-serif",
    "humanist": 'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, '
                "sans-serif",
    "geometric": 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif',
    "serif": 'Charter, "Bitstream Charter", "Sitka Text", Cambria, "DejaVu Serif", serif',
    "rounded": 'ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, Manjari, '
               '"Arial Rounded MT", "Arial Rounded MT Bold", Calibri, source-sans-pro, '
               "sans-serif",
    "mono": 'ui-monospace, "Cascadia Code", "Source Code Pro", Menlo, Consolas, '
            '"DejaVu Sans Mono", monospace',
}


def theme_css(tenant: Tenant) -> str:
    """The firm's colours and font as CSS custom properties (validated: only ``#rrggbb``
    and the safe list's fonts pass)."""
    brand = tenant.branding.primary_color
    accent = tenant.branding.accent_color
    brand = brand if _COLOR.match(brand) else "#0f766e"
    accent = accent if _COLOR.match(accent) else "#f59e0b"
    font = FONTS.get(tenant.branding.font, FONTS["system"])
    return f":root {{ --brand: {brand}; --brand-accent: {accent}; --font-sans: {font}; }}\n"


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


class BrandCssHandler(tornado.web.RequestHandler):
    """``/brand.css``: the firm's own CSS (checked when stored: gateway.brandcss)."""

    async def get(self) -> None:
        tenant = await _tenant(self)
        css = tenant.branding.custom_css
        if not css:
            raise tornado.web.HTTPError(404)
        current = self.get_query_argument("v", None) == css_digest(css)
        _security_headers(self)
        self.set_header("Content-Type", "text/css; charset=utf-8")
        self.set_header("Vary", "Host")
        self.set_header("Cache-Control", f"public, max-age={YEAR}, immutable" if current
                        else "no-cache")
        self.finish(css)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code}\n")


def css_digest(css: str) -> str:
    return hashlib.sha256(css.encode()).hexdigest()[:16]


class BrandHandler(tornado.web.RequestHandler):
    """A firm's uploaded image at this host."""

    async def get(self, name: str) -> None:
        tenant = await _tenant(self)
        services = self.application.settings["services"]
        stored = await services.firms.image(tenant, name)
        if stored is None:
            raise tornado.web.HTTPError(404)
        digest = getattr(tenant.branding, "logo" if name == "logo.png" else "favicon")
        current = self.get_query_argument("v", None) == digest
        _security_headers(self)
        self.set_header("Content-Type", stored.content_type)
        self.set_header("Content-Security-Policy", "default-src 'none'")
        self.set_header("Vary", "Host")
        self.set_header("Cache-Control", f"public, max-age={YEAR}, immutable" if current
                        else "public, max-age=300")
        self.finish(stored.data)

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
    digest = tenant.branding.favicon
    if digest:  # the firm's own icons in place of the platform's
        icons = (f'<link rel="icon" href="/favicon.ico?v={digest}" sizes="16x16 32x32 48x48" />'
                 f'<link rel="apple-touch-icon" href="/brand/apple-touch-icon.png?v={digest}" />')
        page = _ICON.sub(lambda _: icons, page, count=1)
    if tenant.branding.custom_css:  # last, so the firm's rules win over the app's
        meta += (f'<link rel="stylesheet" href="/brand.css?v='
                 f'{css_digest(tenant.branding.custom_css)}" />\n  ')
    return page.replace(_HEAD_END, meta + _HEAD_END, 1)


def routes(dist: Path) -> list[tuple[str, type, dict[str, Any]] | tuple[str, type]]:
    """The web app's routes, after the API's: assets, the theme, then app routes."""
    return [
        (r"/assets/(.*)", AssetHandler, {"path": str(dist / "assets")}),
        (r"/theme\.css", ThemeHandler),
        (r"/brand\.css", BrandCssHandler),
        (r"/brand/(logo\.png|apple-touch-icon\.png)", BrandHandler),
        (r"/(favicon\.ico)", BrandHandler),
        (r"/(?!api/|api$|ws$|metrics$|healthz$|readyz$)(.*)", AppHandler, {"dist": dist}),
    ]
