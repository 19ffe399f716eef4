"""The risk desk in Chromium, against the real system: a desk user logs in through the
login page and opens the alert feed; a breach forced through the bridge appears live (no
reload); the desk acknowledges it, overrides it with a reason (the trader's challenge goes
on on a replacement account) and stops another account after naming it. A trader opening
the desk gets the not-found page and fetches nothing of the desk's."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import admin_token, challenge_of, wait_until

from .conftest import (
    NARROW,
    WIDE,
    assert_accessible,
    log_in,
    no_console_errors,
    shoot,
    site,
    watched,
)
from .test_trader_journey import PROGRAM

# A program whose daily loss pauses the account (until the next trading day) instead of
# failing it: a paused account is one the desk can still stop.
PAUSING = {**PROGRAM, "slug": "pause-10k", "name": "Pause 10k", "addons": [],
           "phases": [{"name": "Phase 1", "document": {"rules": {
               "daily_loss": {"limit": 0.05, "action": "pause"},
               "max_loss": {"limit": 0.10, "mode": "static"}}}}]}


def bought(gateway: Gateway, address: str, program: str) -> tuple[str, int]:
    """A trader who bought a challenge and confirmed the (demo) payment: token, id."""
    token = gateway.verified_user(address)["access_token"]
    answer = gateway.post("/api/v1/challenges", {"program": program}, token)
    assert answer.status_code == 201, answer.text
    challenge = answer.json()["id"]
    confirm = gateway.post(f"/api/v1/challenges/{challenge}/confirm-payment", None, token)
    assert confirm.status_code == 200, confirm.text
    return token, challenge


def account_of(gateway: Gateway, token: str, challenge: int) -> str:
    accounts = wait_until(lambda: challenge_of(gateway, token, challenge)["accounts"],
                          what="the challenge's account")
    return accounts[0]["login"]


def test_the_desk_sees_a_breach_live_and_acts_on_it(
        system: tuple[Gateway, Bridge], page: Page, browser: Browser) -> None:
    gateway, bridge = system
    admin = admin_token(gateway)
    for program in (PROGRAM, PAUSING):
        created = gateway.post("/api/v1/admin/programs", program, admin)
        assert created.status_code == 201, created.text
    ana, ana_challenge = bought(gateway, "ana@trader.test", "gold-10k")
    bob, bob_challenge = bought(gateway, "bob@trader.test", "pause-10k")
    bridge.wait_opened(2)
    failing = account_of(gateway, ana, ana_challenge)
    other = account_of(gateway, bob, bob_challenge)
    bridge.publish(bridge.quote(2000.0))
    wait_until(lambda: gateway.get(f"/api/v1/accounts/{failing}", ana).json()
               .get("equity") == 10_000.0, what="the engine's first numbers")

    # The desk user logs in through the login page and opens the desk from the menu.
    gateway.verified_user("desk@firm.test")
    gateway.promote("desk@firm.test", "risk")
    base = site(gateway)
    log_in(page, base, "desk@firm.test")
    page.get_by_role("link", name="Risk desk").click()
    page.wait_for_url(re.compile(r"/desk$"))
    expect(page.get_by_role("heading", name="Risk desk")).to_be_visible()
    expect(page.get_by_text(re.compile("No alert yet"))).to_be_visible()
    expect(page.get_by_test_id("live-indicator")).to_have_attribute("data-state", "live")

    # A breach forced through the bridge appears without a reload (equity 8,950: the daily
    # and the maximum loss breached at one instant); the tab counts them.
    bridge.publish(bridge.deal(failing, 1, "buy", "in", 1.0, 2000.5), bridge.quote(1990.0))
    rows = page.get_by_test_id("alert-row").filter(has_text=failing)
    row = rows.filter(has_text="Maximum loss")
    expect(row).to_have_count(1, timeout=20_000)
    expect(rows).to_have_count(2)
    expect(row.get_by_test_id("alert-amount")).to_have_text("$50.00 below the floor")
    expect(page).to_have_title(re.compile(r"^\(2\) Risk desk — "))
    expect(page.get_by_role("link", name=failing).first).to_have_attribute(
        "href", f"/accounts/{failing}")
    assert_accessible(page, "the desk with an open breach")
    shoot(page, "desk-01-breach")

    # Acknowledge both (checkboxes + "Acknowledge selected").
    row.get_by_role("checkbox").check()
    rows.filter(has_text="Daily loss").get_by_role("checkbox").check()
    page.get_by_role("button", name="Acknowledge selected (2)").click()
    expect(row.get_by_test_id("alert-state")).to_have_text(re.compile("^acknowledged"))
    expect(rows.filter(has_text="Daily loss").get_by_test_id("alert-state")).to_have_text(
        re.compile("^acknowledged"))
    expect(page).to_have_title(re.compile(r"^Risk desk — "))

    # Override it: a reason is required; the challenge goes on on a replacement account.
    row.get_by_role("button", name=re.compile("^Override")).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(failing)
    assert_accessible(page, "the override dialog")
    dialog.get_by_role("button", name="Override").click()
    expect(dialog.get_by_role("alert")).to_have_text(re.compile("reason", re.I))
    dialog.get_by_label("Reason").fill("bad tick from the bridge")
    shoot(page, "desk-02-override")
    dialog.get_by_role("button", name="Override").click()
    expect(dialog).to_be_hidden()
    replacement = f"{failing}R1"
    expect(row.get_by_test_id("alert-state")).to_contain_text("overridden")
    expect(row.get_by_test_id("alert-state")).to_contain_text(replacement)
    toast = page.get_by_test_id("toast").filter(has_text=f"goes on on account {replacement}")
    expect(toast).to_be_visible()
    resumed = wait_until(lambda: (c := challenge_of(gateway, ana, ana_challenge))["status"]
                         == "active" and c, what="the challenge to go on")
    assert [(a["login"], a["status"]) for a in resumed["accounts"]] == [
        (failing, "failed"), (replacement, "active")]

    # Another account's daily loss pauses it (bought at 1990.5, the bid at 1984: equity
    # 9,350 under the 9,500 daily floor); the desk stops it from its alert, typing its login.
    bridge.publish(bridge.deal(other, 1, "buy", "in", 1.0, 1990.5), bridge.quote(1984.0))
    paused = page.get_by_test_id("alert-row").filter(has_text=other).filter(has_text="Daily loss")
    expect(paused).to_have_count(1, timeout=20_000)
    paused.get_by_role("button", name=f"Stop account {other}").click()
    stop = page.get_by_role("alertdialog")
    expect(stop.get_by_role("heading")).to_have_text(f"Stop account {other}?")
    confirm = stop.get_by_role("button", name=f"Stop account {other}")
    stop.get_by_label("Reason for the stop").fill("suspected copy trading")
    expect(confirm).to_be_disabled()
    stop.get_by_label(f"Type {other} to confirm").fill(other)
    expect(confirm).to_be_enabled()
    assert_accessible(page, "the stop dialog")
    confirm.click()
    expect(stop).to_be_hidden()
    expect(page.get_by_test_id("toast").filter(has_text=f"Account {other} stopped")).to_be_visible()
    wait_until(lambda: other in bridge.disabled, what="the stop at the broker")
    assert gateway.get(f"/api/v1/accounts/{other}", bob).json()["status"] == "stopped"

    page.set_viewport_size(NARROW)
    assert_accessible(page, "the desk at 390 px")
    shoot(page, "desk-03-narrow")
    page.set_viewport_size(WIDE)
    shoot(page, "desk-04-done")
    no_console_errors(page)

    # A trader opening the desk gets the not-found page, and nothing of the desk's is asked.
    context = browser.new_context(viewport=WIDE, locale="en-US", timezone_id="UTC")
    try:
        trader = watched(context.new_page())
        asked: list[str] = []
        trader.on("request", lambda r: asked.append(r.url) if "/api/v1/risk" in r.url else None)
        log_in(trader, base, "ana@trader.test")
        expect(trader.get_by_role("link", name="Risk desk")).to_have_count(0)
        trader.goto(base + "/desk")
        expect(trader.get_by_role("heading", name="Page not found")).to_be_visible()
        trader.goto(base + "/desk/exposure")
        expect(trader.get_by_role("heading", name="Page not found")).to_be_visible()
        assert asked == []
        shoot(trader, "desk-05-trader-not-found")
    finally:
        context.close()


def test_nearest_floors_and_exposure_show_the_firms_live_accounts(
        system: tuple[Gateway, Bridge], page: Page) -> None:
    """Two traders' accounts with open gold: the desk's nearest floors list both, nearest
    first, and the exposure page sums their lots; both pages pass axe at 1280 and fit 390."""
    gateway, bridge = system
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    logins = []
    for n, volume in enumerate((0.5, 1.0)):
        token, challenge = bought(gateway, f"t{n}@trader.test", "gold-10k")
        logins.append(account_of(gateway, token, challenge))
        bridge.wait_opened(n + 1)  # its account event goes out before its first deal
        bridge.publish(bridge.quote(2000.0), bridge.deal(logins[-1], 1, "buy", "in", volume,
                                                         2000.5))
    bridge.publish(bridge.quote(1996.0))
    gateway.verified_user("desk@firm.test")
    gateway.promote("desk@firm.test", "risk")
    log_in(page, site(gateway), "desk@firm.test")

    page.goto(site(gateway) + "/desk/floors")
    table = page.get_by_test_id("nearest-floors")
    # the 1-lot account lost more: it is nearer its floor, so it comes first
    expect(table.get_by_role("link", name=logins[1])).to_be_visible(timeout=30_000)
    expect(table.get_by_role("link", name=logins[0])).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows.first).to_contain_text(logins[1])
    assert_accessible(page, "/desk/floors")
    shoot(page, "desk-floors-1280")

    page.goto(site(gateway) + "/desk/exposure")
    symbols = page.get_by_test_id("exposure-symbols")
    expect(symbols).to_contain_text("XAUUSD", timeout=30_000)
    expect(symbols).to_contain_text("1.5")  # 0.5 + 1 lot, both long
    assert_accessible(page, "/desk/exposure")
    shoot(page, "desk-exposure-1280")
    page.set_viewport_size(NARROW)
    for path in ("/desk/floors", "/desk/exposure"):
        page.goto(site(gateway) + path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= NARROW["width"] + 1, f"{path} is {wide} px wide at 390"
        shoot(page, f"desk-{path.rsplit('/', 1)[-1]}-390")
    no_console_errors(page)
