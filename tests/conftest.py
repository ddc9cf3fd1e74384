"""Shared fixtures: a real sosdesk server on a loopback port, in-process or as a
process, and a way to require system tools and modules (skip on a developer box,
fail in CI: see ci_skips)."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent

# The hooks that turn a skip for something missing into a failure under CI=true.
from ci_skips import (  # noqa: E402,F401
    in_ci,
    pytest_make_collect_report,
    pytest_runtest_makereport,
    require_module,
    require_tool,
    skip_missing,
)
from sosdesk.server_stub.app import App, Settings  # noqa: E402
from sosdesk.server_stub.server import Server, start_timers  # noqa: E402
from sosdesk.server_stub.store import Store  # noqa: E402

IN_CI = in_ci()
EXPERT_PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class LiveServer:
    """A running server and an expert's credentials for it."""

    url: str
    token: str
    expert_name: str
    store: Store | None = None
    app: App | None = None

    def api(self, method: str, path: str, token: str | None = "expert", **kwargs: Any) -> requests.Response:
        """Call the API; token='expert' uses the expert token, None sends none."""
        headers = kwargs.pop("headers", {})
        if token == "expert":
            token = self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, timeout=40, **kwargs)

    def add_expert(self, name: str) -> str:
        """Another expert; returns their API token."""
        assert self.store is not None
        _, token = self.store.add_expert(name, EXPERT_PASSWORD, int(time.time()))
        return token

    def sos(self, device_id: str = "device-0000000000001", **body: Any) -> dict:
        response = self.api("POST", "/api/v1/customer/sos", token=None,
                            json={"device_id": device_id, **body})
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server in this process on 127.0.0.1:<free port>, on a fresh database."""
    store = Store(str(tmp_path / "sosdesk.db"))
    _, token = store.add_expert("anna", EXPERT_PASSWORD, int(time.time()))
    app = App(store, Settings(idle_timeout=5.0, sos_per_10min=1000))
    server = Server(("127.0.0.1", 0), app)
    stop_timers = start_timers(server, sweep_every=1.0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield LiveServer(server.url, token, "anna", store, app)
    finally:
        stop_timers.set()
        server.shutdown()
        store.wake_waiters()
        server.server_close()
        server.wait_idle(5)
        store.close()


class ServerProcess:
    """``sos-server serve`` as a real process; can be stopped and started again."""

    def __init__(self, db: Path, port: int, *extra: str) -> None:
        self.db, self.port, self.extra = db, port, extra
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.first_output = ""
        self.token = ""

    def start(self) -> "ServerProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sosdesk.server_stub", "--db", str(self.db), "serve",
             "--port", str(self.port), *self.extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("server exited: " + self.proc.stderr.read())
            lines.append(line)
            if "listening on" in line:
                break
        self.first_output = "".join(lines)
        found = re.search(r"API token: (\S+)", self.first_output)
        if found:
            self.token = found.group(1)
        # Keep draining the pipes so the server never blocks on a full one.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        return requests.request(method, self.url + path, headers=headers, timeout=40, **kwargs)


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    """The real ``sos-server`` process on a free loopback port with its first expert's token."""
    server = ServerProcess(tmp_path / "server.db", free_port(), "--quiet").start()
    try:
        yield server
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


@pytest.fixture
def make_read_only():
    """Make a folder read-only even for root (chmod alone does not stop root)."""
    locked: list[Path] = []

    def lock(folder: Path) -> None:
        folder.chmod(0o555)
        if os.geteuid() == 0:
            if shutil.which("chattr") is None or subprocess.run(
                    ["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
                folder.chmod(0o755)
                pytest.skip("running as root and cannot set the immutable attribute here")
        locked.append(folder)
        probe = folder / ".probe"
        try:
            probe.touch()
        except OSError:
            return
        probe.unlink()
        pytest.skip(f"cannot make {folder} read-only here")

    yield lock
    for folder in locked:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], capture_output=True)
        folder.chmod(0o755)


@pytest.fixture
def agents() -> Iterator[list]:
    """Agent processes (tests/agent_helpers.AgentProcess) a test starts; all stopped at its end."""
    started: list = []
    yield started
    for agent in started:
        agent.stop()
