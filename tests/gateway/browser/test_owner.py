"""The platform's owner lists the firms with their health and creates one in Chromium; a
domain another firm holds is refused at its field. Accessible, wide and at 390 px; an
admin opening the page gets the not-found page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.gateway.conftest import Gateway

from .conftest import NARROW, WIDE, assert_accessible, log_in, no_console_errors, shoot, site


def test_the_owner_lists_and_creates_firms(gateway: Gateway, page: Page) -> None:
    gateway.verified_user("root@platform.test")
    gateway.promote("root@platform.test", "owner")
    gateway.verified_user("boss@firm.test")
    gateway.promote("boss@firm.test", "admin")
    base = site(gateway)
    page.set_viewport_size(WIDE)
    log_in(page, base, "root@platform.test")
    page.get_by_role("link", name="Firms").click()
    table = page.get_by_test_id("firms")
    expect(table.get_by_role("rowheader").first).to_contain_text("default")
    assert_accessible(page, "/admin/firms")

    page.get_by_label("Slug (a-z, 0-9, -)").fill("nova")
    page.get_by_label("Name").fill("Nova Funding")
    page.get_by_label("Domains (one a line, the first is primary)").fill("trade.nova.test")
    page.get_by_role("button", name="Create the firm").click()
    expect(table.get_by_role("row").filter(has_text="Nova Funding")).to_contain_text(
        "trade.nova.test")
    assert gateway.get("/api/v1/tenant", headers={"Host": "trade.nova.test"}).json()[
        "name"] == "Nova Funding"

    # the same domain again: refused, the API's words at the domains' field
    page.get_by_label("Slug (a-z, 0-9, -)").fill("nova-two")
    page.get_by_label("Name").fill("Nova Two")
    page.get_by_label("Domains (one a line, the first is primary)").fill("trade.nova.test")
    page.get_by_role("button", name="Create the firm").click()
    expect(page.get_by_role("alert").or_(page.get_by_text("taken")).first).to_be_visible()
    assert len(table.get_by_role("row").filter(has_text="Nova Two").all()) == 0
    shoot(page, "owner-firms-1280")

    page.set_viewport_size(NARROW)
    page.mouse.move(0, 0)  # no control left hovered where the last click was
    assert page.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    assert_accessible(page, "/admin/firms at 390 px")
    shoot(page, "owner-firms-390")
    no_console_errors(page)

    # an admin of the firm: no Firms link, and the page is not found
    page.context.clear_cookies()
    page.evaluate("localStorage.clear()")
    log_in(page, base, "boss@firm.test")
    expect(page.get_by_role("link", name="Admin")).to_be_visible()
    expect(page.get_by_role("link", name="Firms")).to_have_count(0)
    page.goto(base + "/admin/firms")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
