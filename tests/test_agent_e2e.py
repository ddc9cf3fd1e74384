"""End to end: the real server process and the real ``sos-agent --headless`` process."""

from __future__ import annotations

import socket
from pathlib import Path

from agent_helpers import queue_of, start_agent
from conftest import ServerProcess, free_port


def test_sos_connect_close(server_process: ServerProcess, tmp_path: Path, agents: list) -> None:
    agent = start_agent(agents, tmp_path, server_process.url, "sos")
    code = agent.expect("code").split()[1]
    agent.expect("status pending")
    [case] = queue_of(server_process)
    assert case["code"] == code and case["created_by"] == "customer"
    assert case["customer_started"] is True
    assert case["device"]["hostname"] == socket.gethostname()
    assert case["device"]["os"] and "user" in case["device"]

    assert server_process.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
    agent.expect("status pending expert=admin")
    assert server_process.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"}).status_code == 204
    agent.expect("status closed")
    assert agent.wait() == 0
    secrets = tmp_path / "config" / "secrets-test-it.json"
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert "token" not in agent.stderr_text.lower()
    # First start ran the real installer inside tmp_path: autostart yes, shortcut no (branding).
    home = tmp_path / "home"
    assert list((home / ".config" / "autostart").glob("sosdesk-test-it*.desktop"))
    assert not (home / "Desktop").exists() or not list((home / "Desktop").iterdir())


def test_join_an_expert_case(server_process: ServerProcess, tmp_path: Path, agents: list) -> None:
    created = server_process.api("POST", "/api/v1/sessions", json={"description": "printer"})
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    # No --headless, but no display either: falls back to the headless lines with a notice.
    agent = start_agent(agents, tmp_path, server_process.url, "join", code.replace("-", "").upper(),
                        headless=False)
    assert agent.expect("code") == f"code {code}"
    agent.expect("status pending")
    [case] = queue_of(server_process)
    assert case["device"]["hostname"] == socket.gethostname()
    assert server_process.api("POST", f"/api/v1/sessions/{code}/connect").status_code == 200
    agent.expect("status pending expert=admin")
    server_process.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
    agent.expect("status closed")
    assert agent.wait() == 0
    assert agent.stderr_text == "sos-agent: No display available: running without a window.\n"


def test_join_with_a_wrong_code_fails_clearly(server_process: ServerProcess, tmp_path: Path,
                                              agents: list) -> None:
    agent = start_agent(agents, tmp_path, server_process.url, "join", "s99-999-999")
    agent.expect("error case_not_found")
    assert agent.wait() == 1
    assert "Traceback" not in agent.stderr_text


def test_server_restart_keeps_the_case(tmp_path: Path, agents: list) -> None:
    server = ServerProcess(tmp_path / "server.db", free_port(), "--quiet").start()
    try:
        token = server.token
        agent = start_agent(agents, tmp_path, server.url, "sos")
        code = agent.expect("code").split()[1]
        agent.expect("status pending")
        server.stop()
        agent.expect("notice cannot reach support, retrying")
        server = ServerProcess(tmp_path / "server.db", server.port, "--quiet").start()
        server.token = token  # API tokens outlive a restart; only a new db prints one
        agent.expect("notice connected to support again", timeout=25)
        assert [c["code"] for c in queue_of(server)] == [code]

        # A restarted agent (and a second SOS click) follows the same case.
        agent.stop()
        again = start_agent(agents, tmp_path, server.url, "sos")
        assert again.expect("code") == f"code {code}"
        assert [c["code"] for c in queue_of(server)] == [code]
        server.api("POST", f"/api/v1/sessions/{code}/connect")
        again.expect("status pending expert=admin")
        server.api("PUT", f"/api/v1/sessions/{code}", json={"state": "closed"})
        again.expect("status closed")
        assert again.wait() == 0
    finally:
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


def test_twenty_concurrent_sos_make_one_case(server_process: ServerProcess, tmp_path: Path,
                                             agents: list) -> None:
    for _ in range(20):
        start_agent(agents, tmp_path, server_process.url, "sos")
    codes = {agent.expect("code", timeout=40).split()[1] for agent in agents}
    assert len(codes) == 1
    cases = queue_of(server_process)
    assert [c["code"] for c in cases] == list(codes)
    server_process.api("PUT", f"/api/v1/sessions/{codes.pop()}", json={"state": "closed"})
    assert [agent.wait(30) for agent in agents] == [0] * 20


def test_revoked_module_exits_3(server_process: ServerProcess, tmp_path: Path, agents: list) -> None:
    module = server_process.api("POST", "/api/v1/modules", json={"name": "Test IT", "groupid": "default"})
    assert module.status_code == 201, module.text
    module_id = module.json()["module_id"]
    assert server_process.api("DELETE", f"/api/v1/modules/{module_id}").status_code == 200
    agent = start_agent(agents, tmp_path, server_process.url, "sos", module_id=module_id)
    agent.expect("error module_revoked")
    assert agent.wait() == 3
    assert "revoked" in agent.stderr_text and "Traceback" not in agent.stderr_text


def test_invalid_branding_is_one_message(tmp_path: Path, agents: list) -> None:
    agent = start_agent(agents, tmp_path, "ftp://nowhere", "sos")
    assert agent.wait() == 2
    assert "server_url must be an http(s) URL" in agent.stderr_text
    assert "Traceback" not in agent.stderr_text and len(agent.stderr_text.strip().splitlines()) == 1
