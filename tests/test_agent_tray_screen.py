"""The real tray icon on a virtual desktop: Xvfb, a system tray host (trayer) and
the agent as a process with pystray's xorg backend, checked from outside.

What the customer's desktop would show is read back from the X server: the
icon's window belongs to the agent's process (X-Resource), it is embedded in
trayer's panel, its WM_NAME (the xorg backend's tooltip) follows the case, and
the pixels show the brand icon (initials in the brand colour) with the status
badge. A left click, the only input the xorg backend handles, requests support.
The menu itself is covered on the dummy backend (test_agent_tray.py).

Screenshots go to test-artifacts/ (gitignored): tray.png is the panel at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest
from PIL import Image, ImageGrab

from agent_helpers import (agent_env, establish_session, queue_of, start_agent, start_xvfb,
                           write_branding)
from conftest import ROOT, require_module, require_tool, skip_missing

Xlib = require_module("Xlib")  # pystray's own X dependency on Linux
import Xlib.display  # noqa: E402
import Xlib.error  # noqa: E402
import Xlib.Xatom  # noqa: E402
from Xlib import X  # noqa: E402
from Xlib.ext import res, xtest  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
BRAND = "#8a2be2"  # blue violet: nothing else on the screen has this colour
PENDING = "#d29922"
IN_PROGRESS = "#1a7f37"
T = TypeVar("T")


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


#: How long a wait may take before it counts as a hang. Each wait ends as soon as its
#: event is seen (under two busy loops the slowest took about a second), so only a hang
#: reaches this, however loaded the machine is.
HANG = 60.0


def eventually(probe: Callable[[], T], what: str | Callable[[], str], timeout: float = HANG) -> T:
    """The first truthy result of *probe* within *timeout* seconds (*what* names it if not)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"{what() if callable(what) else what}: not within {timeout} s")


