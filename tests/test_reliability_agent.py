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

UNREACHABLE = "notice cannot reach support, retrying"
RECONNECTED = "notice connected to support again"


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


@pytest.fixture
def server(server_process: ServerProcess) -> ServerProcess:
    return server_process


def _seen_or_expect(agent: AgentProcess, line: str) -> None:
    if line not in agent.seen:
        agent.expect(line, timeout=30)


def _gaps(times: list[float]) -> list[float]:
    return [round(b - a, 2) for a, b in zip(times, times[1:])]


def test_server_down_at_start_then_up(server: ServerProcess, tmp_path: Path, agents: list) -> None:
    """Nothing answers (connections reset) at first: the agent backs off, says so, then gets one case."""
    proxy = FaultProxy(server.port)
    try:
        proxy.mode = "reset"
        agent = start_agent(agents, tmp_path, proxy.url, "--no-install", "sos")
        agent.expect(UNREACHABLE, timeout=20)
        time.sleep(4)
        attempts = [t for t, mode, _, _ in proxy.requests if mode == "reset"]
        proxy.mode = "forward"
        code = agent.expect("code", timeout=30).split()[1]
        assert RECONNECTED in agent.seen
        agent.expect("status pending")
        assert [c["code"] for c in queue_of(server)] == [code]
        assert proxy.sos_requests() == 1
        gaps = _gaps(attempts)
        print(f"\nserver down at start: {len(attempts)} attempts in ~4 s, gaps {gaps}")
        # Back-off, not a busy loop: few attempts, and the gaps grow.
        assert 3 <= len(attempts) <= 10, gaps
        assert max(gaps) >= 1.5 * min(gaps) and max(gaps) >= 1.0, gaps
        server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        agent.expect("status closed", timeout=40)
        assert agent.wait(15) == 0
    finally:
        proxy.close()


def test_server_killed_during_long_poll_then_restarted(server: ServerProcess, tmp_path: Path,
                                                       agents: list) -> None:
    agent = start_agent(agents, tmp_path, server.url, "--no-install", "sos")
    code = agent.expect("code").split()[1]
    agent.expect("status pending")
    time.sleep(0.5)  # the agent is in its long-poll now
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    agent.expect(UNREACHABLE, timeout=20)
    time.sleep(2)
    token = server.token
    server.start()  # same port, same database
    server.token = token
    agent.expect(RECONNECTED, timeout=30)
    assert server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
    agent.expect("status pending expert=admin", timeout=40)
    assert [c["code"] for c in queue_of(server)] == [code]
    server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    agent.expect("status closed", timeout=40)
    assert agent.wait(15) == 0
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
        agent.expect(UNREACHABLE, timeout=40)
        time.sleep(4)
        faulted = [t for t, mode, _, _ in proxy.requests if mode == fault]
        proxy.mode = "forward"
        agent.expect(RECONNECTED, timeout=30)
        _seen_or_expect(agent, "status pending expert=admin")
        server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        agent.expect("status closed", timeout=40)
        assert agent.wait(15) == 0
        assert [c["code"] for c in queue_of(server)] == [code]
        assert proxy.sos_requests() == 1
        assert sum(line.startswith("code ") for line in agent.seen) == 1
        gaps = _gaps(faulted)
        print(f"\n{fault}: {len(faulted)} failed requests in ~4 s, gaps {gaps}; then recovered")
        assert 2 <= len(faulted) <= 12, gaps
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
        agent.expect(UNREACHABLE, timeout=40)
        time.sleep(3)
        proxy.mode = "forward"
        agent.expect(RECONNECTED, timeout=30)
    finally:
        proxy.close()
