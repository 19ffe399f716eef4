"""The web app as the gateway serves it: the build at /, app routes answered with
index.html (never cached, the firm's name, a nonce'd CSP), hashed assets cached for a year,
compressed, the firm's colours per host; the API, /ws and /metrics untouched. And the typed
client the app is built with is the one the running gateway's OpenAPI document generates."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.web import DEFAULT_DIST

from .conftest import Gateway

WEB = Path(__file__).resolve().parents[2] / "web"


@pytest.fixture(scope="module", autouse=True)
def built() -> None:
    assert (DEFAULT_DIST / "index.html").is_file(), (
        "web/dist is not built: `make install` builds it (npm ci, vite build)")


def asset_paths(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/assets/[^"]+)"', page)


def test_app_routes_get_index_html_never_cached(gateway: Gateway) -> None:
    for path in ("/", "/dashboard", "/accounts/T1C7P1", "/settings/security",
                 "/reset-password?token=abc"):
        page = gateway.get(path)
        assert page.status_code == 200, path
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Cache-Control"] == "no-store"
        assert '<div id="root"></div>' in page.text
        assert "<title>PropTrade</title>" in page.text  # the default firm's name
        csp = page.headers["Content-Security-Policy"]
        nonce = re.search(r'<meta name="csp-nonce" content="([^"]+)"', page.text)
        assert nonce and f"'nonce-{nonce.group(1)}'" in csp
        assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "<script>" not in page.text  # no inline script: only src= modules
    again = gateway.get("/dashboard")
    assert (re.search(r'content="([^"]+)"', again.text.split("csp-nonce")[1]).group(1)
            != nonce.group(1)), "a fresh nonce per response"


def test_every_route_of_the_app_is_served_and_nothing_else(gateway: Gateway) -> None:
    """The gateway knows the app's routes (web/src/app/routes.tsx): each gets the page with
    200; any other path the page with 404, which the app shows as its not-found page."""
    routes = re.findall(r'path: "(/[^"]*)"', (WEB / "src/app/routes.tsx").read_text())
    assert "/dashboard" in routes and "*" not in routes
    for route in routes:
        path = re.sub(r":\w+", "x1", route)
        assert gateway.get(path).status_code == 200, route
    for path in ("/etc/passwd", "/wp-admin", "/accountsx", "/api-docs", "/.env"):
        answer = gateway.get(path)
        assert answer.status_code == 404, path
    missing = gateway.get("/no/such/page")
    assert missing.status_code == 404 and '<div id="root"></div>' in missing.text
    assert missing.headers["Cache-Control"] == "no-store"


def test_hashed_assets_are_immutable_and_compressed(gateway: Gateway) -> None:
    page = gateway.get("/").text
    assets = asset_paths(page)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for path in assets:
        answer = gateway.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, path
        assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert answer.headers.get("Content-Encoding") == "gzip", path
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert gateway.get("/assets/nothing-here.js").status_code == 404
    for sneaky in ("/assets/../index.html", "/assets/..%2f..%2fpyproject.toml",
                   "/../pyproject.toml", "/%2e%2e/pyproject.toml"):
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        connection.request("GET", sneaky)  # sent as written, not normalised
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status in (400, 403, 404) or b'<div id="root">' in body, sneaky
        assert b"[project]" not in body, sneaky
        connection.close()
    raw = gateway.get("/index.html")  # the page itself, never the raw file
    assert raw.headers["Cache-Control"] == "no-store" and "csp-nonce" in raw.text
    assert gateway.get("/nothing.js").status_code == 404  # a file the build lacks


def test_api_ws_and_metrics_are_untouched(gateway: Gateway) -> None:
    missing = gateway.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert gateway.get("/api/v1/tenant").json()["slug"] == "default"
    assert gateway.get("/metrics").headers["Content-Type"].startswith("text/plain")
    assert gateway.get("/healthz").status_code == 200
    assert gateway.get("/ws").status_code == 400  # a websocket, not a page


def test_theme_css_is_the_firm_at_the_host(gateway: Gateway) -> None:
    owner = gateway.verified_user("own@er.test")
    gateway.promote("own@er.test", "owner")
    token = gateway.login("own@er.test")["access_token"]
    created = gateway.post("/api/v1/owner/tenants", {
        "slug": "acme", "domains": ["acme.test"],
        "branding": {"name": "Acme <Funding>", "primary_color": "#aa0011",
                     "accent_color": "#00bb22"}}, token)
    assert created.status_code == 201, created.text
    assert owner
    default = gateway.get("/theme.css")
    assert default.headers["Content-Type"].startswith("text/css")
    assert "--brand: #0f766e" in default.text
    acme = gateway.get("/theme.css", headers={"Host": "acme.test"})
    assert acme.text.startswith(":root { --brand: #aa0011; --brand-accent: #00bb22; "
                                "--font-sans: system-ui, ")
    assert "Host" in acme.headers["Vary"]
    page = gateway.get("/programs", headers={"Host": "acme.test"})
    assert "<title>Acme &lt;Funding&gt;</title>" in page.text  # escaped
    assert gateway.get("/", headers={"Host": "nobody.test"}).status_code == 404
    assert gateway.get("/theme.css", headers={"Host": "nobody.test"}).status_code == 404


def first_load(manifest: dict[str, Any], route: str) -> tuple[int, int]:
    """(gzip bytes, files) of the JavaScript a route needs before it can draw: the entry,
    its static imports, the route's chunk and its static imports (the build's manifest)."""
    scripts = [manifest[key]["file"] for key in loaded_first(manifest, route)]
    scripts = [f for f in scripts if f.endswith(".js")]
    return sum(len(gzip.compress((DEFAULT_DIST / f).read_bytes(), 6)) for f in scripts), \
        len(scripts)


def loaded_first(manifest: dict[str, Any], route: str) -> set[str]:
    """The manifest keys (source modules) a route loads before it can draw."""
    seen: set[str] = set()

    def walk(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        for imported in manifest[key].get("imports", []):
            walk(imported)

    walk("index.html")
    walk(route)
    return seen


ROUTES = ["src/pages/trader/Dashboard.tsx", "src/pages/trader/Account.tsx",
          "src/pages/trader/Challenges.tsx", "src/pages/trader/Challenge.tsx",
          "src/pages/trader/Buy.tsx", "src/pages/trader/Settings.tsx",
          "src/pages/public/Programs.tsx", "src/pages/public/Login.tsx"]
BUDGET = 200 * 1024  # the trader routes' JavaScript on first load, gzip


def test_each_route_loads_within_its_budget() -> None:
    """The trader's routes carry at most 200 kB of gzipped JavaScript on first load; the
    chart libraries arrive later, with the sections that draw them."""
    manifest = json.loads((DEFAULT_DIST / ".vite" / "manifest.json").read_text())
    for route in ROUTES:
        size, _ = first_load(manifest, route)
        assert size <= BUDGET, f"{route}: {size} bytes of JavaScript on first load"


STAFF_PAGES = ("src/pages/desk/", "src/pages/analyst/", "src/pages/admin/", "src/pages/owner/")


def test_staff_pages_never_load_with_a_traders_pages() -> None:
    """The desk's, the analyst's, the admins' and the owner's code lives in chunks of
    their own: no trader or public route loads any of their modules on first load, nor a
    chunk that one of their pages was built into."""
    manifest = json.loads((DEFAULT_DIST / ".vite" / "manifest.json").read_text())
    staff = [key for key in manifest if key.startswith(STAFF_PAGES)]
    assert staff, "the build has no staff pages: the check would prove nothing"
    for route in ROUTES:
        keys = loaded_first(manifest, route)
        leaked = sorted(key for key in keys if key.startswith(STAFF_PAGES))
        assert not leaked, f"{route} loads staff modules on first load: {leaked}"
        files = {manifest[key]["file"] for key in keys}
        shared = sorted(key for key in staff if manifest[key]["file"] in files)
        assert not shared, f"{route} loads a chunk holding staff modules: {shared}"


def test_the_typed_client_is_generated_from_the_running_gateway(
        gateway: Gateway, tmp_path: Path) -> None:
    """web/src/api/schema.d.ts is what openapi-typescript makes of /api/openapi.json now:
    the app and the API cannot drift (regenerate: `npm run api` against a gateway)."""
    spec = tmp_path / "openapi.json"
    spec.write_bytes(gateway.get("/api/openapi.json").content)
    out = tmp_path / "schema.d.ts"
    cli = WEB / "node_modules" / "openapi-typescript" / "bin" / "cli.js"
    subprocess.run(["node", str(cli), str(spec), "-o", str(out),
                    "--default-non-nullable", "false"], check=True, capture_output=True,
                   timeout=120)
    committed = (WEB / "src" / "api" / "schema.d.ts").read_text()
    assert out.read_text() == committed, (
        "web/src/api/schema.d.ts differs from the gateway's OpenAPI document: run "
        "`OPENAPI=<gateway>/api/openapi.json npm run api` in web/ and commit it")
