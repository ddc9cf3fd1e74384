"""A virtual screen for the session's tests: Xvfb, a test window with a known picture,
pixels read back, real clicks and keys (XTEST), with python-xlib."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from PIL import Image, ImageGrab

from agent_helpers import start_xvfb
from ci_skips import require_module, require_tool

HERE = Path(__file__).resolve().parent


def wait_until(what: str, check: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    """The first true value of *check*, or AssertionError naming *what* after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)


class XScreen:
    """Xvfb at a given size (no window manager), with XTEST input and screenshots."""

    def __init__(self, xvfb: str, size: str = "1280x800") -> None:
        import Xlib.display

        self.server, name = start_xvfb(xvfb, f"{size}x24")
        if name is None:
            self.server.kill()
            raise AssertionError("Xvfb did not start")
        self.name = name
        self.x = Xlib.display.Display(name)
        self.root = self.x.screen().root

    def close(self) -> None:
        """Stop the X server."""
        try:
            self.x.close()
        finally:
            self.server.terminate()
            self.server.wait(10)

    def grab(self, box: tuple[int, int, int, int] | None = None) -> Image.Image:
        """The screen (or *box*: left, top, right, bottom) as RGB."""
        return ImageGrab.grab(bbox=box, xdisplay=self.name).convert("RGB")

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The colour at (x, y)."""
        return self.grab((x, y, x + 1, y + 1)).getpixel((0, 0))

    def pointer(self) -> tuple[int, int]:
        """Where the pointer is."""
        reply = self.root.query_pointer()
        return reply.root_x, reply.root_y

    def click(self, x: int, y: int, button: int = 1) -> None:
        """A real click at (x, y) with xdotool (XTEST: what a mouse does)."""
        subprocess.run(["xdotool", "mousemove", "--sync", str(x), str(y), "click", str(button)],
                       check=True, env=dict(os.environ, DISPLAY=self.name))

    def move(self, x: int, y: int) -> None:
        """Move the pointer as the customer's own hand would."""
        from Xlib import X
        from Xlib.ext import xtest

        xtest.fake_input(self.x, X.MotionNotify, x=x, y=y)
        self.x.sync()

    def find_box(self, rgb: tuple[int, int, int], box: tuple[int, int, int, int] | None = None,
                 slack: int = 8) -> tuple[int, int, int, int] | None:
        """The bounding box (left, top, right, bottom) of the pixels of colour *rgb*, or None."""
        from PIL import ImageChops

        bands = [band.point(lambda v, c=c: 255 if abs(v - c) <= slack else 0)
                 for band, c in zip(self.grab(box).split(), rgb)]
        found = ImageChops.multiply(ImageChops.multiply(bands[0], bands[1]), bands[2]).getbbox()
        if found is None:
            return None
        left, top = (box[0], box[1]) if box else (0, 0)
        return left + found[0], top + found[1], left + found[2] - 1, top + found[3] - 1

    def find_color(self, rgb: tuple[int, int, int], box: tuple[int, int, int, int] | None = None,
                   slack: int = 8) -> tuple[int, int] | None:
        """The middle of the pixels of colour *rgb* on the screen (or in *box*), or None."""
        found = self.find_box(rgb, box, slack)
        return ((found[0] + found[2]) // 2, (found[1] + found[3]) // 2) if found else None

    def type(self, text: str) -> None:
        """Type *text* with the real keyboard path (xdotool: XTEST)."""
        subprocess.run(["xdotool", "type", "--delay", "20", text], check=True,
                       env=dict(os.environ, DISPLAY=self.name))

    def key(self, name: str) -> None:
        """Press and release one key by its X name, e.g. Return."""
        subprocess.run(["xdotool", "key", name], check=True, env=dict(os.environ, DISPLAY=self.name))

    def window_named(self, title: str) -> Any:
        """The top-level window whose name is *title*, or None."""
        import Xlib.error
        from Xlib import X, Xatom

        try:
            for window in self.root.query_tree().children:
                prop = window.get_full_property(Xatom.WM_NAME, X.AnyPropertyType)
                value = prop.value if prop else None
                name = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                if name == title and window.get_attributes().map_state == X.IsViewable:
                    return window
        except Xlib.error.XError:  # a window went away while we looked
            return None
        return None

    def close_window(self, window: Any) -> None:
        """What a window manager sends for the title bar's X: WM_DELETE_WINDOW."""
        from Xlib import X
        import Xlib.protocol.event

        protocols = self.x.intern_atom("WM_PROTOCOLS")
        delete = self.x.intern_atom("WM_DELETE_WINDOW")
        event = Xlib.protocol.event.ClientMessage(window=window, client_type=protocols,
                                                  data=(32, [delete, X.CurrentTime, 0, 0, 0]))
        window.send_event(event)
        self.x.sync()


@contextlib.contextmanager
def virtual_screen(*modules: str, size: str = "1280x800") -> Iterator[XScreen]:
    """An XScreen for a test: python-xlib, xdotool and *modules* are required (missing in
    CI, the test fails), and the screen is closed after."""
    for module in ("Xlib", *modules):
        require_module(module)
    require_tool("xdotool")
    shown = XScreen(require_tool("Xvfb"), size)
    try:
        yield shown
    finally:
        shown.close()


class PictureApp:
    """tests/picture_app.py on a display: a known picture at *at* and a text field.

    BLOCKS and FIELD_AT are in the window's pixels; ``blocks`` and ``field`` on the screen's.
    """

    BLOCKS = [(0, 0, 200, 100, (255, 0, 0)), (200, 0, 200, 100, (0, 255, 0)),
              (0, 100, 200, 100, (0, 0, 255)), (200, 100, 200, 100, (255, 255, 0))]
    FIELD_AT = (200, 250)

    def __init__(self, display: str, at: tuple[int, int] = (0, 0)) -> None:
        self.at = at
        self.blocks = [(x + at[0], y + at[1], w, h, c) for x, y, w, h, c in self.BLOCKS]
        self.field = (self.FIELD_AT[0] + at[0], self.FIELD_AT[1] + at[1])
        env = dict(os.environ, DISPLAY=display, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "picture_app.py"), *map(str, at)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.text = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("text "):
                self.text = eval(line[5:])  # noqa: S307 - our own repr() output
            self.lines.put(line.rstrip("\n"))

    def wait_shown(self, screen: XScreen) -> None:
        """Until the picture's colours are on the screen."""
        wait_until("the test picture", lambda: all(
            max(abs(a - b) for a, b in zip(screen.pixel(x + 20, y + 20), c)) < 8
            for x, y, w, h, c in self.blocks))

    def repaint(self, rgb: tuple[int, int, int]) -> None:
        """Paint the first block in *rgb*."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("color %d %d %d\n" % rgb)
        self.proc.stdin.flush()

    def close(self) -> None:
        """End the window."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
