"""The parts of bench/remote_session.py that run beside the agent: the X client that paints
a square and hears clicks, the scrolling Tk window, line readers for their stdout, and the
expert's viewer that decodes every tile."""

from __future__ import annotations

import io
import json
import queue
import subprocess
import threading
import time
from typing import Any, Callable

TILE = 64
SQUARE = 48

#: A small X client (python-xlib): a window with a square painted in the colour (0xRRGGBB)
#: read from each stdin line, answering "painted <monotonic time>" once the X server has
#: drawn it (a round trip); every ButtonPress on the window is "press <monotonic time>".
TARGET = r'''
import os, select, sys, time
from Xlib import X, display as xdisplay
d = xdisplay.Display()
screen = d.screen()
x, y, w, h, square = (int(v) for v in sys.argv[1:6])
win = screen.root.create_window(x, y, w, h, 0, screen.root_depth, X.InputOutput, X.CopyFromParent,
                                background_pixel=0xd0d0d0, override_redirect=True,
                                event_mask=X.ExposureMask | X.ButtonPressMask)
gc = win.create_gc(foreground=0x202020)
colour = 0x202020
def paint():
    gc.change(foreground=colour)
    win.fill_rectangle(gc, (w - square) // 2, (h - square) // 2, square, square)
win.map()
paint()
d.sync()
print("ready", flush=True)
stdin, pending = sys.stdin.fileno(), b""
while True:
    while d.pending_events():
        event = d.next_event()
        if event.type == X.ButtonPress:
            print(f"press {time.monotonic():.6f}", flush=True)
        elif event.type == X.Expose:
            paint()
            d.flush()
    ready, _, _ = select.select([d.fileno(), stdin], [], [])
    if stdin in ready:
        chunk = os.read(stdin, 4096)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            colour = int(line)
            paint()
            d.sync()
            print(f"painted {time.monotonic():.6f}", flush=True)
'''

#: A Tk text: "editor" (a window to type into, focused) or "scroller" (text on the whole
#: screen, a line scrolled every 33 ms once stdin says go). Prints "ready" once shown.
CONTENT = r'''
import sys, threading, tkinter as tk
kind, x, y, width, height = sys.argv[1], *(int(v) for v in sys.argv[2:6])
root = tk.Tk()
root.overrideredirect(True)
root.geometry(f"{width}x{height}+{x}+{y}")
text = tk.Text(root, font=("TkFixedFont", 11), bg="white", fg="#202020", wrap="none", bd=0)
text.place(x=0, y=0, width=width, height=height)
words = "the quick brown fox jumps over a lazy dog while sosdesk shares this screen".split()
lines = 40 if kind == "editor" else 4000
for n in range(lines):
    text.insert("end", f"{n:4d}  " + " ".join(words[(n + k) % len(words)] for k in range(14)) + "\n")
if kind == "editor":  # typing goes on a new line: what follows it does not move
    text.insert("3.0", "\n")
    text.mark_set("insert", "3.0")
    text.focus_force()
else:  # still until a line on stdin says go; the next line asks how many scrolls were drawn
    scrolled = [0]
    def scroll():
        text.yview_scroll(1, "units")
        text.update_idletasks()
        scrolled[0] += 1
        root.after(33, scroll)
    def commands():
        sys.stdin.readline()
        root.after(0, scroll)
        sys.stdin.readline()
        print(f"scrolled {scrolled[0]}", flush=True)
    threading.Thread(target=commands, daemon=True).start()
root.after(300, lambda: print("ready", flush=True))
root.mainloop()
'''


def monotonic_line(proc: subprocess.Popen, prefix: str, timeout: float = 10.0) -> float:
    """The time on the next stdout line of *proc* starting with *prefix*."""
    line = read_line(proc, timeout)
    while not line.startswith(prefix):
        line = read_line(proc, timeout)
    return float(line.split()[1])


def read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The next stdout line of a process started with :func:`start_reading`."""
    lines: queue.Queue = getattr(proc, "lines")
    try:
        line = lines.get(timeout=timeout)
    except queue.Empty:
        raise RuntimeError(f"no answer from {proc.args[:3]} within {timeout} s") from None
    if line is None:
        raise RuntimeError(f"{proc.args[:3]} ended")
    return line


def start_reading(proc: subprocess.Popen) -> subprocess.Popen:
    """Read *proc*'s stdout line by line in a thread (for :func:`read_line`)."""
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    proc.lines = lines  # type: ignore[attr-defined]
    threading.Thread(target=read, daemon=True).start()
    return proc


