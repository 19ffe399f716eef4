"""Health, readiness, the tenant's branding, the OpenAPI document and its docs page."""

from __future__ import annotations

import html
from typing import Any, Literal

import orjson

from gateway.api import ApiHandler, operation
from gateway.brandcss import check_css
from gateway.schemas import (
    BrandingOut,
    CustomCssIn,
    CustomCssOut,
    FirmHealthOut,
    Health,
    Readiness,
    TenantIn,
    TenantOut,
    TenantSettingsIn,
    UploadOut,
)
from gateway.tenants import Tenant
from gateway.uploads import MAX_IMAGE_BYTES
from gateway.web import css_digest

IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/x-icon")


class HealthHandler(ApiHandler):
    """Liveness: the process answers (no dependency is checked)."""

    async def prepare(self) -> None:
        pass  # no tenant needed

    @operation("Liveness: the process answers", response=Health, tag="system")
    async def get(self) -> None:
        self.send(Health("ok"))


class ReadyHandler(ApiHandler):
    """Readiness: every part probed now (each within 1.5 s, all at once)."""

    async def prepare(self) -> None:
        pass

    @operation("Readiness: each part (postgres, redis, broker, analytics) ok or down, why "
               "and since when; 503 while a core part (postgres, redis, broker) is down, "
               "200 with status degraded while only the analytics store is",
               response=Readiness, tag="system")
    async def get(self) -> None:
        parts = self.services.parts
        await parts.probe_all()
        report = parts.report()
        # The first answer's shape, kept for the clients that read it.
        legacy = {"postgres": "postgresql", "redis": "redis", "broker": "kafka"}
        checks = {legacy[name]: "ok" if part.state == "ok" else part.reason or "down"
                  for name, part in report.items() if name in legacy}
        status: Literal["ok", "degraded", "unavailable"] = (
            "unavailable" if not parts.ready else
            "degraded" if any(part.state == "down" for part in report.values()) else "ok")
        self.send(Readiness(status, report, checks), 503 if status == "unavailable" else 200)


class MetricsHandler(ApiHandler):
    """Prometheus metrics of this gateway process."""

    async def prepare(self) -> None:
        pass

    async def get(self) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.services.telemetry.registry))


class TenantHandler(ApiHandler):
    @operation("The firm served at this host: name and branding for the front end",
               response=BrandingOut, tag="tenant")
    async def get(self) -> None:
        b = self.tenant.branding
        self.send(BrandingOut(self.tenant.slug, b.name, b.primary_color, b.accent_color,
                              logo_url(self.tenant), b.support_email,
                              favicon_url(self.tenant)))


def logo_url(tenant: Tenant) -> str:
    """The firm's uploaded logo's URL on its own host, else the URL it set, else empty."""
    digest = tenant.branding.logo
    return f"/brand/logo.png?v={digest}" if digest else tenant.branding.logo_url


def favicon_url(tenant: Tenant) -> str:
    digest = tenant.branding.favicon
    return f"/favicon.ico?v={digest}" if digest else ""


class OpenApiHandler(ApiHandler):
    async def prepare(self) -> None:
        pass

    async def get(self) -> None:
        self.finish(self.application.settings["openapi"])


class AsyncApiHandler(ApiHandler):
    """The websocket protocol of ``/ws`` as an AsyncAPI 3.0 document."""

    async def prepare(self) -> None:
        pass

    async def get(self) -> None:
        self.finish(self.application.settings["asyncapi"])


class DocsHandler(ApiHandler):
    """The API reference as one self-contained page (no script, nothing fetched)."""

    async def prepare(self) -> None:
        pass

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")

    async def get(self) -> None:
        self.finish(docs_page(orjson.loads(self.application.settings["openapi"]),
                              orjson.loads(self.application.settings["asyncapi"])))


