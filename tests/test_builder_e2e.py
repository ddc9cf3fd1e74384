"""The real thing: PyInstaller builds the base once per session, two companies are
stamped into it, and each agent files an SOS with a real server on a loopback port;
a published agent is downloaded through a session's end_customer_link and joins
that session by itself."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from sosdesk.common.branding import Branding
from sosdesk.common.stamp import read_stamp, write_stamp
from sosdesk.builder import base as base_module
from agent_helpers import queue_of
from conftest import require_module, require_tool
from desktop_entry import entry_values, parse_exec
from session_viewer import Viewer, near
from xscreen import PictureApp, XScreen, wait_until

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def built_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The base agent, built by PyInstaller once per test session into a private cache."""
    root = tmp_path_factory.mktemp("builder-cache")
    lines: list[str] = []
    exe = base_module.ensure_base(root=root, report=lines.append)
    assert exe.is_file() and os.access(exe, os.X_OK)
    assert any("PyInstaller" in line for line in lines)
    return exe


def build(live_server, base: Path, out: Path, *args: str) -> dict:
    """Run sos-builder in a process against *live_server*; returns the manifest."""
    env = dict(os.environ, SOSDESK_TOKEN=live_server.token, PYTHONPATH=str(ROOT))
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "sosdesk.builder", "--server", live_server.url, "--base", str(base),
         "--out", str(out), *args], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30, "personalizing must not rebuild"
    manifest = next(out.glob("*.manifest.json"))
    return json.loads(manifest.read_text("utf-8"))


def agent_env(home: Path) -> dict[str, str]:
    """A customer's environment confined to *home*: no display, no keyring service."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
           and not k.startswith(("PYTHON", "SOSDESK_"))}
    env.update(HOME=str(home), SOSDESK_CONFIG_DIR=str(home / "sosdesk-config"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_STATE_HOME=str(home / ".local/state"),
               XDG_DESKTOP_DIR=str(home / "Desktop"), LANG="C.UTF-8")
    return env


class HeadlessRun:
    """``<agent> --headless sos`` (or other *args*) as a process, its stdout lines collected
    as they come."""

    def __init__(self, exe: Path, home: Path, args: tuple[str, ...] = ("--headless", "sos"),
                 tmpdir: Path | None = None) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        env = agent_env(home)
        if tmpdir is not None:  # where a one-file agent unpacks itself
            env["TMPDIR"] = str(tmpdir)
        self.process = subprocess.Popen([str(exe), *args], env=env,
                                        cwd=home, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.stderr = ""
        self._readers = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        self.stderr = self.process.stderr.read()

    def wait_for(self, prefix: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            if self.process.poll() is not None:
                self._join_readers()  # all it wrote is read: look once more, then give up
                if not any(line.startswith(prefix) for line in self.lines):
                    break
            time.sleep(0.05)
        raise AssertionError(f"no {prefix!r} line; stdout {self.lines}, stderr {self.stderr!r}")

    def finish(self, timeout: float = 40) -> int:
        """The exit status, once the process has ended and its output is all read."""
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        self._join_readers()
        return status

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(60)  # ends at the pipe's end of file; the bound only catches a hang


def installed_program(home: Path, app_id: str) -> Path:
    """Where a one-file agent's installed copy is, as the shortcuts name it (agent.unpacked)."""
    return home / ".local" / "share" / "sosdesk" / "agent" / app_id / "current" / "sosdesk-agent"


def unpacked_now(tmpdir: Path) -> list[Path]:
    """The folders one-file agents have unpacked themselves into (while they run)."""
    return [p for p in tmpdir.iterdir() if p.name.startswith("_MEI")]


@pytest.fixture
def runs() -> Iterator[list[HeadlessRun]]:
    started: list[HeadlessRun] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


