"""The real ``sos-agent --headless`` under server faults, through a tiny stdlib
fault proxy on loopback: server down at start, killed during a long-poll,
answering 500s, garbage or a non-JSON page for a while. The agent must retry
with back-off, tell the customer (``notice ...`` lines), recover with the same
case and never create a second one.
"""

from __future__ import annotations

import http.client
import signal
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agent_helpers import AgentProcess, queue_of, start_agent
from conftest import ServerProcess
from sosdesk.agent.flow import MIN_DELAY, backoff_delay

UNREACHABLE = "notice cannot reach support, retrying"
RECONNECTED = "notice connected to support again"
#: How long a wait may take before it counts as a hang; each wait ends at its event.
HANG = 60.0


class FaultProxy:
    """Forwards to the real server, or fails each new request the way ``mode`` says.

    Modes: ``forward``; ``reset`` (close the connection at once, with an RST);
    ``500`` (a JSON internal_error); ``garbage`` (bytes that are not HTTP, then
    close); ``html`` (200 with an HTML page, like a captive portal).
    """

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.mode = "forward"
        self.requests: list[tuple[float, str, str, str]] = []  # (time, mode, method, path)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                mode = proxy.mode
                if mode == "reset":
                    proxy.requests.append((time.monotonic(), mode, "-", "-"))
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                super().handle_one_request()

            def _any(self) -> None:
                mode = proxy.mode
                proxy.requests.append((time.monotonic(), mode, self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if mode == "garbage":
                    self.wfile.write(b"\x00\xff\xfeTHIS IS NOT HTTP\r\n\r\n")
                    self.close_connection = True
                    return
                if mode in ("500", "html"):
                    payload = (b'{"error": "internal_error", "message": "the server failed"}'
                               if mode == "500" else b"<html><body>Log in to Wi-Fi</body></html>")
                    self.send_response(500 if mode == "500" else 200)
                    self.send_header("Content-Type", "application/json" if mode == "500"
                                     else "text/html")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items()
                               if k.lower() not in ("connection", "keep-alive")}
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                except OSError:  # the real server is down: the client sees a dropped connection
                    self.close_connection = True
                    return
                finally:
                    upstream.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "content-length", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def sos_requests(self) -> int:
        return sum(1 for _, mode, method, path in self.requests
                   if mode == "forward" and path == "/api/v1/customer/sos")

    def attempts(self, mode: str) -> list[float]:
        """When the agent tried again while the proxy was in *mode*, one time per attempt.

        A reset connection can make the HTTP client ask again at once, on a new
        connection; the agent itself waits at least MIN_DELAY before it tries again,
        so requests closer together than that are one attempt of the agent.
        """
        times: list[float] = []
        for at, seen_mode, _, _ in list(self.requests):
            if seen_mode == mode and (not times or at - times[-1] >= 0.9 * MIN_DELAY):
                times.append(at)
        return times

    def wait_for_attempts(self, mode: str, count: int) -> list[float]:
        """The first *count* attempts in *mode*, once the agent has made them."""
        deadline = time.monotonic() + HANG
        while len(self.attempts(mode)) < count:
            assert time.monotonic() < deadline, (
                f"the agent tried {len(self.attempts(mode))} times in {HANG} s, "
                f"not {count}: {self.requests}")
            time.sleep(0.02)
        return self.attempts(mode)[:count]


@pytest.fixture
def server(server_process: ServerProcess) -> ServerProcess:
    return server_process


def _seen_or_expect(agent: AgentProcess, line: str) -> None:
    if line not in agent.seen:
        agent.expect(line, timeout=HANG)


def _gaps(times: list[float]) -> list[float]:
    return [round(b - a, 2) for a, b in zip(times, times[1:])]


def assert_backs_off(times: list[float]) -> None:
    """Each wait between attempts is at least the agent's back-off for it (0.5, 1, 2 s, ...).

    Only a lower bound: a loaded machine makes the waits longer, never shorter, so
    this holds however busy the machine is, and a busy loop still fails it.
    """
    gaps = _gaps(times)
    floors = [backoff_delay(n) for n in range(len(gaps))]
    assert all(gap >= 0.9 * floor for gap, floor in zip(gaps, floors)), (gaps, floors)


def test_server_down_at_start_then_up(server: ServerProcess, tmp_path: Path, agents: list) -> None:
    """Nothing answers (connections reset) at first: the agent backs off, says so, then gets one case."""
    proxy = FaultProxy(server.port)
    try:
        proxy.mode = "reset"
        agent = start_agent(agents, tmp_path, proxy.url, "--no-install", "sos")
        agent.expect(UNREACHABLE, timeout=HANG)
        attempts = proxy.wait_for_attempts("reset", 4)
        proxy.mode = "forward"
        code = agent.expect("code", timeout=HANG).split()[1]
        assert RECONNECTED in agent.seen
        agent.expect("status pending", timeout=HANG)
        assert [c["code"] for c in queue_of(server)] == [code]
        assert proxy.sos_requests() == 1
        print(f"\nserver down at start: gaps between attempts {_gaps(attempts)}")
        assert_backs_off(attempts)  # back-off, not a busy loop
        server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        agent.expect("status closed", timeout=HANG)
        assert agent.wait(HANG) == 0
    finally:
        proxy.close()


def test_server_killed_during_long_poll_then_restarted(server: ServerProcess, tmp_path: Path,
                                                       agents: list) -> None:
    agent = start_agent(agents, tmp_path, server.url, "--no-install", "sos")
    code = agent.expect("code").split()[1]
    agent.expect("status pending")
    time.sleep(0.5)  # the agent is in its long-poll now
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    agent.expect(UNREACHABLE, timeout=HANG)
    time.sleep(2)  # down for a while: no count depends on it
    token = server.token
    server.start()  # same port, same database
    server.token = token
    agent.expect(RECONNECTED, timeout=HANG)
    assert server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
    agent.expect("status pending expert=admin", timeout=HANG)
    assert [c["code"] for c in queue_of(server)] == [code]
    server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    agent.expect("status closed", timeout=HANG)
    assert agent.wait(HANG) == 0
    assert sum(line.startswith("code ") for line in agent.seen) == 1


@pytest.mark.parametrize("fault", ["500", "garbage", "reset"])
def test_500s_or_garbage_for_a_while_then_recovery(server: ServerProcess, tmp_path: Path,
                                                   agents: list, fault: str) -> None:
    proxy = FaultProxy(server.port)
    try:
        agent = start_agent(agents, tmp_path, proxy.url, "--no-install", "sos")
        code = agent.expect("code").split()[1]
        agent.expect("status pending")
        proxy.mode = fault
        # A change ends the long-poll in flight (if any); the agent's next request meets the fault.
        assert server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
        agent.expect(UNREACHABLE, timeout=HANG)
        faulted = proxy.wait_for_attempts(fault, 3)
        proxy.mode = "forward"
        agent.expect(RECONNECTED, timeout=HANG)
        _seen_or_expect(agent, "status pending expert=admin")
        server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        agent.expect("status closed", timeout=HANG)
        assert agent.wait(HANG) == 0
        assert [c["code"] for c in queue_of(server)] == [code]
        assert proxy.sos_requests() == 1
        assert sum(line.startswith("code ") for line in agent.seen) == 1
        print(f"\n{fault}: gaps between failed attempts {_gaps(faulted)}; then recovered")
        assert_backs_off(faulted)
    finally:
        proxy.close()


def test_a_non_json_page_for_a_while_is_survived(server: ServerProcess, tmp_path: Path,
                                                 agents: list) -> None:
    proxy = FaultProxy(server.port)
    try:
        agent = start_agent(agents, tmp_path, proxy.url, "--no-install", "sos")
        code = agent.expect("code").split()[1]
        agent.expect("status pending")
        proxy.mode = "html"
        assert server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
        agent.expect(UNREACHABLE, timeout=HANG)
        proxy.wait_for_attempts("html", 2)  # it got the page, waited, and asked again
        proxy.mode = "forward"
        agent.expect(RECONNECTED, timeout=HANG)
    finally:
        proxy.close()
