"""Driving the QuickSupport window as a customer would, on a virtual screen (Xvfb).

The window runs in the test's main thread (Tk's thread: ``window.run(start)``), on a
real server; a scenario runs in another thread and acts only as a customer can: it
reads what is on the screen (every mapped widget's text and where it is, recorded on
Tk's thread every 50 ms) and clicks and types with xdotool (XTEST). Screenshots come
from the X server (ImageGrab).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable

from PIL import ImageGrab

from conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"


def _widget(widget: Any) -> dict[str, Any]:
    """What the customer can see of one mapped widget."""
    kind = widget.winfo_class()
    shown: dict[str, Any] = {"class": kind, "x": widget.winfo_rootx(), "y": widget.winfo_rooty(),
                             "w": widget.winfo_width(), "h": widget.winfo_height(), "text": "",
                             "window": widget.winfo_toplevel().title()}
    if kind == "Text":
        shown["text"] = widget.get("1.0", "end").strip()
    elif kind == "TEntry" or kind == "Entry":
        shown["text"] = widget.get()
    else:
        try:
            shown["text"] = str(widget.cget("text"))
        except Exception:  # a frame: no text
            pass
    try:
        shown["style"] = str(widget.cget("style")) or kind
    except Exception:
        shown["style"] = kind
    try:
        shown["state"] = str(widget.cget("state"))
    except Exception:
        shown["state"] = ""
    return shown


def visible(root: Any) -> list[dict[str, Any]]:
    """Every widget of *root* and its other windows that is on the screen now."""
    found: list[dict[str, Any]] = []
    pending = [root]
    while pending:
        widget = pending.pop(0)
        if not widget.winfo_viewable():
            continue
        if widget.winfo_class() == "Toplevel" or widget is root:
            found.append({"class": "window", "text": widget.title(), "x": widget.winfo_rootx(),
                          "y": widget.winfo_rooty(), "w": widget.winfo_width(), "h": widget.winfo_height(),
                          "style": "", "state": "", "window": widget.title()})
        else:
            found.append(_widget(widget))
        pending.extend(widget.winfo_children())
    return found


class Customer:
    """The customer in front of the window: looks (snapshots) and acts (xdotool)."""

    def __init__(self, window: Any, display: str) -> None:
        self.window, self.display = window, display
        self.seen: list[dict[str, Any]] = []
        self.frame_id = int(window.root.wm_frame(), 16)  # the window the window manager would close
        self._closed = threading.Event()
        window.root.after(50, self._record)

    def _record(self) -> None:
        try:
            self.seen = visible(self.window.root)
            self.window.root.after(50, self._record)
        except Exception:  # the window is gone
            self._closed.set()

    # -- looking ----------------------------------------------------------------------

    def texts(self) -> list[str]:
        return [w["text"] for w in self.seen if w["text"]]

    def find(self, text: str, kind: str | None = None, exact: bool = True,
             window: str | None = None) -> dict[str, Any] | None:
        """The first widget showing *text* (of *kind*, in the window titled *window*), or None."""
        for widget in self.seen:
            if ((widget["text"] == text if exact else text in widget["text"])
                    and (kind is None or widget["class"] == kind)
                    and (window is None or widget["window"] == window)):
                return widget
        return None

    def wait_for(self, text: str, kind: str | None = None, exact: bool = True, timeout: float = 30,
                 window: str | None = None) -> dict:
        """The widget showing *text*, once it shows; AssertionError with what is shown if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.find(text, kind, exact, window)
            if found:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not shown within {timeout} s; shown: {self.texts()}")

    def wait_gone(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.find(text, exact=False) is None:
                return
            time.sleep(0.05)
        raise AssertionError(f"{text!r} still shown after {timeout} s")

    def wait_closed(self, timeout: float = 30) -> None:
        assert self._closed.wait(timeout), f"the window is still open; shown: {self.texts()}"

    # -- acting -------------------------------------------------------------------------

    def _xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, env=dict(os.environ, DISPLAY=self.display), timeout=30)

    def settled(self, text: str, kind: str | None = None, window: str | None = None) -> dict[str, Any]:
        """The widget showing *text* once it stayed in one place for a few snapshots (the layout
        may still move it: a line appearing above pushes it down)."""
        widget, still = self.wait_for(text, kind, window=window), 0
        while still < 4:
            time.sleep(0.06)
            again = self.wait_for(text, kind, window=window)
            still = still + 1 if (again["x"], again["y"]) == (widget["x"], widget["y"]) else 0
            widget = again
        return widget

    def click(self, text: str, kind: str | None = None, window: str | None = None) -> None:
        """Click the middle of the widget showing *text* (a button: its label)."""
        widget = self.settled(text, kind, window=window)
        self._xdotool("mousemove", "--sync", str(widget["x"] + widget["w"] // 2),
                      str(widget["y"] + widget["h"] // 2), "click", "1")

    def type_into(self, widget: dict[str, Any], words: str, replace: bool = False) -> None:
        """Click into a field and type (select all first to *replace* what it holds)."""
        self._xdotool("mousemove", "--sync", str(widget["x"] + widget["w"] // 2),
                      str(widget["y"] + widget["h"] // 2), "click", "1")
        if replace:  # select from the end back to the start, as a hand on the keyboard would
            self._xdotool("key", "--clearmodifiers", "End", "shift+Home", "BackSpace")
        self._xdotool("type", "--delay", "15", words)

    def close_window(self) -> None:
        """The title bar's X, as a window manager sends it: WM_DELETE_WINDOW."""
        import Xlib.display
        import Xlib.protocol.event
        from Xlib import X

        x = Xlib.display.Display(self.display)
        try:
            window = x.create_resource_object("window", self.frame_id)
            event = Xlib.protocol.event.ClientMessage(
                window=window, client_type=x.intern_atom("WM_PROTOCOLS"),
                data=(32, [x.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]))
            window.send_event(event)
            x.sync()
        finally:
            x.close()

    def shot(self, name: str, box: tuple[int, int, int, int] | None = None) -> Path:
        """A screenshot of the window (or *box*) from the X server."""
        ARTIFACTS.mkdir(exist_ok=True)
        if box is None:
            main = next(w for w in self.seen if w["class"] == "window")
            box = (main["x"], main["y"], main["x"] + main["w"], main["y"] + main["h"])
        path = ARTIFACTS / name
        ImageGrab.grab(bbox=box, xdisplay=self.display).convert("RGB").save(path)
        return path


def run_window(window: Any, start: Any, display: str, scenario: Callable[[Customer], None],
               join_code: str | None = None, limit: float = 120) -> int:
    """Show *window* until it closes while *scenario* acts in another thread; its exit status.

    A failing scenario fails the test with its own error; the window is closed then.
    """
    customer = Customer(window, display)
    errors: list[BaseException] = []

    def act() -> None:
        try:
            scenario(customer)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            errors.append(exc)
            window.events.put(("quit", None))

    scenario_thread = threading.Thread(target=act, daemon=True)
    scenario_thread.start()
    window.root.after(int(limit * 1000), window.quit)  # a hang ends the test, not the run
    try:
        status = window.run(start, join_code)
    finally:
        # The window is gone (no snapshot will say so now). The scenario ends here, while
        # this thread still holds the window: Tcl aborts the process when a Tk variable
        # dies on another thread.
        customer._closed.set()
        scenario_thread.join(60)
    if errors:
        raise errors[0]
    return status