# -- the viewer ------------------------------------------------------------------------------

class Viewer:
    """The expert's viewer: one long-poll after another, every tile decoded and painted."""

    def __init__(self, url: str, code: str, token: str) -> None:
        import requests

        self.url = f"{url}/api/v1/sessions/{code}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.actions = requests.Session()  # the expert's clicks beside the long-poll, on their own connection
        self.actions.headers["Authorization"] = f"Bearer {token}"
        self.since_frame = self.since_event = 0
        self.picture: Any = None
        self.session: dict[str, Any] = {}
        self.frames = 0  # frames with tiles decoded
        self.received = 0  # bytes: bodies and headers of every answer
        self.lock = threading.Lock()
        self.watch: tuple[tuple[int, int], tuple[int, int, int], threading.Event, list[float]] | None = None
        self.stopped = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._loop, name="viewer", daemon=True)

    def start(self) -> "Viewer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def post(self, tail: str, body: dict | None = None) -> Any:
        """POST to one of the session's routes (connect, control, input): its JSON answer."""
        answer = self.actions.post(self.url + tail, json=body, timeout=10)
        if answer.status_code != 200:
            raise RuntimeError(f"POST {tail}: {answer.status_code} {answer.text}")
        return answer.json()

    def _loop(self) -> None:
        try:
            while not self.stopped.is_set():
                self.poll()
        except BaseException as exc:  # told to the main thread, which stops
            self.error = exc

    def poll(self) -> None:
        """One long-poll: decode and paint its tiles, count it, check the watched pixel."""
        from PIL import Image

        answer = self.http.get(self.url + "/remote", timeout=30, params={
            "since_frame": self.since_frame, "since_event": self.since_event, "wait": 10})
        if answer.status_code != 200:
            raise RuntimeError(f"viewer: {answer.status_code} {answer.text}")
        body = answer.content
        size = int.from_bytes(body[:4], "big")
        header = json.loads(body[4:4 + size])
        offset = 4 + size
        if header["tiles"] and (self.picture is None or header["full"]
                                or self.picture.size != (header["width"], header["height"])):
            self.picture = Image.new("RGB", (header["width"], header["height"]))
        for x, y, w, h, length, _ in header["tiles"]:
            tile = Image.open(io.BytesIO(body[offset:offset + length]))
            tile.load()
            self.picture.paste(tile, (x, y))
            offset += length
        decoded = time.monotonic()
        with self.lock:
            self.received += len(body) + 17 + sum(len(k) + len(v) + 4 for k, v in answer.headers.items()) + 2
            if header["tiles"]:
                self.frames += 1
            self.since_frame, self.since_event = header["seq"], header["event_seq"]
            self.session = header["session"]
            watch = self.watch
            if watch and header["tiles"] and near(self.picture.getpixel(watch[0]), watch[1]):
                watch[3].append(decoded)
                watch[2].set()
                self.watch = None

    def expect(self, at: tuple[int, int], rgb: tuple[int, int, int]) -> tuple[threading.Event, list[float]]:
        """Watch for the colour *rgb* at *at*: the event is set once a decoded frame shows it."""
        seen, when = threading.Event(), []
        with self.lock:
            self.watch = (at, rgb, seen, when)
        return seen, when

    def counters(self) -> tuple[int, int]:
        """(frames with tiles decoded, bytes received) so far."""
        with self.lock:
            return self.frames, self.received

    def until(self, what: str, check: Callable[["Viewer"], bool], timeout: float = 30) -> None:
        """Wait until *check(viewer)*; RuntimeError naming *what* after *timeout* s."""
        deadline = time.monotonic() + timeout
        while not check(self):
            if self.error:
                raise RuntimeError(f"the viewer failed: {self.error}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"viewer: {what} not within {timeout} s (session {self.session})")
            time.sleep(0.02)


def near(a: Any, b: tuple[int, int, int], slack: int = 24) -> bool:
    """Whether colour *a* is *b* up to JPEG's error."""
    return a is not None and max(abs(x - y) for x, y in zip(a, b)) <= slack


