"""Finding cases in the queue in a real browser: the open cases, the longest-waiting first
with how long they wait (live); search, sort by a column, My cases, the total, and pages
that keep their place while cases come and go."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from console_helpers import Console, browser, console, create_case, expect, sos  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def codes_shown(page) -> list[str]:
    return page.locator("#queue-body tr").evaluate_all("rows => rows.map(r => r.dataset.code)")


def shows(page, codes: list[str]) -> None:
    """Wait until the queue shows exactly *codes*, in this order."""
    rows = page.locator("#queue-body tr")
    expect(rows).to_have_count(len(codes))
    for n, code in enumerate(codes):
        expect(rows.nth(n)).to_have_attribute("data-code", code)


def test_open_cases_longest_waiting_first_and_how_long_they_wait(console: Console) -> None:
    server = console.server
    waiting = sos(server, 1, "Printer prints empty pages")["case"]
    made = create_case(server, "Bob Meyer", "New laptop")
    closed = create_case(server, "Carl Weber", "Outlook")
    server.api("PUT", f"/api/v1/sessions/{closed['code']}", json={"state": "closed"})
    newest = sos(server, 2, "Screen black", hostname="RECEPTION")["case"]
    page = console.page
    page.clock.install()  # the browser's clock, moved on below (the server's is real)
    page = console.open().login().page
    # The customers waiting for an expert first (the longest-waiting on top), then the rest.
    shows(page, [waiting["code"], newest["code"], made["code"]])
    expect(page.locator("#filter-status")).to_have_value("open")
    expect(page.locator("th[data-sort='waiting']")).to_have_attribute("aria-sort", "ascending")
    sos_time = console.row(waiting["code"]).locator(".c-created time")
    expect(sos_time).to_have_text("waiting <1 min")
    expect(console.row(made["code"]).locator(".c-created time")).to_have_text("<1 min ago")

    page.clock.fast_forward("07:10")  # seven minutes later, without a reload
    expect(sos_time).to_have_text("waiting 7 min")
    expect(console.row(made["code"]).locator(".c-created time")).to_have_text("7 min ago")
    created = datetime.fromisoformat(waiting["created_at"].replace("Z", "+00:00")).astimezone()
    title = sos_time.get_attribute("title")
    assert title and created.strftime("%H:%M") in title, title  # the absolute time on hover
    page.get_by_label("Language").select_option("de")
    expect(sos_time).to_have_text("wartet 7 min")
    expect(console.row(made["code"]).locator(".c-created time")).to_have_text("vor 7 min")


def test_search_by_code_name_email_host_and_problem(console: Console) -> None:
    server = console.server
    bob = create_case(server, "Bob Meyer", "Printer prints empty pages", email="bob@example.com")
    eva = create_case(server, "Eva Lindqvist", "VPN drops", email="eva@corp.example")
    desk = sos(server, 3, "Screen black after the update", hostname="RECEPTION-PC", user="empfang")["case"]
    page = console.open().login().page
    expect(page.locator("#page-label")).to_have_text("Page 1 · 1–3 of 3")
    expect(page.get_by_role("button", name="Next page")).to_be_hidden()  # one page
    search = page.get_by_label("Search")
    for typed, expected in [("meyer", [bob]), ("corp.example", [eva]), ("reception", [desk]),
                            ("printer EMPTY", [bob]), (eva["code"], [eva]),
                            (desk["code"].replace("-", "")[1:], [desk]), ("nobody at all", [])]:
        search.fill(typed)
        shows(page, [c["code"] for c in expected])
    expect(page.locator("#queue-empty")).to_be_visible()
    search.fill("")
    expect(page.locator("#queue-body tr")).to_have_count(3)


def test_sort_by_a_column_and_my_cases(console: Console) -> None:
    server = console.server
    server.add_expert("bernd")
    names = ["carla", "Anton", "bea", "Dora"]
    cases = {n: create_case(server, n, f"problem of {n}", assigned_userid="u1" if n in ("carla", "Dora") else "u2")
             for n in names}
    page = console.open().login().page
    expect(page.locator("#queue-body tr")).to_have_count(4)
    page.get_by_role("button", name="Customer", exact=True).click()
    header = page.locator("th[data-sort='customer']")
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("th[data-sort='waiting']")).not_to_have_attribute("aria-sort", re.compile("."))
    shows(page, [cases[n]["code"] for n in ["Anton", "bea", "carla", "Dora"]])
    page.get_by_role("button", name="Customer", exact=True).click()  # again: the other way round
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#queue-body tr").first).to_have_attribute("data-code", cases["Dora"]["code"])

    page.get_by_label("My cases").check()
    shows(page, [cases["Dora"]["code"], cases["carla"]["code"]])
    page.get_by_role("button", name="Assigned", exact=True).click()
    expect(page.locator("th[data-sort='assigned']")).to_have_attribute("aria-sort", "ascending")
    page.get_by_label("My cases").uncheck()
    expect(page.locator("#queue-body tr")).to_have_count(4)
    expect(page.locator("#queue-body tr").first.locator(".c-assigned")).to_have_text("anna")


def test_pages_show_the_total_and_keep_their_place_while_cases_change(console: Console) -> None:
    server = console.server
    codes = [create_case(server, f"Customer {i:02d}", "printer")["code"] for i in range(60)]
    page = console.open().login().page
    rows = page.locator("#queue-body tr")
    expect(page.locator("#page-label")).to_have_text("Page 1 · 1–25 of 60")
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#page-label")).to_have_text("Page 2 · 26–50 of 60")
    shows(page, codes[25:50])
    # Meanwhile two cases of page 1 are closed elsewhere, and a new one comes in: page 2
    # stays where it was (an offset would now start two cases later), the total follows,
    # and the range says page 2 now starts at the 24th case.
    for code in codes[:2]:
        server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    create_case(server, "Latecomer", "printer")
    expect(page.locator("#page-label")).to_have_text("Page 2 · 24–48 of 59")
    shows(page, codes[25:50])
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#page-label")).to_have_text("Page 3 · 49–59 of 59")
    expect(rows).to_have_count(11)
    expect(rows.first).to_have_attribute("data-code", codes[50])
    assert codes_shown(page)[:10] == codes[50:]
    page.get_by_role("button", name="Previous page").click()
    page.get_by_role("button", name="Previous page").click()
    expect(page.locator("#page-label")).to_have_text("Page 1 · 1–25 of 59")
    shows(page, codes[2:27])
