"""The remote session with everything real: the ``sos-server`` process, the customer's
``sos-agent`` process with its window on Xvfb 1280x800 beside a test window with a known
picture, and the expert console in Chromium (Playwright). The customer's clicks are
xdotool's on the agent's windows, found by their names; the expert's are the browser's.

What is checked is what each side SEES: the canvas against the Xvfb screen, the text
that arrives in the test window, the console's status line, the agent's windows (the
question, the bar) and its own log of the chat it showed. With SOSDESK_UPDATE_DOCS=1
the screenshots in docs/ are made again from the run."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from PIL import Image

from console_helpers import ARTIFACTS, browser, expect  # noqa: F401 (the browser fixture)
from remote_session_helpers import (ALLOW, PICTURE_AT, STATUS, STATUS_DE, UPDATE_DOCS, Server, agent_case,  # noqa: F401
                                    canvas_image, consoles, near, open_console, page_point, picture, save_doc,
                                    screen, screen_shot, server, shows_the_screen, start_customer, typed)
from xscreen import PictureApp, XScreen, wait_until

pytestmark = pytest.mark.slow


# -- the tests -----------------------------------------------------------------------------------

def test_connect_allow_view_control_type_chat_and_stop(browser, consoles, server: Server, screen: XScreen,
                                                       picture: PictureApp, tmp_path: Path, agents: list) -> None:
    customer = start_customer(agents, tmp_path, server, screen)
    code = agent_case(server)
    console = open_console(browser, consoles, server)
    page = console.page
    status = page.locator("#session-status")

    # Connect: the customer is asked; nothing is shared before Allow.
    console.row(code).get_by_role("button", name="Connect").click()
    expect(status).to_have_text(STATUS["waiting"])
    customer.question()
    consent_shot = screen_shot(screen, "e2e-consent.png")
    page.wait_for_timeout(1000)
    assert canvas_image(page) is None
    assert server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "pending"

    # Allow: the canvas shows the customer's screen, the test window in it; a change follows.
    customer.allow()
    expect(status).to_have_text(STATUS["viewing"])
    wait_until("the canvas showing the Xvfb screen", lambda: shows_the_screen(page, screen), timeout=30)
    assert customer.bar() is not None
    assert server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "in_progress"
    picture.repaint((255, 0, 255))
    x, y, w, h, _ = PictureApp.BLOCKS[0]
    middle = (PICTURE_AT[0] + x + w // 2, PICTURE_AT[1] + y + h // 2)
    wait_until("the repainted block on the canvas",
               lambda: (lambda c: c is not None and near(c.getpixel(middle), (255, 0, 255)))(canvas_image(page)))

    # Control: asked separately, allowed with xdotool; the expert's click and keys on the canvas
    # type into the test window's field.
    page.get_by_role("button", name="Request control").click()
    expect(status).to_have_text(STATUS["waiting_control"])
    customer.question()
    control_shot = screen_shot(screen, "e2e-control.png")  # the bar and the second question
    customer.allow()
    expect(status).to_have_text(STATUS["controlling"])
    page.mouse.click(*page_point(page, *picture.field))
    page.keyboard.type("Hello sosdesk")
    typed(picture, "Hello sosdesk")
    page.keyboard.press("Backspace")
    page.keyboard.press("Shift+KeyK")
    typed(picture, "Hello sosdesK")
    wait_until("the canvas showing the typed text", lambda: shows_the_screen(page, screen, blocks=False),
               timeout=30)

    # Chat both ways: the console's message shows in the agent's window, the customer's in the console.
    chat = page.locator("#session-chat-list")
    page.locator("#session-chat-input").fill("Hello, I can see your screen now")
    page.locator("#session-chat-form").get_by_role("button", name="Send").click()
    expect(chat.locator(".from-expert .chat-text")).to_have_text("Hello, I can see your screen now")
    sent = server.api("GET", f"/api/v1/sessions/{code}/chat").json()["messages"]
    wait_until("the expert's message in the agent's window", lambda: sent[-1]["id"] in customer.shown_chat_ids())
    customer.say("Thanks, the printer is on the left")
    expect(chat.locator(".from-customer .chat-text")).to_have_text("Thanks, the printer is on the left")
    page.wait_for_timeout(1500)  # the chat typed on the customer's screen reaches the canvas too
    console.shot("e2e-session.png")
    if UPDATE_DOCS:
        save_doc(Image.open(ARTIFACTS / "e2e-session.png").convert("RGB"), "console-session.png", 1024)
        save_doc(consent_shot, "agent-consent.png", 800)
        save_doc(control_shot, "agent-control.png", 800)

    # Stop on the bar: the console is told, the picture goes, and nothing more comes.
    customer.stop()
    expect(status).to_have_text(STATUS["stopped"])
    wait_until("the bar to go", lambda: customer.bar() is None)
    expect(page.locator("#screen-empty")).to_have_text(STATUS["stopped"])
    picture.repaint((0, 255, 255))
    page.wait_for_timeout(1500)
    assert canvas_image(page) is None
    assert "screen sharing ended by the server" not in customer.agent.stderr_text  # it stopped uploading itself
    history = [e["event"] for e in server.api("GET", f"/api/v1/sessions/{code}/history").json()["events"]]
    for event in ("session_requested", "session_allowed", "control_requested", "control_allowed", "chat",
                  "session_stopped"):
        assert event in history, history
    assert "Traceback" not in customer.agent.stderr_text
    assert console.errors == [] and console.dialogs == []


def test_deny_in_german_then_allow(browser, consoles, server: Server, screen: XScreen, picture: PictureApp,
                                   tmp_path: Path, agents: list) -> None:
    customer = start_customer(agents, tmp_path, server, screen, lang="de")
    code = agent_case(server)
    console = open_console(browser, consoles, server)
    page = console.page
    page.locator("#lang-select").select_option("de")
    status = page.locator("#session-status")
    console.row(code).get_by_role("button", name="Verbinden").click()
    expect(status).to_have_text(STATUS_DE["waiting"])
    customer.deny()  # the question window is found by its German name
    expect(status).to_have_text(STATUS_DE["denied"])
    expect(status).to_have_attribute("data-state", "denied")
    page.wait_for_timeout(1000)
    assert canvas_image(page) is None and customer.bar() is None
    events = server.api("GET", f"/api/v1/sessions/{code}/history").json()["events"]
    assert "session_denied" in [e["event"] for e in events]
    assert server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "pending"

    page.get_by_role("button", name="Erneut anfragen").click()
    customer.allow()
    expect(status).to_have_text(STATUS_DE["viewing"])
    wait_until("the canvas showing the Xvfb screen", lambda: shows_the_screen(page, screen), timeout=30)
    assert console.errors == [] and console.dialogs == []


def test_another_expert_and_another_cases_customer_are_refused(browser, consoles, server: Server,
                                                                screen: XScreen, picture: PictureApp,
                                                                tmp_path: Path, agents: list) -> None:
    customer = start_customer(agents, tmp_path, server, screen)
    code = agent_case(server)
    other = requests.post(f"{server.url}/api/v1/customer/sos", timeout=10, json={
        "device_id": "device-other-000000001", "device": {"hostname": "PC-2", "os": "Linux", "user": "eve"}}).json()
    console = open_console(browser, consoles, server)
    page = console.page
    console.row(code).get_by_role("button", name="Connect").click()
    customer.allow()
    wait_until("the canvas showing the Xvfb screen", lambda: shows_the_screen(page, screen), timeout=30)

    bob = {"Authorization": f"Bearer {server.tokens['bob']}"}
    eve = {"Authorization": f"Bearer {other['token']}"}
    base = f"{server.url}/api/v1/sessions/{code}"
    for who, headers, statuses in (("bob", bob, {403}), ("another case's customer", eve, {401})):
        for method, tail, body in (("GET", "/remote?wait=0", None), ("POST", "/remote/control", {"request": True}),
                                   ("POST", "/remote/input", {"events": [{"t": "text", "text": "x"}]}),
                                   ("POST", "/remote/disconnect", None), ("POST", "/connect", None)):
            answer = requests.request(method, base + tail, headers=headers, json=body, timeout=10)
            expected = {409} if (who, tail) == ("bob", "/connect") else statuses  # already_connected
            assert answer.status_code in expected, (who, tail, answer.status_code, answer.text)
            assert "image/jpeg" not in answer.headers.get("Content-Type", "") and b"JFIF" not in answer.content
    # The other customer's token reaches only its own case: its Stop does not stop this session.
    assert requests.post(f"{server.url}/api/v1/customer/session/stop", headers=eve, timeout=10).status_code == 200
    picture.repaint((255, 0, 255))
    x, y, w, h, _ = PictureApp.BLOCKS[0]
    middle = (PICTURE_AT[0] + x + w // 2, PICTURE_AT[1] + y + h // 2)
    wait_until("the session going on", lambda: (lambda c: c is not None and near(
        c.getpixel(middle), (255, 0, 255)))(canvas_image(page)))
    expect(page.locator("#session-status")).to_have_text(STATUS["viewing"])
    assert customer.bar() is not None
    assert console.errors == [] and console.dialogs == []


def test_a_server_restart_ends_the_session_on_both_sides_and_it_starts_again(
        browser, consoles, server: Server, screen: XScreen, picture: PictureApp, tmp_path: Path,
        agents: list) -> None:
    customer = start_customer(agents, tmp_path, server, screen)
    code = agent_case(server)
    console = open_console(browser, consoles, server)
    page = console.page
    status = page.locator("#session-status")
    console.row(code).get_by_role("button", name="Connect").click()
    customer.allow()
    wait_until("the canvas showing the Xvfb screen", lambda: shows_the_screen(page, screen), timeout=30)

    assert server.stop() == 0
    expect(status).to_have_text(STATUS["reconnecting"], timeout=15000)
    wait_until("the bar to go", lambda: customer.bar() is None, timeout=15)
    server.start()  # the same port; the session went with the old process's memory
    expect(status).to_have_text(STATUS["interrupted"], timeout=15000)
    assert canvas_image(page) is None
    assert customer.button(ALLOW) is None  # the agent asks nothing by itself: never resumes alone
    wait_until("the agent online again", lambda: server.api("GET", f"/api/v1/sessions/{code}").json()
               .get("online"), timeout=30)
    stopped = [(e["actor"], e["detail"]) for e in server.api("GET", f"/api/v1/sessions/{code}/history")
               .json()["events"] if e["event"] == "session_stopped"]
    assert stopped == [("system", {"by": "server"})]

    # Nothing hangs: the expert asks again, the customer answers again, the picture is back.
    page.get_by_role("button", name="Ask again").click()
    expect(status).to_have_text(STATUS["waiting"])
    customer.allow()
    expect(status).to_have_text(STATUS["viewing"])
    wait_until("the canvas showing the Xvfb screen again", lambda: shows_the_screen(page, screen), timeout=30)
    assert customer.agent.proc.poll() is None and "Traceback" not in customer.agent.stderr_text
    assert console.errors == [] and console.dialogs == []
