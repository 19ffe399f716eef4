"""Every page of the trader's app at 1280 and 390 px: it renders its content (not an error),
axe-core finds no serious or critical violation, nothing overflows the narrow screen, and a
screenshot of each is written. Then login and a purchase with the keyboard alone."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.gateway.conftest import PASSWORD, Bridge, Gateway
from tests.gateway.test_journey import admin_token

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

EMAIL = "pages@trader.test"


def signed_in(context: BrowserContext, gateway: Gateway, email: str = EMAIL) -> Page:
    page = watched(context.new_page())
    log_in(page, site(gateway), email)
    return page


def settle(page: Page) -> None:
    page.wait_for_load_state("networkidle")
    expect(page.get_by_role("status").filter(has_text=re.compile("Loading|Restoring"))
           ).to_have_count(0)


def test_every_page_at_both_widths(system: tuple[Gateway, Bridge], context: BrowserContext,
                                   browser: Browser) -> None:
    gateway, bridge = system
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    token = gateway.verified_user(EMAIL)["access_token"]
    bought = gateway.post("/api/v1/challenges", {"program": "gold-10k"}, token).json()
    paid = gateway.post(f"/api/v1/challenges/{bought['id']}/confirm-payment", None, token)
    assert paid.status_code == 200, paid.text
    [login] = bridge.wait_opened(1)
    bridge.publish(bridge.quote(2000.0), bridge.deal(login, 1, "buy", "in", 0.5, 2000.5),
                   bridge.quote(2004.0))
    unpaid = gateway.post("/api/v1/challenges", {"program": "gold-10k"}, token).json()

    public = ["/programs", "/programs/gold-10k", "/login", "/register", "/forgot-password",
              "/reset-password?token=not-a-token", "/verify-email?token=not-a-token",
              "/no-such-page"]
    private = ["/dashboard", "/challenges", "/challenges/new?program=gold-10k",
               f"/challenges/{bought['id']}", f"/challenges/{unpaid['id']}",
               f"/accounts/{login}", "/settings/profile", "/settings/security",
               "/settings/notifications"]
    visitor = browser.new_context(viewport=WIDE, locale="en-US", timezone_id="UTC")
    anonymous = watched(visitor.new_page())  # its own cookies and storage: signed out
    page = signed_in(context, gateway)
    for size_name, size in (("1280", WIDE), ("390", NARROW)):
        for tab, paths in ((anonymous, public), (page, private)):
            tab.set_viewport_size(size)
            for path in paths:
                tab.goto(site(gateway) + path)
                settle(tab)
                expect(tab.locator("main")).not_to_be_empty()
                if path != "/no-such-page":
                    expect(tab.get_by_text("Page not found")).to_have_count(0)
                name = re.sub(r"[^A-Za-z0-9]+", "-", path.split("?")[0]).strip("-") or "home"
                if size_name == "390":
                    wide = tab.evaluate("document.documentElement.scrollWidth")
                    assert wide <= size["width"] + 1, f"{path} is {wide} px wide at 390"
                else:
                    assert_accessible(tab, path)
                shoot(tab, f"page-{name}-{size_name}")
    no_console_errors(page)
    no_console_errors(anonymous)
    visitor.close()


def tab_to(page: Page, check: str, most: int = 40) -> None:
    """Press Tab until the focused element satisfies ``check`` (a JS predicate of el)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(f"(el => {check})(document.activeElement)"):
            return
    raise AssertionError(f"{check} never got the focus")


def labelled(name: str) -> str:
    return (f"el.labels && [...el.labels].some(l => l.textContent.trim() === {name!r})")


def test_login_and_purchase_with_the_keyboard_alone(
        system: tuple[Gateway, Bridge], page: Page) -> None:
    gateway, bridge = system
    admin = admin_token(gateway)
    assert gateway.post("/api/v1/admin/programs", PROGRAM, admin).status_code == 201
    token = gateway.verified_user(EMAIL)["access_token"]
    secret = gateway.post("/api/v1/me/2fa/setup", None, token).json()["secret"]
    assert gateway.post("/api/v1/me/2fa/confirm", {"code": pyotp.TOTP(secret).now()},
                        token).status_code == 200

    page.goto(site(gateway) + "/login")
    expect(page.get_by_label("Email")).to_be_visible()  # loaded: then only the keyboard
    tab_to(page, labelled("Email"))
    page.keyboard.type(EMAIL)
    tab_to(page, labelled("Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Authentication code")).to_be_focused()
    page.keyboard.type(pyotp.TOTP(secret).at(time.time() + 30))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dashboard$"))

    page.goto(site(gateway) + "/challenges/new?program=gold-10k")
    expect(page.get_by_label("no-time-limit")).to_be_visible()
    tab_to(page, labelled("no-time-limit") + " || el.closest('label')?.textContent"
           ".includes('no-time-limit')")
    page.keyboard.press("Space")
    expect(page.get_by_test_id("order-total")).to_have_text("$119.00")
    tab_to(page, "el.textContent.trim() === 'Continue to payment'")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Pay $119.00")).to_be_visible()
    tab_to(page, "el.textContent.trim() === 'Pay $119.00'")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("toast").filter(has_text="Payment received")).to_be_visible()
    assert bridge.wait_opened(1)
    no_console_errors(page)
