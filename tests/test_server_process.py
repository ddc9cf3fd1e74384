"""The ``sos-server`` process: its first login printed once, a graceful stop, an access
log without secrets, and the expert commands with their one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys

import requests

from conftest import ROOT, ServerProcess


def test_server_process_prints_the_first_login_once_and_stops_gracefully(server_process) -> None:
    made = server_process.api("POST", "/api/v1/sessions", json={"end_customer": {"name": "Bob"}})
    assert made.status_code == 201
    assert server_process.api("GET", "/healthz").json()["status"] == "ok"
    assert "name:      admin" in server_process.first_output
    assert server_process.stop() == 0


def test_access_log_has_one_line_per_request_and_no_secrets(tmp_path) -> None:
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log_file:
        server = ServerProcess(tmp_path / "l.db", 0, stderr=log_file).start()
        try:
            token = server.token
            password = re.search(r"password: +(\S+)", server.first_output).group(1)
            url = server.url
            headers = {"Authorization": f"Bearer {token}"}
            requests.get(url + "/api/v1/sessions?limit=5", headers=headers, timeout=5)
            requests.post(url + "/api/v1/login", json={"name": "admin", "password": password}, timeout=5)
            sos = requests.post(url + "/api/v1/customer/sos", timeout=5,
                                json={"device_id": "device-secret-12345678"}).json()
            requests.get(url + "/api/v1/customer/case", timeout=5,
                         headers={"Authorization": f"Bearer {sos['token']}"})
        finally:
            assert server.stop() == 0
    log = log_path.read_text()
    access = [line for line in log.splitlines() if "sosdesk.access" in line]
    assert len(access) == 4, log
    assert '"GET /api/v1/sessions" 200' in access[0]
    for secret in (token, password, sos["token"], "device-secret-12345678", "sosdesk_session="):
        assert secret not in log


def test_cli_manages_experts(tmp_path) -> None:
    db = str(tmp_path / "cli.db")

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sosdesk.server_stub", "--db", db, *args], cwd=ROOT,
                              input=stdin, capture_output=True, text=True, timeout=30)

    added = cli("expert", "add", "carla", "--password-stdin", stdin="a good password\n")
    assert added.returncode == 0 and "sdx_" in added.stdout
    assert "carla" in cli("expert", "list").stdout
    twice = cli("expert", "add", "carla", "--password-stdin", stdin="a good password\n")
    assert twice.returncode == 1 and twice.stderr.count("\n") == 1 and "exists" in twice.stderr
    short = cli("expert", "add", "dora", "--password-stdin", stdin="short\n")
    assert short.returncode == 1 and "8 characters" in short.stderr
    assert cli("expert", "remove", "carla").returncode == 0
    missing = cli("expert", "remove", "carla")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    usage = cli("serve", "--port", "99999")
    assert usage.returncode == 1 and "port" in usage.stderr
    for option, value in (("--sos-limit", "0"), ("--idle-timeout", "0"), ("--validity-hours", "-1")):
        refused = cli("serve", "--port", "0", option, value)
        assert refused.returncode == 1 and option in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert cli("bogus").returncode == 2
