"""The agent's client over real TLS (the real server in this process, certificates made
here): CA checks without pins, key pins instead of them with pins.

A pinned client accepts only a server presenting a pinned key, even one whose
certificate every CA-checking client accepts, and sends it nothing; a self-signed
server with the pinned key works; the second pin (rotation) counts as the first.
An unpinned client refuses an untrusted, expired or misnamed certificate, each
with its own reason, and never retries (the errors are not transient).
"""

from __future__ import annotations

import contextlib
import datetime
import socket
import threading
from pathlib import Path
from typing import Iterator

import pytest
import requests

from servers import LiveServer, in_process
from sosdesk.agent.client import Client, PinnedAdapter, pinned_session
from sosdesk.agent.errors import CertificateRefused, KeyNotPinned, RequestFailed
from sosdesk.server_stub.tls import Certificate
from tls_certs import NOW, Issued, TestCA, new_key, key_pin, self_signed

DEVICE = {"hostname": "pc", "os": "Linux", "user": "bob"}


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


@contextlib.contextmanager
def serve(tmp_path: Path, issued: Issued) -> Iterator[LiveServer]:
    with in_process(tmp_path / f"{issued.cert.stem}.db", tls=Certificate(issued.cert, issued.key)) as live:
        yield live


@pytest.fixture
def ca_server(tmp_path: Path, ca: TestCA) -> Iterator[tuple[LiveServer, Issued]]:
    """A server whose certificate the test CA signed for 127.0.0.1: CA-valid."""
    issued = ca.issue("ca-valid")
    with serve(tmp_path, issued) as live:
        live.verify = str(ca.bundle)
        yield live, issued


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[tuple[LiveServer, Issued]]:
    """A server with a self-signed certificate, as a lab makes one."""
    issued = self_signed(tmp_path / "lab", "lab")
    with serve(tmp_path, issued) as live:
        live.verify = str(issued.cert)
        yield live, issued


def cases_on(live: LiveServer) -> list[dict]:
    response = live.api("GET", "/api/v1/sessions")
    assert response.status_code == 200
    return response.json()["sessions"]


def test_a_pinned_client_works_with_a_self_signed_server_whose_key_it_pins(
        lab_server: tuple[LiveServer, Issued]) -> None:
    live, issued = lab_server
    client = Client(live.url, pins=[issued.pin])
    ticket = client.sos("pinned-device-000001", DEVICE)
    assert ticket.created
    case = client.case(ticket.token, since=ticket.case["version"], wait=1)  # a long-poll
    assert case["code"] == ticket.case["code"]


def test_the_second_pin_counts_too(lab_server: tuple[LiveServer, Issued]) -> None:
    live, issued = lab_server
    next_key = key_pin(new_key())
    assert Client(live.url, pins=[next_key, issued.pin]).sos("rotation-device-0001", DEVICE).created


def test_a_ca_valid_certificate_with_another_key_is_refused_and_gets_nothing(
        ca_server: tuple[LiveServer, Issued]) -> None:
    live, issued = ca_server
    assert requests.get(live.url + "/healthz", verify=live.verify, timeout=10).ok  # CA-valid
    ours = key_pin(new_key())
    client = Client(live.url, pins=[ours])
    with pytest.raises(KeyNotPinned) as refused:
        client.sos("intercepted-device-01", DEVICE)
    assert refused.value.transient is False and refused.value.code == "certificate_not_pinned"
    assert refused.value.reason == issued.pin  # what the server presented, for the support company
    assert cases_on(live) == []  # the request never reached the server


def test_a_ca_bundle_does_not_soften_pinning(ca_server: tuple[LiveServer, Issued], ca: TestCA) -> None:
    live, _ = ca_server
    with pytest.raises(KeyNotPinned):
        Client(live.url, ca_bundle=str(ca.bundle), pins=[key_pin(new_key())]).sos("x" * 20, DEVICE)


def test_without_pins_the_ca_decides(ca_server: tuple[LiveServer, Issued], ca: TestCA) -> None:
    live, _ = ca_server
    assert Client(live.url, ca_bundle=str(ca.bundle)).sos("ca-checked-device-01", DEVICE).created
    with pytest.raises(CertificateRefused) as refused:
        Client(live.url).sos("ca-checked-device-02", DEVICE)  # the system's CAs: not ours
    assert refused.value.problem == "untrusted" and not isinstance(refused.value, KeyNotPinned)


@pytest.mark.parametrize("kind, problem, reason", [
    ("self-signed", "untrusted", "self-signed certificate"),
    ("expired", "expired", "certificate has expired"),
    ("not yet valid", "not_yet_valid", "certificate is not yet valid"),
    ("wrong name", "wrong_name", "address mismatch"),
])
def test_each_certificate_problem_has_its_own_reason(tmp_path: Path, ca: TestCA, kind: str,
                                                     problem: str, reason: str) -> None:
    if kind == "self-signed":
        issued = self_signed(tmp_path / "s", "s")
    elif kind == "expired":
        issued = ca.issue("expired", not_before=NOW - datetime.timedelta(days=30),
                          not_after=NOW - datetime.timedelta(days=1))
    elif kind == "not yet valid":
        issued = ca.issue("future", not_before=NOW + datetime.timedelta(days=2),
                          not_after=NOW + datetime.timedelta(days=30))
    else:
        issued = ca.issue("other-name", ("support.example.com",))
    bundle = None if kind == "self-signed" else str(ca.bundle)
    with serve(tmp_path, issued) as live:
        with pytest.raises(CertificateRefused) as refused:
            Client(live.url, ca_bundle=bundle).sos("refused-device-00001", DEVICE)
        assert refused.value.problem == problem and reason in refused.value.reason
        assert refused.value.transient is False
        # The same key, pinned: the certificate around it no longer matters.
        assert Client(live.url, pins=[issued.pin]).sos("pinned-device-00002", DEVICE).created


def test_a_pinned_session_talks_https_only() -> None:
    with pytest.raises(requests.exceptions.InvalidSchema, match="https only"):
        pinned_session([key_pin(new_key())]).get("http://127.0.0.1:9/", timeout=1)
    with pytest.raises(RequestFailed):
        Client("http://127.0.0.1:9", pins=[key_pin(new_key())]).sos("x" * 20, DEVICE)


def test_an_adapter_needs_a_pin() -> None:
    with pytest.raises(ValueError):
        PinnedAdapter([])


class ConnectProxy:
    """An HTTP proxy on 127.0.0.1 that tunnels CONNECT requests (as a company's proxy does)."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.tunnels: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        target = head.split()[1].decode()
        self.tunnels.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for each in (source, sink):
                try:
                    each.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()


def test_through_an_http_proxy_the_tunnel_is_pinned(lab_server: tuple[LiveServer, Issued],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    live, issued = lab_server
    proxy = ConnectProxy()
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        assert Client(live.url, pins=[issued.pin]).sos("proxied-device-00001", DEVICE).created
        with pytest.raises(KeyNotPinned):
            Client(live.url, pins=[key_pin(new_key())]).sos("proxied-device-00002", DEVICE)
        port = live.url.rsplit(":", 1)[1]
        assert proxy.tunnels == [f"127.0.0.1:{port}"] * 2  # both went through the proxy
        assert len(cases_on(live)) == 1
    finally:
        proxy.close()


def test_a_pinned_agent_refuses_a_socks_proxy() -> None:
    with pytest.raises(requests.exceptions.InvalidSchema, match="SOCKS"):
        PinnedAdapter([key_pin(new_key())]).proxy_manager_for("socks5://127.0.0.1:1080")
