"""The session view in a real browser (Playwright, Debian's Chromium) against the real
server, with a fake agent in Python (tests/session_helpers.py) on the customer's side:
the shared picture shows on the canvas, control maps clicks and keys to the customer's
pixels and keys, the chat goes both ways, a declined request says so, presence shows."""

from __future__ import annotations

import re
import time
from typing import Iterator

import pytest
import requests
from PIL import Image

from conftest import ServerProcess, free_port
from session_helpers import FakeAgent, tiles_of
from console_helpers import LIVE_TIMEOUT, Console, browser, console, expect, sos  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

W, H = 640, 400
QUADRANTS = {(W // 4, H // 4): (220, 40, 40), (3 * W // 4, H // 4): (30, 160, 60),
             (W // 4, 3 * H // 4): (40, 70, 210), (3 * W // 4, 3 * H // 4): (240, 200, 20)}


def known_picture() -> Image.Image:
    image = Image.new("RGB", (W, H))
    for (x, y), color in QUADRANTS.items():
        image.paste(color, (x - W // 4, y - H // 4, x + W // 4, y + H // 4))
    return image


def canvas_pixel(page, x: int, y: int) -> list[int]:
    """The canvas's pixel at the customer's (x, y), as RGB."""
    return page.evaluate("([x, y]) => Array.from(document.getElementById('screen').getContext('2d')"
                         ".getImageData(x, y, 1, 1).data.slice(0, 3))", [x, y])


def page_point(page, x: int, y: int) -> tuple[float, float]:
    """Where on the page the customer's pixel (x, y) is shown (the canvas may be scaled)."""
    box = page.locator("#screen").bounding_box()
    return box["x"] + (x + 0.5) * box["width"] / W, box["y"] + (y + 0.5) * box["height"] / H


def wait_for(check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"never: {what}")


def inputs(agent: FakeAgent) -> list[dict]:
    return [e for m in agent.seen if m["type"] == "input" for e in m["events"]]


@pytest.fixture
def agent(console: Console) -> Iterator[FakeAgent]:
    made = sos(console.server, 21, "The invoice program hangs", hostname="ACC-PC-3", user="j.meier")
    fake = FakeAgent(console.server.url, made["token"]).start()
    fake.code = made["case"]["code"]
    assert console.server.api("POST", "/api/v1/customer/case/start", token=made["token"]).ok
    try:
        yield fake
    finally:
        fake.stop()


def test_connect_view_control_and_chat(console: Console, agent: FakeAgent) -> None:
    server, code = console.server, agent.code
    page = console.open().login().page
    row = console.row(code)
    expect(row.locator(".presence")).to_have_text("online", timeout=LIVE_TIMEOUT)

    row.get_by_role("button", name="Connect").click()
    expect(page.locator("#session-view")).to_be_visible()
    status = page.locator("#session-status")
    expect(status).to_have_text("Waiting for the customer's consent…")
    expect(page.locator("#session-heading")).to_contain_text(code)
    agent.expect("view_request")
    assert server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "pending"

    assert agent.consent("view", True).ok
    assert agent.screen_info([{"index": 0, "left": 0, "top": 0, "width": W, "height": H}]).ok
    assert agent.share(known_picture(), cursor=[100, 100]).ok
    expect(status).to_have_text("Viewing the customer's screen")
    wait_for(lambda: page.evaluate("document.getElementById('screen').width") == W, "the canvas has the size")
    for (x, y), color in QUADRANTS.items():
        wait_for(lambda: canvas_pixel(page, x, y) == list(color), f"{color} at {(x, y)}")
    assert server.api("GET", f"/api/v1/sessions/{code}").json()["status"] == "in_progress"
    expect(page.locator("#session-stats")).to_contain_text(re.compile(r"fps · \d+ ms · \d+ KB/s"))

    # Two monitors: the picker shows and asks the agent for the other one.
    picker = page.get_by_label("Screen", exact=True)
    expect(picker).to_be_hidden()
    assert agent.screen_info([{"index": 0, "left": 0, "top": 0, "width": W, "height": H},
                              {"index": 1, "left": W, "top": 0, "width": 1920, "height": 1080}]).ok
    expect(picker).to_be_visible()
    picker.select_option(label="Screen 2 (1920×1080)")
    assert agent.expect("monitor")["index"] == 1
    # 1:1 shows the customer's pixels unscaled; fit scales to the window again.
    assert page.locator("#screen").bounding_box()["width"] > W  # fit: scaled up in 1280x800
    page.get_by_role("button", name="Actual size (1:1)").click()
    expect(page.get_by_role("button", name="Actual size (1:1)")).to_have_attribute("aria-pressed", "true")
    wait_for(lambda: round(page.locator("#screen").bounding_box()["width"]) == W, "1:1")
    page.get_by_role("button", name="Actual size (1:1)").click()
    wait_for(lambda: page.locator("#screen").bounding_box()["width"] > W, "fit again")

    # A change on the customer's screen arrives as a tile.
    white = Image.new("RGB", (64, 64), (255, 255, 255))
    assert agent.upload(tiles_of(white), W, H).ok  # one tile at (0, 0)
    wait_for(lambda: canvas_pixel(page, 10, 10) == [255, 255, 255], "the changed tile")
    assert canvas_pixel(page, 100, 10) == list(QUADRANTS[(W // 4, H // 4)])
    console.shot("console-session.png")

    # Control: declined first (the expert is told), then asked again and allowed; then
    # clicks and keys reach the agent in its pixels.
    page.get_by_role("button", name="Request control").click()
    agent.expect("control_request")
    assert agent.consent("control", False).ok
    expect(page.locator("#session-flash")).to_have_text("The customer declined control.")
    expect(status).to_have_text("Viewing the customer's screen")
    page.get_by_role("button", name="Request control").click()
    agent.expect("control_request")
    expect(status).to_have_text("Viewing; waiting for the customer to allow control…")
    assert agent.consent("control", True).ok
    expect(status).to_have_text("Controlling the customer's mouse and keyboard")
    x, y = page_point(page, 500, 300)
    page.mouse.click(x, y)
    page.keyboard.type("hi")
    page.mouse.wheel(0, 200)
    wait_for(lambda: sum(e["t"] == "key" for e in inputs(agent)) >= 4, "four key events")
    events = inputs(agent)
    down = next(e for e in events if e["t"] == "down")
    up = next(e for e in events if e["t"] == "up")
    assert down["b"] == "left" and abs(down["x"] - 500) <= 1 and abs(down["y"] - 300) <= 1, down
    assert (up["x"], up["y"]) == (down["x"], down["y"])
    keys = [(e["code"], e["key"], e["down"]) for e in events if e["t"] == "key"]
    assert keys == [("KeyH", "h", True), ("KeyH", "h", False), ("KeyI", "i", True), ("KeyI", "i", False)]
    assert events.index(down) < events.index(up) < events.index(
        next(e for e in events if e["t"] == "key"))  # in the order they happened
    wait_for(lambda: any(e["t"] == "wheel" and e["dy"] == 2 for e in inputs(agent)), "two notches down")

    # Chat both ways.
    page.locator("#session-view").get_by_label("Message").fill("Hello, I see your screen now")
    page.locator("#session-chat-form").get_by_role("button", name="Send").click()
    message = agent.expect("chat")["message"]
    assert (message["from"], message["name"], message["text"]) == ("expert", "anna", "Hello, I see your screen now")
    assert agent.call("POST", "/chat", json={"text": "Great, <b>thanks</b>!"}).status_code == 201
    chat = page.locator("#session-chat-list")
    expect(chat.locator(".from-customer .chat-text")).to_have_text("Great, <b>thanks</b>!")
    expect(chat.locator(".from-customer .chat-who")).to_have_text("j.meier")
    expect(chat.locator(".from-expert .chat-text")).to_have_text("Hello, I see your screen now")

    # Back in the queue and into the session again: the state comes back, old news do not.
    page.get_by_role("button", name="Back to the queue").click()
    console.row(code).get_by_role("button", name="Session").click()
    expect(status).to_have_text("Controlling the customer's mouse and keyboard")
    expect(chat.locator(".chat-message")).to_have_count(2)
    page.wait_for_timeout(300)  # a replayed notice would show at once
    expect(page.locator("#session-flash")).to_have_text("")

    # Release control, then the customer's Stop: the picture goes, the viewer is told.
    page.get_by_role("button", name="Release control").click()
    agent.expect("control_released")
    expect(page.get_by_role("button", name="Request control")).to_be_visible()
    assert agent.call("POST", "/session/stop").ok
    expect(status).to_have_text("The customer stopped the session.")
    expect(page.get_by_role("button", name="Ask again")).to_be_visible()
    expect(page.locator("#screen-empty")).to_have_text("The customer stopped the session.")

    # Close case from the session view: ended for both sides.
    page.get_by_role("button", name="Close case").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Close case").click()
    expect(status).to_have_text("The session has ended: the case is closed.")
    assert agent.expect("disconnect")["reason"] == "case_closed"
    page.get_by_role("button", name="Back to the queue").click()
    expect(console.row(code)).to_have_count(0)  # the queue shows the open cases
    page.locator("#filter-status").select_option("closed")
    expect(console.row(code).locator(".status")).to_have_text("Closed")


def test_a_declined_request_says_so_in_english_and_german(console: Console, agent: FakeAgent) -> None:
    page = console.open().login().page
    console.row(agent.code).get_by_role("button", name="Connect").click()
    agent.expect("view_request")
    assert agent.consent("view", False).ok
    status = page.locator("#session-status")
    expect(status).to_have_text("The customer declined the request.")
    expect(status).to_have_attribute("data-state", "denied")
    expect(page.get_by_role("button", name="Request control")).to_be_disabled()
    page.locator("#lang-select").select_option("de")
    expect(status).to_have_text("Der Kunde hat die Anfrage abgelehnt.")
    page.get_by_role("button", name="Erneut anfragen").click()
    agent.expect("view_request")
    expect(status).to_have_text("Warte auf die Zustimmung des Kunden…")
    assert console.server.api("GET", f"/api/v1/sessions/{agent.code}").json()["status"] == "pending"
    page.locator("#lang-select").select_option("en")
    # Where the agent cannot capture (Wayland) the expert is told, never shown black.
    assert agent.screen_info([], wayland=True).ok
    expect(status).to_have_text("The customer's screen cannot be shared (Wayland). The chat still works.")
    page.get_by_role("button", name="Disconnect").click()
    expect(status).to_have_text("You left the session.")
    agent.expect("disconnect")
    page.get_by_role("button", name="Back to the queue").click()
    expect(page.locator("#queue-view")).to_be_visible()
    # The expert comes back to their session from the queue.
    console.row(agent.code).get_by_role("button", name="Session").click()
    expect(page.locator("#session-view")).to_be_visible()


def test_pre_chat_from_the_detail_and_presence_in_the_queue(console: Console, agent: FakeAgent) -> None:
    server, code = console.server, agent.code
    page = console.open().login().page
    row = console.row(code)
    expect(row.locator(".presence")).to_have_text("online", timeout=LIVE_TIMEOUT)
    assert agent.call("POST", "/chat", json={"text": "Is anyone there?"}).status_code == 201
    row.get_by_role("button", name=f"Details of case {code}").click()
    detail = page.locator("#detail-dialog")
    expect(detail.locator("#detail-chat-list .from-customer .chat-text")).to_have_text("Is anyone there?")
    detail.get_by_label("Message").fill("Yes, one moment please")
    detail.get_by_label("Message").press("Enter")
    assert agent.expect("chat")["message"]["text"] == "Yes, one moment please"
    expect(detail.locator("#history-body")).to_contain_text("chat: Is anyone there?")
    assert agent.call("POST", "/chat", json={"text": "ok"}).status_code == 201
    expect(detail.locator("#detail-chat-list .from-customer .chat-text").last).to_have_text("ok",
                                                                                        timeout=LIVE_TIMEOUT)
    page.get_by_role("button", name="Done").click()

    # The agent quits: after 40 s without it the queue says the customer left.
    agent.stop()
    server.app.clock = lambda: time.time() + 45
    expect(row.locator(".presence")).to_have_text("left", timeout=LIVE_TIMEOUT)


def test_a_server_restart_ends_the_session_cleanly_and_it_can_start_again(browser, tmp_path) -> None:
    server = ServerProcess(tmp_path / "restart.db", free_port(), "--quiet").start()
    password = re.search(r"password:\s+(\S+)", server.first_output).group(1)
    allow = lambda m: {"what": "view", "allow": True} if m["type"] == "view_request" else None  # noqa: E731
    made = requests.post(f"{server.url}/api/v1/customer/sos", timeout=10,
                         json={"device_id": "device-restart-00000000",
                               "device": {"hostname": "PC-9", "os": "Linux", "user": "eva"}}).json()
    agent = FakeAgent(server.url, made["token"], answer=allow).start()
    console = Console(browser, server)
    try:
        page = console.open().login("admin", password).page
        console.row(made["case"]["code"]).get_by_role("button", name="Connect").click()
        status = page.locator("#session-status")
        expect(status).to_have_text("Viewing the customer's screen")
        assert agent.share(known_picture()).ok
        wait_for(lambda: canvas_pixel(page, 10, 10) == list(QUADRANTS[(W // 4, H // 4)]), "the picture")

        token = server.token
        assert server.stop() == 0
        expect(status).to_have_text("Connection lost; reconnecting…")
        server.start()
        server.token = token
        # Memory is gone: the session ended on both sides, nothing hangs.
        expect(status).to_have_text("The session was interrupted: the server restarted. Ask the customer again.",
                                    timeout=15000)
        refused = agent.share(known_picture())
        assert refused.status_code == 409 and refused.json()["error"] == "no_consent"
        wait_for(lambda: agent.sessions and agent.sessions[-1]["view"] == "none", "the agent is told")
        page.get_by_role("button", name="Ask again").click()
        expect(status).to_have_text("Viewing the customer's screen")
        assert agent.share(known_picture()).ok
        wait_for(lambda: canvas_pixel(page, W - 10, H - 10) == list(QUADRANTS[(3 * W // 4, 3 * H // 4)]),
                 "the picture again")
        events = server.api("GET", f"/api/v1/sessions/{made['case']['code']}/history").json()["events"]
        stopped = [e for e in events if e["event"] == "session_stopped"]
        assert [(e["actor"], e["detail"]) for e in stopped] == [("system", {"by": "server"})]
        assert console.errors == [] and console.dialogs == []
    finally:
        agent.stop()
        console.context.close()
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()
