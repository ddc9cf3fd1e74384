"""The remote session end to end on loopback: the real agent, the real server and a viewer.

    python bench/remote_session.py [--sizes 1280x800,1920x1080] [--samples 40] [--seconds 10]

Per screen size, on its own Xvfb: the ``sos-server`` process; the ``sos-agent sos``
process with its window on the screen, the customer's Allow (viewing, then control)
clicked with xdotool on the agent's real question; and the VIEWER in this process: a
Python client of the viewer's long-poll (``GET /sessions/{code}/remote``) that decodes
every JPEG tile with Pillow and paints it onto a picture of the customer's screen, as
the console does with createImageBitmap on its canvas (the browser is not measured).
Measured:

* change-to-view   a small X client paints a 48x48 square (X round trip done: its
                   time); until the viewer has decoded a frame showing it. p50, p95.
* full-screen fps  a full-screen Tk text scrolling a line every 33 ms: frames with
                   tiles the viewer decoded per second (and their bytes per second).
* static B/s       a still screen (the agent's window, the X client), the session on,
                   for twice --seconds: bytes the viewer received (HTTP bodies and
                   headers) per second.
* typing B/s       xdotool types into a Tk text at 6.7 characters a second.
* click-to-inject  the viewer posts a left click (down, up) at the X client; until the
                   client has the ButtonPress from the X server. p50, p95.
* agent CPU idle   /proc/<agent pid>/stat over the static period, % of one core (and
                   while the screen scrolls, in the lines after the table).
* floor            in this process and the same run, the screen full of text (the
                   scroller, still): one full-frame capture (mss) plus encode (the
                   agent's FrameEncoder, quality 55), and one loopback HTTP
                   round trip (GET /healthz, keep-alive). Latencies are also given as
                   a multiple of their floor (change-to-view: capture + encode + round
                   trip; click-to-inject: the round trip).

Prints a table and, as its last line, the summary for 1280x800 (the 1920x1080 fps is in
the table). Needs Xvfb, xdotool, python-xlib and tkinter.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

ALLOW = (0x1A, 0x7F, 0x37)  # agent.session_ui.ALLOW_COLOR
AIMS = {"c2v_p50": 100, "c2v_p95": 250, "fps": {"1280x800": 15, "1920x1080": 8}, "static": 2000,
        "typing": 100_000, "click_p50": 50, "cpu_idle": 2.0}
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


# -- one size --------------------------------------------------------------------------------

@dataclasses.dataclass
class Figures:
    """What one screen size measured (times in ms)."""

    size: str
    capture_encode_ms: float = 0.0
    full_frame_bytes: int = 0
    rtt_ms: float = 0.0
    c2v: list[float] = dataclasses.field(default_factory=list)
    fps: float = 0.0
    fps_bytes: float = 0.0
    static: float = 0.0
    typing: float = 0.0
    click: list[float] = dataclasses.field(default_factory=list)
    cpu_idle: float = 0.0
    cpu_busy: float = 0.0
    scrolls: float = 0.0

    @property
    def floor_ms(self) -> float:
        """Capture + encode of a full frame plus a loopback round trip."""
        return self.capture_encode_ms + self.rtt_ms


def percentile(values: list[float], share: float) -> float:
    """The value below which *share* of *values* lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


