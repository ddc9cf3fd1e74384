"""The remote session end-to-end tests' parts: the customer's side (Xvfb, the test window,
the agent and xdotool), the server with two experts, and the expert's canvas."""

from __future__ import annotations

import base64
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from PIL import Image, ImageChops, ImageStat

from agent_helpers import AgentProcess, agent_env, queue_of, write_branding
from conftest import EXPERT_PASSWORD, ROOT, ServerProcess
from console_helpers import ARTIFACTS, Console
from xscreen import PictureApp, XScreen, virtual_screen, wait_until


ALLOW = (0x1A, 0x7F, 0x37)  # agent.session_ui.ALLOW_COLOR
STOP = (0xCF, 0x22, 0x2E)  # agent.session_ui.STOP_COLOR
#: The test window's place: right of the agent's window (+0+0), below the bar and the question.
PICTURE_AT = (820, 440)
COMPANY = "ACME GmbH"
#: The titles of the agent's session windows (the question and the bar): agent/i18n.py's session.title.
SESSION_TITLE = {"en": f"{COMPANY}: remote session", "de": f"{COMPANY}: Fernsitzung"}
STATUS = {  # server_stub/static/texts-*.js
    "waiting": "Waiting for the customer's consent…",
    "viewing": "Viewing the customer's screen",
    "waiting_control": "Viewing; waiting for the customer to allow control…",
    "controlling": "Controlling the customer's mouse and keyboard",
    "denied": "The customer declined the request.",
    "stopped": "The customer stopped the session.",
    "reconnecting": "Connection lost; reconnecting…",
    "interrupted": "The session was interrupted: the server restarted. Ask the customer again.",
}
STATUS_DE = {
    "waiting": "Warte auf die Zustimmung des Kunden…",
    "denied": "Der Kunde hat die Anfrage abgelehnt.",
    "viewing": "Sie sehen den Bildschirm des Kunden",
}
DOCS = ROOT / "docs"


# -- the customer's side: Xvfb, the test window, the agent and xdotool ---------------------------

class LoggingAgent(AgentProcess):
    """The agent process with its stderr (its -v log) read line by line while it runs."""

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_text += line


