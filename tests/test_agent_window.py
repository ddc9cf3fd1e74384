"""The QuickSupport window on a virtual screen (Xvfb)."""

from __future__ import annotations

import gc
import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest

from agent.branding import Branding
from agent.keystore import Secrets
from agent.storage import State
from agent_helpers import MemoryStore, customer_case
from conftest import require_tool


@pytest.fixture
def display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    xvfb = require_tool("Xvfb")
    number = f":{os.getpid() % 400 + 100}"
    proc = subprocess.Popen([xvfb, number, "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number[1:]}").exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("Xvfb did not start")
            time.sleep(0.05)
        monkeypatch.setenv("DISPLAY", number)
        yield number
    finally:
        proc.terminate()
        proc.wait(10)


def test_window_shows_code_status_expert_and_close_button(display: str, tmp_path: Path) -> None:
    pytest.importorskip("tkinter")
    from agent.cli import Agent
    from agent.window import QuickSupportWindow

    agent = Agent(Branding(company_name="Test IT", language="en"), Secrets(MemoryStore(), tmp_path / "l"),
                  State("x", tmp_path), {"hostname": "pc"})
    window = QuickSupportWindow(agent)
    try:
        window.on_case(customer_case(status="pending"))
        window._drain()
        assert window.code_var.get() == "s12-345-678"
        assert window.status_var.get() == "Status: Pending"
        assert window.close_button.winfo_manager() == "pack"
        window.on_case(customer_case(status="in_progress", expert_name="anna", can_close=False))
        window.on_notice("unreachable")
        window._drain()
        assert window.explain_var.get() == "anna is connecting to you now."
        assert window.notice_var.get() == "Cannot reach support, retrying…"
        assert window.close_button.winfo_manager() == ""
        window.copy_code()
        assert window.root.clipboard_get() == "s12-345-678"
    finally:
        window.root.destroy()
        # Tk variables must die on this thread; left to a later garbage collection
        # they may be freed on a server thread, where Tk refuses to run.
        del window
        gc.collect()
