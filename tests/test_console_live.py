"""The queue updates by itself in a real browser: a case that the real customer agent
(``python -m sosdesk.agent --headless sos``) asks for appears with its badge and
notification, and a status change made elsewhere arrives."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT
from console_helpers import LIVE_TIMEOUT, Console, browser, console, create_case, expect  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow


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
        # The customers waiting for an expert first: above the case made by hand before it.
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


def test_what_the_customer_types_in_the_window_reaches_the_queue_by_itself(console: Console) -> None:
    # "What do you need help with?" in the agent's window is sent as its agent does it
    # (tests/test_agent_window_customer.py types it on the screen): PUT /customer/case.
    server = console.server
    asked = server.sos("device-00000000000077", device={"hostname": "KIM-PC", "os": "Linux", "user": "kim"})
    code = asked["case"]["code"]
    page = console.open().login().page
    row = console.row(code)
    expect(row.locator(".c-problem")).to_have_text("—")
    page.evaluate("window.__noReload = true")
    said = server.api("PUT", "/api/v1/customer/case", token=asked["token"],
                      json={"description": "Outlook crashes when I open the calendar"})
    assert said.status_code == 200, said.text
    expect(row.locator(".c-problem")).to_have_text("Outlook crashes when I open the calendar",
                                                   timeout=LIVE_TIMEOUT)
    assert page.evaluate("window.__noReload") is True  # the live feed, not a reload