class Customer:
    """The customer at the virtual screen: the agent's windows, found and clicked with xdotool."""

    def __init__(self, screen: XScreen, agent: LoggingAgent, lang: str) -> None:
        self.screen, self.agent, self.lang = screen, agent, lang
        self.env = dict(os.environ, DISPLAY=screen.name)

    def xdotool(self, *args: str) -> str:
        done = subprocess.run(["xdotool", *args], env=self.env, capture_output=True, text=True, timeout=30)
        return done.stdout if done.returncode == 0 else ""

    def windows(self, title: str) -> list[tuple[str, tuple[int, int, int, int]]]:
        """The shown windows named *title*: (xdotool's id, box on the screen)."""
        found = []
        for wid in self.xdotool("search", "--onlyvisible", "--name", f"^{title}$").split():
            geometry = dict(line.split("=", 1) for line in
                            self.xdotool("getwindowgeometry", "--shell", wid).split())
            if geometry:
                x, y, w, h = (int(geometry[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
                found.append((wid, (x, y, x + w - 1, y + h - 1)))
        return found

    def button(self, colour: tuple[int, int, int]) -> tuple[str, tuple[int, int, int, int], tuple] | None:
        """The session window holding a button of *colour*: (window id, window box, button box)."""
        for wid, box in self.windows(SESSION_TITLE[self.lang]):
            button = self.screen.find_box(colour, box)
            if button is not None:
                return wid, box, button
        return None

    def click_in(self, wid: str, box: tuple, x: int, y: int) -> None:
        """A real click (XTEST) at screen point (x, y) of window *wid*, given relative to it."""
        subprocess.run(["xdotool", "mousemove", "--window", wid, "--sync", str(x - box[0]), str(y - box[1]),
                        "click", "1"], env=self.env, check=True, timeout=30)

    def question(self) -> tuple:
        return wait_until("the agent's question (Allow, Deny)", lambda: self.button(ALLOW), timeout=30)

    def allow(self) -> None:
        wid, box, (left, top, right, bottom) = self.question()
        self.click_in(wid, box, (left + right) // 2, (top + bottom) // 2)
        wait_until("the question to close", lambda: self.button(ALLOW) is None)

    def deny(self) -> None:
        wid, box, (left, top, right, bottom) = self.question()
        # Deny is the button right of Allow, as wide, 8 px apart (agent/session_ui.py).
        self.click_in(wid, box, right + 8 + (right - left) // 2, (top + bottom) // 2)
        wait_until("the question to close", lambda: self.button(ALLOW) is None)

    def bar(self) -> tuple | None:
        return self.button(STOP)

    def stop(self) -> None:
        wid, box, (left, top, right, bottom) = wait_until("the bar's Stop", self.bar)
        self.click_in(wid, box, (left + right) // 2, (top + bottom) // 2)

    def chat_field(self) -> tuple[str, tuple, tuple[int, int]]:
        """The chat's entry in the main window: the lower of its two white boxes (log, entry)."""
        wid, box = wait_until("the agent's main window", lambda: self.windows(f"{COMPANY} QuickSupport"))[0]
        x = box[0] + 60
        runs = wait_until("the chat's log and field", lambda: (lambda r: r if len(r) >= 2 else None)(
            white_runs(self.screen, x, box[1], box[3])))
        return wid, box, (x, (runs[-1][0] + runs[-1][1]) // 2)

    def say(self, text: str) -> None:
        """Type a chat message into the agent's window and press Return, as a customer does."""
        wid, box, (x, y) = self.chat_field()
        self.click_in(wid, box, x, y)
        subprocess.run(["xdotool", "type", "--delay", "20", text], env=self.env, check=True, timeout=60)
        subprocess.run(["xdotool", "key", "Return"], env=self.env, check=True, timeout=30)

    def shown_chat_ids(self) -> list[int]:
        """The chat messages the agent's window showed, by id (its log at -v)."""
        return [int(n) for n in re.findall(r"chat: showed message (\d+)", self.agent.stderr_text)]


def white_runs(screen: XScreen, x: int, top: int, bottom: int) -> list[tuple[int, int]]:
    """The runs (first y, last y) of white pixels at least 10 high in column *x* of the screen."""
    column = screen.grab((x, top, x + 1, bottom)).tobytes()
    runs, start = [], None
    for n in range(bottom - top + 1):
        white = column[3 * n:3 * n + 3] == b"\xff\xff\xff"
        if white and start is None:
            start = n
        elif not white and start is not None:
            runs.append((top + start, top + n - 1))
            start = None
    return [r for r in runs if r[1] - r[0] >= 10]


@pytest.fixture
def screen() -> Iterator[XScreen]:
    with virtual_screen("tkinter") as shown:
        yield shown


@pytest.fixture
def picture(screen: XScreen) -> Iterator[PictureApp]:
    app = PictureApp(screen.name, at=PICTURE_AT)
    try:
        app.wait_shown(screen)
        yield app
    finally:
        app.close()


# -- the server: experts anna and bob, made with the CLI before it serves ------------------------

class Server(ServerProcess):
    """``sos-server serve`` with two experts added by ``sos-server expert add``."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path / "server.db", 0, "--quiet")
        self.tokens = {name: self.add_expert(name) for name in ("anna", "bob")}

    def add_expert(self, name: str) -> str:
        done = subprocess.run([sys.executable, "-m", "sosdesk.server_stub", "--db", str(self.db), "expert",
                               "add", name, "--password-stdin"], input=EXPERT_PASSWORD + "\n", cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return re.search(r"API token \(shown once\): (\S+)", done.stdout).group(1)

    def start(self) -> "Server":
        super().start()
        self.token = self.tokens["anna"]
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path).start()
    try:
        yield running
    finally:
        running.kill()


@pytest.fixture
def consoles(browser) -> Iterator[list[Console]]:
    made: list[Console] = []
    yield made
    for console in made:
        console.context.close()


def open_console(browser, consoles: list[Console], server: Server) -> Console:
    console = Console(browser, server)
    consoles.append(console)
    console.open().login("anna", EXPERT_PASSWORD)
    return console


def start_customer(agents: list, tmp_path: Path, server: Server, screen: XScreen, lang: str = "en") -> Customer:
    """``sos-agent sos`` with a branding file, its window on *screen*, logging at -v."""
    config = write_branding(tmp_path, server.url, company_name=COMPANY, language=lang)
    environment = agent_env(tmp_path)
    for name in ("XDG_SESSION_TYPE", "WAYLAND_DISPLAY"):
        environment.pop(name, None)
    # The device's user, as the expert sees it (the heading, the chat): a customer's, not the test runner's.
    environment.update(DISPLAY=screen.name, USER="j.meier", LOGNAME="j.meier")
    agent = LoggingAgent(["--config", str(config), "--no-install", "-v", "sos"], environment)
    agents.append(agent)
    return Customer(screen, agent, lang)


def agent_case(server: Server) -> str:
    """The code of the case the agent opened, once its agent is online."""
    cases = wait_until("the agent's case", lambda: queue_of(server), timeout=30)
    code = cases[0]["code"]
    wait_until("the agent online", lambda: server.api("GET", f"/api/v1/sessions/{code}").json().get("online"),
               timeout=30)
    return code


# -- the expert's side: the canvas ---------------------------------------------------------------

def canvas_image(page) -> Image.Image | None:
    """The canvas's picture (the customer's screen as the console draws it), None while hidden."""
    url = page.evaluate("() => { const c = document.getElementById('screen');"
                        " return c.width && !c.classList.contains('hidden-canvas') ? c.toDataURL('image/png') : null; }")
    if not url:
        return None
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")


def difference(a: Image.Image, b: Image.Image, size: tuple[int, int] = (160, 100)) -> float:
    """The mean difference (0-255) of two pictures downscaled to *size* (JPEG's error stays small)."""
    small = [p.resize(size, Image.Resampling.BOX) for p in (a, b)]
    return sum(ImageStat.Stat(ImageChops.difference(*small)).mean) / 3


def near(a: tuple, b: tuple, slack: int = 24) -> bool:
    return max(abs(x - y) for x, y in zip(a, b)) <= slack


def shows_the_screen(page, screen: XScreen, blocks: bool = True) -> bool:
    """Whether the canvas shows what the Xvfb screen shows: the whole screen downscaled to
    160x100 within JPEG's error, and (*blocks*) the test picture's blocks, sampled."""
    canvas = canvas_image(page)
    if canvas is None or canvas.size != (1280, 800):
        return False
    for x, y, w, h, colour in PictureApp.BLOCKS if blocks else ():
        if not near(canvas.getpixel((PICTURE_AT[0] + x + w // 2, PICTURE_AT[1] + y + h // 2)), colour):
            return False
    return difference(canvas, screen.grab()) < 3


def typed(picture: PictureApp, text: str) -> None:
    """Until the test window's field holds *text*; the message says what it holds otherwise."""
    try:
        wait_until("the typed text in the test window", lambda: picture.text == text, timeout=30)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {picture.text!r} instead of {text!r}") from None


def page_point(page, x: int, y: int) -> tuple[float, float]:
    """Where on the page the customer's pixel (x, y) is (the canvas is scaled to fit)."""
    box = page.locator("#screen").bounding_box()
    return box["x"] + (x + 0.5) * box["width"] / 1280, box["y"] + (y + 0.5) * box["height"] / 800


def save_doc(image: Image.Image, name: str, width: int) -> None:
    """A README screenshot: scaled to *width*, 256 colours, optimized (well under 300 KB)."""
    small = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    small.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        DOCS / name, optimize=True)
    assert (DOCS / name).stat().st_size < 300_000


def screen_shot(screen: XScreen, name: str) -> Image.Image:
    ARTIFACTS.mkdir(exist_ok=True)
    image = screen.grab()
    image.save(ARTIFACTS / name)
    return image


UPDATE_DOCS = os.environ.get("SOSDESK_UPDATE_DOCS") == "1"


