"""The server's built-in TLS: the real ``sos-server serve --tls-cert --tls-key`` process
(and the same server in this process where a test must reach inside), with a test CA
and certificates made here.

HTTPS serves the same API with keep-alive and long-polls, every answer carries
Strict-Transport-Security and every cookie is Secure; TLS below 1.2 is refused;
plain HTTP, garbage and a trickling handshake end in a clean close; a renewed
certificate is served to new connections while an open long-poll finishes on the
old one; ``--http-redirect-port`` sends plain HTTP to https.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from servers import EXPERT_PASSWORD, LiveServer, ServerProcess, in_process
from sosdesk.common.pins import pin_of_certificate
from sosdesk.server_stub.tls import Certificate, CertificateProblem
from tls_certs import TestCA, replace_files, self_signed, write_key, new_key


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


def client_context(ca: TestCA) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca.bundle))


def presented_pin(port: int, ca: TestCA) -> str:
    """The pin of the key the server at *port* presents to a new connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with client_context(ca).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            return pin_of_certificate(tls.getpeercert(binary_form=True))


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.fixture
def tls_process(tmp_path: Path, ca: TestCA) -> Iterator[tuple[ServerProcess, Path]]:
    """The real server process over TLS, its stderr in a file."""
    issued = ca.issue("server")
    log = tmp_path / "server.log"
    with open(log, "w") as stderr:
        server = ServerProcess(tmp_path / "tls.db", 0, "--tls-cert", str(issued.cert),
                               "--tls-key", str(issued.key), "--idle-timeout", "2",
                               stderr=stderr)
        server.verify = str(ca.bundle)
        server.start()
        try:
            yield server, log
        finally:
            server.stop()
    assert "Traceback" not in log.read_text()


def test_https_serves_the_api_with_keep_alive_hsts_and_secure_cookies(
        tls_process: tuple[ServerProcess, Path], ca: TestCA) -> None:
    server, _ = tls_process
    assert server.url.startswith("https://127.0.0.1:")
    assert "key pin sha256/" in server.first_output  # printed at start, for sos-builder --pin
    conn = http.client.HTTPSConnection("127.0.0.1", port_of(server.url), context=client_context(ca),
                                       timeout=20)
    answers = []
    for n in range(3):
        conn.request("POST", "/api/v1/customer/sos", json.dumps({"device_id": f"tls-device-{n:012d}"}),
                     {"Content-Type": "application/json"})
        response = conn.getresponse()
        answers.append((response.status, response.getheader("Strict-Transport-Security"),
                        json.loads(response.read())["created"]))
        if n == 0:
            first_socket = conn.sock
        assert conn.sock is first_socket  # one connection for all three: keep-alive over TLS
    conn.close()
    assert answers == [(201, "max-age=31536000", True)] * 3
    login = requests.post(server.url + "/api/v1/login", json={"name": "admin", "password": "x"},
                          verify=str(ca.bundle), timeout=20)
    assert login.status_code == 401  # the admin's password is random; log in as another expert
    server_store_expert(server)
    login = requests.post(server.url + "/api/v1/login",
                          json={"name": "tls-expert", "password": EXPERT_PASSWORD},
                          verify=str(ca.bundle), timeout=20)
    assert login.status_code == 200
    cookie = login.headers["Set-Cookie"]
    assert cookie.startswith("sosdesk_session=") and "; Secure" in cookie


def server_store_expert(server: ServerProcess) -> None:
    """An expert 'tls-expert' added with the CLI, as an operator does."""
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "sosdesk.server_stub", "--db", str(server.db), "expert",
                    "add", "tls-expert", "--password-stdin"], input=EXPERT_PASSWORD + "\n",
                   check=True, capture_output=True, text=True, timeout=60)


