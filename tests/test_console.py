"""The expert console in a real browser: Playwright (sync API) driving Debian's
Chromium against the real in-process server (``live_server``).

One browser per module, a fresh browser context (cookies, storage) per test.
Screenshots go to test-artifacts/ (gitignored)."""

from __future__ import annotations

import json
import os
import queue
import re
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from conftest import EXPERT_PASSWORD, ROOT, LiveServer, require_module, require_tool

sync_api = require_module("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.slow

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
                      json={"state": "closed"}).status_code == 200
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


class Agent:
    """The real customer agent, ``python -m sosdesk.agent --headless sos``, its stdout read by a thread."""

    def __init__(self, tmp_path: Path, server_url: str) -> None:
        branding = tmp_path / "branding.json"
        branding.write_text(json.dumps({"company_name": "Test IT", "server_url": server_url,
                                        "create_shortcut": False}))
        home = tmp_path / "home"
        home.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")}
        env.update({"SOSDESK_CONFIG_DIR": str(tmp_path / "agent-config"), "HOME": str(home),
                    "XDG_CONFIG_HOME": str(home / ".config"),
                    "XDG_DATA_HOME": str(home / ".local" / "share"),
                    "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8",
                    "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sosdesk.agent", "--config", str(branding), "--headless",
             "--no-install", "sos"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, prefix: str, timeout: float = 20) -> str:
        """The next stdout line starting with *prefix*."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the agent exited before {prefix!r}; saw {self.seen}; "
                                     f"stderr {self.proc.stderr.read()!r}")
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no agent line {prefix!r} in {timeout} s; saw {self.seen}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


# -- the tests --------------------------------------------------------------------------

def test_login_wrong_password_then_login_and_logout(console: Console) -> None:
    page = console.open().page
    page.get_by_label("Name", exact=True).fill("anna")
    page.get_by_label("Password").fill("not the password")
    page.get_by_label("Password").press("Enter")  # the keyboard is enough
    expect(page.locator("#login-error")).to_have_text("Wrong name or password.")
    expect(page.locator("#queue-view")).to_be_hidden()

    console.login()
    expect(page.locator("#who")).to_have_text("Logged in as anna")
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    cookies = {c["name"]: c for c in console.context.cookies()}
    assert cookies["sosdesk_session"]["httpOnly"] is True

    page.reload()  # the cookie keeps the expert logged in
    expect(page.locator("#queue-view")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-view")).to_be_visible()
    page.reload()
    expect(page.locator("#login-view")).to_be_visible()


def test_agent_case_appears_live_with_badge_and_notification(console: Console,
                                                            tmp_path: Path) -> None:
    server = console.server
    first = create_case(server, "Eve Early", "already here")
    console.context.grant_permissions(["notifications"], origin=server.url)
    console.page.add_init_script(
        "window.__notifications = [];"
        "window.Notification = class extends Notification {"
        "  constructor(title, options) { super(title, options);"
        "    window.__notifications.push(title); } };")
    page = console.open().login().page
    expect(console.row(first["code"])).to_be_visible()
    console.row(first["code"]).get_by_role("checkbox").check()
    page.evaluate("window.__noReload = true")

    # The real customer agent asks for help (SOS) and starts its side of the session.
    agent = Agent(tmp_path, server.url)
    try:
        code = agent.expect("code ").split()[1]
        row = console.row(code)
        expect(row).to_be_visible(timeout=LIVE_TIMEOUT)
        expect(row.locator(".tag.sos")).to_have_text("SOS")
        expect(row.locator(".c-device")).to_contain_text(socket.gethostname())
        expect(row.locator(".status")).to_have_text("Pending", timeout=LIVE_TIMEOUT)
        expect(row).to_contain_text("customer is waiting")
        expect(page.locator("#sos-badge")).to_have_text("1 new SOS")
        assert page.evaluate("window.__noReload") is True
        # The live update kept the expert's selection.
        expect(console.row(first["code"]).get_by_role("checkbox")).to_be_checked()
        expect(page.locator("#delete-btn")).to_have_text("Delete selected (1)")
        assert page.evaluate("window.__notifications") == [f"New SOS: {code}"]
        assert page.locator("#queue-body tr").first.get_attribute("data-code") == code

        # Connect in the browser opens the session view and asks the customer; the agent
        # sees the expert. The case stays pending until the customer allows viewing.
        row.get_by_role("button", name="Connect").click()
        expect(page.locator("#session-status")).to_have_text("Waiting for the customer's consent…")
        agent.expect("status pending expert=anna")
        page.get_by_role("button", name="Back to the queue").click()
        expect(row.locator(".status")).to_have_text("Pending")
        row.get_by_role("button", name="Close").click()
        page.locator("#confirm-dialog").get_by_role("button", name="Close case").click()
        agent.expect("status closed")
        assert agent.proc.wait(15) == 0
    finally:
        agent.stop()

    # A status change made elsewhere arrives by itself too.
    assert server.api("POST", f"/api/v1/sessions/{first['code']}/connect").status_code == 200
    expect(console.row(first["code"]).locator(".status")).to_have_text("Pending",
                                                                       timeout=LIVE_TIMEOUT)
    page.locator("#sos-badge").click()
    expect(page.locator("#sos-badge")).to_be_hidden()


def test_create_case_by_hand_shows_the_code(console: Console) -> None:
    console.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                      origin=console.server.url)
    page = console.open().login().page
    page.get_by_role("button", name="New case").click()
    dialog = page.locator("#create-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_label("Customer name")).to_be_focused()
    page.get_by_label("Customer name").fill("Frank Huber")
    page.get_by_label("E-mail").fill("not-an-address")
    page.get_by_label("Description").fill("Cannot reach the shared drive")
    dialog.get_by_label("Group").fill("office")
    page.get_by_label("Assignee").select_option(label="anna")
    page.get_by_label("Valid for").select_option(label="4 hours")
    console.shot("console-create-dialog.png")
    page.get_by_role("button", name="Create case").click()
    # The server's validation shows at the field.
    expect(page.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#c-email-error")).to_contain_text("e-mail")
    page.get_by_label("E-mail").fill("frank@example.com")
    page.get_by_role("button", name="Create case").click()

    code = page.locator("#created-code")
    expect(code).to_be_visible()
    text = code.text_content()
    assert CODE.match(text), text
    console.shot("console-create-code.png")
    page.get_by_role("button", name="Copy code").click()
    expect(page.locator("#copy-status")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == text

    case = console.server.api("GET", f"/api/v1/sessions/{text}").json()
    assert case["end_customer"] == {"name": "Frank Huber", "email": "frank@example.com"}
    assert case["groupid"] == "office" and case["assigned_name"] == "anna"
    assert case["created_by"] == "expert:1" and case["status"] == "new"
    hours = (datetime.fromisoformat(case["valid_until"].replace("Z", "+00:00"))
             - datetime.now(timezone.utc)).total_seconds() / 3600
    assert 3.9 < hours <= 4.0

    page.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    expect(console.row(text)).to_contain_text("Frank Huber")


def test_select_two_and_delete_after_confirmation(console: Console) -> None:
    server = console.server
    cases = [create_case(server, f"Customer {i}", f"problem {i}") for i in range(3)]
    page = console.open().login().page
    for case in cases[:2]:
        console.row(case["code"]).get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete selected (2)").click()

    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete 2 cases?")
    page.keyboard.press("Escape")  # cancelling deletes nothing
    expect(dialog).to_be_hidden()
    for case in cases:
        assert server.api("GET", f"/api/v1/sessions/{case['code']}").status_code == 200

    page.get_by_role("button", name="Delete selected (2)").click()
    expect(dialog).to_contain_text("Delete 2 cases?")
    requests_seen: list = []
    page.on("request", lambda r: requests_seen.append(r) if "/api/v1/sessions" in r.url
            and r.method != "GET" else None)
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator("#flash")).to_have_text("2 cases deleted.")
    # One request, with the login session's CSRF token.
    assert [(r.method, r.url.split("/api/v1")[1]) for r in requests_seen] == \
        [("POST", "/sessions/delete")]
    csrf = page.evaluate("fetch('/api/v1/me').then(r => r.json()).then(d => d.csrf_token)")
    assert requests_seen[0].headers.get("x-csrf-token") == csrf
    assert sorted(requests_seen[0].post_data_json["codes"]) == sorted(c["code"] for c in cases[:2])
    for case in cases[:2]:
        expect(console.row(case["code"])).to_have_count(0)
        response = server.api("GET", f"/api/v1/sessions/{case['code']}")
        assert response.status_code == 404, response.text
    expect(console.row(cases[2]["code"])).to_be_visible()
    expect(page.locator("#delete-btn")).to_be_disabled()


def test_connect_customer_start_close_and_history(console: Console) -> None:
    server = console.server
    made = sos(server, 3, "Mail client will not start")
    code, token = made["case"]["code"], made["token"]
    page = console.open().login().page
    row = console.row(code)
    row.get_by_role("button", name="Connect").click()
    expect(page.locator("#session-view")).to_be_visible()
    page.get_by_role("button", name="Back to the queue").click()
    expect(row.locator(".status")).to_have_text("Pending")
    expect(row).to_contain_text("waiting for the customer")
    expect(row).to_contain_text("anna")
    expect(row.get_by_role("button", name="Connect")).to_have_count(0)

    # The customer starts: still pending (nobody sees a screen yet).
    response = server.api("POST", "/api/v1/customer/case/start", token=token)
    assert response.status_code == 200, response.text
    expect(row.locator(".status")).to_have_text("Pending", timeout=LIVE_TIMEOUT)
    # The customer allows viewing while the expert's session view is open: in progress.
    row.get_by_role("button", name="Session").click()
    allowed = server.api("POST", "/api/v1/customer/session/consent", token=token,
                         json={"what": "view", "allow": True})
    assert allowed.status_code == 200, allowed.text
    expect(page.locator("#session-status")).to_have_text("Viewing the customer's screen")
    page.get_by_role("button", name="Back to the queue").click()
    expect(row.locator(".status")).to_have_text("In progress", timeout=LIVE_TIMEOUT)
    expect(row).not_to_contain_text("waiting for the customer")

    row.get_by_role("button", name="Close").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text(f"Close case {code}?")
    dialog.get_by_role("button", name="Close case").click()
    expect(row.locator(".status")).to_have_text("Closed")
    assert server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "closed"

    row.get_by_role("button", name=f"Details of case {code}").focus()
    page.keyboard.press("Enter")  # keyboard only
    detail = page.locator("#detail-dialog")
    expect(detail).to_be_visible()
    history = detail.locator("#history-body tr")
    expected = [("Customer", "created", "New"), ("Expert anna", "started the session", "New → Pending"),
                ("Expert anna", "asked to see the screen", "Pending"),
                ("Customer", "started the session", "Pending"),
                ("Customer", "allowed viewing the screen", "Pending"),
                ("Customer", "session established: both connected", "Pending → In progress"),
                ("Expert anna", "closed", "In progress → Closed")]
    expect(history).to_have_count(len(expected))
    for n, (who, what, change) in enumerate(expected):
        expect(history.nth(n).locator("td").nth(1)).to_have_text(who)
        expect(history.nth(n).locator("td").nth(2)).to_have_text(what)
        expect(history.nth(n).locator("td").nth(3)).to_have_text(change)
    console.shot("console-detail.png")
    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()


def test_queue_in_english_and_german_with_every_status(console: Console) -> None:
    cases = populate(console.server)
    console.context.grant_permissions(["notifications"], origin=console.server.url)
    page = console.open().login().page
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
        ["Alle", "Offen", *expected.values()])
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
        expect(page.locator("#queue-body tr")).to_have_count(5)
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


def test_modules_list_and_revoke_with_confirmation(console: Console) -> None:
    server = console.server
    response = server.api("POST", "/api/v1/modules", json={"name": "Acme GmbH", "groupid": "acme"})
    assert response.status_code == 201, response.text
    module = response.json()
    page = console.open().login().page
    page.get_by_role("button", name="Modules & groups").click()
    row = page.locator(f"#modules-body tr[data-module='{module['module_id']}']")
    expect(row).to_contain_text("Acme GmbH")
    expect(row).to_contain_text("Active")
    expect(page.locator("#groups-list")).to_contain_text("acme")

    row.get_by_role("button", name="Revoke module Acme GmbH").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_contain_text("Acme GmbH")
    console.shot("console-modules-revoke.png")
    dialog.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("Revoked")
    assert server.api("GET", f"/api/v1/modules/{module['module_id']}").json()["active"] is False
    refused = server.api("POST", "/api/v1/customer/sos", token=None,
                         json={"device_id": "device-0000000000099", "module_id": module["module_id"]})
    assert refused.status_code == 403


def test_a_group_opens_its_queue_and_the_language_follows_on_modules(console: Console) -> None:
    server = console.server
    office = create_case(server, "Carl Weber", "Outlook asks for the password", groupid="office")
    other = create_case(server, "Dora Fischer", "VPN drops", groupid="default")
    page = console.open().login().page
    expect(console.row(other["code"])).to_be_visible()
    page.get_by_role("button", name="Modules & groups").click()
    expect(page.locator("#modules-view")).to_be_visible()
    page.get_by_label("Language").select_option("de")
    expect(page.get_by_role("button", name="Warteschlange der Gruppe office anzeigen")).to_be_visible()
    expect(page.locator("#modules-view")).to_be_visible()
    page.get_by_role("button", name="Warteschlange der Gruppe office anzeigen").click()
    expect(page.locator("#queue-view")).to_be_visible()
    expect(page.locator("#modules-view")).to_be_hidden()
    expect(page.locator("#nav .tab[data-view='queue']")).to_have_attribute("aria-current", "page")
    expect(page.locator("#filter-group")).to_have_value("office")
    expect(page.locator("#queue-body tr")).to_have_count(1)
    expect(console.row(office["code"])).to_be_visible()


def test_paging_through_a_long_queue(console: Console) -> None:
    server = console.server
    codes = [create_case(server, f"Customer {i:02d}", "printer")["code"] for i in range(30)]
    page = console.open().login().page
    rows = page.locator("#queue-body tr")
    expect(rows).to_have_count(25)
    assert rows.first.get_attribute("data-code") == codes[-1]  # newest first
    expect(page.locator("#page-label")).to_have_text("Page 1 · 1–25")
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(5)
    expect(page.locator("#page-label")).to_have_text("Page 2 · 26–30")
    assert rows.last.get_attribute("data-code") == codes[0]
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(25)