def docs_page(spec: dict[str, Any], live: dict[str, Any] | None = None) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>"
             f"{esc(spec['info']['title'])} API</title><style>body{{font-family:system-ui,"
             "sans-serif;max-width:960px;margin:2em auto;padding:0 1em}code,pre{background:"
             "#f4f4f5;padding:2px 4px}pre{padding:8px;overflow:auto}h3{margin-bottom:.2em}"
             ".m{font-weight:bold;text-transform:uppercase;margin-right:.5em}</style></head>"
             f"<body><h1>{esc(spec['info']['title'])} API {esc(spec['info']['version'])}</h1>"
             "<p>The machine-readable document: <a href='/api/openapi.json'>"
             "/api/openapi.json</a>; the websocket's, <a href='/api/asyncapi.json'>"
             "/api/asyncapi.json</a> (AsyncAPI 3.0, summarised <a href='#websocket'>below"
             "</a>). Authenticated operations take "
             "<code>Authorization: Bearer &lt;access token&gt;</code>.</p>"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            parts.append(f"<h3><span class='m'>{esc(method)}</span><code>{esc(path)}</code>"
                         f"</h3><p>{esc(op['summary'])}</p>")
            if "description" in op:
                parts.append(f"<p><em>{esc(op['description'])}</em></p>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                parts.append(f"<p>Body: <code>{esc(body['schema'].get('$ref', ''))}</code></p>")
    if live is not None:
        parts.append(websocket_section(live))
    parts.append("<h2>Schemas</h2>")
    for name, schema in spec["components"]["schemas"].items():
        parts.append(f"<h3 id='{esc(name)}'>{esc(name)}</h3><pre>"
                     f"{esc(orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode())}</pre>")
    parts.append("</body></html>")
    return "".join(parts)


def websocket_section(live: dict[str, Any]) -> str:
    """The websocket's messages and close codes, from its AsyncAPI document."""
    esc = html.escape
    channel = live["channels"]["live"]
    parts = ["<h2 id='websocket'>Websocket <code>/ws</code></h2><p>The machine-readable "
             "document: <a href='/api/asyncapi.json'>/api/asyncapi.json</a> (AsyncAPI "
             f"3.0).</p><pre>{esc(live['info']['description'])}</pre>"]
    for direction, title in (("receive", "A client sends"), ("send", "The gateway sends")):
        parts.append(f"<h3>{title}</h3><ul>")
        for step in live["operations"].values():
            if step["action"] != direction:
                continue
            name = step["messages"][0]["$ref"].rsplit("/", 1)[-1]
            message = live["components"]["messages"][name]
            parts.append(f"<li><code>{esc(name)}</code> — {esc(message['description'])} "
                         f"(<code>{esc(message['payload'].get('$ref', ''))}</code>)</li>")
        parts.append("</ul>")
    parts.append("<h3>Close codes</h3><ul>")
    parts += [f"<li><code>{entry['code']}</code> — {esc(entry['reason'])}</li>"
              for entry in channel["x-close-codes"]]
    parts.append("</ul>")
    return "".join(parts)


class FirmsHandler(ApiHandler):
    @operation("Every firm with its health now: users, accounts (live ones: active or "
               "paused), breaches since 00:00 UTC, paid revenue per currency ever and "
               "today; the platform's owner (an owner of the default firm) only",
               response=list[FirmHealthOut], roles=("owner",), tag="owner")
    async def get(self) -> None:
        self.send(await self.services.firms.health(self.user, self.tenant))

    @operation("Create a firm (white-label tenant) with its domains and branding: the "
               "platform's owner (an owner of the default firm) only",
               body=TenantIn, response=TenantOut, status=201, roles=("owner",), tag="owner")
    async def post(self) -> None:
        body = self.body(TenantIn)
        self.send(await self.services.firms.create(self.user, self.tenant, body), 201)


class FirmSettingsHandler(ApiHandler):
    @operation("This firm's settings as its admins edit them: branding, allowed browser "
               "origins, domains", response=TenantOut, roles=("admin", "owner"), tag="admin")
    async def get(self) -> None:
        self.send(await self.services.firms.settings(self.tenant))

    @operation("Change this firm's branding (name, colours, font from the safe list, support "
               "e-mail), allowed browser origins and, when given, its domains (primary "
               "first; 422 naming a domain that is another firm's or the platform's); "
               "warnings name a colour too pale for white text",
               body=TenantSettingsIn, response=TenantOut, roles=("admin", "owner"),
               tag="admin")
    async def put(self) -> None:
        body = self.body(TenantSettingsIn)
        self.send(await self.services.firms.update(self.user, self.tenant, body))


def css_url(tenant: Tenant) -> str:
    """Where the firm's own CSS is served, its digest in ``v`` (empty: it has none)."""
    css = tenant.branding.custom_css
    return f"/brand.css?v={css_digest(css)}" if css else ""


_CSS_NOTE = (
    "Refused (422, code css_refused, the message naming the rule): more than 32 KiB, "
    "@import, @charset, @namespace or an at-rule other than @media, @supports, @layer, "
    "@container, @keyframes and @font-face; url() to anything but the firm's own uploads; "
    "image-set(); @font-face with a src; expression(); javascript:; behavior or "
    "-moz-binding; '</style'; CSS that does not parse.")


class CustomCssHandler(ApiHandler):
    @operation("This firm's own CSS", response=CustomCssOut, roles=("admin", "owner"),
               tag="admin")
    async def get(self) -> None:
        self.send(CustomCssOut(self.tenant.branding.custom_css, css_url(self.tenant)))

    @operation("Replace this firm's own CSS (served at /brand.css on its pages, after the "
               "app's own); empty removes it", body=CustomCssIn, response=CustomCssOut,
               roles=("admin", "owner"), tag="admin", description=_CSS_NOTE)
    async def put(self) -> None:
        css = self.body(CustomCssIn).css
        await self.services.firms.set_css(self.user, self.tenant, css)
        self.send(CustomCssOut(css, f"/brand.css?v={css_digest(css)}" if css else ""))


class CustomCssCheckHandler(ApiHandler):
    @operation("Check CSS as PUT /api/v1/admin/tenant/css would, without storing it (the "
               "editor's live check and preview)", body=CustomCssIn, response=CustomCssOut,
               roles=("admin", "owner"), tag="admin", description=_CSS_NOTE)
    async def post(self) -> None:
        css = check_css(self.body(CustomCssIn).css)
        self.send(CustomCssOut(css, ""))


class _ImageUploadHandler(ApiHandler):
    image: Literal["logo", "favicon"]
    path: str

    async def _upload(self) -> None:
        digest = await self.services.firms.upload(self.user, self.tenant, self.image,
                                                  self.request.body)
        self.send(UploadOut(f"{self.path}?v={digest}", digest))


_UPLOAD_NOTE = (
    "The body is the image's bytes (its type is judged from them, not from Content-Type): "
    f"PNG, JPEG, WebP or ICO, at most {MAX_IMAGE_BYTES // 1024} KiB (413 above) and "
    "16.7 million pixels; SVG is refused (it can carry script). 415 for a type not taken, "
    "422 for an image that cannot be read. It is decoded and encoded again (metadata "
    "dropped) before it is stored.")


class LogoUploadHandler(_ImageUploadHandler):
    image, path = "logo", "/brand/logo.png"

    @operation("Upload this firm's logo (stored as a PNG at most 512 px on its longer side, "
               "served at /brand/logo.png)", response=UploadOut, roles=("admin", "owner"),
               tag="admin", upload=IMAGE_TYPES, max_upload=MAX_IMAGE_BYTES,
               description=_UPLOAD_NOTE)
    async def put(self) -> None:
        await self._upload()


class FaviconUploadHandler(_ImageUploadHandler):
    image, path = "favicon", "/favicon.ico"

    @operation("Upload this firm's favicon (stored as /favicon.ico with 16, 32 and 48 px, "
               "and a 180 px /brand/apple-touch-icon.png)", response=UploadOut,
               roles=("admin", "owner"), tag="admin", upload=IMAGE_TYPES,
               max_upload=MAX_IMAGE_BYTES, description=_UPLOAD_NOTE)
    async def put(self) -> None:
        await self._upload()


ROUTES = [
    (r"/healthz", HealthHandler),
    (r"/api/v1/owner/tenants", FirmsHandler),
    (r"/api/v1/admin/tenant", FirmSettingsHandler),
    (r"/api/v1/admin/tenant/logo", LogoUploadHandler),
    (r"/api/v1/admin/tenant/favicon", FaviconUploadHandler),
    (r"/api/v1/admin/tenant/css", CustomCssHandler),
    (r"/api/v1/admin/tenant/css/check", CustomCssCheckHandler),
    (r"/readyz", ReadyHandler),
    (r"/api/v1/tenant", TenantHandler),
]
DOC_ROUTES = [
    (r"/metrics", MetricsHandler),
    (r"/api/openapi.json", OpenApiHandler),
    (r"/api/asyncapi.json", AsyncApiHandler),
    (r"/api/docs", DocsHandler),
]
