"""The window and the tray as real processes on a virtual screen without a tray host and
without GTK (pystray's xorg backend: an icon with no menu that takes no clicks):

- closing the window with its X and keeping the request open leaves the agent in the
  tray, which still opens the window when the expert asks to see the screen;
- a tray started at login with an open request opens the window by itself, since its
  icon has no menu, and says on stderr what the desktop needs for one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from agent_helpers import AgentProcess, agent_env, queue_of, start_agent, write_branding
from conftest import ServerProcess
from sosdesk.agent.session_watch import answered_elsewhere
from xscreen import XScreen, virtual_screen, wait_until

BRAND = (0x8A, 0x2B, 0xE2)  # the primary button's colour: nothing else on the screen has it
ALLOW = (0x1A, 0x7F, 0x37)  # agent.session_ui.ALLOW_COLOR
TITLE = "ACME GmbH QuickSupport"
pytestmark = pytest.mark.slow


@pytest.fixture
def screen() -> Iterator[XScreen]:
    with virtual_screen("tkinter") as shown:
        yield shown


def environment(tmp_path: Path, screen: XScreen) -> dict[str, str]:
    env = agent_env(tmp_path)
    for name in ("XDG_SESSION_TYPE", "WAYLAND_DISPLAY"):
        env.pop(name, None)
    env["DISPLAY"] = screen.name
    return env


def processes_with(marker: str) -> list[int]:
    """The processes whose command line holds *marker* (this test's own config path)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes().decode(errors="replace"):
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def tray_pid(config: Path) -> int | None:
    for pid in processes_with(str(config)):
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"tray" in args:
            return pid
    return None


def stop_group(pid: int | None) -> None:
    """End the tray we made start and the window it opened (its own session and group)."""
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def dialog_box(screen: XScreen, title: str) -> tuple[int, int, int, int]:
    window = wait_until(f"the window {title!r}", lambda: screen.window_named(title))
    geometry = window.get_geometry()
    at = window.translate_coords(screen.root, 0, 0)
    return (-at.x, -at.y, -at.x + geometry.width, -at.y + geometry.height)


def test_keeping_the_request_open_leaves_it_to_the_tray(server_process: ServerProcess, screen: XScreen,
                                                        tmp_path: Path, agents: list) -> None:
    config = write_branding(tmp_path, server_process.url, company_name="ACME GmbH", language="en",
                            primary_color="#8a2be2")
    window = AgentProcess(["--config", str(config), "--no-install", "sos"], environment(tmp_path, screen))
    agents.append(window)
    tray = None
    try:
        [case] = wait_until("the customer's case", lambda: queue_of(server_process), timeout=30)
        wait_until("the window following it", lambda: server_process.api(
            "GET", f"/api/v1/sessions/{case['code']}").json().get("online"), timeout=30)
        screen.close_window(wait_until("the QuickSupport window", lambda: screen.window_named(TITLE)))
        box = dialog_box(screen, "Close the window?")
        # "Keep my request open" is the suggested answer: the button in the company's colour.
        screen.click(*wait_until("the primary button", lambda: screen.find_color(BRAND, box)))
        assert window.wait(20) == 0
        assert server_process.api("GET", f"/api/v1/sessions/{case['code']}").json()["state"] == "open"

        tray = wait_until("the tray started by the window", lambda: tray_pid(config))
        lock = tmp_path / "config" / "tray-acme-gmbh.lock"
        wait_until("the tray holding its lock", lambda: answered_elsewhere(lock))
        # The customer just closed the window: the tray does not open it again by itself...
        for _ in range(30):
            assert screen.window_named(TITLE) is None
            wait_until("a moment", lambda: True, timeout=0.1)
        # ... until the expert asks to see the screen: then the question comes up.
        assert server_process.api("POST", f"/api/v1/sessions/{case['code']}/connect").status_code == 200
        wait_until("the window opened by the tray", lambda: screen.window_named(TITLE), timeout=40)
        wait_until("the question's Allow button", lambda: screen.find_color(ALLOW), timeout=40)
    finally:
        stop_group(tray or tray_pid(config))


def test_a_tray_without_a_menu_opens_the_window_for_an_open_request(
        server_process: ServerProcess, screen: XScreen, tmp_path: Path, agents: list) -> None:
    sos = start_agent(agents, tmp_path, server_process.url, "sos", company_name="ACME GmbH", language="en")
    sos.expect("status pending")
    sos.stop()
    config = tmp_path / "branding.json"
    env = environment(tmp_path, screen)
    log = open(tmp_path / "tray-stderr.txt", "w+")
    tray: Any = subprocess.Popen([sys.executable, "-m", "sosdesk.agent", "--config", str(config),
                                  "--no-install", "tray"], env=env, stdout=subprocess.DEVNULL, stderr=log,
                                 start_new_session=True)
    try:
        wait_until("the window the tray opened", lambda: screen.window_named(TITLE), timeout=40)
        log.flush()
        log.seek(0)
        said = log.read()
        assert "without a menu" in said and "gir1.2-ayatanaappindicator3-0.1" in said, said
        assert tray.poll() is None
    finally:
        stop_group(tray.pid)
        tray.wait(10)
        log.close()
