"""What retrying cannot heal ends the real agent at once, with a clear message.

A support server whose TLS certificate the agent refuses (here: self-signed, on
a loopback port) must not be hammered: the agent connects once, says why it
stops, and exits 1.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Iterator

import pytest

from agent_helpers import start_agent
from conftest import require_tool


class SelfSignedServer:
    """A TLS listener on 127.0.0.1 with a self-signed certificate; counts accepted connections."""

    def __init__(self, folder: Path) -> None:
        cert, key = folder / "cert.pem", folder / "key.pem"
        subprocess.run([require_tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=60)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.url = f"https://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted = 0
        self.handshake_errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(5)
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass  # the agent refuses the certificate during the handshake
            except (ssl.SSLError, OSError) as exc:
                self.handshake_errors.append(type(exc).__name__)
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.listener.close()


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[SelfSignedServer]:
    server = SelfSignedServer(tmp_path)
    try:
        yield server
    finally:
        server.close()


def test_a_refused_certificate_stops_the_agent_after_one_attempt(self_signed: SelfSignedServer,
                                                                  tmp_path: Path, agents: list) -> None:
    agent = start_agent(agents, tmp_path, self_signed.url, "sos")
    agent.expect("error certificate_refused", timeout=30)
    assert agent.wait(30) == 1
    assert "notice cannot reach support, retrying" not in agent.seen
    assert "certificate" in agent.stderr_text and "Traceback" not in agent.stderr_text
    assert self_signed.accepted == 1, f"{self_signed.accepted} connections for one refused certificate"
