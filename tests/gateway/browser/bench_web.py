"""The web app's numbers, measured in Chromium against the live system (not part of the
suite: run it by name, nothing else running):

    .venv/bin/pytest tests/gateway/browser/bench_web.py -s -p no:randomly

- **first load**: the JavaScript (gzip, as the gateway sends it) each route loads before
  it can show anything: the entry, its static imports, the route's own chunk and its
  static imports (the build's manifest says which);
- **long tasks**: 20 accounts whose numbers change 4 times a second each, for
  ``BENCH_SECONDS`` (60) on the dashboard and as long on an account page (its live chart):
  every main-thread task over 50 ms that Chromium reports (PerformanceObserver
  ``longtask``), with the metrics frames received to show the load was there;
- **breach to screen**: ``BENCH_BREACHES`` (50) breaches, one at a time; for each, from
  the moment the worker handed it to its producer for ``risk.events`` (the record's
  CreateTime) to the moment its toast entered the page (a MutationObserver's clock, the
  same machine's), p50 / p99 / max.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import threading
import time

import pytest
from aiokafka import AIOKafkaConsumer
from playwright.sync_api import BrowserContext, Page, expect

from gateway.web import DEFAULT_DIST
from streams.events import Deal
from streams.outputs import Breach
from streams.wire import answer_decoder
from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import admin_token
from tests.gateway.test_web import ROUTES, first_load

from .conftest import log_in, site, watched

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
BREACHES = int(os.environ.get("BENCH_BREACHES", "50"))
TRADER = "bench@trader.test"
PROGRAM = {
    "slug": "bench-10k", "name": "Bench 10k", "price": "10.00", "currency": "USD",
    "account_size": "10000", "advance": "auto",
    "phases": [{"name": "Evaluation", "document": {"rules": {
        "max_loss": {"limit": 0.10, "mode": "static"}}}}],
    "addons": [],
}
OBSERVE = """
window.__long = [];
window.__toasts = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__long.push(entry.duration);
}).observe({ type: "longtask", buffered: true });
new MutationObserver((changes) => {
  const at = performance.timeOrigin + performance.now();
  for (const change of changes) for (const node of change.addedNodes) {
    if (node.nodeType !== 1) continue;
    const toast = node.matches('[data-testid="toast"]') ? node
      : node.querySelector('[data-testid="toast"]');
    if (toast) window.__toasts.push([at, toast.textContent]);
  }
}).observe(document, { childList: true, subtree: true });
"""


def kib(n: int) -> str:
    return f"{n / 1024:.1f} kB"


def test_first_load_of_each_route() -> None:
    manifest = json.loads((DEFAULT_DIST / ".vite" / "manifest.json").read_text())
    print("\nfirst load (JavaScript, gzip level 6):")
    for route in ROUTES:
        size, files = first_load(manifest, route)
        print(f"  {route.removeprefix('src/pages/'):28} {kib(size):>9} in {files} files")


def accounts(gateway: Gateway, bridge: Bridge, n: int) -> tuple[str, list[str]]:
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    token = gateway.verified_user(TRADER)["access_token"]
    for _ in range(n):
        bought = gateway.post("/api/v1/challenges", {"program": "bench-10k"}, token).json()
        paid = gateway.post(f"/api/v1/challenges/{bought['id']}/confirm-payment", None, token)
        assert paid.status_code == 200, paid.text
    logins = bridge.wait_opened(n, timeout=60)
    bridge.publish(bridge.quote(2000.0))
    return token, sorted(logins)


def signed_in(context: BrowserContext, gateway: Gateway) -> Page:
    page = watched(context.new_page())
    page.add_init_script(OBSERVE)
    log_in(page, site(gateway), TRADER)
    return page


@pytest.mark.timeout(900)
def test_long_tasks_with_20_accounts_at_4_hz(system: tuple[Gateway, Bridge],
                                             context: BrowserContext) -> None:
    gateway, bridge = system
    _, logins = accounts(gateway, bridge, 20)
    bridge.publish(*[bridge.deal(login, 1, "buy", "in", 0.01, 2000.5) for login in logins])
    frames = {"n": 0}
    page = signed_in(context, gateway)
    page.on("websocket", lambda ws: ws.on(
        "framereceived", lambda f: frames.__setitem__("n", frames["n"] + (
            '"type":"metrics"' in f if isinstance(f, str) else 0))))
    stop = threading.Event()

    def market() -> None:  # a quote every 250 ms moves every account
        bid = 2000.0
        while not stop.is_set():
            bid += random.uniform(-0.4, 0.4)
            bridge.publish(bridge.quote(round(bid, 2)))
            stop.wait(0.25)

    feeder = threading.Thread(target=market, daemon=True)
    feeder.start()
    try:
        for where, path in (("dashboard", "/dashboard"),
                            ("account page", f"/accounts/{logins[0]}")):
            page.goto(site(gateway) + path)
            page.wait_for_load_state("networkidle")
            time.sleep(3)  # settled: loading is not what is measured
            page.evaluate("window.__long.length = 0")
            frames["n"] = 0
            time.sleep(SECONDS)
            long = page.evaluate("window.__long")
            print(f"\n{where}: {len(logins)} accounts at 4 Hz for {SECONDS:.0f} s: "
                  f"{frames['n']} metrics frames ({frames['n'] / SECONDS:.1f}/s); "
                  f"tasks over 50 ms: {len(long)}"
                  + (f", longest {max(long):.0f} ms" if long else ""))
    finally:
        stop.set()
        feeder.join()


@pytest.mark.timeout(900)
def test_breach_to_screen(system: tuple[Gateway, Bridge], context: BrowserContext) -> None:
    gateway, bridge = system
    _, logins = accounts(gateway, bridge, BREACHES)
    bridge.publish(*[bridge.deal(login, 1, "buy", "in", 1.0, 2000.5) for login in logins])
    created: dict[str, float] = {}
    stop = asyncio.Event()

    async def read_answers() -> None:
        consumer = AIOKafkaConsumer(
            bridge.topics.events, bootstrap_servers=gateway.settings.kafka_bootstrap,
            group_id=f"bench-{gateway.schema}", auto_offset_reset="latest",
            fetch_max_wait_ms=10)
        await consumer.start()
        try:
            while not stop.is_set():
                fetched = await consumer.getmany(timeout_ms=100)
                for records in fetched.values():
                    for record in records:
                        output = answer_decoder.decode(record.value).output
                        if isinstance(output, Breach):
                            created.setdefault(output.account, record.timestamp / 1000)
        finally:
            await consumer.stop()

    reader = asyncio.run_coroutine_threadsafe(read_answers(), gateway.loop)
    page = signed_in(context, gateway)
    page.goto(site(gateway) + "/dashboard")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("link", name=f"Open account {logins[0]}")).to_be_visible()
    time.sleep(3)
    try:
        for n, login in enumerate(logins):
            bridge.publish(Deal(ts=bridge.quote(2000.0).ts, account=login, deal=2, position=1,
                                symbol="XAUUSD", side="sell", entry="out", volume=1.0,
                                price=1985.0, profit=-1550.0))  # balance 8,450 < 9,000
            deadline = time.monotonic() + 10
            while login not in created or not any(
                    login in text for _, text in page.evaluate("window.__toasts")):
                assert time.monotonic() < deadline, f"breach {n} of {login} not on screen"
                time.sleep(0.05)
            time.sleep(0.3)
    finally:
        asyncio.run_coroutine_threadsafe(_set(stop), gateway.loop).result(5)
        reader.result(10)
    shown = {}
    for at, text in page.evaluate("window.__toasts"):
        for login in logins:
            if login in text and "breach" in text.lower():
                shown.setdefault(login, at / 1000)
    delays = sorted((shown[login] - created[login]) * 1000 for login in logins)
    q = statistics.quantiles(delays, n=100, method="inclusive")
    print(f"\nbreach to screen over {len(delays)} breaches: p50 {statistics.median(delays):.0f}"
          f" ms, p99 {q[98]:.0f} ms, max {delays[-1]:.0f} ms, min {delays[0]:.0f} ms")


async def _set(event: asyncio.Event) -> None:
    event.set()

