"""White label in the browser: two firms on one gateway, each at its own host, show their
own names and colours (checked on the screenshot's pixels) and their own programs only."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.gateway.conftest import Gateway

from .conftest import dominant_colour, shoot, site

FIRMS = {
    "acme": {"name": "Acme Funding", "primary_color": "#b4121b", "accent_color": "#1b4fb4"},
    "beta": {"name": "Beta Capital", "primary_color": "#0b7a3e", "accent_color": "#7a0b6b"},
}


def program(slug: str, name: str) -> dict:
    return {"slug": slug, "name": name, "price": "149.00", "currency": "USD",
            "account_size": "25000", "advance": "auto",
            "phases": [{"name": "Evaluation", "document": {"rules": {
                "max_loss": {"limit": 0.08}, "profit_target": {"target": 0.08}}}}],
            "addons": []}


def firm_admin(gateway: Gateway, host: str) -> str:
    headers = {"Host": host}
    address = f"admin@{host}"
    gateway.verified_user(address, headers=headers)
    gateway.promote(address, "admin")
    return gateway.login(address, headers=headers)["access_token"]


def test_two_firms_two_looks_and_their_own_programs(gateway: Gateway, page: Page) -> None:
    gateway.verified_user("owner@platform.test")
    gateway.promote("owner@platform.test", "owner")
    owner = gateway.login("owner@platform.test")["access_token"]
    for slug, branding in FIRMS.items():
        created = gateway.post("/api/v1/owner/tenants", {
            "slug": slug, "domains": [f"{slug}.test"], "branding": branding}, owner)
        assert created.status_code == 201, created.text
        admin = firm_admin(gateway, f"{slug}.test")
        made = gateway.post("/api/v1/admin/programs",
                            program(f"{slug}-25k", f"{branding['name']} 25k"), admin,
                            headers={"Host": f"{slug}.test"})
        assert made.status_code == 201, made.text

    for slug, branding in FIRMS.items():
        other = next(b for s, b in FIRMS.items() if s != slug)
        page.goto(site(gateway, f"{slug}.test") + "/programs")
        expect(page).to_have_title(branding["name"])
        expect(page.get_by_test_id("firm-name")).to_have_text(branding["name"])
        expect(page.get_by_text(f"{branding['name']} 25k").first).to_be_visible()
        assert page.get_by_text(f"{other['name']} 25k").count() == 0
        # the firm's primary colour on a branded button, as the screen shows it
        button = page.get_by_role("link", name="Sign up")
        assert dominant_colour(button.screenshot()) == branding["primary_color"]
        shoot(page, f"branding-{slug}")
    page.goto(site(gateway) + "/programs")  # the platform's own firm sees neither
    assert page.get_by_text(re.compile("(Acme Funding|Beta Capital) 25k")).count() == 0
