"""How the console holds up on a screen, in a real browser: 15 or more cases at
1280x800 without scrolling sideways and with columns that stay put between pages, the
German top bar on one line, a compact top bar at 400 px, flash messages that follow a
language switch, and the optional sound on a new SOS."""

from __future__ import annotations

import pytest

from conftest import LiveServer
from console_helpers import Console, browser, console, create_case, expect, sos  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

LONG_NAME = "Hans-Peter Müller-Lüdenscheidt"
LONG_PROBLEM = ("Excel macro fails with error 1004 since Monday's update, urgent for the month-end "
                "closing of the accounts department")


def realistic_queue(server: LiveServer, n: int = 40) -> None:
    """Long names, e-mails and problems, SOS cases with devices, some connected."""
    for i in range(n):
        if i % 3 == 0:
            sos(server, 100 + i, LONG_PROBLEM, hostname=f"ACCOUNTING-WS-{i:03d}", user="h.mueller")
        else:
            made = create_case(server, f"{LONG_NAME} {i}", LONG_PROBLEM, groupid="accounting",
                               email=f"hans-peter.mueller-luedenscheidt{i}@example-holding.com")
            if i % 4 == 1:
                server.api("POST", f"/api/v1/sessions/{made['code']}/connect")


def column_widths(page) -> list[float]:
    return page.locator("#queue thead th").evaluate_all("ths => ths.map(th => th.getBoundingClientRect().width)")


def rows_in_view(page) -> int:
    return page.locator("#queue-body tr").evaluate_all(
        "rows => rows.filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length")


def no_sideways_scroll(page) -> None:
    sizes = page.evaluate("""() => ({page: document.documentElement.scrollWidth, view: innerWidth,
        wrap: document.querySelector('.table-wrap').scrollWidth,
        wrapView: document.querySelector('.table-wrap').clientWidth})""")
    assert sizes["page"] <= sizes["view"] and sizes["wrap"] <= sizes["wrapView"], sizes


@pytest.mark.parametrize("language", ["en", "de"])
def test_fifteen_cases_fit_at_1280x800_and_the_columns_stay_put(console: Console, language: str) -> None:
    realistic_queue(console.server)
    page = console.open().login().page
    if language == "de":
        page.get_by_label("Language").select_option("de")
    expect(page.locator("#queue-body tr")).to_have_count(25)
    assert rows_in_view(page) >= 15, f"only {rows_in_view(page)} cases on a 1280x800 screen"
    no_sideways_scroll(page)
    heights = page.locator("#queue-body tr").evaluate_all("rows => rows.map(r => r.offsetHeight)")
    assert max(heights) == min(heights), f"rows of different heights: {sorted(set(heights))}"
    # Connect and Close side by side, not stacked; whole, not cut off.
    for row in (page.locator("#queue-body tr").first, page.locator("#queue-body tr").nth(1)):
        buttons = row.locator(".c-actions button")
        boxes = [buttons.nth(i).bounding_box() for i in range(buttons.count())]
        assert len({round(b["y"]) for b in boxes}) == 1, boxes
        cell = row.locator(".c-actions").bounding_box()
        assert all(b["x"] + b["width"] <= cell["x"] + cell["width"] for b in boxes), (boxes, cell)
    for what in (".c-left time", ".c-created time", ".c-code .code-link"):  # never cut off
        cut = page.locator(f"#queue-body {what}").evaluate_all(
            "els => els.filter(e => e.closest('.cv').scrollWidth > e.closest('.cv').clientWidth).length")
        assert cut == 0, f"{what} cut off in {cut} rows"
    console.shot(f"console-density-{language}.png")
    first = column_widths(page)
    page.get_by_role("button", name={"en": "Next page", "de": "Nächste Seite"}[language]).click()
    expect(page.locator("#queue-body tr")).to_have_count(15)
    assert column_widths(page) == first


