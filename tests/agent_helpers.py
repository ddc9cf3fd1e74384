"""Helpers for the agent's tests: the real ``sos-agent`` as a process, read line by line."""

from __future__ import annotations

import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import requests

ROOT = Path(__file__).resolve().parent.parent


def start_xvfb(xvfb: str, screen: str = "640x480x24") -> tuple[subprocess.Popen, str | None]:
    """Xvfb on a display it picks itself (-displayfd: no clash with other runs) and its name,
    or None for the name if it did not start within 10 s (the caller stops the process)."""
    read, write = os.pipe()
    try:
        proc = subprocess.Popen([xvfb, "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", screen],
                                pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        os.close(write)
    number = b""
    try:
        deadline = time.monotonic() + 10
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            if select.select([read], [], [], 0.1)[0]:
                chunk = os.read(read, 16)
                if not chunk:
                    break
                number += chunk
    finally:
        os.close(read)
    return proc, (":" + number.decode().strip()) if number.strip() else None


def path_without_agent() -> str:
    """$PATH without any folder holding ``sos-agent`` (a venv's bin): a fresh machine's PATH,
    where CI runs, so an agent that looks itself up on PATH fails here as it does there."""
    folders = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join(f for f in folders if f and not os.path.exists(os.path.join(f, "sos-agent")))


def agent_env(tmp_path: Path) -> dict[str, str]:
    """An environment where the agent's config, home and desktop are all under *tmp_path*,
    and no ``sos-agent`` is on PATH."""
    # PYSTRAY_BACKEND: the tray unit tests set it to "dummy" in this process; an agent
    # given it would run an invisible tray instead of its no-display fallback.
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "PYSTRAY_BACKEND")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({
        "SOSDESK_CONFIG_DIR": str(tmp_path / "config"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_DESKTOP_DIR": str(home / "Desktop"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "PATH": path_without_agent(),
        # No keyring daemon in tests: the file fallback, without probing every backend.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    })
    return env


def write_branding(tmp_path: Path, server_url: str, **fields: Any) -> Path:
    """A branding file for a test server (no desktop shortcut by default)."""
    data = {"company_name": "Test IT", "server_url": server_url, "create_shortcut": False, **fields}
    path = tmp_path / "branding.json"
    path.write_text(json.dumps(data))
    return path


class AgentProcess:
    """``python -m sosdesk.agent ...`` (or another *program*) with its stdout read line by line by a thread."""

    def __init__(self, args: list[str], env: dict[str, str], program: list[str] | None = None,
                 cwd: Path = ROOT) -> None:
        self.args = args
        program = [sys.executable, "-m", "sosdesk.agent"] if program is None else program
        self.proc = subprocess.Popen([*program, *args], cwd=cwd, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.stderr_text = ""
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self._stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._stderr_reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr_text = self.proc.stderr.read()

    def expect(self, match: str | Callable[[str], bool], timeout: float = 60) -> str:
        """The next line that equals (or starts with, or satisfies) *match*, within *timeout*."""
        test = match if callable(match) else (lambda line: line == match or line.startswith(match + " "))
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line {match!r} within {timeout} s; seen {self.seen}; "
                                     f"stderr {self.stderr_text!r}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(5)
                self._stderr_reader.join(10)  # its stderr, all of it, for the message
                raise AssertionError(f"agent exited ({self.proc.returncode}) before {match!r}; "
                                     f"seen {self.seen}; stderr {self.stderr_text!r}")
            self.seen.append(line)
            if test(line):
                return line

    def wait(self, timeout: float = 20) -> int:
        """The exit status, waiting at most *timeout* seconds; stderr_text is whole after it
        (the reader thread may still be reading when the process has exited). An agent still
        running then is killed, and the failure shows its log."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            self._stderr_reader.join(10)
            raise AssertionError(f"the agent still ran after {timeout} s; its log ends: "
                                 f"{self.stderr_text[-4000:]}") from None
        self._stderr_reader.join(10)
        return status

    def stop(self) -> None:
        """Kill the agent if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# -- fakes for unit tests ---------------------------------------------------------

class Recorder:
    """A flow listener that records every event as a tuple."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def on_case(self, case: dict) -> None:
        self.events.append(("case", case["status"], case.get("expert_name")))

    def on_notice(self, key: str, **values: Any) -> None:
        self.events.append(("notice", key))


def customer_case(code: str = "s12-345-678", status: str = "new", version: int = 1,
                  **extra: Any) -> dict:
    """A customer-view case as the server sends it."""
    state = "open" if status in ("new", "pending", "in_progress") else "closed"
    return {"code": code, "status": status, "state": state, "description": "", "waiting_message": "",
            "expert_name": None, "customer_started": False, "can_close": True,
            "created_at": "2026-11-28T12:00:00Z", "valid_until": "2026-11-29T12:00:00Z",
            "closed_at": None, "version": version, **extra}


class FakeClient:
    """The agent's Client, scripted: each method pops its next answer (a case or an error)."""

    def __init__(self, **script: list) -> None:
        self.script = script
        self.calls: list[tuple] = []

    def _next(self, name: str, *args: Any) -> Any:
        self.calls.append((name, *args))
        answer = self.script[name].pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def sos(self, device_id: str, device: dict, module_id: str | None = None) -> Any:
        return self._next("sos", device_id)

    def join(self, code: str, device_id: str, device: dict) -> Any:
        return self._next("join", code)

    def case(self, token: str, since: int = -1, wait: int = 0) -> dict:
        return self._next("case", token, since, wait)

    def start(self, token: str) -> dict:
        return self._next("start", token)

    def close(self, token: str) -> dict:
        return self._next("close", token)

    def inbox(self, token: str, since: int, wait: int) -> dict:
        """The session inbox: scripted answers, else no session on this server (CaseGone)."""
        if not self.script.get("inbox"):
            from sosdesk.agent.errors import CaseGone
            raise CaseGone(404, "not_found", "no session routes")
        return self._next("inbox", token, since, wait)

    def chat(self, token: str, since: int = 0) -> dict:
        return {"messages": []}


class MemoryStore:
    """A SecretStore in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, name: str) -> str | None:
        return self.data.get(name)

    def set(self, name: str, value: str) -> None:
        self.data[name] = value

    def delete(self, name: str) -> None:
        self.data.pop(name, None)


def start_agent(agents: list[AgentProcess], tmp_path: Path, url: str, *command: str,
                headless: bool = True, **branding: Any) -> AgentProcess:
    """Start ``sos-agent [--headless] COMMAND`` for a branding pointing at *url*."""
    config = write_branding(tmp_path, url, **branding)
    options = ["--headless"] if headless else []
    agent = AgentProcess(["--config", str(config), *options, *command], agent_env(tmp_path))
    agents.append(agent)
    return agent


def queue_of(server: Any) -> list[dict]:
    """The expert queue of a ServerProcess (all cases, newest first)."""
    response = server.api("GET", "/api/v1/sessions?state=open,closed")
    assert response.status_code == 200, response.text
    return response.json()["sessions"]


def establish_session(server: Any, code: str, tmp_path: Path) -> None:
    """Make a connected case in progress as the remote session does: the customer allows
    viewing (here over HTTP with the token the agent stored under *tmp_path*, standing in
    for the agent's Allow button) and the expert's viewer attaches (one poll)."""
    secrets = json.loads(next((tmp_path / "config").glob("secrets-*.json")).read_text())
    token = secrets["case_token"]
    allowed = requests.post(f"{server.url}/api/v1/customer/session/consent", timeout=10,
                            headers={"Authorization": f"Bearer {token}"},
                            json={"what": "view", "allow": True})
    assert allowed.status_code == 200, allowed.text
    assert server.api("GET", f"/api/v1/sessions/{code}/remote").status_code == 200
