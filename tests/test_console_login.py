"""The console's login in a real browser: a wrong password, login, logout, and a login
session that ends while the expert types (the text is kept)."""

from __future__ import annotations

import pytest

from conftest import EXPERT_PASSWORD
from console_helpers import CODE, Console, browser, console, expect  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


def test_login_wrong_password_then_login_and_logout(console: Console) -> None:
    page = console.open().page
    page.get_by_label("Name", exact=True).fill("anna")
    page.get_by_label("Password").fill("not the password")
    page.get_by_label("Password").press("Enter")  # the keyboard is enough
    expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
    expect(page.locator("#queue-view")).to_be_hidden()

    console.login()
    expect(page.locator("#who")).to_have_text("anna")
    expect(page.locator("#who")).to_have_attribute("title", "Logged in as anna")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    cookies = {c["name"]: c for c in console.context.cookies()}
    assert cookies["sosdesk_session"]["httpOnly"] is True

    page.reload()  # the cookie keeps the expert logged in
    expect(page.locator("#queue-view")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-view")).to_be_visible()
    page.reload()
    expect(page.locator("#login-view")).to_be_visible()


def test_expired_session_returns_to_login_and_keeps_typed_text(console: Console) -> None:
    server = console.server
    page = console.open().login().page
    page.get_by_role("button", name="New case").click()
    page.get_by_label("Customer name").fill("Gisela Brandt")
    page.get_by_label("Description").fill("Scanner not found after the move")

    # The login session ends on the server (as when it runs out).
    cookie = next(c["value"] for c in console.context.cookies() if c["name"] == "sosdesk_session")
    server.store.end_web_session(cookie)

    page.get_by_role("button", name="Create case").click()
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-notice")).to_contain_text("Your session has ended")
    expect(page.locator("#create-dialog")).to_be_hidden()
    expect(page.get_by_label("Name", exact=True)).to_have_value("anna")
    expect(page.get_by_label("Password")).to_be_focused()
    assert server.api("GET", "/api/v1/sessions").json()["sessions"] == []

    page.get_by_label("Password").fill(EXPERT_PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.locator("#create-dialog")).to_be_visible()
    expect(page.get_by_label("Customer name")).to_have_value("Gisela Brandt")
    expect(page.get_by_label("Description")).to_have_value("Scanner not found after the move")
    page.get_by_role("button", name="Create case").click()
    code = page.locator("#created-code")
    expect(code).to_have_text(CODE)
    case = server.api("GET", f"/api/v1/sessions/{code.text_content()}").json()
    assert case["end_customer"]["name"] == "Gisela Brandt"


def test_a_supporter_link_opens_the_console_at_its_case(console: Console) -> None:
    """A session's supporter_link (TeamViewer's field): the console at /case/<code>, after
    the log-in it asks for, shows that case; a reload then shows the queue."""
    server = console.server
    made = server.api("POST", "/api/v1/sessions", json={"description": "Linked case",
                                                        "groupname": "Deskpro"}).json()
    link = made["supporter_link"]
    assert link == f"{server.url}/case/{made['code']}"
    page = console.page
    page.goto(link)
    expect(page.locator("#login-view")).to_be_visible()
    console.login()
    dialog = page.locator("#detail-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#detail-heading")).to_contain_text(made["code"])
    expect(page.locator("#detail-fields")).to_contain_text("Linked case")
    expect(page.locator("#detail-fields")).to_contain_text("Deskpro")  # the group's name
    assert page.url == f"{server.url}/"
    page.locator("#detail-close").click()
    page.reload()
    expect(page.locator("#queue-view")).to_be_visible()
    expect(dialog).to_be_hidden()

    # Logged in already: straight to the case; an unknown one says so.
    page.goto(link)
    expect(page.locator("#detail-heading")).to_contain_text(made["code"])
    page.goto(f"{server.url}/case/s00-000-001")
    expect(page.locator("#flash")).to_contain_text("This case no longer exists.")  # in the console's words
    # A link that is no code at all: said in words, the queue stays usable.
    page.goto(f"{server.url}/case/not-a-code")
    expect(page.locator("#flash")).to_contain_text("s12-345-678")
    expect(page.locator("#queue-view")).to_be_visible()
    page.goto(f"{server.url}/case/%E0%A4%A")  # not even valid percent-encoding
    expect(page.locator("#queue-view")).to_be_visible()
    expect(dialog).to_be_hidden()
    assert console.errors == [] and console.dialogs == []
