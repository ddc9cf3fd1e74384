"""The tray hears the expert: a view request opens the QuickSupport window, which asks.

The real server process, the real tray process (pystray's xorg backend, trayer as the
tray host) on Xvfb, and the window process the tray starts; the customer's click on
Allow is a real XTEST click, and a Python viewer client sees the screen.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from agent_helpers import agent_env, queue_of, start_agent, write_branding
from conftest import ROOT, ServerProcess, require_tool
from session_viewer import Viewer, near
from xscreen import PictureApp, XScreen, virtual_screen, wait_until

ALLOW = (0x1A, 0x7F, 0x37)


@pytest.fixture
def desktop() -> Iterator[XScreen]:
    with virtual_screen("tkinter") as screen:
        trayer = subprocess.Popen([require_tool("trayer"), "--edge", "bottom", "--align", "right",
                                   "--widthtype", "request", "--height", "24", "--SetDockType", "false"],
                                  env={**os.environ, "DISPLAY": screen.name}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            yield screen
        finally:
            trayer.terminate()
            trayer.wait(10)


def test_a_view_request_opens_the_window_from_the_tray(desktop: XScreen, server_process: ServerProcess,
                                                       tmp_path: Path, agents: list) -> None:
    picture = PictureApp(desktop.name, at=(820, 460))
    # The customer asked for support earlier (the SOS shortcut); now only the tray runs.
    sos = start_agent(agents, tmp_path, server_process.url, "sos", company_name="ACME GmbH", language="en")
    sos.expect("status pending")
    sos.stop()
    code = queue_of(server_process)[0]["code"]
    config = write_branding(tmp_path, server_process.url, company_name="ACME GmbH", language="en")
    env = {**agent_env(tmp_path), "DISPLAY": desktop.name, "PYSTRAY_BACKEND": "xorg"}
    env.pop("XDG_SESSION_TYPE", None)
    log = open(tmp_path / "tray-stderr.txt", "w+")
    tray = subprocess.Popen([sys.executable, "-m", "sosdesk.agent", "--config", str(config), "--no-install",
                             "tray"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
                            start_new_session=True)  # the window it opens is in its group
    try:
        picture.wait_shown(desktop)
        wait_until("the tray's presence", lambda: server_process.api(
            "GET", f"/api/v1/sessions/{code}").json().get("online"), timeout=30)
        assert desktop.window_named("ACME GmbH QuickSupport") is None  # no window yet
        viewer = Viewer(server_process.url, code, server_process.token)
        viewer.connect()
        wait_until("the window the tray opened", lambda: desktop.window_named("ACME GmbH QuickSupport"),
                   timeout=30)
        desktop.click(*wait_until("its question", lambda: desktop.find_color(ALLOW, (440, 0, 1280, 460)),
                                  timeout=30))
        viewer.until("the test picture", lambda v: near(v.pixel(920, 510), (255, 0, 0)))
    except BaseException:
        log.seek(0)
        print(log.read(), file=sys.stderr)
        raise
    finally:
        os.killpg(tray.pid, signal.SIGKILL)
        tray.wait(10)
        log.close()
        picture.close()