def test_a_long_poll_over_tls_answers_when_the_expert_connects(
        tls_process: tuple[ServerProcess, Path]) -> None:
    server, _ = tls_process
    made = requests.post(server.url + "/api/v1/customer/sos", json={"device_id": "long-poll-device-1"},
                         verify=server.verify, timeout=20).json()
    version = requests.get(server.url + "/api/v1/customer/case", verify=server.verify, timeout=20,
                           headers={"Authorization": f"Bearer {made['token']}"}).json()["version"]
    answer: dict = {}

    def wait() -> None:
        answer["case"] = requests.get(
            server.url + f"/api/v1/customer/case?since={version}&wait=30", verify=server.verify,
            headers={"Authorization": f"Bearer {made['token']}"}, timeout=40).json()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.5)
    assert waiter.is_alive()  # it waits: nothing changed yet
    assert server.api("POST", f"/api/v1/sessions/{made['case']['code']}/connect").status_code == 200
    waiter.join(30)
    assert answer["case"]["status"] == "pending" and answer["case"]["version"] > version


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_below_1_2_is_refused(tls_process: tuple[ServerProcess, Path]) -> None:
    server, _ = tls_process
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname, old.verify_mode = False, ssl.CERT_NONE
    old.minimum_version, old.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with socket.create_connection(("127.0.0.1", port_of(server.url)), timeout=10) as raw:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            old.wrap_socket(raw, server_hostname="127.0.0.1")
    assert server.api("GET", "/healthz").status_code == 200


def read_until_closed(conn: socket.socket) -> bytes:
    """What the server sends before it closes *conn* (a reset counts as closed)."""
    received = b""
    try:
        while chunk := conn.recv(4096):
            received += chunk
    except ConnectionResetError:
        pass
    return received


@pytest.mark.parametrize("sent", [
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"\x00\xff" * 300 + b"\r\n\r\n",
    b"\x16\x03\x01\x00\x05hello",  # a TLS record header, then nonsense
])
def test_plain_http_or_garbage_on_the_tls_port_is_closed_cleanly(
        tls_process: tuple[ServerProcess, Path], sent: bytes) -> None:
    server, log = tls_process
    with socket.create_connection(("127.0.0.1", port_of(server.url)), timeout=20) as conn:
        conn.sendall(sent)
        received = read_until_closed(conn)
    # Never an HTTP answer in clear (nothing to read on the TLS port but TLS), at most an alert.
    assert b"HTTP/" not in received and len(received) < 100
    assert server.api("GET", "/healthz").status_code == 200  # and the server goes on
    assert "Traceback" not in log.read_text()