class Desktop:
    """An Xvfb screen with trayer as its system tray, seen through python-xlib."""

    def __init__(self) -> None:
        xvfb, trayer = require_tool("Xvfb"), require_tool("trayer")
        self.x: Xlib.display.Display | None = None
        server, name = start_xvfb(xvfb, "480x200x24")
        self.procs: list[subprocess.Popen] = [server]
        if name is None:
            self.close()
            pytest.fail("Xvfb did not start")
        self.name = name
        self.x = Xlib.display.Display(self.name)
        # python-xlib's RANDR support files its errors under codes 0-2, where the core
        # protocol's are (BadValue is 2), as classes it cannot parse: put the core ones back.
        self.x.display.error_classes.update(Xlib.error.xerror_class)
        self.root = self.x.screen().root
        self.trayer = subprocess.Popen(
            [trayer, "--edge", "top", "--align", "left", "--widthtype", "request",
             "--heighttype", "pixel", "--height", "34", "--expand", "false",
             "--transparent", "false", "--tint", "0x000000", "--SetDockType", "false"],
            env={**os.environ, "DISPLAY": self.name}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.procs.append(self.trayer)
        selection = self.x.intern_atom("_NET_SYSTEM_TRAY_S0")
        self.tray_owner = eventually(lambda: self.x.get_selection_owner(selection) or None,
                                     "trayer owns the system tray selection")

    def close(self) -> None:
        if self.x is not None:
            self.x.close()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)

    # -- reading the screen ------------------------------------------------------

    def windows(self, top: Any = None) -> Iterator[Any]:
        """Every window under *top* (the root), depth first."""
        for child in (top or self.root).query_tree().children:
            yield child
            yield from self.windows(child)

    def pid(self, window: Any) -> int | None:
        """The process that created *window* (X-Resource: the server knows its clients)."""
        ids = self.x.res_query_client_ids([{"client": window.id, "mask": res.LocalClientPIDMask}]).ids
        return next((i.value[0] for i in ids if i.spec.mask == res.LocalClientPIDMask and i.value), None)

    def ancestors(self, window: Any) -> list[Any]:
        chain = []
        while True:
            parent = window.query_tree().parent
            if not parent or parent.id in (0, self.root.id):
                return chain
            chain.append(parent)
            window = parent

    def icon_of(self, pid: int) -> Any:
        """The mapped window of process *pid* inside the tray, or None."""
        try:
            for window in self.windows():
                if (window.get_attributes().map_state == X.IsViewable and self.pid(window) == pid
                        and any(self.pid(a) == self.trayer.pid for a in self.ancestors(window))):
                    return window
        except Xlib.error.XError:  # a window went away while we looked
            return None
        return None

    def icon_of_group(self, leader: int) -> Any:
        """Like icon_of, for the process in session *leader* (under dbus-run-session)."""
        for pid in [leader, *session_members(leader)]:
            window = self.icon_of(pid)
            if window:
                return window
        return None

    def window_of(self, pid: int, name: str) -> Any:
        """A window of process *pid* named *name*, docked or not, or None."""
        try:
            return next((w for w in self.windows() if self.pid(w) == pid and self.wm_name(w) == name),
                        None)
        except Xlib.error.XError:  # a window went away while we looked
            return None

    def wm_name(self, window: Any) -> str | None:
        # One request for the whole name: get_full_property reads a long one in two, and
        # the agent may shorten it in between ("...retrying..." -> "Pending"), which the
        # X server answers with BadValue for the second read.
        prop = window.get_property(Xlib.Xatom.WM_NAME, X.AnyPropertyType, 0, 1024)
        if prop is None:
            return None
        value = prop.value
        return value.decode("latin-1") if isinstance(value, bytes) else value

    def box(self, window: Any) -> tuple[int, int, int, int]:
        geometry = window.get_geometry()
        at = window.translate_coords(self.root, 0, 0)
        return (-at.x, -at.y, -at.x + geometry.width, -at.y + geometry.height)

    def grab(self, box: tuple[int, int, int, int] | None = None) -> Image.Image:
        return ImageGrab.grab(bbox=box, xdisplay=self.name).convert("RGB")

    def click(self, window: Any) -> None:
        """A real left click (XTEST) in the middle of *window*."""
        left, top, right, bottom = self.box(window)
        self.root.warp_pointer((left + right) // 2, (top + bottom) // 2)
        self.x.sync()
        xtest.fake_input(self.x, X.ButtonPress, 1)
        xtest.fake_input(self.x, X.ButtonRelease, 1)
        self.x.sync()


def session_members(sid: int) -> list[int]:
    """The processes of session *sid* (Linux /proc)."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:  # after ")": state ppid pgrp session
            members.append(int(stat.parent.name))
    return members


def brand_icon_shown(desktop: "Desktop", icon: Any, least: float) -> Image.Image | None:
    """The icon's pixels once it has its size and shows the initials in the brand colour."""
    left, top, right, bottom = box = desktop.box(icon)
    if right - left < 16 or bottom - top < 16:
        return None  # still being embedded
    image = desktop.grab(box)
    return image if share(image, BRAND) > least and whites(image) >= 10 else None


def _pixels(image):
    """Every pixel's values (Pillow 12 renamed getdata; keep working on both)."""
    return getattr(image, "get_flattened_data", image.getdata)()


def share(image: Image.Image, colour: str, tolerance: int = 40) -> float:
    """The share of *image*'s pixels within *tolerance* of *colour*."""
    want = rgb(colour)
    pixels = list(_pixels(image))
    near = sum(1 for p in pixels if all(abs(a - b) <= tolerance for a, b in zip(p, want)))
    return near / len(pixels)


def whites(image: Image.Image) -> int:
    return sum(1 for p in _pixels(image) if min(p) >= 200)


def save(image: Image.Image, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    image.resize((image.width * 4, image.height * 4), Image.NEAREST).save(ARTIFACTS / name)


@pytest.fixture
def desktop() -> Iterator[Desktop]:
    screen = Desktop()
    try:
        yield screen
    finally:
        screen.close()


class TrayAgent:
    """``python -m sosdesk.agent ... tray`` in its own process group (the window it opens dies with it)."""

    def __init__(self, desktop: Desktop, tmp_path: Path, url: str, backend: str,
                 wrap: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        config = write_branding(tmp_path, url, language="en", primary_color=BRAND)
        env = {**agent_env(tmp_path), "DISPLAY": desktop.name, "PYSTRAY_BACKEND": backend,
               "PYTHONFAULTHANDLER": "1", **(env or {})}
        self.log = open(tmp_path / "agent-stderr.txt", "w+")
        # The xorg icon has no menu, so the agent would open its window for an open request
        # (tests/test_agent_window_e2e.py); here the icon is under test, with no window over it.
        quiet = ["--no-window"] if backend == "xorg" else []
        self.proc = subprocess.Popen(
            [*wrap, sys.executable, "-m", "sosdesk.agent", "--config", str(config), "--no-install", "tray",
             *quiet],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log, start_new_session=True)

    def dump_threads(self) -> None:
        """Have the agent write where each of its threads is to its stderr (faulthandler)."""
        if self.proc.poll() is None and self.proc.args[0] == sys.executable:  # not under a wrapper
            self.proc.send_signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)

    def stderr(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
        self.log.close()


def docked(desktop: Desktop, agent: TrayAgent) -> Any:
    return eventually(lambda: agent.proc.poll() is None and desktop.icon_of(agent.proc.pid),
                      "the agent's icon docked in trayer's panel")


@contextlib.contextmanager
def watched(desktop: "Desktop", agent: "TrayAgent", failure_png: str) -> Iterator[None]:
    """Stop the tray agent at the end; on failure keep a screenshot and its stderr."""
    try:
        yield
    except BaseException:
        save(desktop.grab(), failure_png)
        agent.dump_threads()
        print(agent.stderr(), file=sys.stderr)
        raise
    finally:
        agent.stop()


def test_icon_docks_in_the_tray_with_brand_icon_and_tooltip(desktop: Desktop, server_process: Any,
                                                            tmp_path: Path) -> None:
    agent = TrayAgent(desktop, tmp_path, server_process.url, "xorg")
    with watched(desktop, agent, "tray-failure.png"):
        icon = docked(desktop, agent)
        assert eventually(lambda: desktop.wm_name(icon) == "Test IT: No open request", "idle tooltip")
        image = eventually(lambda: brand_icon_shown(desktop, icon, 0.4), "initials in the brand colour")
        assert share(image, PENDING) == 0 and share(image, IN_PROGRESS) == 0, "a badge without a case"
        assert agent.proc.poll() is None, agent.stderr()


def test_icon_follows_the_open_case_through_an_outage(desktop: Desktop, server_process: Any,
                                                      tmp_path: Path, agents: list) -> None:
    # The customer asked for support (the SOS shortcut), then logs in again: the tray
    # resumes the stored case. pystray's xorg icon does not take clicks (its window
    # does not select ButtonPress), so SOS is the headless agent on the same config.
    sos = start_agent(agents, tmp_path, server_process.url, "sos", language="en", primary_color=BRAND)
    sos.expect("status pending")
    sos.stop()
    [case] = queue_of(server_process)

    agent = TrayAgent(desktop, tmp_path, server_process.url, "xorg")
    with watched(desktop, agent, "tray-failure.png"):
        icon = docked(desktop, agent)
        name = lambda: desktop.wm_name(icon)  # noqa: E731

        def tooltip(want: Callable[[str], bool]) -> None:
            eventually(lambda: want(name() or ""), lambda: f"tooltip still {name()!r}")

        tooltip(lambda n: n == "Test IT: Waiting for an expert")
        left, top, right, bottom = desktop.box(icon)
        corner = lambda: desktop.grab((right - (right - left) // 3, bottom - (bottom - top) // 3,  # noqa: E731
                                       right, bottom))
        eventually(lambda: share(corner(), PENDING) > 0.2, "the pending badge")

        # The support server goes away and comes back: the tooltip says so, then follows again.
        server_process.stop()
        tooltip(lambda n: n == "Test IT: Cannot reach support, retrying...")  # "…" is not Latin-1
        eventually(lambda: share(corner(), "#cf222e") > 0.2, "the unreachable badge")
        server_process.start()
        tooltip(lambda n: n == "Test IT: Waiting for an expert")

        assert server_process.api("POST", f"/api/v1/sessions/{case['code']}/connect").status_code == 200
        establish_session(server_process, case["code"], tmp_path)  # in progress: the session is up
        tooltip(lambda n: n == "Test IT: admin is helping you")
        eventually(lambda: share(corner(), IN_PROGRESS) > 0.2, "the in-progress badge")
        save(desktop.grab(desktop.box(desktop.ancestors(icon)[-1])), "tray.png")  # trayer's panel
        assert agent.proc.poll() is None, agent.stderr()


def test_icon_docks_when_the_tray_host_answers_late(desktop: Desktop, server_process: Any,
                                                   tmp_path: Path, agents: list) -> None:
    # A busy desktop at login: the tray host reads its requests late, several at once.
    # pystray asked it to dock the icon at every change of the icon, and trayer, reading
    # a second request for a window it is still embedding, lets the window go again: after
    # an even number of them the icon was not in the panel. The agent changes its icon
    # twice here (shown, the case resumed, then in progress) before trayer reads a thing.
    sos = start_agent(agents, tmp_path, server_process.url, "sos", language="en", primary_color=BRAND)
    sos.expect("status pending")
    sos.stop()
    [case] = queue_of(server_process)
    desktop.trayer.send_signal(signal.SIGSTOP)
    agent = TrayAgent(desktop, tmp_path, server_process.url, "xorg")
    with watched(desktop, agent, "tray-late-failure.png"):
        try:
            eventually(lambda: desktop.window_of(agent.proc.pid, "Test IT: Waiting for an expert"),
                       "the agent's window, named after the case")
            connect = server_process.api("POST", f"/api/v1/sessions/{case['code']}/connect")
            assert connect.status_code == 200
            establish_session(server_process, case["code"], tmp_path)  # in progress: the session is up
            eventually(lambda: desktop.window_of(agent.proc.pid, "Test IT: admin is helping you"),
                       "the agent's window, named after the case in progress")
        finally:
            desktop.trayer.send_signal(signal.SIGCONT)
        icon = docked(desktop, agent)
        eventually(lambda: brand_icon_shown(desktop, icon, 0.25), "initials in the brand colour")


def gi_path(tmp_path: Path) -> str:
    """A PYTHONPATH entry holding only Debian's python3-gi (the venv has no gi of its own)."""
    folder = tmp_path / "gi-only"
    folder.mkdir()
    (folder / "gi").symlink_to("/usr/lib/python3/dist-packages/gi")
    probe = subprocess.run([sys.executable, "-c", "import gi; gi.require_version('Gtk', '3.0'); "
                            "from gi.repository import Gtk"], env={**os.environ, "PYTHONPATH": str(folder)},
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        skip_missing(f"could not import Debian's python3-gi under {sys.executable}: {probe.stderr[-300:]}")
    return str(folder)


def test_gtk_icon_docks_and_a_click_requests_support(desktop: Desktop, server_process: Any,
                                                     tmp_path: Path) -> None:
    # The backend pystray prefers on a desktop with GTK: it has the menu and takes clicks.
    wrap = (require_tool("dbus-run-session"), "--")
    agent = TrayAgent(desktop, tmp_path, server_process.url, "gtk", wrap=wrap,
                      env={"PYTHONPATH": gi_path(tmp_path)})
    with watched(desktop, agent, "tray-gtk-failure.png"):
        icon = eventually(lambda: agent.proc.poll() is None and desktop.icon_of_group(agent.proc.pid),
                          "the agent's GTK icon docked in trayer's panel")
        eventually(lambda: brand_icon_shown(desktop, icon, 0.25), "initials in the brand colour")
        save(desktop.grab(desktop.box(desktop.ancestors(icon)[-1])), "tray-gtk.png")
        assert queue_of(server_process) == []
        desktop.click(icon)  # the default menu item: request support
        eventually(lambda: queue_of(server_process), "a case after the click")
        eventually(lambda: queue_of(server_process)[0]["status"] == "pending", "the case pending")
        assert agent.proc.poll() is None, agent.stderr()
