"""The trader's whole journey in Chromium, against the real system: open the site →
register → read the verification mail → verify → log in → turn on 2FA (the test computes
the code) → log in with it → buy and pay → the account appears → the demo broker's trades
move the equity chart and the objective bars → a forced breach shows its toast and the
account turns failed, without a reload."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import Page, expect

from tests.gateway.conftest import Bridge, Gateway
from tests.gateway.test_journey import admin_token, wait_until

from .conftest import assert_accessible, no_console_errors, shoot, site

PROGRAM = {
    "slug": "gold-10k", "name": "Gold 10k", "price": "99.00", "currency": "USD",
    "account_size": "10000", "advance": "auto",
    "phases": [
        {"name": "Phase 1", "document": {"rules": {
            "daily_loss": {"limit": 0.05},
            "max_loss": {"limit": 0.10, "mode": "static"},
            "profit_target": {"target": 0.10},
            "min_trading_days": {"days": 2}}}},
        {"name": "Funded", "document": {"rules": {"max_loss": {"limit": 0.10}}}},
    ],
    "addons": [{"name": "no-time-limit", "price": "20.00"}],
}
EMAIL = "ana@trader.test"
PASSWORD = "a long and unusual passphrase"


def mail_link(gateway: Gateway, address: str, path: str) -> str:
    """The path and query of the link to ``path`` in the newest mail to ``address``."""
    [*_, message] = gateway.sink.wait_for(address)
    body = message.get_body(("plain",))
    assert body is not None
    match = re.search(rf"https?://[^/\s]+(/{path}\?token=\S+)", body.get_content())
    assert match, body.get_content()
    return match.group(1)


def log_in(page: Page, code: str | None = None) -> None:
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    if code is not None:
        page.get_by_label("Authentication code").fill(code)
        page.get_by_role("button", name=re.compile("^(Verify|Log in)$")).click()


def test_a_new_trader_from_the_site_to_a_failed_challenge(
        system: tuple[Gateway, Bridge], page: Page) -> None:
    gateway, bridge = system
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    base = site(gateway)

    # The site: the firm's programs, in words.
    page.goto(base + "/")
    expect(page.get_by_role("heading", name=re.compile("Gold 10k"))).to_be_visible()
    expect(page.get_by_text("$99.00").first).to_be_visible()
    shoot(page, "journey-01-programs")

    # Register, then the mail's link verifies the address.
    page.goto(base + "/register")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    confirm = page.get_by_label(re.compile("^(Confirm|Repeat) (the )?password", re.I))
    if confirm.count():
        confirm.fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text(EMAIL).first).to_be_visible()
    page.goto(base + mail_link(gateway, EMAIL, "verify-email"))
    expect(page.get_by_role("heading", name=re.compile("confirmed", re.I))).to_be_visible()

    # Log in; no challenge yet.
    page.goto(base + "/login")
    log_in(page)
    page.wait_for_url(re.compile(r"/dashboard$"))
    expect(page.get_by_text(re.compile("no challenge", re.I)).first).to_be_visible()

    # Two-factor authentication: the secret from the page, a code computed here.
    page.goto(base + "/settings/security")
    page.get_by_role("button", name="Enable two-factor authentication").click()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "").strip()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Authentication code").fill(totp.now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes")).to_be_visible()
    shoot(page, "journey-02-recovery-codes")
    assert gateway.sql("SELECT totp_enabled_at FROM users WHERE email = $1", EMAIL)[0][0]

    # Sign out and back in with a code (the next time step: each is accepted once).
    page.get_by_role("button", name="Account menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login"))
    log_in(page, code=totp.at(time.time() + 30))
    page.wait_for_url(re.compile(r"/dashboard$"))

    # Buy and pay.
    page.goto(base + "/challenges/new?program=gold-10k")
    page.get_by_label("no-time-limit").check()
    expect(page.get_by_test_id("order-total")).to_have_text("$119.00")
    page.get_by_role("button", name="Continue to payment").click()
    page.get_by_role("button", name="Pay $119.00").click()
    expect(page.get_by_test_id("toast").filter(has_text="Payment received")).to_be_visible()
    [login] = bridge.wait_opened(1)
    account_link = page.get_by_role("link", name=login)
    expect(account_link).to_be_visible()

    # The account: the engine's numbers arrive, trades move them.
    account_link.click()
    page.wait_for_url(re.compile(rf"/accounts/{login}$"))
    bridge.publish(bridge.quote(2000.0))
    equity = page.get_by_test_id("account-equity")
    expect(equity).to_have_text("$10,000.00", timeout=20_000)
    bar = page.get_by_role("meter", name=re.compile("Maximum loss", re.I)).first
    before = float(bar.get_attribute("aria-valuenow") or "nan")
    bridge.publish(bridge.deal(login, 1, "buy", "in", 1.0, 2000.5), bridge.quote(2003.0))
    expect(equity).to_have_text("$10,250.00", timeout=20_000)
    bridge.publish(bridge.quote(1996.0))
    expect(equity).to_have_text("$9,550.00", timeout=20_000)
    wait_until(lambda: float(bar.get_attribute("aria-valuenow") or "nan") < before,
               what="the maximum-loss bar to move with the equity")
    assert page.locator("canvas").count() > 0  # the live chart draws
    assert_accessible(page, "the account page")
    shoot(page, "journey-03-account")

    # A forced breach: the toast within the budget, the account failed, no reload.
    started = time.monotonic()
    bridge.publish(bridge.quote(1990.0))  # equity 8,950 ≤ the 9,000 floor
    toast = page.get_by_test_id("toast").filter(has_text=re.compile("breach", re.I))
    expect(toast.first).to_be_visible(timeout=20_000)
    seen = time.monotonic() - started
    expect(page.get_by_test_id("account-status")).to_have_text(re.compile("failed", re.I))
    shoot(page, "journey-04-failed")
    print(f"breach: quote published → toast visible in {seen * 1000:.0f} ms")
    no_console_errors(page)