def client_hello() -> bytes:
    """The bytes of a real TLS ClientHello, as a browser's first flight."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    context = ssl.create_default_context()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def test_a_trickling_handshake_is_closed_after_the_idle_timeout(tmp_path: Path, ca: TestCA) -> None:
    """A client sending its ClientHello a byte at a time (each byte well within the
    per-read timeout) is still closed once the whole handshake outlasts the idle timeout."""
    issued = ca.issue("server")
    hello = client_hello()
    with in_process(tmp_path / "t.db", idle_timeout=1.0,
                    tls=Certificate(issued.cert, issued.key)) as live:
        assert live.server is not None
        sent = 0
        with socket.create_connection(("127.0.0.1", port_of(live.url)), timeout=10) as conn:
            try:
                for byte in hello:
                    conn.sendall(bytes([byte]))
                    sent += 1
                    time.sleep(0.25)  # 4 bytes a second: the whole hello would take over a minute
                    if conn.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b"":
                        break  # the server closed it
            except BlockingIOError:
                pytest.fail("unreachable")
            except (BrokenPipeError, ConnectionResetError):
                pass
        assert sent < len(hello), "the server waited for the whole trickled handshake"
        assert not live.server.watchdog._since  # nothing left waiting


def test_stopping_the_server_ends_a_handshake_in_progress(tmp_path: Path, ca: TestCA) -> None:
    issued = ca.issue("server")
    hello = client_hello()
    with socket.socket() as conn:
        with in_process(tmp_path / "s.db", idle_timeout=120.0,
                        tls=Certificate(issued.cert, issued.key)) as live:
            conn.settimeout(60)
            conn.connect(("127.0.0.1", port_of(live.url)))
            conn.sendall(hello[:10])  # the handshake has begun and waits for the rest
            time.sleep(0.3)
            assert live.server is not None and len(live.server.watchdog._since) == 1
        # Closed by the stop, long before the 120 s the handshake could otherwise take.
        assert read_until_closed(conn) == b""


def test_a_renewed_certificate_serves_new_connections_while_an_open_long_poll_finishes(
        tmp_path: Path, ca: TestCA, caplog: pytest.LogCaptureFixture) -> None:
    old = ca.issue("live")
    new = ca.issue("renewed")
    assert old.pin != new.pin
    certificate = Certificate(old.cert, old.key, check_every=0.0)
    with in_process(tmp_path / "r.db", tls=certificate) as live:
        live.verify = str(ca.bundle)
        port = port_of(live.url)
        made = live.sos("renewal-device-0001")
        token = made["token"]
        # The long-poll's connection: opened with the old certificate, kept alive.
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=client_context(ca), timeout=40)
        conn.request("GET", "/api/v1/customer/case", headers={"Authorization": f"Bearer {token}"})
        version = json.loads(conn.getresponse().read())["version"]
        assert pin_of_certificate(conn.sock.getpeercert(binary_form=True)) == old.pin
        answer: dict = {}

        def wait() -> None:
            conn.request("GET", f"/api/v1/customer/case?since={version}&wait=30",
                         headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            answer["status"], answer["case"] = response.status, json.loads(response.read())

        waiter = threading.Thread(target=wait)
        waiter.start()
        # Half a renewal: the new certificate with the old key is not a pair; the old one stays.
        new_cert_only = tmp_path / "ca" / "half.pem"
        new_cert_only.write_bytes(new.cert.read_bytes())
        old.cert.write_bytes(new_cert_only.read_bytes())
        assert presented_pin(port, ca) == old.pin
        assert "cannot be used" in caplog.text
        replace_files(old, new)  # the renewal completes
        assert presented_pin(port, ca) == new.pin  # the next connection gets the new certificate
        assert "NEW KEY" in caplog.text
        assert waiter.is_alive()  # the long-poll is still open on the old connection
        assert live.api("POST", f"/api/v1/sessions/{made['case']['code']}/connect").status_code == 200
        waiter.join(30)
        assert answer["status"] == 200 and answer["case"]["version"] > version
        # The old connection goes on with the old certificate until it closes.
        conn.request("GET", "/api/v1/customer/case", headers={"Authorization": f"Bearer {token}"})
        assert conn.getresponse().status == 200
        assert pin_of_certificate(conn.sock.getpeercert(binary_form=True)) == old.pin
        conn.close()


def test_the_files_are_looked_at_no_more_often_than_asked(tmp_path: Path, ca: TestCA) -> None:
    old, new = ca.issue("a"), ca.issue("b")
    now = [100.0]
    certificate = Certificate(old.cert, old.key, check_every=5.0, clock=lambda: now[0])
    first = certificate.context()
    replace_files(old, new)
    now[0] += 4.9
    assert certificate.context() is first and certificate.pin == old.pin
    now[0] += 0.2
    assert certificate.context() is not first and certificate.pin == new.pin


def test_the_redirect_port_sends_plain_http_to_https(tmp_path: Path, ca: TestCA) -> None:
    issued = ca.issue("server")
    with in_process(tmp_path / "d.db", tls=Certificate(issued.cert, issued.key),
                    redirect_port=0) as live:
        assert live.server is not None and live.server.redirect is not None
        https_port = port_of(live.url)
        plain = f"http://127.0.0.1:{live.server.redirect.server_address[1]}"
        got = requests.get(plain + "/api/v1/sessions?state=open", allow_redirects=False, timeout=20)
        assert got.status_code == 301
        assert got.headers["Location"] == f"https://127.0.0.1:{https_port}/api/v1/sessions?state=open"
        assert "Strict-Transport-Security" not in got.headers  # never over plain HTTP
        posted = requests.post(plain + "/api/v1/customer/sos", json={"device_id": "x" * 20},
                               headers={"Host": "support.example.com:80"}, allow_redirects=False,
                               timeout=20)
        assert posted.status_code == 308  # keeps the method and body
        assert posted.headers["Location"] == f"https://support.example.com:{https_port}/api/v1/customer/sos"
        bad = requests.get(plain + "/", headers={"Host": "evil/@x"}, allow_redirects=False, timeout=20)
        assert bad.status_code == 400 and bad.json()["error"] == "bad_host"
        live.verify = str(ca.bundle)
        assert live.api("GET", "/api/v1/sessions").json()["sessions"] == []  # the POST made no case
        followed = requests.get(plain + "/healthz", verify=str(ca.bundle), timeout=20)
        assert followed.status_code == 200 and followed.url.startswith("https://")


def test_plain_http_servers_send_no_hsts_and_no_secure_cookie(live_server: LiveServer) -> None:
    login = live_server.api("POST", "/api/v1/login", token=None,
                            json={"name": "anna", "password": EXPERT_PASSWORD})
    assert login.status_code == 200
    assert "Strict-Transport-Security" not in login.headers
    assert "Secure" not in login.headers["Set-Cookie"]


# -- the command line --------------------------------------------------------

def run_serve(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "sosdesk.server_stub", "--db", str(tmp_path / "cli.db"),
                           "serve", "--port", "0", *args], capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def test_bad_tls_options_are_one_line_each_and_create_nothing(tmp_path: Path, ca: TestCA) -> None:
    good = ca.issue("good")
    other = ca.issue("other")
    encrypted = tmp_path / "encrypted.key"
    from cryptography.hazmat.primitives import serialization
    encrypted.write_bytes(new_key().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret")))
    cases = [
        (["--tls-cert", str(good.cert)], "--tls-cert and --tls-key go together"),
        (["--tls-key", str(good.key)], "--tls-cert and --tls-key go together"),
        (["--http-redirect-port", "0"], "needs --tls-cert"),
        (["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(good.key)], "no such file"),
        (["--tls-cert", str(good.cert), "--tls-key", str(other.key)],
         "the key does not belong to the certificate"),
        (["--tls-cert", str(good.key), "--tls-key", str(good.key)], "not PEM"),
        (["--tls-cert", str(good.cert), "--tls-key", str(encrypted)], "encrypted with a passphrase"),
    ]
    for args, expected in cases:
        status, out, err = run_serve(tmp_path, *args)
        assert status == 1, (args, err)
        assert expected in err and err.count("\n") == 1 and "Traceback" not in err, (args, err)
        assert not (tmp_path / "cli.db").exists()


def test_a_certificate_made_with_openssl_as_the_readme_says_is_served(tmp_path: Path) -> None:
    """The README's lab recipe: a self-signed certificate from the openssl command."""
    from conftest import require_tool

    openssl = require_tool("openssl")
    import subprocess

    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-days", "365", "-subj", "/CN=support.lab",
                    "-addext", "subjectAltName=DNS:support.lab,IP:127.0.0.1",
                    "-keyout", str(tmp_path / "lab.key"), "-out", str(tmp_path / "lab.pem")],
                   check=True, capture_output=True, timeout=60)
    certificate = Certificate(tmp_path / "lab.pem", tmp_path / "lab.key")
    with in_process(tmp_path / "lab.db", tls=certificate) as live:
        got = requests.get(live.url + "/healthz", verify=str(tmp_path / "lab.pem"), timeout=20)
        assert got.status_code == 200
        # The pin the server prints is the pin of the key it presents.
        with socket.create_connection(("127.0.0.1", port_of(live.url)), timeout=10) as raw:
            context = ssl.create_default_context(cafile=str(tmp_path / "lab.pem"))
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert pin_of_certificate(tls.getpeercert(binary_form=True)) == certificate.pin