def test_two_companies_agents_file_cases_in_their_own_groups(built_base, live_server, tmp_path,
                                                              runs):
    brands = {
        "ACME": ("acme-queue", ["--color", "#ff6600", "--no-shortcut"]),
        "Globex Support": ("globex", ["--color", "#0055aa", "--language", "de"]),
    }
    modules = {}
    for company, (group, extra) in brands.items():
        out = tmp_path / company
        manifest = build(live_server, built_base, out, "--company", company, "--group", group,
                         *extra)
        exe = out / manifest["file"]
        branding = read_stamp(exe)
        assert branding.company_name == company and branding.module_id == manifest["module_id"]
        assert manifest["agent_version"] == base_module.agent_version()
        assert live_server.token.encode() not in exe.read_bytes()
        modules[company] = manifest["module_id"]

        run = HeadlessRun(exe, tmp_path / f"home-{group}")
        runs.append(run)
        code = run.wait_for("code ").split()[1]
        run.wait_for("status ")
        case = live_server.api("GET", f"/api/v1/sessions/{code}").json()
        assert case["groupname"] == group
        assert case["custom_module_id"] == manifest["module_id"]
        assert case["created_by"] == "customer"
        module = live_server.api("GET", f"/api/v1/modules/{manifest['module_id']}").json()
        assert (module["name"], module["groupname"]) == (company, group)

        closed = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        assert closed.status_code == 204, closed.text
        assert run.finish() == 0, run.stderr
        assert "status closed" in run.lines
        assert "Traceback" not in run.stderr

        # The first start's autostart runs this agent's installed copy: the branding
        # travels inside it (tests the copy itself below).
        home = tmp_path / f"home-{group}"
        autostart = home / ".config" / "autostart" / f"sosdesk-{branding.app_id}-tray.desktop"
        [program] = parse_exec(entry_values(autostart)["Exec"])
        assert program == str(installed_program(home, branding.app_id))
        assert read_stamp(program).company_name == company

    assert modules["ACME"] != modules["Globex Support"]

    # Revoked: the ACME agent (on a fresh machine) is refused with a clear message.
    assert live_server.api("DELETE", f"/api/v1/modules/{modules['ACME']}").status_code == 200
    revoked = HeadlessRun(tmp_path / "ACME" / "ACME-QuickSupport", tmp_path / "home-revoked")
    runs.append(revoked)
    assert revoked.finish() == 3
    assert "revoked" in revoked.stderr.lower(), revoked.stderr
    assert "Traceback" not in revoked.stderr
    assert "error module_revoked" in revoked.lines
    assert not [line for line in revoked.lines if line.startswith("code ")]


def test_the_frozen_agent_runs_signed_and_stops_on_a_damaged_stamp(built_base, live_server, tmp_path,
                                                                   runs):
    exe = tmp_path / "ACME-QuickSupport"
    write_stamp(built_base, exe, Branding(company_name="ACME", server_url=live_server.url,
                                          create_shortcut=False, language="en"))
    with open(exe, "ab") as f:
        f.write(b"\x00" * 8 + bytes(range(256)) * 32)  # what code signing appends
    signed = HeadlessRun(exe, tmp_path / "home-signed")
    runs.append(signed)
    code = signed.wait_for("code ").split()[1]
    assert live_server.api("GET", f"/api/v1/sessions/{code}").json()["groupname"] == "default"
    closed = live_server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    assert closed.status_code == 204, closed.text
    assert signed.finish() == 0, signed.stderr  # a killed onefile parent would leave its child

    edited = tmp_path / "ACMD-QuickSupport"
    edited.write_bytes(exe.read_bytes().replace(b'"ACME"', b'"ACMD"'))
    edited.chmod(0o755)
    damaged = HeadlessRun(edited, tmp_path / "home-damaged")
    runs.append(damaged)
    assert damaged.finish() == 2
    time.sleep(0.2)  # let the readers finish
    assert damaged.lines == []  # it never started: no case, no "cannot reach support"
    assert "is damaged (its checksum does not match its content)" in damaged.stderr
    assert "Traceback" not in damaged.stderr


