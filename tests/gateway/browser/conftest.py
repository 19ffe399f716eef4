"""Browser tests: Debian's Chromium (``/usr/bin/chromium``, installed by ``make install``;
never a downloaded browser) driven by Playwright, against a real gateway serving the built
app (``web/dist``), with the broker, a risk worker, the analytics sink, the test's demo
broker, PostgreSQL, Redis and an SMTP server, as the other gateway tests run them.

Names under ``.test`` resolve to 127.0.0.1 inside the browser (``--host-resolver-rules``),
so one gateway serves several firms at their own hosts. Screenshots go to the folder the
run prints at its end (``var/screenshots/<run>/``).
"""

from __future__ import annotations

import os
import re
import struct
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from gateway.web import DEFAULT_DIST
from storage.clickhouse import Store
from tests.gateway.conftest import PASSWORD, Bridge, Gateway, Sink, live_system

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[3]
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "var" / "screenshots"
# one folder a run, shared by pytest-xdist's workers (the run's id), else by the start time
SCREENS = SHOTS / (os.environ.get("PYTEST_XDIST_TESTRUNUID", "")[:12]
                   or datetime.now(UTC).strftime("%Y%m%d-%H%M%S"))
STARTED = time.time()
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--host-resolver-rules=MAP *.test 127.0.0.1"]
WIDE = {"width": 1280, "height": 800}
# A loaded 2-core machine (the suite's other parts) can take seconds to draw: assertions
# wait up to 15 s for what they expect, as actions do (context.set_default_timeout).
expect.set_options(timeout=15_000)
NARROW = {"width": 390, "height": 844}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Where this run's screenshots are (written by the worker that ran the tests)."""
    runs = [d for d in SHOTS.glob("*") if d.is_dir() and d.stat().st_mtime >= STARTED] \
        if SHOTS.is_dir() else []
    for folder in sorted(runs):
        shots = len(list(folder.glob("*.png")))
        terminalreporter.write_line(f"browser screenshots ({shots}): {folder}")


@pytest.fixture
def playwright(broker: Any) -> Iterator[Playwright]:
    """Playwright's sync API runs an event loop in this thread while it is open: it is
    opened for one test at a time (the rest of the suite calls asyncio.run() in this
    thread), and the session's broker, which refuses to start inside a running loop,
    starts before it."""
    assert Path(CHROMIUM).is_file(), "Chromium is missing: `make install` installs it"
    assert (DEFAULT_DIST / "index.html").is_file(), "web/dist is missing: `make install`"
    with sync_playwright() as running:
        yield running


@pytest.fixture
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    opened = browser.new_context(viewport=WIDE, locale="en-US", timezone_id="UTC")
    opened.set_default_timeout(15_000)
    yield opened
    opened.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab whose console errors (a CSP refusal, an exception) fail the test."""
    tab = watched(context.new_page())
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shoot(tab, f"FAILED-{request.node.name}")


def watched(tab: Page) -> Page:
    """Keeps what the tab logs as errors (see :func:`no_console_errors`)."""
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(f"{m.text} at {m.location}")
           if m.type == "error" else None)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.errors = errors  # type: ignore[attr-defined]
    return tab


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def shoot(page: Page, name: str) -> Path:
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is (the script is run
    through the DevTools protocol, which the page's CSP does not govern)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    found = page.evaluate("""async () => {
        const result = await window.axe.run(document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def assert_accessible(page: Page, where: str) -> None:
    bad = axe_violations(page)
    assert not bad, f"axe on {where}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in bad)


def no_console_errors(page: Page) -> None:
    """No exception, no CSP refusal. The browser also logs every 4xx answer ("Failed to
    load resource"): those are the API's answers the pages show (a 401 asking for the
    second factor, a 404 page), checked where they matter, so they are not errors here."""
    errors = [e for e in page.errors  # type: ignore[attr-defined]
              if not e.startswith("Failed to load resource: the server responded")]
    assert not errors, f"the page logged errors: {errors}"


@pytest.fixture
def system(sink: Sink, broker: Any, history: Store) -> Iterator[tuple[Gateway, Bridge]]:
    """The live system (gateway, worker, sink, the test's demo broker) where traders
    confirm their own payments, as in `make run`."""
    with live_system(sink, broker, history, demo_payments=True) as running:
        yield running


def log_in(page: Page, base: str, address: str, password: str = PASSWORD) -> None:
    """Sign in through the login page (no second factor) and land on the dashboard."""
    page.goto(base + "/login")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/dashboard$"))


def site(gateway: Gateway, host: str = "localhost") -> str:
    return f"http://{host}:{gateway.port}"




def png_pixels(png: bytes) -> list[list[tuple[int, int, int]]]:
    """The RGB pixels of a PNG as Chromium writes them (8-bit RGB or RGBA, not
    interlaced): enough to check a colour on a screenshot without an imaging library."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    at, data, header = 8, b"", b""
    while at < len(png):
        length = struct.unpack(">I", png[at:at + 4])[0]
        kind, body = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
    step = 3 if colour == 2 else 4
    raw = zlib.decompress(data)
    stride = width * step
    rows: list[list[tuple[int, int, int]]] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up = previous[i]
            corner = previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                guess = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + guess) & 0xFF
        rows.append([(line[x], line[x + 1], line[x + 2]) for x in range(0, stride, step)])
        previous = line
    return rows


def dominant_colour(png: bytes) -> str:
    """The most common colour of a screenshot, as ``#rrggbb``."""
    counts: dict[tuple[int, int, int], int] = {}
    for row in png_pixels(png):
        for pixel in row:
            counts[pixel] = counts.get(pixel, 0) + 1
    r, g, b = max(counts, key=lambda p: counts[p])
    return f"#{r:02x}{g:02x}{b:02x}"
