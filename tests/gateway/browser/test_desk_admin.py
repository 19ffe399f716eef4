"""The desk's admin pages in Chromium, against the real system: a trader passes a phase
of a program under review (real deals through the bridge), an admin finds it first on
the challenges monitor, approves it after a confirmation naming the trader and the phase
(the next phase's account opens at the broker), then finds the approval in the audit log
by filtering on its action and opens its before and after — at 390 px; the account page
shows the desk's panel to staff and fetches none of it for the trader."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import PROGRAM, admin_token, challenge_of, wait_until

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
from .test_desk import account_of, bought

REVIEWED = {**PROGRAM, "advance": "review", "addons": []}


def fits(page: Page, where: str) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    past = [] if wide <= NARROW["width"] + 1 else page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 392).slice(0, 5)
        .map(e => e.tagName + '.' + e.className)""")
    assert not past, f"{where} is {wide} px wide at 390: {past}"


def test_an_admin_approves_a_phase_under_review_and_finds_it_in_the_audit_log(
        system: tuple[Gateway, Bridge], page: Page, browser: Browser) -> None:
    gateway, bridge = system
    admin = admin_token(gateway)  # boss@firm.test
    assert gateway.post("/api/v1/admin/programs", REVIEWED, admin).status_code == 201
    trader, challenge = bought(gateway, "ana@trader.test", "gold-10k")
    bridge.wait_opened(1)
    login = account_of(gateway, trader, challenge)
    # 10 % profit passes phase 1; the program waits for an admin before phase 2.
    bridge.publish(bridge.quote(2000.0), bridge.deal(login, 1, "buy", "in", 1.0, 2000.5),
                   bridge.quote(2011.0), bridge.deal(login, 2, "sell", "out", 1.0, 2011.0))
    wait_until(lambda: challenge_of(gateway, trader, challenge)["status"] == "review",
               what="the challenge to wait for review")

    page.set_viewport_size(NARROW)
    base = site(gateway)
    log_in(page, base, "boss@firm.test")
    page.goto(base + "/desk/challenges")
    expect(page.get_by_role("heading", name="Challenges")).to_be_visible()
    desk = page.get_by_role("navigation", name="Risk desk")
    for name in ("Alerts", "Floors", "Exposure", "Challenges", "Users", "Audit"):
        expect(desk.get_by_role("link", name=name, exact=True)).to_be_visible()
    row = page.get_by_test_id("challenge-row").filter(has_text="ana@trader.test")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "review")
    expect(row).to_contain_text("Phase 1 passed")
    expect(row.get_by_role("link", name=login)).to_have_attribute("href", f"/accounts/{login}")
    assert_accessible(page, "the challenges monitor at 390 px")
    fits(page, "the challenges monitor")
    shoot(page, "desk-admin-01-review")

    row.get_by_role("button", name=re.compile("^Approve Phase 1 of ")).click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Approve ana@trader.test's Phase 1 on gold-10k "
                                   f"(challenge #{challenge})? Phase 2 opens on a new account.")
    assert_accessible(page, "the approval's confirmation")
    dialog.get_by_role("button", name="Approve Phase 1").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_test_id("toast").filter(has_text="Phase 1 approved")).to_be_visible()
    expect(row).to_have_count(0)  # no longer under review
    expect(page.get_by_text("No phase waits for a review.")).to_be_visible()
    assert bridge.wait_opened(2)[1].endswith("P2")
    assert challenge_of(gateway, trader, challenge)["status"] == "active"

    # The approval in the audit log: filtered by its action, opened on its before/after.
    desk.get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_url(re.compile(r"/desk/audit$"))
    entries = page.get_by_test_id("audit-row")
    expect(entries.first).to_be_visible()
    page.get_by_label("Action").select_option("challenge.approve")
    expect(entries).to_have_count(1)
    expect(entries).to_contain_text("boss@firm.test")
    entries.get_by_role("button", name=re.compile("^Show changes of challenge.approve")).click()
    diff = page.get_by_test_id("audit-diff")
    status = diff.get_by_role("row").filter(has_text="status")
    expect(status).to_have_attribute("data-changed", "true")
    expect(status).to_contain_text("review")
    expect(status).to_contain_text("active")
    page.get_by_label("Action").select_option("user.update")
    expect(page.get_by_text("No entry matches these filters.")).to_be_visible()
    page.get_by_label("Action").select_option("challenge.approve")
    expect(entries).to_have_count(1)
    assert_accessible(page, "the audit log at 390 px")
    fits(page, "the audit log")
    shoot(page, "desk-admin-02-audit")
    page.set_viewport_size(WIDE)
    assert_accessible(page, "the audit log, wide")

    # The account page in the desk's view: the trader's page plus the desk's panel, with
    # the account's audit trail (its challenge's approval).
    page.goto(f"{base}/accounts/{login}")
    panel = page.get_by_test_id("account-desk")
    expect(panel.get_by_test_id("account-desk-trader")).to_contain_text("ana@trader.test")
    # The pass and its objective are open events of the account; the desk acknowledges one.
    open_events = panel.get_by_test_id("desk-open-events").get_by_role("listitem")
    expect(open_events).to_have_count(2)
    panel.get_by_role("button", name=re.compile("^Acknowledge passed at ")).click()
    expect(open_events).to_have_count(1)
    expect(open_events).to_contain_text("Profit target")
    expect(panel.get_by_test_id("desk-audit-trail")).to_contain_text("challenge.approve")
    expect(page.get_by_test_id("account-program")).to_be_visible()  # the trader's page
    assert_accessible(page, "the account page in the desk's view")
    no_console_errors(page)

    # The trader's own page fetches nothing of the desk's: no chunk, no desk endpoint.
    context = browser.new_context(viewport=WIDE, locale="en-US", timezone_id="UTC")
    trader_page = watched(context.new_page())
    asked: list[str] = []
    trader_page.on("request", lambda request: asked.append(request.url))
    log_in(trader_page, base, "ana@trader.test")
    trader_page.goto(f"{base}/accounts/{login}")
    expect(trader_page.get_by_test_id("account-program")).to_be_visible()
    expect(trader_page.get_by_role("heading", name="Equity and floors")).to_be_visible()
    expect(trader_page.get_by_test_id("account-desk")).to_have_count(0)
    desk_asks = [url for url in asked if "/api/v1/risk/" in url or "/api/v1/admin/" in url
                 or "AccountDesk" in url or "/desk" in url]
    assert not desk_asks, f"a trader's account page asked for the desk's: {desk_asks}"
    assert any(f"/api/v1/accounts/{login}" in url for url in asked)  # the watch watched
    no_console_errors(trader_page)
    context.close()
