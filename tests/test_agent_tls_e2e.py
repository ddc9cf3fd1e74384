"""End to end over TLS: the real ``sos-server serve --tls-cert --tls-key`` (or the same
server in this process) and the real ``sos-agent`` process, with certificates made here.

A good certificate works through SOS, the expert's Connect (seen through the
long-poll) and Close; a pinned agent works with its self-signed server; the
installed shortcut and the tray's autostart command work against https. An
untrusted certificate, a wrong name, an expired certificate and a CA-valid
certificate around an unpinned key each stop the agent at once with their own
message, exit 1, no retry, and no case on the server.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

from agent_helpers import AgentProcess, agent_env, queue_of, start_agent, write_branding
from desktop_entry import entry_values, parse_exec
from servers import LiveServer, ServerProcess, in_process
from sosdesk.server_stub.tls import Certificate
from tls_certs import NOW, Issued, TestCA, key_pin, new_key, self_signed


@pytest.fixture
def ca(tmp_path: Path) -> TestCA:
    return TestCA(tmp_path / "ca")


@contextlib.contextmanager
def tls_process(tmp_path: Path, issued: Issued, verify: str) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "server.db", 0, "--quiet", "--tls-cert", str(issued.cert),
                           "--tls-key", str(issued.key))
    server.verify = verify
    server.start()
    try:
        yield server
    finally:
        server.stop()


def follow_to_closed(agent: AgentProcess, server: ServerProcess) -> None:
    """The expert connects and closes; the agent sees both (long-polls over TLS) and exits 0."""
    code = agent.expect("code").split()[1]
    agent.expect("status pending")
    [case] = queue_of(server)
    assert case["code"] == code
    assert server.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
    agent.expect("status pending expert=admin")  # Connect reaches the agent over the long-poll
    assert server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"}).status_code == 204
    agent.expect("status closed")
    assert agent.wait() == 0
    assert "Traceback" not in agent.stderr_text


def test_sos_over_tls_with_a_ca_signed_certificate(tmp_path: Path, ca: TestCA, agents: list) -> None:
    with tls_process(tmp_path, ca.issue("server"), str(ca.bundle)) as server:
        assert server.url.startswith("https://")
        agent = start_agent(agents, tmp_path, server.url, "sos", ca_bundle=str(ca.bundle))
        follow_to_closed(agent, server)


def test_a_pinned_agent_works_with_its_self_signed_server(tmp_path: Path, agents: list) -> None:
    issued = self_signed(tmp_path / "lab", "lab")
    with tls_process(tmp_path, issued, str(issued.cert)) as server:
        # The pin as the server prints it at start-up, for the builder.
        printed = server.first_output.split("key pin ")[1].split()[0]
        assert printed == issued.pin
        agent = start_agent(agents, tmp_path, server.url, "sos", pins=[printed])
        follow_to_closed(agent, server)


def test_the_installed_shortcut_and_tray_command_work_with_an_https_server(
        tmp_path: Path, agents: list) -> None:
    issued = self_signed(tmp_path / "lab", "lab")
    with tls_process(tmp_path, issued, str(issued.cert)) as server:
        branding = write_branding(tmp_path, server.url, create_shortcut=True, pins=[issued.pin])
        env = agent_env(tmp_path)
        home = Path(env["HOME"])
        (home / "Desktop").mkdir()
        installer = AgentProcess(["--config", str(branding), "install"], env)
        assert installer.wait(60) == 0, installer.stderr_text
        shortcut = parse_exec(entry_values(home / "Desktop" / "Test IT Support.desktop")["Exec"])
        tray = parse_exec(entry_values(home / ".config/autostart/sosdesk-test-it-tray.desktop")["Exec"])
        clicked = AgentProcess([], env, program=shortcut, cwd=home)  # a double click, no display
        agents.append(clicked)
        code = clicked.expect("code").split()[1]
        clicked.expect("status pending")
        # The tray's command at the next login (no display here: it follows the open case).
        login = AgentProcess([], env, program=tray, cwd=home)
        agents.append(login)
        assert login.expect("code") == f"code {code}"
        server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        clicked.expect("status closed")
        login.expect("status closed")
        assert clicked.wait() == 0 and login.wait() == 0


@contextlib.contextmanager
def serving(tmp_path: Path, issued: Issued, ca: TestCA) -> Iterator[LiveServer]:
    with in_process(tmp_path / "refusing.db", tls=Certificate(issued.cert, issued.key)) as live:
        live.verify = str(ca.bundle)
        yield live


REFUSALS = {
    "untrusted": ("certificate_refused",
                  "Test IT's support server could not be verified: its certificate is not from an "
                  "authority this computer trusts (self-signed certificate). Nothing was sent to it. "
                  "Please contact Test IT."),
    "wrong name": ("certificate_refused",
                   "Test IT's support server could not be verified: its certificate is for another "
                   "name. Nothing was sent to it. Please contact Test IT."),
    "expired": ("certificate_refused",
                "Test IT's support server could not be verified: its certificate has expired. "
                "Nothing was sent to it. Please contact Test IT."),
    "not pinned": ("certificate_not_pinned",
                   "This is not Test IT's support server: it did not show the key this program was "
                   "made for. Nothing was sent to it. Please contact Test IT."),
}


@pytest.mark.parametrize("kind", list(REFUSALS))
def test_a_refused_certificate_stops_the_agent_with_its_own_message(
        tmp_path: Path, ca: TestCA, agents: list, kind: str) -> None:
    branding: dict = {"ca_bundle": str(ca.bundle)}
    if kind == "untrusted":
        issued = self_signed(tmp_path / "s", "self-signed")
        branding = {}
    elif kind == "wrong name":
        issued = ca.issue("other", ("support.other.example",))
    elif kind == "expired":
        issued = ca.issue("expired", not_before=NOW - datetime.timedelta(days=30),
                          not_after=NOW - datetime.timedelta(minutes=5))
    else:
        issued = ca.issue("valid")  # CA-valid for 127.0.0.1, but not the key the agent knows
        branding = {"pins": [key_pin(new_key())]}
    code, message = REFUSALS[kind]
    with serving(tmp_path, issued, ca) as live:
        if kind == "not pinned":
            assert requests.get(live.url + "/healthz", verify=str(ca.bundle), timeout=10).ok
        agent = start_agent(agents, tmp_path, live.url, "sos", **branding)
        agent.expect(f"error {code}", timeout=30)
        assert agent.wait(30) == 1
        assert agent.stderr_text == f"sos-agent: {message}\n"
        assert not any(line.startswith("notice") for line in agent.seen)  # no retrying
        assert live.store is not None
        assert live.store.list_cases({}, int(time.time()))["sessions"] == []  # nothing reached it
