"""The queue in a real browser: every status in English and German, the filters, a
narrow window, case data shown as text (never markup), paging."""

from __future__ import annotations

import os
import re

import pytest

from conftest import ROOT, LiveServer
from console_helpers import XSS, Console, browser, console, create_case, expect, populate, sos  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_queue_in_english_and_german_with_every_status(console: Console) -> None:
    cases = populate(console.server)
    console.context.grant_permissions(["notifications"], origin=console.server.url)
    page = console.open().login().page
    # By default the open cases, the longest-waiting first: the closed and expired are not shown.
    expect(page.locator("#queue-body tr")).to_have_count(3)
    page.locator("#filter-status").select_option("")  # All
    expect(page.locator("#queue-body tr")).to_have_count(5)
    # One more SOS while the expert watches: badge and highlighted row.
    cases["new"] = sos(console.server, 9, "Cannot print invoices from the ERP",
                       hostname="LAGER-02", user="m.wagner")["case"]
    expect(page.locator("#sos-badge")).to_have_text("1 new SOS")
    expect(console.row(cases["new"]["code"])).to_have_class(re.compile("fresh"))
    for status, case in cases.items():
        expect(console.row(case["code"]).locator(".status")).to_have_attribute("data-status", status)
    expect(console.row(cases["pending"]["code"]).locator(".c-left")).to_have_class(re.compile("soon"))
    unlabelled = page.evaluate("""() => [...document.querySelectorAll(
        'input, select, textarea, button')].filter(e => !((e.labels && e.labels.length)
        || e.getAttribute('aria-label') || e.textContent.trim())).map(e => e.outerHTML)""")
    assert unlabelled == [], "controls without a label: %s" % unlabelled
    shot = console.shot("console-queue-en.png")
    assert shot.stat().st_size < 300_000
    if os.environ.get("SOSDESK_UPDATE_DOCS") == "1":  # refresh the README's screenshot on purpose
        (ROOT / "docs" / "console-queue.png").write_bytes(shot.read_bytes())

    page.get_by_label("Language").select_option("de")
    expect(page.get_by_role("heading", name="Warteschlange")).to_be_visible()
    expected = {"new": "Neu", "pending": "Ausstehend", "in_progress": "In Bearbeitung",
                "closed": "Geschlossen", "expired": "Abgelaufen"}
    for status, label in expected.items():
        expect(console.row(cases[status]["code"]).locator(".status")).to_have_text(label)
    expect(page.get_by_role("button", name="Neuer Fall")).to_be_visible()
    expect(page.locator("#filter-status option")).to_contain_text(
        ["Offen", "Alle", *expected.values()])
    expect(page.locator("html")).to_have_attribute("lang", "de")
    console.shot("console-queue-de.png")

    page.reload()  # the choice is remembered
    expect(page.get_by_role("heading", name="Warteschlange")).to_be_visible()
    expect(console.row(cases["new"]["code"]).locator(".status")).to_have_text("Neu")
    assert page.evaluate("localStorage.getItem('sosdesk.lang')") == "de"

    # The filters: by status, then by group.
    page.locator("#filter-status").select_option("in_progress")
    expect(page.locator("#queue-body tr")).to_have_count(1)
    expect(console.row(cases["in_progress"]["code"])).to_be_visible()
    page.locator("#filter-status").select_option("")
    page.locator("#filter-group").select_option("office")
    expect(page.locator("#queue-body tr")).to_have_count(2)