class Bench:
    """Xvfb, the server, the agent, the viewer and the windows of one size; every process ended by close()."""

    def __init__(self, size: str, args: argparse.Namespace, work: Path) -> None:
        self.size, self.args, self.work = size, args, work
        self.width, self.height = (int(v) for v in size.split("x"))
        self.procs: list[subprocess.Popen] = []
        self.screen: Any = None
        self.server: Any = None
        self.agent: Any = None
        self.viewer: Viewer | None = None
        self.target: subprocess.Popen | None = None
        # The X client: right of the agent's window, clear of its question and bar, tile-aligned.
        self.target_box = (self.width - 5 * TILE, 6 * TILE, 3 * TILE, 3 * TILE)

    def close(self) -> None:
        if self.viewer:
            self.viewer.stop()
        for proc in [*self.procs, *(p.proc for p in (self.agent, self.server) if p and p.proc)]:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        if self.screen:
            self.screen.close()

    def x_env(self) -> dict[str, str]:
        return dict(os.environ, DISPLAY=self.screen.name)

    def spawn(self, args: list[str]) -> subprocess.Popen:
        proc = subprocess.Popen(args, env=self.x_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        self.procs.append(start_reading(proc))
        return proc

    def content(self, kind: str, x: int, y: int, width: int, height: int) -> subprocess.Popen:
        proc = self.spawn([sys.executable, "-c", CONTENT, kind, str(x), str(y), str(width), str(height)])
        read_line(proc, 30)
        return proc

    def end(self, proc: subprocess.Popen) -> None:
        proc.kill()
        proc.wait(10)
        self.procs.remove(proc)

    # -- setting up ------------------------------------------------------------------------

    def start(self) -> None:
        from agent_helpers import AgentProcess, agent_env, queue_of, write_branding
        from servers import ServerProcess
        from xscreen import XScreen, wait_until

        self.screen = XScreen(shutil.which("Xvfb") or "Xvfb", self.size)
        os.environ["DISPLAY"] = self.screen.name  # this process's capture for the floor
        self.server = ServerProcess(self.work / "server.db", 0, "--quiet").start()
        x, y, w, h = self.target_box
        self.target = self.spawn([sys.executable, "-c", TARGET, str(x), str(y), str(w), str(h), str(SQUARE)])
        read_line(self.target, 30)
        config = write_branding(self.work, self.server.url, company_name="ACME GmbH", language="en")
        env = agent_env(self.work)
        for name in ("XDG_SESSION_TYPE", "WAYLAND_DISPLAY"):
            env.pop(name, None)
        env["DISPLAY"] = self.screen.name
        self.agent = AgentProcess(["--config", str(config), "--no-install", "sos"], env)
        cases = wait_until("the agent's case", lambda: queue_of(self.server), timeout=60)
        code = cases[0]["code"]
        wait_until("the agent online", lambda: self.server.api("GET", f"/api/v1/sessions/{code}").json()
                   .get("online"), timeout=60)
        self.viewer = Viewer(self.server.url, code, self.server.token)
        self.viewer.post("/connect")
        self.viewer.start()
        self.allow()
        self.viewer.until("the first picture", lambda v: v.picture is not None and near(
            v.picture.getpixel(self.square_at), (0x20, 0x20, 0x20)))

    @property
    def square_at(self) -> tuple[int, int]:
        x, y, w, h = self.target_box
        return x + w // 2, y + h // 2

    def allow(self) -> None:
        """The customer's Allow on the agent's question, clicked with xdotool."""
        from xscreen import wait_until

        popups = (0, 0, self.width, self.height // 2 + 100)
        self.screen.click(*wait_until("the agent's question", lambda: self.screen.find_color(ALLOW, popups),
                                      timeout=60))
        wait_until("the question to close", lambda: self.screen.find_color(ALLOW, popups) is None)

    def settle(self, quiet: float = 2.0, timeout: float = 30.0) -> None:
        """Until the viewer got no frame for *quiet* seconds (the sharp pass done)."""
        assert self.viewer
        deadline = time.monotonic() + timeout
        frames, since = self.viewer.counters()[0], time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            time.sleep(0.1)
            now_frames = self.viewer.counters()[0]
            if now_frames != frames:
                frames, since = now_frames, time.monotonic()

    # -- the measurements ---------------------------------------------------------------------

    def floor(self, figures: Figures) -> None:
        import requests

        from sosdesk.agent.screen import FrameEncoder, MssGrabber

        grabber = MssGrabber()
        monitor = grabber.monitors()[0]
        costs, size = [], 0
        for n in range(10):
            started = time.perf_counter()
            frame = FrameEncoder().encode(grabber.grab(monitor), float(n), 55)
            costs.append(time.perf_counter() - started)
            size = len(frame.payload) if frame else 0
        grabber.close()
        http = requests.Session()
        trips = []
        for _ in range(50):
            started = time.perf_counter()
            http.get(f"{self.server.url}/healthz", timeout=10).raise_for_status()
            trips.append(time.perf_counter() - started)
        figures.capture_encode_ms = statistics.median(costs) * 1000
        figures.full_frame_bytes = size
        figures.rtt_ms = statistics.median(trips) * 1000

    def static(self, figures: Figures) -> None:
        assert self.viewer and self.agent
        self.settle()
        ticks = os.sysconf("SC_CLK_TCK")
        cpu_before, (_, bytes_before), started = cpu_seconds(self.agent.proc.pid, ticks), \
            self.viewer.counters(), time.monotonic()
        time.sleep(2 * self.args.seconds)  # the viewer's long-poll answers every 10 s when nothing happens
        elapsed = time.monotonic() - started
        figures.cpu_idle = 100 * (cpu_seconds(self.agent.proc.pid, ticks) - cpu_before) / elapsed
        figures.static = (self.viewer.counters()[1] - bytes_before) / elapsed

    def change_to_view(self, figures: Figures) -> None:
        assert self.viewer and self.target
        colours = [(0xE0, 0x30, 0x30), (0x30, 0xB0, 0x40), (0x30, 0x50, 0xE0), (0xF0, 0xC0, 0x20)]
        for n in range(self.args.samples):
            # Not in step with the agent's capture; every other one after the screen was still
            # for a while (the agent then looks every 100 ms), the others while it changes
            # (every 33 ms).
            time.sleep(random.uniform(1.8, 2.6) if n % 2 else random.uniform(0.2, 0.5))
            rgb = colours[n % len(colours)]
            seen, when = self.viewer.expect(self.square_at, rgb)
            self.target.stdin.write(f"{(rgb[0] << 16) | (rgb[1] << 8) | rgb[2]}\n")
            self.target.stdin.flush()
            painted = monotonic_line(self.target, "painted")
            if not seen.wait(10):
                raise RuntimeError(f"the viewer never showed change {n}")
            figures.c2v.append((when[0] - painted) * 1000)

    def click_to_inject(self, figures: Figures) -> None:
        assert self.viewer and self.target
        from xscreen import wait_until

        self.viewer.post("/remote/control", {"request": True})
        self.allow()
        wait_until("control allowed", lambda: self.viewer.session.get("control") == "allowed", timeout=30)
        time.sleep(0.5)
        x, y = self.square_at
        for _ in range(self.args.samples):
            time.sleep(random.uniform(0.1, 0.2))
            started = time.monotonic()
            self.viewer.post("/remote/input", {"events": [{"t": "down", "b": "left", "x": x, "y": y},
                                                          {"t": "up", "b": "left", "x": x, "y": y}]})
            figures.click.append((monotonic_line(self.target, "press") - started) * 1000)
        self.viewer.post("/remote/control", {"request": False})

    def typing(self, figures: Figures) -> None:
        assert self.viewer
        editor = self.content("editor", 8 * TILE, self.height - 7 * TILE, 10 * TILE, 6 * TILE)
        # The pointer over it (the focus follows the pointer without a window manager); no
        # click, which would put the insertion point in the middle of a line.
        subprocess.run(["xdotool", "mousemove", "--sync", str(8 * TILE + 5 * TILE), str(self.height - 4 * TILE)],
                       env=self.x_env(), check=True, timeout=30)
        self.settle(timeout=3.0)  # its caret blinks: never quite still
        text = "The quick brown fox jumps over the lazy dog. " * 4
        count = int(self.args.seconds * 1000 / 150)
        _, bytes_before = self.viewer.counters()
        started = time.monotonic()
        subprocess.run(["xdotool", "type", "--delay", "150", text[:count]], env=self.x_env(), check=True,
                       timeout=120)
        elapsed = time.monotonic() - started
        figures.typing = (self.viewer.counters()[1] - bytes_before) / elapsed
        self.end(editor)

    def full_screen(self, figures: Figures) -> None:
        """The floor on a screen full of text, then the fps while that text scrolls."""
        assert self.viewer
        scroller = self.content("scroller", 0, 0, self.width, self.height)
        self.settle()
        self.floor(figures)
        assert scroller.stdin and self.agent
        scroller.stdin.write("go\n")
        scroller.stdin.flush()
        time.sleep(1.0)
        ticks = os.sysconf("SC_CLK_TCK")
        frames_before, bytes_before = self.viewer.counters()
        cpu_before, started = cpu_seconds(self.agent.proc.pid, ticks), time.monotonic()
        time.sleep(min(self.args.seconds, 5.0))
        elapsed = time.monotonic() - started
        frames, received = self.viewer.counters()
        figures.cpu_busy = 100 * (cpu_seconds(self.agent.proc.pid, ticks) - cpu_before) / elapsed
        figures.fps = (frames - frames_before) / elapsed
        figures.fps_bytes = (received - bytes_before) / elapsed
        scroller.stdin.write("count\n")
        scroller.stdin.flush()
        figures.scrolls = float(read_line(scroller, 10).split()[1]) / (time.monotonic() - started + 1.0)
        self.end(scroller)


def cpu_seconds(pid: int, ticks: int) -> float:
    """User plus system CPU seconds of process *pid* so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def measure(size: str, args: argparse.Namespace) -> Figures:
    """Everything for one screen size, on fresh processes."""
    figures = Figures(size)
    with tempfile.TemporaryDirectory(prefix="sosdesk-bench-") as folder:
        bench = Bench(size, args, Path(folder))
        try:
            bench.start()
            bench.static(figures)
            bench.change_to_view(figures)
            bench.click_to_inject(figures)
            bench.typing(figures)
            bench.full_screen(figures)
        finally:
            bench.close()
    return figures


# -- the report --------------------------------------------------------------------------------

def report(results: list[Figures]) -> None:
    """The table, the floors, and the summary line last."""
    print("remote session: the real sos-agent and sos-server processes and a Python viewer "
          "(requests + Pillow decoding every tile) on loopback, Xvfb, "
          f"{os.cpu_count()} cores shared by all")
    print(f"{'size':<10} {'floor ms':>9} {'c2v p50':>8} {'c2v p95':>8} {'x floor':>8} {'fps':>6} {'fps KB/s':>9} "
          f"{'static B/s':>11} {'typing B/s':>11} {'click p50':>10} {'click p95':>10} {'x rtt':>7} {'CPU idle':>9}")
    for f in results:
        c2v50, c2v95 = percentile(f.c2v, 0.5), percentile(f.c2v, 0.95)
        click50, click95 = percentile(f.click, 0.5), percentile(f.click, 0.95)
        print(f"{f.size:<10} {f.floor_ms:9.1f} {c2v50:8.1f} {c2v95:8.1f} {c2v50 / f.floor_ms:8.1f} {f.fps:6.1f} "
              f"{f.fps_bytes / 1000:9.0f} {f.static:11.0f} {f.typing:11.0f} {click50:10.1f} {click95:10.1f} "
              f"{click50 / f.rtt_ms:7.1f} {f.cpu_idle:8.2f}%")
    fps_aims = "/".join(f">={v}" for v in AIMS["fps"].values())
    print(f"{'aim':<10} {'':>9} {'<' + str(AIMS['c2v_p50']):>8} {'<' + str(AIMS['c2v_p95']):>8} {'':>8} "
          f"{fps_aims:>6} {'':>9} {'<' + str(AIMS['static']):>11} {'<' + str(AIMS['typing']):>11} "
          f"{'<' + str(AIMS['click_p50']):>10} {'':>10} {'':>7} {'<' + str(AIMS['cpu_idle']) + '%':>9}")
    for f in results:
        print(f"floor {f.size}: one full-frame capture + encode {f.capture_encode_ms:.1f} ms "
              f"({f.full_frame_bytes // 1000} KB at quality 55), one loopback HTTP round trip {f.rtt_ms:.2f} ms")
        print(f"scrolling {f.size}: the window drew {f.scrolls:.1f} scrolls/s, the viewer decoded {f.fps:.1f} "
              f"frames/s ({f.fps_bytes / 1e6:.1f} MB/s), agent CPU {f.cpu_busy:.0f}% of one core")
    main_figures = next((f for f in results if f.size == "1280x800"), results[0])
    f = main_figures
    print(f"remote session {f.size}: change-to-view p50 {percentile(f.c2v, 0.5):.0f} ms p95 "
          f"{percentile(f.c2v, 0.95):.0f} ms; full-screen fps {f.fps:.1f}; static B/s {f.static:.0f}; "
          f"typing B/s {f.typing:.0f}; click-to-inject p50 {percentile(f.click, 0.5):.0f} ms; "
          f"agent CPU idle {f.cpu_idle:.1f}%")


def main() -> int:
    """Measure each size, print the report; 2 when a tool is missing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1280x800,1920x1080")
    parser.add_argument("--samples", type=int, default=40, help="changes and clicks measured per size")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the static and typing periods")
    args = parser.parse_args()
    missing = [tool for tool in ("Xvfb", "xdotool") if shutil.which(tool) is None]
    if missing:
        print(f"remote_session: {', '.join(missing)} not installed", file=sys.stderr)
        return 2
    results = []
    for size in args.sizes.split(","):
        results.append(measure(size.strip(), args))
        print(f"measured {size.strip()}", file=sys.stderr, flush=True)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