def test_the_german_top_bar_is_one_line_even_with_the_sos_badge(console: Console) -> None:
    page = console.open().login().page
    page.get_by_label("Language").select_option("de")
    sos(console.server, 1, "Drucker")
    expect(page.locator("#sos-badge")).to_have_text("1 neues SOS")
    tops = page.locator(".topbar > :not([hidden]), .top-menu > :not([hidden])").evaluate_all(
        "els => els.filter(e => getComputedStyle(e).display !== 'none')"
        ".map(e => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2))")
    assert max(tops) - min(tops) <= 4, f"the top bar wraps: {tops}"
    assert page.locator(".topbar").bounding_box()["height"] <= 56
    console.shot("console-topbar-de.png")


def test_a_flash_message_follows_the_language_switch(console: Console) -> None:
    made = create_case(console.server, "Bob", "printer")
    page = console.open().login().page
    console.row(made["code"]).get_by_role("button", name="Close").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Close case").click()
    expect(page.locator("#flash")).to_have_text(f"Case {made['code']} closed.")
    page.get_by_label("Language").select_option("de")
    expect(page.locator("#flash")).to_have_text(f"Fall {made['code']} geschlossen.")


def test_the_top_bar_is_compact_at_400px(browser, live_server: LiveServer) -> None:
    realistic_queue(live_server, 4)
    console = Console(browser, live_server, width=400, height=860)
    try:
        page = console.open().login().page
        page.get_by_role("button", name="Settings and log-out").click()
        page.get_by_label("Language").select_option("de")  # choosing closes the menu
        expect(page.get_by_label("Sprache")).to_be_hidden()
        bar = page.locator(".topbar").bounding_box()
        assert bar["height"] <= 60, f"the top bar takes {bar['height']} px"
        expect(page.get_by_role("button", name="Abmelden", exact=True)).to_be_hidden()  # folded into the menu
        menu = page.get_by_role("button", name="Einstellungen und Abmelden")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("button", name="Abmelden", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Ton")).to_be_visible()
        console.shot("console-menu-narrow-de.png")
        page.keyboard.press("Escape")
        expect(page.get_by_role("button", name="Abmelden", exact=True)).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        console.shot("console-queue-narrow-de.png")
        assert console.errors == [] and console.dialogs == []
    finally:
        console.context.close()


#: Counts the tones the console plays, and whether the browser let them sound.
TONES = """window.__tones = [];
const start = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (when) {
  window.__tones.push({hz: this.frequency.value, state: this.context.state});
  return start.call(this, when);
};"""


def test_the_sound_on_a_new_sos_is_off_until_switched_on_and_remembered(console: Console) -> None:
    console.context.add_init_script(TONES)
    page = console.open().login().page
    sound = page.get_by_role("button", name="Sound")
    expect(sound).to_have_attribute("aria-pressed", "false")
    # The first load (the cases there before: no alert for them) is done, so an SOS from now
    # on is new; under load it could otherwise arrive within that first load.
    expect(page.locator("#page-label")).to_have_text("Page 1")
    first = sos(console.server, 1, "Printer")["case"]
    expect(console.row(first["code"])).to_be_visible()
    expect(page.locator("#sos-badge")).to_have_text("1 new SOS")
    assert page.evaluate("window.__tones") == []  # off by default: silence

    sound.click()  # on: a short sample plays at once
    expect(sound).to_have_attribute("aria-pressed", "true")
    assert [t["hz"] for t in page.evaluate("window.__tones")] == [880, 1175]
    page.reload()
    expect(page.get_by_role("button", name="Sound")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("heading", name="Queue").click()  # any click lets the page play sound
    page.evaluate("window.__tones = []")
    second = sos(console.server, 2, "Scanner")["case"]
    expect(console.row(second["code"])).to_be_visible()
    page.wait_for_function("window.__tones.length === 2")
    assert page.evaluate("window.__tones") == [{"hz": 880, "state": "running"}, {"hz": 1175, "state": "running"}]

    page.get_by_role("button", name="Sound").click()  # off again, and remembered
    page.reload()
    expect(page.get_by_role("button", name="Sound")).to_have_attribute("aria-pressed", "false")
    page.evaluate("window.__tones = []")
    third = sos(console.server, 3, "Mouse")["case"]
    expect(console.row(third["code"])).to_be_visible()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__tones") == []
