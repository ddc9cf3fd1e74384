"""The idle QuickSupport window sleeps: no timer polls its queues, a worker's event wakes it
(agent.tkwake), and so does SIGTERM. On a virtual screen (Xvfb)."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from agent_helpers import MemoryStore, customer_case, start_xvfb
from conftest import require_module, require_tool
from sosdesk.agent.keystore import Secrets
from sosdesk.agent.storage import State
from sosdesk.common.branding import Branding

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def xvfb() -> Iterator[str]:
    """A virtual screen that outlives every window of this module (Tk keeps its X connection)."""
    proc, number = start_xvfb(require_tool("Xvfb"), "1024x768x24")
    try:
        if number is None:
            pytest.fail("Xvfb did not start")
        yield number
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def display(xvfb: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DISPLAY", xvfb)
    return xvfb


def _pending_timers(root) -> tuple:
    return root.tk.splitlist(root.tk.call("after", "info"))


def test_the_idle_window_has_no_timer_and_a_workers_event_wakes_it(display, tmp_path) -> None:
    require_module("tkinter")
    from sosdesk.agent.app import Agent
    from sosdesk.agent.window import QuickSupportWindow

    agent = Agent(Branding(company_name="Test IT", language="en"),
                  Secrets(MemoryStore(), tmp_path / "l"), State("x", tmp_path), {"hostname": "pc"})
    window = QuickSupportWindow(agent)
    try:
        window.root.update()
        assert _pending_timers(window.root) == ()  # nothing polls the window's or the session's queue
        threading.Thread(target=window.on_case, args=(customer_case(status="pending"),)).start()
        threading.Thread(target=window.session.on_session_notice, args=("chat_failed",)).start()
        deadline = time.monotonic() + 10
        while window.code_var.get() != "s12-345-678" and time.monotonic() < deadline:
            window.root.tk.dooneevent(0x02)  # TCL_FILE_EVENTS: only the wake-up's pipe
            time.sleep(0.01)
        assert window.code_var.get() == "s12-345-678"
        assert window.status_var.get() == "Waiting for an expert"
        while window.session.status_var.get() == "" and time.monotonic() < deadline:
            window.root.tk.dooneevent(0x02)
            time.sleep(0.01)
        assert window.session.status_var.get()  # the session's notice, shown on its wake-up
        assert _pending_timers(window.root) == ()
    finally:
        window._wakeup.close()
        window.session.detach()
        window.root.destroy()
        del window
        gc.collect()


def test_the_wakeup_runs_its_callback_on_tks_thread_only_when_woken(display) -> None:
    require_module("tkinter")
    from sosdesk.agent.tkwake import Wakeup, WakingQueue
    from sosdesk.agent.window import tk_root

    root = tk_root()
    calls: list[str] = []
    queue = WakingQueue()

    def drain() -> None:
        calls.append(threading.current_thread().name)
        while not queue.empty():
            if queue.get_nowait() == "quit":
                root.quit()

    wakeup = Wakeup(root, drain)
    queue.wakeup = wakeup
    try:
        assert not wakeup.polling
        root.after(10_000, root.quit)  # a safety net only
        threading.Timer(0.3, queue.put, args=("quit",)).start()
        root.mainloop()
        assert calls == [threading.current_thread().name]  # once, here, and not before the put
    finally:
        wakeup.close()
        wakeup.wake()  # after close: nothing, no error
        root.destroy()
        # queue -> wakeup -> drain -> queue is a cycle holding the Tk root: collect it here.
        # Left to the collector, it could run in another thread (a test server's timer), and
        # Tcl aborts the whole process when an interpreter is deleted from a thread not its own.
        queue.wakeup = None
        del root, wakeup, drain, queue
        gc.collect()


def test_sigterm_ends_an_idle_window(xvfb, tmp_path, server_process) -> None:
    """The idle window runs no Python of its own; the signal's wake-up still reaches it."""
    require_module("tkinter")
    branding = tmp_path / "branding.json"
    branding.write_text(json.dumps({"company_name": "ACME", "server_url": server_process.url,
                                    "language": "en"}))
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOSDESK_")}
    env.update(DISPLAY=xvfb, HOME=str(home), SOSDESK_CONFIG_DIR=str(home / "config"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / "data"))
    agent = subprocess.Popen([sys.executable, "-m", "sosdesk.agent", "--config", str(branding),
                              "--no-install", "sos"], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            sessions = server_process.api("GET", "/api/v1/sessions?state=open").json()["sessions"]
            if sessions or agent.poll() is not None:
                break
            time.sleep(0.2)
        assert sessions, agent.stderr.read() if agent.poll() is not None else "no case"
        time.sleep(1.0)  # idle: the flow and the session wait on the server
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(15) == 0
        assert "Traceback" not in agent.stderr.read()
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
