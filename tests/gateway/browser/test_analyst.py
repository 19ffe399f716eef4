"""The analyst's pages in Chromium, against a real gateway and history store: a risk user
opens Analytics from the menu, uploads a real MetaTrader report and keeps its history
under a name, then finds that account in the history explorer and reads it over a range
of days, and sees it in the cohorts; the pages accessible, at 1280 and 390 px, without
console errors."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.analytics import MT_REPORTS
from tests.gateway.conftest import Gateway

from .conftest import NARROW, WIDE, assert_accessible, log_in, no_console_errors, shoot, site

FTMO = MT_REPORTS / "mt5-history-propfirm-ftmo-1512497509.xlsx"


def fits(page: Page, where: str) -> None:
    """No sideways scrolling at 390 px, once the charts have followed the resize (their
    ResizeObserver redraws them a moment after the viewport changes)."""
    limit = NARROW["width"] + 1
    for _ in range(50):  # (wait_for_function evaluates a string: the page's CSP refuses it)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide <= limit:
            break
        page.wait_for_timeout(100)
    assert wide <= limit, f"{where} is {wide} px wide at 390"


def test_an_analyst_imports_a_report_and_explores_its_history(
        gateway: Gateway, page: Page) -> None:
    gateway.verified_user("ana@firm.test")
    gateway.promote("ana@firm.test", "risk")
    base = site(gateway)
    page.set_viewport_size(WIDE)
    log_in(page, base, "ana@firm.test")
    page.get_by_role("link", name="Analytics").click()
    page.wait_for_url(re.compile(r"/analyst$"))
    expect(page.get_by_role("heading", name="Cohorts")).to_be_visible()
    expect(page.get_by_text("No account opened in these cohorts.")).to_be_visible()
    page.get_by_role("link", name="Report import").click()
    page.wait_for_url(re.compile(r"/analyst/import$"))
    expect(page.get_by_role("heading", name="Report import")).to_be_visible()

    # The real report, kept under a name of the analyst's choosing.
    page.get_by_label("MetaTrader report").set_input_files(str(FTMO))
    page.get_by_label(re.compile("Keep this account's history")).check()
    page.get_by_label("Account name to keep it under").fill("ftmo-trial")
    page.get_by_role("button", name="Read the report").click()
    result = page.get_by_test_id("report-result")
    expect(result).to_contain_text("1512497509", timeout=30_000)
    expect(result).to_contain_text("kept as")
    statistics = page.get_by_test_id("statistics")
    expect(statistics).to_contain_text("5,025.89")  # MetaTrader's printed net loss
    expect(page.get_by_test_id("equity-chart").locator("canvas").first).to_be_visible()
    expect(page.get_by_test_id("calendar")).to_contain_text("58 tr.")
    page.mouse.move(0, 0)  # a hovered button is dimmed on purpose
    assert_accessible(page, "/analyst/import with a report")
    shoot(page, "analyst-import-1280")
    page.set_viewport_size(NARROW)
    fits(page, "/analyst/import")
    shoot(page, "analyst-import-390")
    page.set_viewport_size(WIDE)

    # A file that is not a report: the gateway's reason, shown.
    page.get_by_label("MetaTrader report").set_input_files(
        files=[{"name": "notes.html", "mimeType": "text/html",
                "buffer": b"<html><table><tr><td>hello</td></tr></table></html>"}])
    page.get_by_label(re.compile("Keep this account's history")).uncheck()
    page.get_by_role("button", name="Read the report").click()
    expect(page.get_by_role("alert")).to_contain_text("no Deals/Positions table found")

    # The kept account, found in the history explorer and read over its one day.
    page.get_by_role("link", name="History explorer").click()
    page.wait_for_url(re.compile(r"/analyst/history$"))
    page.get_by_label("Login or program").fill("FTMO")
    page.get_by_role("button", name=re.compile("ftmo-trial")).click()
    page.wait_for_url(re.compile(r"account=ftmo-trial"))
    expect(page.get_by_test_id("statistics")).to_contain_text("5,025.89", timeout=30_000)
    page.get_by_label("From (UTC day)").fill("2026-02-02")
    page.get_by_label("To (UTC day, included)").fill("2026-02-02")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"from=2026-02-02&to=2026-02-02"))
    expect(page.get_by_test_id("calendar")).to_contain_text("58 tr.")
    expect(page.get_by_test_id("equity-chart").locator("canvas").first).to_be_visible()
    # A day without trades: the statistics say so.
    page.get_by_label("From (UTC day)").fill("2026-01-05")
    page.get_by_label("To (UTC day, included)").fill("2026-01-05")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text(re.compile("No closed trade yet"))).to_be_visible()
    page.mouse.move(0, 0)
    assert_accessible(page, "/analyst/history")
    shoot(page, "analyst-history-1280")
    page.set_viewport_size(NARROW)
    page.goto(base + "/analyst/history?account=ftmo-trial")
    expect(page.get_by_test_id("statistics")).to_contain_text("5,025.89", timeout=30_000)
    fits(page, "/analyst/history")
    assert_accessible(page, "/analyst/history at 390 px")
    shoot(page, "analyst-history-390")

    # The kept account is a cohort of the program it was imported under.
    page.set_viewport_size(WIDE)
    page.goto(base + "/analyst?program=imported&period=month")
    table = page.get_by_test_id("cohorts-table")
    expect(table).to_contain_text("imported", timeout=30_000)
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    assert_accessible(page, "/analyst")
    shoot(page, "analyst-cohorts-1280")
    page.set_viewport_size(NARROW)
    fits(page, "/analyst")
    shoot(page, "analyst-cohorts-390")

    # The what-if designer opens (its run is covered by vitest against a stubbed gateway);
    # a slug that is no program says so.
    page.get_by_role("link", name="What-if").click()
    page.wait_for_url(re.compile(r"/analyst/what-if$"))
    page.get_by_label("Program slug").fill("no-such-program")
    page.get_by_role("button", name="Load its rules").click()
    expect(page.get_by_role("alert")).to_be_visible()
    fits(page, "/analyst/what-if")
    assert_accessible(page, "/analyst/what-if")
    no_console_errors(page)