def test_the_frozen_agent_shares_its_screen_after_allow_and_takes_control(built_base, server_process,
                                                                          tmp_path, runs):
    """The base bundles mss, pynput and Tk: on a virtual screen the frozen agent's window asks,
    the customer's click on Allow lets the expert see the screen, and a second Allow lets
    the expert type into a window there."""
    require_module("Xlib")
    require_tool("xdotool")
    exe = tmp_path / "ACME-QuickSupport"
    write_stamp(built_base, exe, Branding(company_name="ACME", server_url=server_process.url,
                                          create_shortcut=False, language="en"))
    screen = XScreen(require_tool("Xvfb"), "1280x800")
    picture = PictureApp(screen.name, at=(820, 460))
    try:
        picture.wait_shown(screen)
        env = dict(agent_env(tmp_path / "home"), DISPLAY=screen.name)
        agent = subprocess.Popen([str(exe), "--no-install", "sos"], env=env, cwd=tmp_path,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            code = wait_until("the frozen agent's case", lambda: queue_of(server_process), timeout=60)[0]["code"]
            wait_until("its inbox poll", lambda: server_process.api(
                "GET", f"/api/v1/sessions/{code}").json().get("online"), timeout=30)
            viewer = Viewer(server_process.url, code, server_process.token)
            viewer.connect()
            allow = (0x1A, 0x7F, 0x37)
            for ask in ("view", "control"):
                screen.click(*wait_until(f"Allow ({ask})", lambda: screen.find_color(allow, (440, 0, 1280, 460))))
                wait_until("the question to close", lambda: screen.find_color(allow, (440, 0, 1280, 460)) is None)
                if ask == "view":
                    viewer.until("a frame of the test picture", lambda v: near(v.pixel(920, 510), (255, 0, 0)))
                    assert viewer.post("/remote/control", {"request": True}).status_code == 200
            viewer.until("control allowed", lambda v: v.session.get("control") == "allowed")
            x, y = picture.field
            viewer.input({"t": "down", "b": "left", "x": x, "y": y}, {"t": "up", "b": "left", "x": x, "y": y},
                         {"t": "text", "text": "frozen"})
            wait_until("the frozen agent's typing", lambda: picture.text == "frozen")
        finally:
            agent.terminate()  # the onefile parent passes it on to its child (a kill would not)
            try:
                _, stderr = agent.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                agent.kill()
                raise
        assert "Traceback" not in stderr, stderr
    finally:
        picture.close()
        screen.close()


def test_a_pinned_frozen_agent_talks_only_to_its_server(built_base, tmp_path, runs):
    """The frozen agent checks pins (no cryptography needed): --pin-from a lab server with a
    self-signed certificate works; an agent pinned to another key stops at once."""
    from servers import in_process
    from sosdesk.server_stub.tls import Certificate
    from tls_certs import key_pin, new_key, self_signed

    issued = self_signed(tmp_path / "lab", "lab")
    with in_process(tmp_path / "lab.db", tls=Certificate(issued.cert, issued.key)) as live:
        live.verify = str(issued.cert)
        manifest = build(live, built_base, tmp_path / "pinned", "--company", "ACME", "--pin-from",
                         "--yes")
        exe = tmp_path / "pinned" / manifest["file"]
        assert read_stamp(exe).pins == (issued.pin,) and manifest["pins"] == [issued.pin]
        run = HeadlessRun(exe, tmp_path / "home-pinned")
        runs.append(run)
        code = run.wait_for("code ").split()[1]
        run.wait_for("status ")
        assert live.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"}).status_code == 204
        assert run.finish() == 0, run.stderr

        stranger = tmp_path / "stranger" / "ACME-QuickSupport"
        stranger.parent.mkdir()
        write_stamp(built_base, stranger, Branding(company_name="ACME", server_url=live.url,
                                                   pins=(key_pin(new_key()),)))
        refused = HeadlessRun(stranger, tmp_path / "home-stranger")
        runs.append(refused)
        assert refused.finish() == 1
        time.sleep(0.2)
        assert "error certificate_not_pinned" in refused.lines
        assert "This is not ACME's support server" in refused.stderr and "Traceback" not in refused.stderr


def test_the_first_start_installs_an_unpacked_copy_that_the_shortcuts_run(built_base, live_server,
                                                                          tmp_path, runs):
    """The downloaded one-file agent installs its unpacked copy; the SOS shortcut and the
    autostart run the copy, which unpacks nothing; uninstall removes it."""
    manifest = build(live_server, built_base, tmp_path / "out", "--company", "ACME")
    exe = tmp_path / "out" / manifest["file"]
    app_id = read_stamp(exe).app_id
    home, unpack_to = tmp_path / "home", tmp_path / "home" / "tmp"
    unpack_to.mkdir(parents=True)
    (home / "Desktop").mkdir()

    first = HeadlessRun(exe, home, tmpdir=unpack_to)
    runs.append(first)
    code = first.wait_for("code ").split()[1]
    assert unpacked_now(unpack_to)  # the download unpacks itself, as every one-file program
    program = installed_program(home, app_id)
    assert os.access(program, os.X_OK) and program.resolve().parent.name != "current"
    assert (program.parent / "_internal").is_dir()
    [shortcut] = (home / "Desktop").glob("*.desktop")
    autostart = home / ".config" / "autostart" / f"sosdesk-{app_id}-tray.desktop"
    assert parse_exec(entry_values(shortcut)["Exec"]) == [str(program), "sos"]
    assert parse_exec(entry_values(autostart)["Exec"]) == [str(program)]
    assert live_server.api("PUT", f"/api/v1/sessions/{code}",
                           json={"state": "closed"}).status_code == 204
    assert first.finish() == 0, first.stderr

    # The SOS shortcut's command: the installed copy, ACME's, unpacking nothing.
    clicked = HeadlessRun(program, home, tmpdir=unpack_to)
    runs.append(clicked)
    again = clicked.wait_for("code ").split()[1]
    case = live_server.api("GET", f"/api/v1/sessions/{again}").json()
    assert case["custom_module_id"] == manifest["module_id"] and case["state"] == "open"
    assert unpacked_now(unpack_to) == []
    assert live_server.api("PUT", f"/api/v1/sessions/{again}",
                           json={"state": "closed"}).status_code == 204
    assert clicked.finish() == 0, clicked.stderr
    assert "Traceback" not in clicked.stderr

    # A newer download (here: the same agent re-stamped) replaces the copy; the shortcut,
    # which runs current/, follows without being rewritten.
    rebranded = tmp_path / "ACME-QuickSupport-2"
    write_stamp(exe, rebranded, dataclasses.replace(read_stamp(exe), welcome_text="Hello again"))
    before = program.resolve()
    newer = HeadlessRun(rebranded, home, tmpdir=unpack_to)
    runs.append(newer)
    third = newer.wait_for("code ").split()[1]
    assert program.resolve() != before, newer.stderr
    assert read_stamp(program).welcome_text == "Hello again"
    assert parse_exec(entry_values(shortcut)["Exec"]) == [str(program), "sos"]
    live_server.api("PUT", f"/api/v1/sessions/{third}", json={"state": "closed"})
    assert newer.finish() == 0, newer.stderr

    removed = subprocess.run([str(program), "uninstall"], env=agent_env(home), cwd=home,
                             capture_output=True, text=True, timeout=60)
    assert removed.returncode == 0, removed.stderr
    assert f"removed {before.parent}" in removed.stdout.splitlines()
    assert not program.parent.parent.exists() and not shortcut.exists() and not autostart.exists()


def test_a_published_agent_downloaded_by_the_customer_joins_its_session(built_base, live_server,
                                                                       tmp_path, runs):
    """sos-builder --publish, the expert's session, the customer's page and download, and the
    downloaded file started as it is (headless here): it joins that session by itself."""
    manifest = build(live_server, built_base, tmp_path / "out", "--company", "ACME Support",
                     "--group", "acme", "--no-shortcut", "--publish")
    module = live_server.api("GET", f"/api/v1/modules/{manifest['module_id']}").json()
    case = live_server.api("POST", "/api/v1/sessions", json={"groupname": "acme",
                                                             "description": "VPN"}).json()
    page = requests.get(case["end_customer_link"], timeout=30)
    assert page.status_code == 200 and "ACME Support" in page.text and case["code"] in page.text
    href = re.search(r'class="download" data-os="linux" href="([^"]+)"', page.text).group(1)
    download = requests.get(live_server.url + href, timeout=60)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == manifest["sha256"]
    name = re.fullmatch(r'attachment; filename="([^"]+)"',
                        download.headers["Content-Disposition"]).group(1)
    assert name == f"ACME-Support-QuickSupport-{case['code']}"
    saved = tmp_path / "Downloads" / name  # as a browser keeps it, then made executable
    saved.parent.mkdir()
    saved.write_bytes(download.content)
    saved.chmod(0o755)

    home = tmp_path / "home-customer"
    run = HeadlessRun(saved, home, args=("--headless",))  # no command: the name says which case
    runs.append(run)
    assert run.wait_for("code ") == f"code {case['code']}"
    run.wait_for("status pending")
    shown = live_server.api("GET", f"/api/v1/sessions/{case['code']}").json()
    assert shown["customer_started"] is True and shown["status"] == "pending"
    assert shown["device"] is not None and shown["groupid"] == module["groupid"]
    queue = live_server.api("GET", "/api/v1/sessions").json()["sessions"]
    assert [(c["code"], c["customer_started"]) for c in queue] == [(case["code"], True)]

    assert live_server.api("PUT", f"/api/v1/sessions/{case['code']}",
                           json={"state": "closed"}).status_code == 204
    assert run.finish() == 0, run.stderr
    assert "status closed" in run.lines and "Traceback" not in run.stderr
    assert not (home / ".config" / "autostart").exists()  # a one-off: nothing installed

