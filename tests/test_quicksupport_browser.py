"""The end_customer_link in a real browser (Chromium through Playwright): what the
customer sees, the download as the browser saves it, a phone's narrow screen,
and a wrong link. The published agents are the fake base with a real stamp
(test_quicksupport_page.py); a real build joining its case: test_builder_e2e.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from builder_helpers import image
from conftest import LiveServer
from console_helpers import CHROMIUM_ARGS, browser, expect  # noqa: F401 (fixture)
from test_quicksupport_page import agent, publish

pytestmark = pytest.mark.slow


@pytest.fixture
def case(live_server: LiveServer, tmp_path: Path) -> dict:
    """An open case of group acme, whose module has a Linux and a Windows agent with a logo."""
    module = live_server.api("POST", "/api/v1/modules",
                             json={"name": "ACME Support", "groupname": "acme"}).json()
    logo = image(tmp_path / "logo.png", (64, 48)).read_bytes()
    for header in (b"\x7fELF", b"MZ"):
        answer = publish(live_server, module["module_id"],
                         agent(tmp_path, module["module_id"], header=header, logo=logo))
        assert answer.status_code == 200, answer.text
    made = live_server.api("POST", "/api/v1/sessions", json={"groupname": "acme"}).json()
    return {**made, "linux_agent": tmp_path / f"agent-{module['module_id']}-7f45"}


def open_page(browser, url: str, **context: object):
    """A fresh browser context on *url*; returns (page, problems the browser reported)."""
    ctx = browser.new_context(accept_downloads=True, **context)
    page = ctx.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    answer = page.goto(url)
    return page, answer, problems


def test_the_customer_sees_company_logo_code_and_downloads_the_agent(browser, case) -> None:
    page, answer, problems = open_page(browser, case["end_customer_link"], locale="en-US")
    assert answer.status == 200
    expect(page.locator("h1")).to_have_text("ACME Support")
    expect(page.locator(".code")).to_have_text(case["code"])
    logo = page.locator("img.logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]") == [True, 64, 48]
    # Chromium on Linux says so in its User-Agent: Linux first, Windows below.
    button = page.locator("a.download")
    expect(button).to_have_text("Download QuickSupport for Linux")
    expect(page.locator(".others a[data-os='windows']")).to_be_visible()
    assert page.locator("link[rel=stylesheet]").evaluate("l => l.sheet !== null")  # styled
    with page.expect_download() as started:
        button.click()
    download = started.value
    assert download.suggested_filename == f"ACME-Support-QuickSupport-{case['code']}"
    assert Path(download.path()).read_bytes() == case["linux_agent"].read_bytes()
    assert problems == []  # no CSP violation, no script error
    page.context.close()


def test_on_a_phone_in_german_everything_fits(browser, case) -> None:
    page, answer, problems = open_page(browser, case["end_customer_link"], locale="de-DE",
                                       viewport={"width": 360, "height": 640},
                                       is_mobile=True, has_touch=True)
    assert answer.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_text("Ihr Sitzungscode")).to_be_visible()
    for thing in (page.locator(".code"), page.locator("a.download")):
        expect(thing).to_be_in_viewport()
        box = thing.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert problems == []
    page.context.close()


def test_a_wrong_or_closed_link_says_so_in_the_browser(browser, case, live_server) -> None:
    live_server.api("PUT", f"/api/v1/sessions/{case['code']}", json={"state": "closed"})
    for url in (case["end_customer_link"], f"{live_server.url}/join/not-a-code"):
        page, answer, _ = open_page(browser, url, locale="en-US")
        assert answer.status == 404
        expect(page.locator("[data-reason='not_found']")).to_contain_text(
            "No open support session has this code")
        expect(page.locator("a.download")).to_have_count(0)
        page.context.close()
