"""The remote session end to end from the customer's side: the real ``sos-server`` process,
the real agent process with its window on Xvfb 1280x800, a test window with a known picture,
the customer's clicks made with XTEST (as xdotool does), and a viewer client in Python."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import pytest

from agent_helpers import AgentProcess, agent_env, queue_of, write_branding
from conftest import ServerProcess
from session_viewer import Viewer, near
from xscreen import PictureApp, XScreen, virtual_screen, wait_until

ALLOW = (0x1A, 0x7F, 0x37)  # agent.session_ui.ALLOW_COLOR
STOP = (0xCF, 0x22, 0x2E)  # agent.session_ui.STOP_COLOR
BRAND = (0x1F, 0x6F, 0xEB)  # the default primary_color: the suggested answer's button
PICTURE_AT = (820, 460)
#: Where the customer's questions and the bar appear (the agent's main window is at +0+0).
POPUPS = (440, 0, 1280, 460)


@pytest.fixture
def screen() -> Iterator[XScreen]:
    with virtual_screen("tkinter") as shown:
        yield shown


@pytest.fixture
def picture(screen: XScreen) -> Iterator[PictureApp]:
    app = PictureApp(screen.name, at=PICTURE_AT)
    try:
        app.wait_shown(screen)
        yield app
    finally:
        app.close()


def start_window_agent(agents: list, tmp_path: Path, server: ServerProcess, screen: XScreen,
                       **env: str) -> AgentProcess:
    """``sos-agent sos`` with its window on *screen* (no installation: nothing to test there)."""
    config = write_branding(tmp_path, server.url, company_name="ACME GmbH", language="en")
    environment = agent_env(tmp_path)
    for name in ("XDG_SESSION_TYPE", "WAYLAND_DISPLAY"):
        environment.pop(name, None)
    environment.update(DISPLAY=screen.name, **env)
    agent = AgentProcess(["--config", str(config), "--no-install", "-v", "sos"], environment)
    agents.append(agent)
    return agent


def open_case(server: ServerProcess, agent: AgentProcess) -> str:
    """The code of the case the agent opened."""
    cases = wait_until("the agent's case", lambda: queue_of(server), timeout=30)
    wait_until("the agent's inbox poll", lambda: server.api("GET", f"/api/v1/sessions/{cases[0]['code']}")
               .json().get("online"), timeout=30)
    return cases[0]["code"]


def click_allow(screen: XScreen) -> None:
    screen.click(*wait_until("the Allow button", lambda: screen.find_color(ALLOW, POPUPS)))
    wait_until("the question to close", lambda: screen.find_color(ALLOW, POPUPS) is None)


def sees_the_picture(viewer: Viewer) -> bool:
    return all(near(viewer.pixel(x + w // 2, y + h // 2), colour) for x, y, w, h, colour in
               [(x + PICTURE_AT[0], y + PICTURE_AT[1], w, h, c) for x, y, w, h, c in PictureApp.BLOCKS])


def share(server: ServerProcess, agent: AgentProcess, screen: XScreen) -> Viewer:
    """Connect as the expert, click Allow as the customer: a viewer that sees the screen."""
    viewer = Viewer(server.url, open_case(server, agent), server.token)
    viewer.connect()
    click_allow(screen)
    viewer.until("the test picture", sees_the_picture)
    return viewer


def test_nothing_is_seen_before_allow_then_the_screen_and_its_changes(
        server_process: ServerProcess, screen: XScreen, picture: PictureApp, tmp_path: Path,
        agents: list) -> None:
    agent = start_window_agent(agents, tmp_path, server_process, screen)
    viewer = Viewer(server_process.url, open_case(server_process, agent), server_process.token)
    viewer.connect()
    wait_until("the question", lambda: screen.find_color(ALLOW, POPUPS))
    for _ in range(3):
        viewer.poll(wait=1)
    assert viewer.picture is None and viewer.session["view"] == "requested"

    click_allow(screen)
    viewer.until("the test picture", sees_the_picture)
    assert wait_until("the bar's Stop button", lambda: screen.find_color(STOP, POPUPS))
    picture.repaint((255, 0, 255))
    viewer.until("the repainted block", lambda v: near(v.pixel(PICTURE_AT[0] + 100, PICTURE_AT[1] + 50),
                                                         (255, 0, 255)))
    assert "Traceback" not in agent.stderr_text


def test_control_is_asked_separately_and_typing_arrives(server_process: ServerProcess, screen: XScreen,
                                                         picture: PictureApp, tmp_path: Path,
                                                         agents: list) -> None:
    agent = start_window_agent(agents, tmp_path, server_process, screen)
    viewer = share(server_process, agent, screen)
    field = picture.field
    refused = viewer.post("/remote/input", {"events": [{"t": "text", "text": "no"}]})
    assert refused.status_code == 409

    assert viewer.post("/remote/control", {"request": True}).status_code == 200
    click_allow(screen)
    viewer.until("control allowed", lambda v: v.session.get("control") == "allowed")
    viewer.input({"t": "down", "b": "left", "x": field[0], "y": field[1]},
                 {"t": "up", "b": "left", "x": field[0], "y": field[1]},
                 {"t": "text", "text": "hello "},
                 {"t": "key", "code": "KeyW", "key": "W", "down": True, "mods": ["Shift"]},
                 {"t": "key", "code": "KeyW", "key": "W", "down": False, "mods": ["Shift"]})
    wait_until("the typed text in the test window", lambda: picture.text == "hello W")
    viewer.until("the typing on the viewer's picture", lambda v: v.frames_with_tiles > 1)

    assert viewer.post("/remote/control", {"request": False}).status_code == 200
    viewer.until("control released", lambda v: v.session.get("control") != "allowed")
    screen.click(*field)  # the customer's own click; then the agent must inject nothing
    time.sleep(0.5)
    viewer.post("/remote/input", {"events": [{"t": "text", "text": "late"}]})
    time.sleep(1.0)
    assert picture.text == "hello W"


def test_deny_shares_nothing(server_process: ServerProcess, screen: XScreen, picture: PictureApp,
                             tmp_path: Path, agents: list) -> None:
    agent = start_window_agent(agents, tmp_path, server_process, screen)
    viewer = Viewer(server_process.url, open_case(server_process, agent), server_process.token)
    viewer.connect()
    left, top, right, bottom = wait_until("the question", lambda: screen.find_box(ALLOW, POPUPS))
    deny = (right + 8 + (right - left) // 2, (top + bottom) // 2)  # the button right of Allow
    screen.click(*deny)
    viewer.until("the customer's no", lambda v: v.session.get("view") == "denied")
    for _ in range(2):
        viewer.poll(wait=1)
    assert viewer.picture is None
    assert screen.find_color(ALLOW, POPUPS) is None and screen.find_color(STOP, POPUPS) is None


def test_stop_ends_sharing_at_once(server_process: ServerProcess, screen: XScreen, picture: PictureApp,
                                   tmp_path: Path, agents: list) -> None:
    agent = start_window_agent(agents, tmp_path, server_process, screen)
    viewer = share(server_process, agent, screen)
    screen.click(*wait_until("the Stop button", lambda: screen.find_color(STOP, POPUPS)))
    viewer.until("the customer's stop", lambda v: v.session.get("view") != "allowed")
    stopped_at = viewer.tiles_seen
    picture.repaint((0, 255, 255))
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        viewer.poll(wait=1)
    assert viewer.tiles_seen == stopped_at  # no frame after Stop
    assert screen.find_color(STOP, POPUPS) is None  # the bar is gone
    assert agent.proc.poll() is None  # the window stays; chat goes on


@pytest.mark.parametrize("how", ["close the window", "terminate the process"])
def test_quitting_ends_sharing_and_tells_the_server(how: str, server_process: ServerProcess, screen: XScreen,
                                                    picture: PictureApp, tmp_path: Path, agents: list) -> None:
    agent = start_window_agent(agents, tmp_path, server_process, screen)
    viewer = share(server_process, agent, screen)
    if how == "close the window":
        screen.close_window(wait_until("the main window", lambda: screen.window_named("ACME GmbH QuickSupport")))
        # The X asks first (keep the request open in the tray, or close it): close it.
        asked = wait_until("the question", lambda: screen.window_named("Close the window?"))
        at, size = asked.translate_coords(screen.root, 0, 0), asked.get_geometry()
        box = (-at.x, -at.y, -at.x + size.width, -at.y + size.height)
        keep = wait_until("the suggested answer", lambda: screen.find_box(BRAND, box))  # keep it open
        screen.click(keep[2] + 8 + 30, (keep[1] + keep[3]) // 2)  # the next button: Close my request
    else:
        agent.proc.terminate()  # logging out
    assert agent.wait(15) == 0, agent.stderr_text[-3000:]
    if how == "close the window":  # the request closed: its session ended with it
        case = server_process.api("GET", f"/api/v1/sessions/{viewer.code}").json()
        assert case["status"] == "closed" and not case.get("online"), case
        return
    viewer.until("the session to stop", lambda v: v.session.get("view") != "allowed")


def test_a_server_restart_ends_sharing_cleanly_and_the_next_request_is_asked_again(
        tmp_path: Path, screen: XScreen, picture: PictureApp, agents: list) -> None:
    server = ServerProcess(tmp_path / "server.db", 0, "--quiet").start()
    try:
        agent = start_window_agent(agents, tmp_path, server, screen)
        share(server, agent, screen)
        assert server.stop() == 0
        wait_until("the bar to go", lambda: screen.find_color(STOP, POPUPS) is None, timeout=15)
        server.start()  # the same port; the session is gone with the old process's memory
        viewer = Viewer(server.url, queue_of(server)[0]["code"], server.token)
        wait_until("the agent back online", lambda: server.api(
            "GET", f"/api/v1/sessions/{viewer.code}").json().get("online"), timeout=30)
        viewer.connect()
        click_allow(screen)  # asked again, answered again
        viewer.until("the test picture again", sees_the_picture)
        assert agent.proc.poll() is None and "Traceback" not in agent.stderr_text
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


def test_wayland_is_said_never_shown_black(server_process: ServerProcess, screen: XScreen, tmp_path: Path,
                                           agents: list) -> None:
    agent = start_window_agent(agents, tmp_path, server_process, screen, XDG_SESSION_TYPE="wayland")
    viewer = Viewer(server_process.url, open_case(server_process, agent), server_process.token)
    viewer.connect()
    viewer.until("the agent saying Wayland", lambda v: v.session.get("wayland") is True)
    time.sleep(1.0)
    viewer.poll(wait=1)
    assert viewer.picture is None and screen.find_color(ALLOW, POPUPS) is None


def white_runs(screen: XScreen, x: int, top: int, bottom: int) -> list[tuple[int, int]]:
    """The runs (first y, last y) of white pixels in column *x* of the screen."""
    column = screen.grab((x, top, x + 1, bottom)).tobytes()
    runs, start = [], None
    for n in range(bottom - top):
        white = column[3 * n:3 * n + 3] == b"\xff\xff\xff"
        if white and start is None:
            start = n
        elif not white and start is not None:
            runs.append((top + start, top + n - 1))
            start = None
    return [r for r in runs if r[1] - r[0] >= 10]


def dark_pixels(screen: XScreen, box: tuple[int, int, int, int]) -> int:
    return sum(1 for v in screen.grab(box).convert("L").tobytes() if v < 100)


def test_chat_both_ways_before_any_session(server_process: ServerProcess, screen: XScreen, tmp_path: Path,
                                           agents: list) -> None:
    agent = start_window_agent(agents, tmp_path, server_process, screen)
    code = open_case(server_process, agent)
    # White boxes down the window once the case shows: the code's card (its label splits it in
    # two), "What do you need help with?", the chat's log and its field; the last two are the chat's.
    log, entry = wait_until("the chat's log and field", lambda: (lambda r: r if len(r) >= 5 else None)(
        white_runs(screen, 60, 60, 800)))[-2:]
    screen.click(120, (entry[0] + entry[1]) // 2)
    screen.type("my printer is gone")
    screen.key("Return")
    said = wait_until("the customer's message on the server", lambda: [
        m for m in server_process.api("GET", f"/api/v1/sessions/{code}/chat").json()["messages"]
        if m["text"] == "my printer is gone"])
    assert said[0]["from"] == "customer"
    box = (40, log[0], 400, log[1])
    before = wait_until("the customer's line in the log", lambda: dark_pixels(screen, box))
    answer = server_process.api("POST", f"/api/v1/sessions/{code}/chat", json={"text": "I will look at it now"})
    assert answer.status_code == 201, answer.text
    wait_until("the expert's line in the log", lambda: dark_pixels(screen, box) > before * 1.5)
