"""Invalid or damaged branding on a screen: the real agent shows why in a window
(Xvfb, seen and closed through python-xlib and XTEST) and exits 2 once it is closed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest
from PIL import Image, ImageGrab

from sosdesk.common.branding import Branding
from sosdesk.common.stamp import write_stamp
from agent_helpers import agent_env, start_xvfb
from conftest import ROOT, require_module, require_tool

Xlib = require_module("Xlib")  # pystray's own X dependency on Linux
import Xlib.display  # noqa: E402
import Xlib.protocol.event  # noqa: E402
import Xlib.Xatom  # noqa: E402
from Xlib import X, XK  # noqa: E402
from Xlib.ext import xtest  # noqa: E402

TITLE = "Support program cannot start"
ARTIFACTS = ROOT / "test-artifacts"
FROZEN = ("import sys; sys.frozen = True; sys.executable = sys.argv.pop(1); "
          "from agent.cli import main; sys.exit(main(sys.argv[1:]))")
T = TypeVar("T")


def eventually(probe: Callable[[], T], what: str, timeout: float = 15) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


class Screen:
    """A bare Xvfb screen (no window manager), seen through python-xlib."""

    def __init__(self) -> None:
        self.server, name = start_xvfb(require_tool("Xvfb"), "640x400x24")
        if name is None:
            self.close()
            pytest.fail("Xvfb did not start")
        self.name = name
        self.x = Xlib.display.Display(name)
        self.root = self.x.screen().root

    def close(self) -> None:
        if getattr(self, "x", None) is not None:
            self.x.close()
        self.server.terminate()
        self.server.wait(10)

    def window_named(self, title: str) -> Any:
        """The mapped top-level window titled *title*, or None."""
        try:
            for window in self.root.query_tree().children:
                prop = window.get_full_property(Xlib.Xatom.WM_NAME, X.AnyPropertyType)
                name = prop.value.decode("utf-8", "replace") if prop and isinstance(prop.value, bytes) \
                    else (prop.value if prop else None)
                if name == title and window.get_attributes().map_state == X.IsViewable:
                    return window
        except Xlib.error.XError:  # a window went away while we looked
            return None
        return None

    def grab(self, window: Any) -> Image.Image:
        geometry = window.get_geometry()
        at = window.translate_coords(self.root, 0, 0)
        box = (-at.x, -at.y, -at.x + geometry.width, -at.y + geometry.height)
        return ImageGrab.grab(bbox=box, xdisplay=self.name).convert("RGB")

    def press(self, window: Any, keysym: str) -> None:
        """A real key press (XTEST) with the pointer over *window* (no WM: focus follows it)."""
        geometry = window.get_geometry()
        window.warp_pointer(geometry.width // 2, geometry.height // 2)
        code = self.x.keysym_to_keycode(XK.string_to_keysym(keysym))
        xtest.fake_input(self.x, X.KeyPress, code)
        xtest.fake_input(self.x, X.KeyRelease, code)
        self.x.sync()

    def close_window(self, window: Any) -> None:
        """What a window manager sends for the title bar's X: WM_DELETE_WINDOW."""
        protocols = self.x.intern_atom("WM_PROTOCOLS")
        delete = self.x.intern_atom("WM_DELETE_WINDOW")
        event = Xlib.protocol.event.ClientMessage(window=window, client_type=protocols,
                                                  data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        window.send_event(event)
        self.x.sync()


@pytest.fixture
def screen() -> Iterator[Screen]:
    shown = Screen()
    try:
        yield shown
    finally:
        shown.close()


def dark_pixels(image: Image.Image) -> int:
    pixels = getattr(image, "get_flattened_data", image.getdata)()
    return sum(1 for p in pixels if max(p) < 90)


def start(argv: list[str], screen: Screen, tmp_path: Path) -> subprocess.Popen:
    env = {**agent_env(tmp_path), "DISPLAY": screen.name}
    return subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def shows_the_box_until_closed(screen: Screen, proc: subprocess.Popen, close: Callable[[Any], None],
                               artifact: str) -> tuple[int, str, str]:
    """Wait for the message box, check it shows text and waits; close it: (exit, stdout, stderr)."""
    try:
        box = eventually(lambda: proc.poll() is None and screen.window_named(TITLE),
                         f"a window titled {TITLE!r} (agent exit {proc.poll()})")
        image = eventually(lambda: (lambda i: i if dark_pixels(i) > 200 else None)(screen.grab(box)),
                           "text in the message box")
        ARTIFACTS.mkdir(exist_ok=True)
        image.save(ARTIFACTS / artifact)
        time.sleep(0.5)
        assert proc.poll() is None, "the agent must wait for the customer to read the message"
        close(box)
        status = proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = proc.communicate(timeout=10)
    return status, out, err


def test_an_invalid_branding_file_is_shown_in_a_window(screen: Screen, tmp_path: Path) -> None:
    require_module("tkinter")
    config = tmp_path / "branding.json"
    config.write_text(json.dumps({"company_name": "", "server_url": "https://support.example"}))
    proc = start(["-m", "sosdesk.agent", "--config", str(config), "sos"], screen, tmp_path)
    status, out, err = shows_the_box_until_closed(
        screen, proc, lambda box: screen.press(box, "Return"), "branding-error-box.png")
    assert status == 2 and out == ""
    assert "company_name must be a non-empty text" in err and "Traceback" not in err


def test_a_damaged_stamp_is_shown_in_a_window(screen: Screen, tmp_path: Path) -> None:
    require_module("tkinter")
    base, exe = tmp_path / "base", tmp_path / "ACME-QuickSupport"
    shutil.copyfile(shutil.which("true") or "/bin/true", base)
    write_stamp(base, exe, Branding(company_name="ACME", create_shortcut=False))
    exe.write_bytes(exe.read_bytes().replace(b'"ACME"', b'"ACMD"'))
    proc = start(["-c", FROZEN, str(exe)], screen, tmp_path)  # the tray, as at login
    status, out, err = shows_the_box_until_closed(screen, proc, screen.close_window,
                                                  "stamp-error-box.png")
    assert status == 2 and out == ""
    assert "is damaged (its checksum does not match its content)" in err


def test_headless_shows_no_window_even_with_a_display(screen: Screen, tmp_path: Path) -> None:
    config = tmp_path / "branding.json"
    config.write_text("{not json")
    proc = start(["-m", "sosdesk.agent", "--config", str(config), "--headless", "sos"], screen, tmp_path)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "not JSON" in err and out == ""