def test_certificate_problems_raise_the_servers_own_error(tmp_path: Path, ca: TestCA) -> None:
    issued = self_signed(tmp_path, "s")
    with pytest.raises(CertificateProblem, match="no such file"):
        Certificate(tmp_path / "none.pem", issued.key)
    stray = write_key(tmp_path / "stray.key", new_key())
    with pytest.raises(CertificateProblem, match="does not belong"):
        Certificate(issued.cert, stray)


@pytest.mark.slow
def test_the_console_works_over_tls_in_a_real_browser(tmp_path: Path, ca: TestCA) -> None:
    """Log-in, the live queue (a long-poll over TLS) and a Secure cookie, in Chromium.
    Chromium does not know the test CA, so the context accepts the certificate."""
    from conftest import require_module, require_tool

    sync_api = require_module("playwright.sync_api")
    chromium = require_tool("chromium")
    issued = ca.issue("console")
    with in_process(tmp_path / "console.db", tls=Certificate(issued.cert, issued.key)) as live, \
            sync_api.sync_playwright() as playwright:
        live.verify = str(ca.bundle)
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            context = browser.new_context(base_url=live.url, ignore_https_errors=True, locale="en-US")
            page = context.new_page()
            page.set_default_timeout(10000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto("/")
            page.get_by_label("Name", exact=True).fill("anna")
            page.get_by_label("Password").fill(EXPERT_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            sync_api.expect(page.locator("#live[data-ok='1']")).to_be_visible()
            code = live.sos("browser-tls-device-01")["case"]["code"]
            sync_api.expect(page.locator(f"#queue-body tr[data-code='{code}']")).to_be_visible()
            [cookie] = [c for c in context.cookies() if c["name"] == "sosdesk_session"]
            assert cookie["secure"] is True and cookie["httpOnly"] is True
            assert errors == []
        finally:
            browser.close()
