"""Real sosdesk servers for tests: in this process (``in_process``) or as the
``sos-server serve`` process (``ServerProcess``). Both start and stop the way
the CLI does (``server.running``); the process tells it listens with
``--port-file``, not with a line on stdout."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Iterator

import requests

from sosdesk.server_stub import portfile
from sosdesk.server_stub.app import App, Settings
from sosdesk.server_stub.server import Server, running
from sosdesk.server_stub.store import Store
from sosdesk.server_stub.tls import Certificate

ROOT = Path(__file__).resolve().parent.parent
EXPERT_PASSWORD = "correct horse battery"


def free_port() -> int:
    """A port free on 127.0.0.1 now (for a server that must come back on the same one)."""
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
    server: Server | None = None
    #: For https: the CA bundle (or False) requests verifies the server with.
    verify: Any = True

    def api(self, method: str, path: str, token: str | None = "expert", **kwargs: Any) -> requests.Response:
        """Call the API; token='expert' uses the expert token, None sends none."""
        headers = kwargs.pop("headers", {})
        if token == "expert":
            token = self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("verify", self.verify)
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


@contextlib.contextmanager
def in_process(db: Path, idle_timeout: float = 5.0, sos_per_10min: int = 1000,
               sweep_every: float = 1.0, tls: Certificate | None = None,
               redirect_port: int | None = None) -> Iterator[LiveServer]:
    """A real server in this process on 127.0.0.1:<any free port>, with an expert 'anna'
    (https with *tls*; then ``verify`` must be given to ``api``)."""
    store = Store(str(db))
    _, token = store.add_expert("anna", EXPERT_PASSWORD, int(time.time()))
    app = App(store, Settings(idle_timeout=idle_timeout, sos_per_10min=sos_per_10min))
    with running(app, "127.0.0.1", 0, sweep_every=sweep_every, tls=tls,
                 redirect_port=redirect_port) as server:
        live = LiveServer(server.url, token, "anna", store, app)
        live.server = server
        yield live


class ServerProcess:
    """``sos-server serve`` as a real process; can be stopped and started again.

    Port 0 takes any free port on the first start and keeps it for the next.
    """

    def __init__(self, db: Path, port: int = 0, *extra: str, stderr: IO | None = None) -> None:
        self.db, self.port, self.extra, self.stderr = db, port, extra, stderr
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None
        self.first_output = ""
        self.token = ""
        self.port_file = db.with_name(db.name + ".port.json")
        #: For https: the CA bundle requests verifies the server with.
        self.verify: Any = True

    def start(self) -> "ServerProcess":
        self.port_file.unlink(missing_ok=True)  # from a run before: not this one's signal
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sosdesk.server_stub", "--db", str(self.db), "serve",
             "--port", str(self.port), "--port-file", str(self.port_file), *self.extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.stderr or subprocess.PIPE, text=True)
        try:
            ready = portfile.wait(self.port_file, self.proc, timeout=30)
        except portfile.NotReady as exc:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"{exc}: {self.proc.stderr.read() if self.proc.stderr else ''}") \
                from None
        self.url, self.port = ready["url"], ready["port"]
        # Everything printed before listening is in the pipe by now (the first login).
        self.first_output = _already_written(self.proc.stdout)
        found = re.search(r"API token: (\S+)", self.first_output)
        if found:
            self.token = found.group(1)
        # Keep draining the pipes so the server never blocks on a full one.
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()
        if self.proc.stderr:
            threading.Thread(target=self.proc.stderr.read, daemon=True).start()
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=15)

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs.setdefault("verify", self.verify)
        return requests.request(method, self.url + path, headers=headers, timeout=40, **kwargs)


def _already_written(stream: IO[str]) -> str:
    """What a pipe holds now, read without waiting for more."""
    fd = stream.fileno()
    os.set_blocking(fd, False)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.set_blocking(fd, True)
    return b"".join(chunks).decode("utf-8", "replace")