def test_narrow_window(browser, live_server: LiveServer) -> None:
    populate(live_server)
    console = Console(browser, live_server, width=400, height=860)
    try:
        page = console.open().page
        console.shot("console-login-narrow.png")
        console.login()
        expect(page.locator("#queue-body tr")).to_have_count(3)  # the open cases
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"the page is {width}px wide in a 400px window"
        console.shot("console-queue-narrow.png")
        page.get_by_role("button", name="New case").click()
        console.shot("console-create-narrow.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        assert console.errors == [] and console.dialogs == []
    finally:
        console.context.close()


def test_html_in_case_data_is_shown_as_text(console: Console) -> None:
    server = console.server
    made = create_case(server, XSS, "<script>alert(2)</script><b>bold?</b>",
                       email="x@example.com")
    agent = sos(server, 4, '"><svg onload=alert(3)>', hostname="<i>host</i>")["case"]
    page = console.open().login().page
    row = console.row(made["code"])
    expect(row.locator(".c-customer .strong")).to_have_text(XSS)
    expect(row.locator(".c-problem")).to_have_text("<script>alert(2)</script><b>bold?</b>")
    expect(console.row(agent["code"]).locator(".c-device")).to_contain_text("<i>host</i>")
    expect(console.row(agent["code"]).locator(".c-problem")).to_have_text('"><svg onload=alert(3)>')
    counts = page.evaluate("""() => ({
        img: document.querySelectorAll('#queue-body img, #queue-body svg').length,
        b: document.querySelectorAll('#queue-body b, #queue-body i, #queue-body script').length})""")
    assert counts == {"img": 0, "b": 0}

    row.get_by_role("button", name=f"Details of case {made['code']}").click()
    expect(page.locator("#detail-fields")).to_contain_text(XSS)
    assert page.locator("#detail-dialog img").count() == 0
    page.get_by_role("button", name="Done").click()
    page.wait_for_timeout(300)  # give an injected handler every chance to fire
    assert console.dialogs == []


def test_paging_through_a_long_queue(console: Console) -> None:
    server = console.server
    codes = [create_case(server, f"Customer {i:02d}", "printer")["code"] for i in range(30)]
    page = console.open().login().page
    rows = page.locator("#queue-body tr")
    expect(rows).to_have_count(25)
    assert rows.first.get_attribute("data-code") == codes[0]  # the longest-waiting first
    expect(page.locator("#page-label")).to_have_text("Page 1 · 1–25 of 30")
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(page.locator("#page-label")).to_have_text("Page 2 · 26–30 of 30")
    assert rows.last.get_attribute("data-code") == codes[-1]
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(25)


def test_a_page_stays_put_while_cases_come_and_go(console: Console) -> None:
    """The console pages by the queue's keyset cursor (GET /api/v1/queue): on page 2, cases
    made meanwhile or deleted from page 1 neither push page 1's cases onto it nor take any
    of its own away; the total follows."""
    server = console.server
    codes = [create_case(server, f"Customer {i:02d}", "printer")["code"] for i in range(30)]
    page = console.open().login().page
    rows = page.locator("#queue-body tr")

    def shown() -> list[str]:
        return [rows.nth(i).get_attribute("data-code") for i in range(rows.count())]

    expect(rows).to_have_count(25)
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#page-label")).to_have_text("Page 2 · 26–30 of 30")
    assert shown() == codes[25:]  # nobody waits for these: the oldest first

    newcomers = [create_case(server, f"Newcomer {i}", "vpn")["code"] for i in range(3)]
    server.api("PUT", f"/api/v1/sessions/{codes[27]}", json={"description": "changed"})
    expect(page.locator("#queue-body")).to_contain_text("changed")  # live: it was refreshed
    expect(page.locator("#page-label")).to_have_text("Page 2 · 26–33 of 33")
    assert shown() == codes[25:] + newcomers, "the newest at the end, none of page 1's"

    # Page 1's last case, which page 2 continues after, is deleted: page 2 stays as it is,
    # and its range says where it starts now.
    assert server.api("DELETE", f"/api/v1/sessions/{codes[24]}").status_code == 200
    expect(page.locator("#page-label")).to_have_text("Page 2 · 25–32 of 32")
    assert shown() == codes[25:] + newcomers
    page.get_by_role("button", name="Previous page").click()
    expect(rows.first).to_have_attribute("data-code", codes[0])
    expect(rows.last).to_have_attribute("data-code", codes[25])  # moved up into the gap
    assert console.errors == [] and console.dialogs == []
