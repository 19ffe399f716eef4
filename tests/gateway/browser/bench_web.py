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
- **the desk under a storm** (``BENCH_DESK_ACCOUNTS`` (2,000) accounts with open gold,
  ``BENCH_ALERT_RATE`` (50) breaches a second for ``BENCH_STORM_SECONDS`` (20) on each
  page): the nearest floors page holding every account while quotes move them 4 times a
  second, then the alert feed; main-thread tasks over 50 ms on each, and on the alert
  feed, for every breach, from its record's CreateTime on ``risk.events`` to the moment its
  row entered the page, p50 / p99 / max.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
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

from .conftest import log_in, shoot, site, watched

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
BREACHES = int(os.environ.get("BENCH_BREACHES", "50"))
DESK_ACCOUNTS = int(os.environ.get("BENCH_DESK_ACCOUNTS", "2000"))
ALERT_RATE = int(os.environ.get("BENCH_ALERT_RATE", "50"))
STORM_SECONDS = float(os.environ.get("BENCH_STORM_SECONDS", "20"))
PROFILE = os.environ.get("BENCH_PROFILE") == "1"  # the floors page's CPU profile, top 25
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
ROWS = """
window.__rows = [];
new MutationObserver((changes) => {
  const at = performance.timeOrigin + performance.now();
  for (const change of changes) for (const node of change.addedNodes) {
    if (node.nodeType !== 1) continue;
    const rows = node.matches('[data-testid="alert-row"]') ? [node]
      : node.querySelectorAll('[data-testid="alert-row"]');
    for (const row of rows) window.__rows.push([at, row.textContent]);
  }
}).observe(document, { childList: true, subtree: true });
// When each risk_event frame reached the page (before the app handles it): splits the
// way to the screen into the system's part and the page's.
window.__frames = [];
const Socket = window.WebSocket;
window.WebSocket = class extends Socket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      if (typeof event.data === "string" && event.data.includes('"risk_event"'))
        window.__frames.push([performance.timeOrigin + performance.now(), event.data]);
    });
  }
};
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


class Breaches:
    """The CreateTime of each account's first breach on ``risk.events``, read as the
    worker publishes them (a consumer on the gateway's loop)."""

    def __init__(self, gateway: Gateway, bridge: Bridge) -> None:
        self.gateway, self.bridge = gateway, bridge
        self.created: dict[str, float] = {}
        self.stop = asyncio.Event()

    def __enter__(self) -> Breaches:
        started = threading.Event()

        async def read() -> None:
            consumer = AIOKafkaConsumer(
                self.bridge.topics.events,
                bootstrap_servers=self.gateway.settings.kafka_bootstrap,
                group_id=f"bench-desk-{self.gateway.schema}", auto_offset_reset="latest",
                fetch_max_wait_ms=10)
            await consumer.start()
            await consumer.getmany(timeout_ms=500)  # assigned, positioned at the end
            started.set()
            try:
                while not self.stop.is_set():
                    for records in (await consumer.getmany(timeout_ms=100)).values():
                        for record in records:
                            output = answer_decoder.decode(record.value).output
                            if isinstance(output, Breach):
                                self.created.setdefault(output.account,
                                                        record.timestamp / 1000)
            finally:
                await consumer.stop()

        self.reader = asyncio.run_coroutine_threadsafe(read(), self.gateway.loop)
        assert started.wait(30), "the breach reader did not start"
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(_set(self.stop), self.gateway.loop).result(5)
        self.reader.result(10)


def storm(bridge: Bridge, logins: list[str], rate: int, seconds: float,
          stop: threading.Event) -> threading.Thread:
    """Close one account's position at a loss that breaks its floor, ``rate`` a second
    for ``seconds``, spread evenly (a batch every 100 ms), and move the market 4 times a
    second; the quotes go on until ``stop``."""
    def run() -> None:
        started = time.monotonic()
        due = iter(logins[:int(rate * seconds)])
        next_quote, sent, bid = started, 0, 2000.0
        while not stop.is_set():
            now = time.monotonic()
            wanted = min(int((now - started) * rate), int(rate * seconds))
            batch = []
            while sent < wanted:
                login = next(due)
                batch.append(Deal(ts=bridge.quote(bid).ts, account=login, deal=2, position=1,
                                  symbol="XAUUSD", side="sell", entry="out", volume=1.0,
                                  price=1985.0, profit=-1550.0))  # 8,450 < 9,000
                sent += 1
            if now >= next_quote:
                bid = round(bid + random.uniform(-0.4, 0.4), 2)
                batch.append(bridge.quote(bid))
                next_quote += 0.25
            if batch:
                bridge.publish(*batch)
            stop.wait(0.1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def many_accounts(gateway: Gateway, bridge: Bridge, n: int) -> list[str]:
    """``n`` accounts bought and paid through the API by 3 traders (8 at a time), each
    holding 1 lot of gold, their floors 10 % under 10,000."""
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    tokens = [gateway.verified_user(f"desk-bench-{k}@trader.test")["access_token"]
              for k in range(3)]

    def buy(k: int) -> None:
        token = tokens[k % len(tokens)]
        bought = gateway.post("/api/v1/challenges", {"program": "bench-10k"}, token)
        assert bought.status_code == 201, bought.text
        paid = gateway.post(f"/api/v1/challenges/{bought.json()['id']}/confirm-payment",
                            None, token)
        assert paid.status_code == 200, paid.text

    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(buy, range(n)))
    logins = sorted(bridge.wait_opened(n, timeout=600))
    bridge.publish(bridge.quote(2000.0))
    for at in range(0, n, 200):
        bridge.publish(*[bridge.deal(login, 1, "buy", "in", 1.0, 2000.5)
                         for login in logins[at:at + 200]])
    print(f"\n{n} accounts bought, paid and opened in {time.monotonic() - started:.0f} s")
    return logins


def print_profile(profile: dict) -> None:
    """The functions that took the most time of their own in a CDP CPU profile."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    own: dict[str, float] = {}
    deltas = profile["timeDeltas"]
    for sample, delta in zip(profile["samples"], [*deltas[1:], 0], strict=True):
        frame = nodes[sample]["callFrame"]
        name = (f"{frame['functionName'] or '(anonymous)'} "
                f"{frame['url'].rsplit('/', 1)[-1]}:{frame['lineNumber']}")
        own[name] = own.get(name, 0.0) + delta / 1000
    total = sum(own.values())
    print(f"\nCPU profile ({total:.0f} ms sampled), most time of their own:")
    for name, ms in sorted(own.items(), key=lambda item: -item[1])[:25]:
        print(f"  {ms:8.1f} ms  {name}")


def long_tasks(page: Page) -> str:
    long = page.evaluate("window.__long")
    return (f"tasks over 50 ms: {len(long)}"
            + (f", longest {max(long):.0f} ms" if long else ""))


@pytest.mark.timeout(1800)
def test_desk_under_a_storm(system: tuple[Gateway, Bridge], context: BrowserContext) -> None:
    gateway, bridge = system
    gateway.verified_user("desk@bench.test")  # before the purchases' mail fills the outbox
    gateway.promote("desk@bench.test", "risk")
    logins = many_accounts(gateway, bridge, DESK_ACCOUNTS)
    per_storm = int(ALERT_RATE * STORM_SECONDS)
    assert 2 * per_storm <= len(logins), "too few accounts for two storms"
    page = watched(context.new_page())
    page.add_init_script(OBSERVE + ROWS)
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f) if (
        isinstance(f, str) and '"risk_event"' in f) else None))
    log_in(page, site(gateway), "desk@bench.test")

    page.goto(site(gateway) + "/desk/floors")
    count = page.get_by_test_id("floors-count")
    deadline = time.monotonic() + 120
    while str(len(logins)) not in (count.text_content() or ""):
        assert time.monotonic() < deadline, f"floors list: {count.text_content()}"
        time.sleep(1)
    time.sleep(3)
    page.evaluate("window.__long.length = 0")
    stop = threading.Event()
    profiler = context.new_cdp_session(page) if PROFILE else None
    if profiler:
        profiler.send("Profiler.enable")
        profiler.send("Profiler.start")
    feeder = storm(bridge, logins[:per_storm], ALERT_RATE, STORM_SECONDS, stop)
    time.sleep(STORM_SECONDS + 2)
    stop.set()
    feeder.join()
    if profiler:
        print_profile(profiler.send("Profiler.stop")["profile"])
    print(f"\nnearest floors with {count.text_content()}, {ALERT_RATE} breaches/s and "
          f"quotes at 4 Hz for {STORM_SECONDS:.0f} s: {long_tasks(page)}")

    page.goto(site(gateway) + "/desk")
    page.wait_for_load_state("networkidle")
    expect(page.get_by_test_id("alerts")).to_be_visible()
    time.sleep(3)
    page.evaluate("window.__long.length = 0; window.__rows.length = 0")
    second = logins[per_storm:2 * per_storm]
    with Breaches(gateway, bridge) as breaches:
        stop = threading.Event()
        started = time.monotonic()
        feeder = storm(bridge, second, ALERT_RATE, STORM_SECONDS, stop)
        deadline = started + STORM_SECONDS + 60
        seen: set[str] = set()
        read = 0  # rows looked at: each once (this process shares the GIL with the system)
        while True:
            added = page.evaluate(f"window.__rows.slice({read})")
            read += len(added)
            for _, text in added:
                seen.update(login for login in second if login not in seen and login in text)
            if len(seen) == len(second) and len(breaches.created) >= len(second):
                break
            if time.monotonic() > deadline:
                shoot(page, "bench-desk-alerts-timeout")
                raise AssertionError(
                    f"{len(seen)} of {len(second)} alerts on screen, "
                    f"{len(breaches.created)} breaches published; the link: "
                    f"{page.get_by_test_id('live-indicator').get_attribute('data-state')}, "
                    f"{page.get_by_test_id('alert-row').count()} rows, "
                    f"{len(page.evaluate('window.__rows'))} added; "
                    f"{sum(any(login in f for f in frames) for login in second)} "
                    f"of the storm's accounts in {len(frames)} risk_event frames; "
                    f"the first and the last: {frames[:1]} {frames[-1:]}")
            time.sleep(0.5)
        stop.set()
        feeder.join()
    shown: dict[str, float] = {}
    for at, text in page.evaluate("window.__rows"):
        for login in second:
            if login in text:
                shown.setdefault(login, at / 1000)
    arrived: dict[str, float] = {}
    for at, text in page.evaluate("window.__frames"):
        login = orjson.loads(text)["event"]["account"]
        if login in breaches.created:
            arrived.setdefault(login, at / 1000)
    delays = sorted((shown[login] - breaches.created[login]) * 1000 for login in second)
    system = sorted((arrived[login] - breaches.created[login]) * 1000 for login in second
                    if login in arrived)
    q, qs = (statistics.quantiles(d, n=100, method="inclusive") for d in (delays, system))
    print(f"alert feed, {ALERT_RATE} breaches/s for {STORM_SECONDS:.0f} s "
          f"({len(delays)} alerts): {long_tasks(page)}; publication to row: p50 "
          f"{statistics.median(delays):.0f} ms, p99 {q[98]:.0f} ms, max {delays[-1]:.0f} ms;"
          f" of which publication to the page's websocket: p50 "
          f"{statistics.median(system):.0f} ms, p99 {qs[98]:.0f} ms")


async def _set(event: asyncio.Event) -> None:
    event.set()

