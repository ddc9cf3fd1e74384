"""What the browser tests of the expert console share: Playwright (sync API) driving
Debian's Chromium against the real in-process server (``live_server``), and helpers
that make cases through the real API.

One browser per test module, a fresh browser context (cookies, storage) per test.
Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from conftest import EXPERT_PASSWORD, ROOT, LiveServer, require_module, require_tool

sync_api = require_module("playwright.sync_api")
expect = sync_api.expect

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CODE = re.compile(r"^s\d{2}-\d{3}-\d{3}$")
LIVE_TIMEOUT = 5000  # ms: "updates by itself within a few seconds"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    chromium = require_tool("chromium")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """One browser context on the live server, with what a test needs to watch."""

    def __init__(self, browser, server: LiveServer, width: int = 1280, height: int = 800) -> None:
        self.server = server
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           base_url=server.url, locale="en-US")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10000)
        self.dialogs: list[str] = []  # alert/confirm/prompt: the console must never use them
        self.errors: list[str] = []  # uncaught exceptions and CSP violations
        self.page.on("dialog", self._on_dialog)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", self._on_console)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _on_console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"csp: {message.text}")

    def open(self) -> "Console":
        self.page.goto("/")
        expect(self.page.locator("#login-view")).to_be_visible()
        return self

    def login(self, name: str = "anna", password: str = EXPERT_PASSWORD) -> "Console":
        self.page.get_by_label("Name", exact=True).fill(name)
        self.page.get_by_label("Password").fill(password)
        self.page.get_by_role("button", name="Log in").click()
        expect(self.page.locator("#queue-view")).to_be_visible()
        self.wait_live()
        return self

    def wait_live(self) -> None:
        expect(self.page.locator("#live[data-ok='1']")).to_be_visible()

    def row(self, code: str):
        return self.page.locator(f"#queue-body tr[data-code='{code}']")

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path))
        return path


@pytest.fixture
def console(browser, live_server: LiveServer) -> Iterator[Console]:
    console = Console(browser, live_server)
    try:
        yield console
        assert console.errors == [], console.errors
        assert console.dialogs == [], console.dialogs
    finally:
        console.context.close()


# -- helpers that go through the real API -----------------------------------------------

def create_case(server: LiveServer, name: str, description: str = "", **fields) -> dict:
    body = {"end_customer": {"name": name, "email": fields.pop("email", "")},
            "description": description, **fields}
    response = server.api("POST", "/api/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def sos(server: LiveServer, n: int, description: str, hostname: str = "PC-7", user: str = "bob",
        **body) -> dict:
    """A case as the customer's agent creates it: the agent's own HTTP call."""
    return server.sos(f"device-{n:016d}", device={"hostname": hostname, "os": "Windows 11",
                                                  "user": user},
                      description=description, **body)


def in_hours(hours: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def populate(server: LiveServer) -> dict[str, dict]:
    """A realistic queue with every status."""
    expired = create_case(server, "Dora Fischer", "VPN drops every few minutes",
                          valid_until=(datetime.now(timezone.utc) + timedelta(seconds=2))
                          .strftime("%Y-%m-%dT%H:%M:%SZ"))
    closed = create_case(server, "Carl Weber", "Outlook keeps asking for the password",
                         email="carl@example.com", groupid="office")
    assert server.api("PUT", f"/api/v1/sessions/{closed['code']}",
                      json={"state": "closed"}).status_code == 204
    progress = sos(server, 1, "Printer on floor 2 prints empty pages", hostname="ACC-PC-12",
                   user="j.schmidt")
    establish(server, progress["case"]["code"], progress["token"])
    pending = create_case(server, "Bob Meyer", "New laptop needs the ERP client installed",
                          email="bob@example.com", groupid="office", valid_until=in_hours(0.5))
    assert server.api("POST", f"/api/v1/sessions/{pending['code']}/connect").status_code == 200
    new = sos(server, 2, "Screen stays black after the update", hostname="RECEPTION",
              user="empfang")
    time.sleep(2.2)  # the first case passes its validity and becomes "expired"
    return {"expired": expired, "closed": closed, "in_progress": progress["case"],
            "pending": pending, "new": new["case"]}


def establish(server: LiveServer, code: str, token: str) -> None:
    """In progress, as the remote session makes it: Connect, the customer starts and allows
    viewing, the expert's viewer attaches (its long-poll, here once over HTTP)."""
    assert server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
    assert server.api("POST", "/api/v1/customer/case/start", token=token).status_code == 200
    allowed = server.api("POST", "/api/v1/customer/session/consent", token=token,
                         json={"what": "view", "allow": True})
    assert allowed.status_code == 200, allowed.text
    assert server.api("GET", f"/api/v1/sessions/{code}/remote").status_code == 200
    assert server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "in_progress"
